import ReproTensor

/// Where a layer sits in a differentiable forward: its dotted path, the tape, the mode.
///
/// ```
/// let w = try scope.parameter("weight", weight)     // key "<path>.weight"
/// let y = try x.linear(weight: w, bias: nil)
/// ```
public struct TrainingScope {
    /// The tape recording this forward.
    public let tape: GradientTape
    /// The dotted module path (`""` at the root).
    public let path: String

    /// The root scope of `tape`.
    public init(tape: GradientTape, path: String = "") {
        self.tape = tape
        self.path = path
    }

    /// Training or evaluation.
    public var mode: TrainingMode { tape.mode }
    /// Global indices of the samples in this micro-batch.
    public var samples: Range<Int> { tape.samples }

    /// The scope of a child module.
    public func child(_ name: String) -> TrainingScope {
        TrainingScope(tape: tape, path: key(name))
    }

    /// The full key of `name` in this module.
    public func key(_ name: String) -> String { path.isEmpty ? name : path + "." + name }

    /// This module's parameter `name` on the tape (a constant when frozen).
    public func parameter(_ name: String, _ tensor: Tensor) throws(AutogradError) -> Variable {
        try tape.parameter(key(name), tensor)
    }

    /// The rows of this micro-batch (``samples``) of a tensor that holds the whole global batch
    /// on its first axis, as a constant.
    public func constant(samplesOf batch: Tensor) throws(AutogradError) -> Variable {
        let s = samples
        let rows = try AutogradError.wrap("input") { () throws(TensorError) in
            guard batch.rank >= 1, s.upperBound <= batch.shape[0] else {
                throw .invalidShape(op: "samples", shape: batch.shape, reason: "the global batch has no samples \(s.lowerBound)..<\(s.upperBound)")
            }
            return try batch.sliced(dim: 0, range: s)
        }
        return try tape.constant(rows)
    }

    /// A batched input without gradient.
    public func constant(_ tensor: Tensor) throws(AutogradError) -> Variable { try tape.constant(tensor) }

    /// Records the new value of this module's buffer `name` (applied by the caller afterwards).
    public func updateBuffer(_ name: String, _ tensor: Tensor) { tape.bufferUpdates[key(name)] = tensor }
}

/// Runs `body` (a differentiable forward of `model` on the samples `samples` returning one loss
/// per sample, `[n]`) and hands over the micro-batch's part of the canonical reduction.
///
/// - Throws: ``AutogradError/lossNotPerSample(shape:samples:)``,
///   ``AutogradError/nonFiniteLoss(sample:value:)``, or what the forward throws.
public func partialGradients<M: Module>(
    of model: M, samples: Range<Int>, globalBatchSize: Int, options: GradientOptions = .init(),
    _ body: (M, TrainingScope) throws -> Variable
) throws(AutogradError) -> PartialGradients {
    let tape = GradientTape(samples: samples, mode: options.mode, selection: options.selection, randomness: options.randomness)
    defer { tape.releaseRules() }  // also when the closure or a check throws
    let out: Variable
    do { out = try body(model, TrainingScope(tape: tape)) } catch let e as AutogradError { throw e } catch {
        throw .lossClosure("\(error)")
    }
    guard out.tape === tape, out.shape == [samples.count] else {
        throw .lossNotPerSample(shape: out.shape, samples: samples.count)
    }
    var loss = SampleTreeSum(count: 1, startIndex: samples.lowerBound)
    for (i, v) in out.data.enumerated() {
        guard v.isFinite else { throw .nonFiniteLoss(sample: samples.lowerBound + i, value: v) }
        loss.append(sample: [v])
    }
    let seed: Float = options.reduction == .mean ? 1 / Float(globalBatchSize) : 1
    try tape.backward(from: out, seed: seed)
    let names = model.parameterSpecs.filter { !$0.isBuffer && options.selection.requiresGradient($0.name) }.map(\.name)
    var shapes: [String: [Int]] = [:], trees: [String: SampleTreeSum] = [:]
    for spec in model.parameterSpecs where names.contains(spec.name) {
        shapes[spec.name] = spec.shape
        if let t = tape.reduced[spec.name] {
            guard tape.parameterShapes[spec.name] == spec.shape else {
                throw .shapeMismatch(parameter: spec.name, expected: spec.shape, found: tape.parameterShapes[spec.name] ?? [])
            }
            trees[spec.name] = t
        } else {
            // A parameter the forward never used: zero contributions.
            let count = spec.shape.reduce(1, *)
            var zero = SampleTreeSum(count: count, startIndex: samples.lowerBound)
            for _ in samples { zero.append(sample: [Float](repeating: 0, count: count)) }
            trees[spec.name] = zero
        }
    }
    return PartialGradients(samples: samples, loss: loss, names: names, shapes: shapes, trees: trees,
                            bufferUpdates: tape.bufferUpdates, usesBatchStatistics: tape.usesBatchStatistics)
}

/// The loss of a global batch and its gradient tree, in the spirit of mlx-swift's `valueAndGrad`:
/// `body` computes one loss per sample (`[n]`) from the model in a differentiable forward; the
/// result's loss is their canonical sum (divided by the batch size for `.mean`) and
/// ``GradientResult/gradients`` mirrors the model's trainable parameters.
///
/// `microBatches` splits the batch (sizes summing to `batchSize`, e.g. `[3, 3, 2]`); the bits of
/// the loss and gradients are the same for every split and every thread count (BatchNorm in
/// training mode excepted: see ``GradientAccumulator``).
///
/// ```swift
/// var g = TorchGenerator(seed: 0)
/// let model = try Linear(inFeatures: 4, outFeatures: 3, generator: &g)
/// let inputs = try Tensor(shape: [8, 4], scalars: (0..<32).map { Float($0) / 32 })
/// let labels = [0, 1, 2, 0, 1, 2, 0, 1]
/// let result = try valueAndGradient(of: model, batchSize: 8, microBatches: [3, 3, 2]) { model, scope in
///     let x = try scope.constant(samplesOf: inputs)          // this micro-batch's rows
///     return try model.forward(x, in: scope).crossEntropy(targets: Array(labels[scope.samples]))
/// }
/// let gradient = result.gradients["weight"]                    // [3, 4], the same bits for any split
/// ```
public func valueAndGradient<M: Module>(
    of model: M, batchSize: Int, microBatches: [Int]? = nil, options: GradientOptions = .init(),
    _ body: (M, TrainingScope) throws -> Variable
) throws(AutogradError) -> GradientResult {
    let sizes = microBatches ?? [batchSize]
    guard batchSize > 0, sizes.allSatisfy({ $0 > 0 }), sizes.reduce(0, +) == batchSize else {
        throw .samplesOutOfOrder(expected: 0, found: 0..<sizes.reduce(0, +), globalBatchSize: batchSize)
    }
    var acc = GradientAccumulator(globalBatchSize: batchSize, options: options)
    var start = 0
    for size in sizes {
        try acc.accumulate(model, samples: start..<(start + size), body)
        start += size
    }
    return try acc.finish()
}
