import ReproTensor

extension Variable {
    /// One value per sample of `loss` on this micro-batch's outputs (`[n, …]`, sample axis first)
    /// against its targets `target` (the same rows of the global batch's targets), recorded on the
    /// tape so that its gradient is the loss's own ``Loss/inputGradient(_:_:outputGradient:)``.
    ///
    /// For a `mean` loss, sample `i`'s value is `numeratorᵢ / denominator` and its input gradient
    /// is `loss.inputGradient(…, .mean(denominator: denominator, outputGradient: gᵢ))`, where
    /// `denominator` is the **global** one, ``Loss/denominator(target:)`` over every target of the
    /// global batch, computed before the micro-batches run. A sample's gradient then depends on
    /// that sample and the denominator only, so a class-weighted cross-entropy with
    /// `ignore_index` gives the same gradient bits for every split. A `sum` loss gives
    /// `numeratorᵢ` and ignores `denominator`. Run it under ``GradientOptions/Reduction/sum`` so
    /// that every `gᵢ` is 1 and the gradients are those of the loss itself (torch's
    /// `loss.backward()`).
    ///
    /// ```swift
    /// var g = TorchGenerator(seed: 0)
    /// let model = try Linear(inFeatures: 4, outFeatures: 3, generator: &g)
    /// let inputs = try Tensor(shape: [8, 4], scalars: (0..<32).map { Float($0) / 32 })
    /// let labels = try Tensor(shape: [8], scalars: [Int64(0), 1, 2, -100, 1, 2, 0, 1])
    /// let loss = CrossEntropyLoss(weight: try Tensor(shape: [3], scalars: [Float(1), 2, 0.5]))
    /// let denominator = try loss.denominator(target: labels)        // the whole batch's Σ w[yᵢ]
    /// let result = try valueAndGradient(of: model, batchSize: 8, microBatches: [3, 3, 2],
    ///                                   options: GradientOptions(reduction: .sum)) { model, scope in
    ///     let x = try scope.constant(samplesOf: inputs)
    ///     let y = try labels.sliced(dim: 0, range: scope.samples)
    ///     return try model.forward(x, in: scope).loss(loss, target: y, denominator: denominator)
    /// }
    /// ```
    ///
    /// - Throws: ``AutogradError/nonFiniteLoss(sample:value:)`` naming the global sample whose
    ///   input holds a NaN or infinity; ``AutogradError/invalidOperation(op:reason:)`` naming the loss when the loss
    ///   rejects its inputs, when a `mean` loss has no (or a zero or non-finite) denominator, or
    ///   for a loss with reduction `none` (no per-sample scalar).
    public func loss<L: Loss>(_ loss: L, target: Tensor, denominator: Float? = nil) throws(AutogradError) -> Variable {
        let name = loss.name
        let upstream: (Float) -> LossOutputGradient
        switch loss.reduction {
        case .none:
            throw .invalidOperation(op: name, reason: "reduction 'none' has no per-sample value; use 'mean' or 'sum'")
        case .sum:
            upstream = { .sum(outputGradient: $0) }
        case .mean:
            guard let d = denominator else {
                throw .invalidOperation(op: name, reason: "a 'mean' loss needs the global denominator (loss.denominator(target:) over every target)")
            }
            guard d != 0, d.isFinite else {
                throw .invalidOperation(op: name, reason: "the global denominator \(d) is zero or not finite")
            }
            upstream = { .mean(denominator: d, outputGradient: $0) }
        }
        let n = sampleCount, shape = self.shape, start = tape.samples.lowerBound
        let input = try AutogradError.wrap(name) { () throws(TensorError) in try Tensor(shape: shape, scalars: data) }
        let terms: SampleLossTerms
        do { terms = try loss.sampleTerms(input, target, startIndex: start) } catch {
            // A non-finite input makes that sample's loss non-finite: the engine's own error.
            if case let .nonFinite(_, argument, sample) = error, argument == "input" {
                throw .nonFiniteLoss(sample: sample, value: .nan)
            }
            throw .invalidOperation(op: name, reason: error.description)
        }
        guard terms.numerators.count == n else {
            throw .invalidOperation(op: name, reason: "\(terms.numerators.count) per-sample values for \(n) samples")
        }
        let values = loss.reduction == .mean ? terms.numerators.map { $0 / denominator! } : terms.numerators
        return tape.record([n], values, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            // Row by row with that row's output gradient: a row's input gradient is a function of
            // the row, its target and the denominator only.
            var dx: [Float] = []
            dx.reserveCapacity(input.count)
            for i in 0..<n {
                do {
                    let row = try input.sliced(dim: 0, range: i..<(i + 1))
                    let rowTarget = try target.sliced(dim: 0, range: i..<(i + 1))
                    let gi: [Float] = try loss.inputGradient(row, rowTarget, outputGradient: upstream(g[i])).contiguous().scalars()
                    dx.append(contentsOf: gi)
                } catch let e as LossError {
                    throw .invalidOperation(op: name, reason: "sample \(start + i): \(e.description)")
                } catch {
                    throw .invalidOperation(op: name, reason: "sample \(start + i): \(error)")
                }
            }
            t.accumulate(id, dx)
        })
    }
}
