import ReproTensor

/// Per-sample, per-channel sums of an NHWC buffer `[n, rows, C]` (rows in order), handed to a
/// ``SampleTreeSum`` over the samples: the canonical batch sum of every channel.
func batchChannelSum(_ perSample: [Float], samples n: Int, channels c: Int) -> [Float] {
    var tree = SampleTreeSum(count: c)
    perSample.withUnsafeBufferPointer { p in
        for s in 0..<n { tree.append(sample: UnsafeBufferPointer(rebasing: p[(s * c)..<((s + 1) * c)])) }
    }
    return tree.total()
}

extension Variable {
    /// BatchNorm2d in **training mode** on NHWC: statistics of the whole micro-batch.
    ///
    /// Mean and biased variance per channel are canonical batch sums (per-sample sums over the
    /// positions in order, then ``SampleTreeSum`` over the samples) divided by `M = n·H·W`; the
    /// variance is two-pass (`Σ (x − μ)²`). `y = (x − μ) · r(1/√(σ² + eps)) · γ + β`. Backward:
    /// `dx = γ·invstd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M)` with the same canonical sums; per-sample
    /// contributions `dγ = Σ dy·x̂`, `dβ = Σ dy`. Also returns the batch mean and the **unbiased**
    /// variance for the running-statistics update.
    public func batchNormTraining(weight: Variable, bias: Variable, eps: Float) throws(AutogradError)
        -> (output: Variable, mean: [Float], unbiasedVariance: [Float]) {
        let (n, h, w, c) = try requireNHWC("batchNorm2d")
        guard weight.shape == [c], bias.shape == [c] else {
            throw .invalidOperation(op: "batchNorm2d", reason: "weight/bias \(weight.shape)/\(bias.shape) for \(c) channels")
        }
        let rows = h * w, m = n * rows
        guard m > 1 else { throw .invalidOperation(op: "batchNorm2d", reason: "expected more than 1 value per channel in training, got input \(shape)") }
        let x = data
        let sums = channelSums(x, samples: n, channels: c)
        let mean = batchChannelSum(sums, samples: n, channels: c).map { $0 / Float(m) }
        var centred = x
        for i in centred.indices { centred[i] = x[i] - mean[i % c] }
        let squares = channelSums(centred.map { $0 * $0 }, samples: n, channels: c)
        let sq = batchChannelSum(squares, samples: n, channels: c)
        let variance = sq.map { $0 / Float(m) }
        let unbiased = sq.map { $0 / Float(m - 1) }
        let invstd = variance.map { 1 / ($0 + eps).squareRoot() }
        var xhat = centred
        for i in xhat.indices { xhat[i] = centred[i] * invstd[i % c] }
        var y = xhat
        for i in y.indices { y[i] = xhat[i] * weight.data[i % c] + bias.data[i % c] }
        tape.usesBatchStatistics = true
        let gamma = weight.data
        let out = tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var gx = g
            for i in gx.indices { gx[i] = g[i] * xhat[i] }
            let dBeta = channelSums(g, samples: n, channels: c), dGamma = channelSums(gx, samples: n, channels: c)
            let sumDy = batchChannelSum(dBeta, samples: n, channels: c), sumDyX = batchChannelSum(dGamma, samples: n, channels: c)
            var dx = g
            for i in dx.indices {
                let ch = i % c
                dx[i] = gamma[ch] * invstd[ch] * (g[i] - sumDy[ch] / Float(m) - xhat[i] * (sumDyX[ch] / Float(m)))
            }
            t.accumulate(id, dx)
            t.accumulatePerSample(weight, dGamma)
            t.accumulatePerSample(bias, dBeta)
        })
        tape.consume(weight, by: out.id)
        tape.consume(bias, by: out.id)
        return (out, mean, unbiased)
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

    /// GroupNorm on NHWC, per sample and group: two-pass mean and biased variance over the group's
    /// `H·W·C/G` values (positions in order, channels inside), `x̂ = (x − μ)·r(1/√(σ² + eps))`,
    /// `y = x̂·γ + β`. Backward per group: `dx = invstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))` with
    /// `dx̂ = dy·γ`; per-sample `dγ = Σ dy·x̂`, `dβ = Σ dy`.
    public func groupNorm(groups: Int, weight: Variable, bias: Variable, eps: Float) throws(AutogradError) -> Variable {
        let (n, h, w, c) = try requireNHWC("groupNorm")
        guard groups > 0, c % groups == 0, weight.shape == [c], bias.shape == [c] else {
            throw .invalidOperation(op: "groupNorm", reason: "\(groups) groups, \(c) channels, weight \(weight.shape)")
        }
        let cg = c / groups, rows = h * w, m = Float(rows * cg)
        let x = data
        var xhat = x
        var invstd = [Float](repeating: 0, count: n * groups)
        for s in 0..<n { for gi in 0..<groups {
            var sum: Float = 0
            for r in 0..<rows { for k in 0..<cg { sum += x[(s * rows + r) * c + gi * cg + k] } }
            let mu = sum / m
            var sq: Float = 0
            for r in 0..<rows { for k in 0..<cg { let d = x[(s * rows + r) * c + gi * cg + k] - mu; sq += d * d } }
            let inv = 1 / (sq / m + eps).squareRoot()
            invstd[s * groups + gi] = inv
            for r in 0..<rows { for k in 0..<cg { let i = (s * rows + r) * c + gi * cg + k; xhat[i] = (x[i] - mu) * inv } }
        } }
        var y = xhat
        for i in y.indices { y[i] = xhat[i] * weight.data[i % c] + bias.data[i % c] }
        let gamma = weight.data
        let out = tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = g
            for s in 0..<n { for gi in 0..<groups {
                var a: Float = 0, b: Float = 0
                for r in 0..<rows { for k in 0..<cg {
                    let i = (s * rows + r) * c + gi * cg + k, d = g[i] * gamma[i % c]
                    a += d
                    b += d * xhat[i]
                } }
                let ma = a / m, mb = b / m, inv = invstd[s * groups + gi]
                for r in 0..<rows { for k in 0..<cg {
                    let i = (s * rows + r) * c + gi * cg + k
                    dx[i] = inv * (g[i] * gamma[i % c] - ma - xhat[i] * mb)
                } }
            } }
            t.accumulate(id, dx)
            t.accumulateAffine(weight: weight, bias: bias, dy: g, xhat: xhat, samples: n, channels: c)
        })
        tape.consume(weight, by: out.id)
        tape.consume(bias, by: out.id)
        return out
    }
}
