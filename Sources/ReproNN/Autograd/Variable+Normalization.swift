@_spi(Kernels) import ReproTensor

extension Variable {
    /// BatchNorm2d in **training mode** on NHWC, through ReproTensor's ``BatchNormKernel``:
    /// statistics of the whole micro-batch.
    ///
    /// Per sample and channel, sums over the positions in raster order in float64 (rounded once),
    /// then ``SampleTreeSum`` over the samples; `mean = Σx / M`, two-pass biased variance
    /// `Σ(x − mean)² / M` (`M = n·H·W`), `rstd = 1/√(var + eps)`, `y = x·(rstd·γ) + (β − mean·rstd·γ)`.
    /// Backward (PyTorch's formula): `dx = (dy − Σdy/M − x̂·Σ(dy·x̂)/M)·γ·rstd` with the same canonical
    /// sums; per-sample contributions `dγ = Σ dy·x̂`, `dβ = Σ dy`. The rule keeps the input (no
    /// normalised copy). Also returns the statistics for the running-statistics update
    /// (``BatchNormKernel/updateRunningStatistics(mean:variance:with:factor:)``).
    ///
    /// With `residual` (same shape) and/or `relu`, the node computes `relu(bn(x) + residual)` in
    /// the normalising pass — the same bits as the three operations recorded one by one, forward
    /// and backward (the ReLU mask is read from the output, the residual receives the masked
    /// gradient, then the BatchNorm backward runs on it) — and keeps the output for the mask
    /// instead of two more activations.
    func batchNormTrainingStatistics(weight: Variable, bias: Variable, eps: Float, adding residual: Variable? = nil,
                                     relu: Bool = false) throws(AutogradError)
        -> (output: Variable, statistics: BatchNormKernel.Statistics) {
        let (n, h, w, c) = try requireNHWC("batchNorm2d")
        guard weight.shape == [c], bias.shape == [c] else {
            throw .invalidOperation(op: "batchNorm2d", reason: "weight/bias \(weight.shape)/\(bias.shape) for \(c) channels")
        }
        if let residual {
            try requireSameTape(residual, "batchNorm2d")
            guard residual.shape == shape, residual.parameterKey == nil else {
                throw .invalidOperation(op: "batchNorm2d", reason: "residual \(residual.shape) must be an activation of shape \(shape)")
            }
        }
        guard n * h * w > 1 else { throw .invalidOperation(op: "batchNorm2d", reason: "expected more than 1 value per channel in training, got input \(shape)") }
        let x = data, gamma = weight.data, beta = bias.data, spatial = h * w, threads = Runtime.settings.threads
        var stats: BatchNormKernel.Statistics?
        var failure: TensorError?
        let r = residual?.data ?? []
        let y = kernelOutput(count) { y in
            x.withUnsafeBufferPointer { xp in gamma.withUnsafeBufferPointer { g in beta.withUnsafeBufferPointer { b in
                r.withUnsafeBufferPointer { rp in
                    do throws(TensorError) {
                        stats = try BatchNormKernel.trainingForward(xp.baseAddress!, y, batch: n, spatial: spatial, channels: c,
                                                                    gamma: g.baseAddress!, beta: b.baseAddress!, eps: eps,
                                                                    residual: residual == nil ? nil : rp.baseAddress!, relu: relu,
                                                                    threads: threads)
                    } catch { failure = error }
                }
            } } }
        }
        guard let stats else { throw .tensor(context: "batchNorm2d", failure ?? .invalidArgument(op: "batchNorm2d", reason: "no statistics")) }
        tape.usesBatchStatistics = true
        let residualID = residual?.id, kept = relu ? y : []
        let out = tape.record(shape, y, rule: { [id] (t: GradientTape, outputGradient: [Float]) throws(AutogradError) in
            // relu's backward (`g · (y > 0 ? 1 : 0)`, the output as the mask), then the add's (the
            // same gradient to both operands), then BatchNorm's.
            let g = relu ? reluGradient(outputGradient, output: kept) : outputGradient
            if let residualID { t.accumulate(residualID, g) }
            var dGamma = [Float](repeating: 0, count: n * c), dBeta = dGamma
            let dx = kernelOutput(x.count) { dx in
                x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in gamma.withUnsafeBufferPointer { gm in
                    dGamma.withUnsafeMutableBufferPointer { dg in dBeta.withUnsafeMutableBufferPointer { db in
                        BatchNormKernel.trainingBackward(xp.baseAddress!, outputGradient: gp.baseAddress!, inputGradient: dx,
                                                         batch: n, spatial: spatial, channels: c, statistics: stats,
                                                         gamma: gm.baseAddress!, gammaGradients: dg.baseAddress!,
                                                         betaGradients: db.baseAddress!, threads: Runtime.settings.threads)
                    } }
                } } }
            }
            t.accumulate(id, dx)
            t.accumulatePerSample(weight, dGamma)
            t.accumulatePerSample(bias, dBeta)
        })
        tape.consume(weight, by: out.id)
        tape.consume(bias, by: out.id)
        return (out, stats)
    }

    /// BatchNorm2d in **training mode** on NHWC (see ``batchNormTrainingStatistics``): the output,
    /// the batch mean and the **unbiased** batch variance (`var·M/(M − 1)`, float64, rounded once).
    public func batchNormTraining(weight: Variable, bias: Variable, eps: Float) throws(AutogradError)
        -> (output: Variable, mean: [Float], unbiasedVariance: [Float]) {
        let r = try batchNormTrainingStatistics(weight: weight, bias: bias, eps: eps)
        let m = Double(r.statistics.count), correction = m / (m - 1)
        return (r.output, r.statistics.mean, r.statistics.variance.map { Float(Double($0) * correction) })
    }

    /// A per-channel normalisation with fixed statistics (BatchNorm2d in eval mode): `x̂ = (x − μ)·invstd`,
    /// `y = x̂·γ + β`; backward `dx = dy·γ·invstd`, per-sample `dγ = Σ dy·x̂`, `dβ = Σ dy`.
    public func batchNormEvaluation(weight: Variable, bias: Variable, runningMean: [Float], runningVariance: [Float],
                                    eps: Float) throws(AutogradError) -> Variable {
        let (n, _, _, c) = try requireNHWC("batchNorm2d")
        guard weight.shape == [c], bias.shape == [c], runningMean.count == c, runningVariance.count == c else {
            throw .invalidOperation(op: "batchNorm2d", reason: "statistics do not have \(c) channels")
        }
        let invstd = runningVariance.map { 1 / ($0 + eps).squareRoot() }
        var xhat = data
        for i in xhat.indices { xhat[i] = (data[i] - runningMean[i % c]) * invstd[i % c] }
        var y = xhat
        for i in y.indices { y[i] = xhat[i] * weight.data[i % c] + bias.data[i % c] }
        let gamma = weight.data
        let out = tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = g
            for i in dx.indices { dx[i] = g[i] * gamma[i % c] * invstd[i % c] }
            t.accumulate(id, dx)
            t.accumulateAffine(weight: weight, bias: bias, dy: g, xhat: xhat, samples: n, channels: c)
        })
        tape.consume(weight, by: out.id)
        tape.consume(bias, by: out.id)
        return out
    }

    /// A fixed per-channel affine map `y = x·scale + shift` (FrozenBatchNorm2d); backward `dy·scale`.
    public func channelAffine(scale: [Float], shift: [Float]) throws(AutogradError) -> Variable {
        guard let c = shape.last, scale.count == c, shift.count == c else {
            throw .invalidOperation(op: "channelAffine", reason: "\(scale.count) scales for shape \(shape)")
        }
        var y = data
        for i in y.indices { y[i] = data[i] * scale[i % c] + shift[i % c] }
        return tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = g
            for i in dx.indices { dx[i] = g[i] * scale[i % c] }
            t.accumulate(id, dx)
        })
    }

    /// GroupNorm on NHWC through ReproTensor's `GroupNormKernel` (`trainingForwardNHWC` /
    /// `backwardNHWC`): per sample and group, float64 statistics over the group's `H·W·C/G`
    /// values, `y = (x − mean)·rstd·γ + β`; PyTorch's backward formula in float64 per group, and
    /// per-sample `dγ`, `dβ`. Every value depends on its own sample only; the rule keeps the input
    /// and the `[n, G]` statistics.
    public func groupNorm(groups: Int, weight: Variable, bias: Variable, eps: Float) throws(AutogradError) -> Variable {
        let (n, h, w, c) = try requireNHWC("groupNorm")
        guard groups > 0, c % groups == 0, weight.shape == [c], bias.shape == [c] else {
            throw .invalidOperation(op: "groupNorm", reason: "\(groups) groups, \(c) channels, weight \(weight.shape)")
        }
        let x = data, gamma = weight.data, beta = bias.data, spatial = h * w, threads = Runtime.settings.threads
        var mean = [Float](repeating: 0, count: n * groups), rstd = mean
        let y = kernelOutput(count) { y in
            x.withUnsafeBufferPointer { xp in gamma.withUnsafeBufferPointer { g in beta.withUnsafeBufferPointer { b in
                mean.withUnsafeMutableBufferPointer { mp in rstd.withUnsafeMutableBufferPointer { rp in
                    GroupNormKernel.trainingForwardNHWC(xp.baseAddress!, y, batch: n, spatial: spatial, channels: c, groups: groups,
                                                        gamma: g.baseAddress!, beta: b.baseAddress!, eps: eps,
                                                        mean: mp.baseAddress!, rstd: rp.baseAddress!, threads: threads)
                } }
            } } }
        }
        let out = tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dGamma = [Float](repeating: 0, count: n * c), dBeta = dGamma
            let dx = kernelOutput(x.count) { dx in
                x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in gamma.withUnsafeBufferPointer { gm in
                    mean.withUnsafeBufferPointer { mp in rstd.withUnsafeBufferPointer { rp in
                        dGamma.withUnsafeMutableBufferPointer { dg in dBeta.withUnsafeMutableBufferPointer { db in
                            GroupNormKernel.backwardNHWC(xp.baseAddress!, outputGradient: gp.baseAddress!, inputGradient: dx,
                                                         batch: n, spatial: spatial, channels: c, groups: groups,
                                                         gamma: gm.baseAddress!, mean: mp.baseAddress!, rstd: rp.baseAddress!,
                                                         gammaGradients: dg.baseAddress!, betaGradients: db.baseAddress!,
                                                         threads: Runtime.settings.threads)
                        } }
                    } }
                } } }
            }
            t.accumulate(id, dx)
            t.accumulatePerSample(weight, dGamma)
            t.accumulatePerSample(bias, dBeta)
        })
        tape.consume(weight, by: out.id)
        tape.consume(bias, by: out.id)
        return out
    }
}
