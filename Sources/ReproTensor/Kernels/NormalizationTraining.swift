/// Batch normalisation for training on NHWC data `[N, S, C]` (`S = H·W` pixels per sample):
/// forward with batch statistics, the running-statistic update, and the backward of training
/// mode, eval mode and `FrozenBatchNorm2d`.
///
/// **Numerics.** Per sample `n` and channel `c`, a contribution is summed over the sample's
/// pixels in raster order in float64 from zero and rounded once to float32; contributions of the
/// samples are added with the canonical sample tree (``SampleTreeSum``), so the statistics do not
/// depend on threads. With `M = N·S`:
/// - `mean = Float(Double(tree(Σₚ x)) / M)`; two-pass biased variance
///   `var = Float(Double(tree(Σₚ (x − mean)²)) / M)` (differences and squares in float64);
///   `rstd = Float(1 / sqrt(Double(var) + eps))`.
/// - Output `y = x·scale + shift` with `scale = rstd·γ`, `shift = β − mean·scale` (float32, no
///   fused multiply-add: the formula of the inference kernels).
/// - Running statistics (float64, rounded once): `new = (1 − m)·old + m·batch`, the variance
///   **unbiased** (`var·M / (M − 1)`), `m` from ``momentumFactor(momentum:batchesTracked:)``.
/// - Backward (training): `x̂ = (x − mean)·rstd` (float32), per-sample `dβₙ = Σₚ dy` and
///   `dγₙ = Σₚ dy·x̂` (float64 sums, rounded once), their tree sums `Sβ`, `Sγ`, and
///   `dx = fma(−x̂, Sγ/M, dy − Sβ/M) · (γ·rstd)` (the quotients rounded to float32 from float64).
/// - Eval and frozen backward: `dx = dy·scale` with the inference kernel's
///   `scale = γ · (1 / sqrt(var_running + eps))` in float32 (``ChannelAffine/frozenBatchNorm(weight:bias:runningMean:runningVariance:eps:)``).
///
/// Threads take (sample, channel block) chunks (64 channels for the statistics, 16 elsewhere); a micro-batch split of a global batch
/// **changes** the batch statistics (as in PyTorch), so only threads are invariant here.
///
/// ```swift
/// let stats = try BatchNormKernel.trainingForward(x, y, batch: 4, spatial: 64, channels: 8,
///                                                 gamma: g, beta: b, eps: 1e-5, threads: 2)
/// ```
@_spi(Kernels) public enum BatchNormKernel {
    /// Batch statistics of one training forward (one value per channel).
    @_spi(Kernels) public struct Statistics: Sendable, Equatable {
        /// Batch mean.
        @_spi(Kernels) public var mean: [Float]
        /// Biased batch variance (divided by `N·H·W`).
        @_spi(Kernels) public var variance: [Float]
        /// `1 / sqrt(variance + eps)`, saved for the backward.
        @_spi(Kernels) public var rstd: [Float]
        /// Values per channel (`N·H·W`).
        @_spi(Kernels) public var count: Int
    }

    /// Runs `body(n, channels)` over (sample, 16-channel block) chunks.
    static func forEachSampleBlock(batch: Int, channels: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
        Pooling.forEachSampleBlock(batch: batch, channels: channels, threads: threads, body)
    }

    /// Channels per statistics chunk: (sample, 64-channel block) chunks read 256 contiguous bytes
    /// per pixel, and a full block keeps its 64 float64 sums in registers.
    static let statisticsBlock = 64

    /// Per-sample, per-channel float64 sums over the pixels in raster order of `x` (no `mean`) or of
    /// `(x − mean)²` (each term `d·d`, `d = Double(x) − Double(mean)`), rounded to float32 (`[N, C]`),
    /// then the canonical tree sum over samples.
    ///
    /// Threads take (sample, 64-channel block) chunks; every sum is one chain over the pixels
    /// whatever the chunk, so neither the blocking nor the thread count reaches a value.
    static func sampleSums(
        _ x: UnsafePointer<Float>, batch: Int, spatial: Int, channels c: Int, threads: Int,
        deviationsFrom mean: UnsafePointer<Float>?
    ) -> [Float] {
        var perSample = [Float](repeating: 0, count: batch * c)
        let block = statisticsBlock, blocks = (c + block - 1) / block
        perSample.withUnsafeMutableBufferPointer { out in
            let out = out.baseAddress!
            ThreadPool.current.forEachChunk(batch * blocks, threads: threads) { chunk in
                let n = chunk / blocks, c0 = (chunk % blocks) * block, width = min(block, c - c0)
                let src = x + n * spatial * c + c0, dst = out + n * c + c0
                if width == block {
                    sumBlock64(src, pixels: spatial, stride: c, mean: mean.map { $0 + c0 }, into: dst)
                    return
                }
                withUnsafeTemporaryAllocation(of: Double.self, capacity: width) { acc in
                    let acc = acc.baseAddress!
                    acc.initialize(repeating: 0, count: width)
                    if let mean {
                        let mb = mean + c0
                        for p in 0..<spatial {
                            let s = src + p * c
                            for j in 0..<width {
                                let d = Double(s[j]) - Double(mb[j])
                                acc[j] += d * d
                            }
                        }
                    } else {
                        for p in 0..<spatial {
                            let s = src + p * c
                            for j in 0..<width { acc[j] += Double(s[j]) }
                        }
                    }
                    for j in 0..<width { dst[j] = Float(acc[j]) }
                }
            }
        }
        return perSample.withUnsafeBufferPointer { SampleGradients.treeSum($0.baseAddress!, samples: batch, count: c) }
    }

    /// ``sampleSums(_:batch:spatial:channels:threads:deviationsFrom:)`` of one full 64-channel
    /// block: eight `SIMD8<Double>` sums held in registers over the pixels (row `p` at
    /// `x + p·stride`), each lane the same float64 chain as the scalar loop (no fused operations).
    @inline(__always)
    static func sumBlock64(_ x: UnsafePointer<Float>, pixels: Int, stride: Int, mean: UnsafePointer<Float>?,
                           into out: UnsafeMutablePointer<Float>) {
        typealias D = SIMD8<Double>
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ k: Int) -> D {
            D(UnsafeRawPointer(p + 8 * k).loadUnaligned(as: SIMD8<Float>.self))
        }
        var a0 = D(), a1 = D(), a2 = D(), a3 = D(), a4 = D(), a5 = D(), a6 = D(), a7 = D()
        if let mean {
            let m0 = load(mean, 0), m1 = load(mean, 1), m2 = load(mean, 2), m3 = load(mean, 3)
            let m4 = load(mean, 4), m5 = load(mean, 5), m6 = load(mean, 6), m7 = load(mean, 7)
            for p in 0..<pixels {
                let r = x + p * stride
                var d = load(r, 0) - m0; a0 = a0 + d * d
                d = load(r, 1) - m1; a1 = a1 + d * d
                d = load(r, 2) - m2; a2 = a2 + d * d
                d = load(r, 3) - m3; a3 = a3 + d * d
                d = load(r, 4) - m4; a4 = a4 + d * d
                d = load(r, 5) - m5; a5 = a5 + d * d
                d = load(r, 6) - m6; a6 = a6 + d * d
                d = load(r, 7) - m7; a7 = a7 + d * d
            }
        } else {
            for p in 0..<pixels {
                let r = x + p * stride
                a0 = a0 + load(r, 0); a1 = a1 + load(r, 1); a2 = a2 + load(r, 2); a3 = a3 + load(r, 3)
                a4 = a4 + load(r, 4); a5 = a5 + load(r, 5); a6 = a6 + load(r, 6); a7 = a7 + load(r, 7)
            }
        }
        @inline(__always) func store(_ a: D, _ k: Int) {
            UnsafeMutableRawPointer(out + 8 * k).storeBytes(of: SIMD8<Float>(a), as: SIMD8<Float>.self)
        }
        store(a0, 0); store(a1, 1); store(a2, 2); store(a3, 3); store(a4, 4); store(a5, 5); store(a6, 6); store(a7, 7)
    }

    /// Training forward: normalises with the batch statistics into `y` (may alias `x`) and returns them.
    ///
    /// With `residual` (`[N, S, C]`, may alias `y`) the output is `(x·scale + shift) + residual`,
    /// and with `relu` that sum (or the normalised value) goes through `max(·, 0)` with NaN kept —
    /// in one pass, the same bits as normalising, adding and rectifying in three (what a ResNet
    /// block's `relu(bn(conv(x)) + shortcut)` computes).
    ///
    /// - Throws: ``TensorError/invalidArgument(op:reason:)`` when a channel has a single value
    ///   (`N·H·W == 1`), as PyTorch refuses.
    @_spi(Kernels) public static func trainingForward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, spatial: Int, channels c: Int,
        gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
        residual: UnsafePointer<Float>? = nil, relu: Bool = false, threads: Int
    ) throws(TensorError) -> Statistics {
        let m = batch * spatial
        guard m > 1 else {
            throw .invalidArgument(op: "batchNorm", reason: "expected more than 1 value per channel when training, got \(m)")
        }
        let sums = sampleSums(x, batch: batch, spatial: spatial, channels: c, threads: threads, deviationsFrom: nil)
        let mean = sums.map { Float(Double($0) / Double(m)) }
        let squares = mean.withUnsafeBufferPointer {
            sampleSums(x, batch: batch, spatial: spatial, channels: c, threads: threads, deviationsFrom: $0.baseAddress!)
        }
        let variance = squares.map { Float(Double($0) / Double(m)) }
        let rstd = variance.map { Float(1 / (Double($0) + Double(eps)).squareRoot()) }
        var scale = [Float](repeating: 0, count: c), shift = scale
        for ch in 0..<c {
            scale[ch] = rstd[ch] * (gamma?[ch] ?? 1)
            shift[ch] = (beta?[ch] ?? 0) - mean[ch] * scale[ch]
        }
        applyAffine(x, y, pixels: batch * spatial, channels: c, scale: scale, shift: shift, residual: residual, relu: relu,
                    threads: threads)
        return Statistics(mean: mean, variance: variance, rstd: rstd, count: m)
    }

    /// `y = x·scale_c + shift_c` (float32, two roundings) over `pixels` rows of `channels`, then
    /// `+ residual` and ReLU (`v > 0 ? v : (NaN ? v : 0)`) when asked.
    static func applyAffine(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, pixels: Int, channels c: Int,
        scale: [Float], shift: [Float], residual: UnsafePointer<Float>? = nil, relu: Bool = false, threads: Int
    ) {
        let rows = max(1, 4096 / max(c, 1)), chunks = (pixels + rows - 1) / rows
        scale.withUnsafeBufferPointer { s in shift.withUnsafeBufferPointer { t in
            let s = s.baseAddress!, t = t.baseAddress!
            ThreadPool.current.forEachChunk(chunks, threads: threads) { k in
                let first = k * rows * c, count = (min((k + 1) * rows, pixels) - k * rows) * c
                switch (residual, relu) {
                case (nil, false): affineRows(x + first, y + first, count: count, channels: c, s, t) { v, _ in v }
                case (nil, true): affineRows(x + first, y + first, count: count, channels: c, s, t) { v, _ in rectified(v) }
                case (let r?, false):
                    let r = r + first
                    affineRows(x + first, y + first, count: count, channels: c, s, t) { v, i in v + r[i] }
                case (let r?, true):
                    let r = r + first
                    affineRows(x + first, y + first, count: count, channels: c, s, t) { v, i in rectified(v + r[i]) }
                }
            }
        }}
    }

    /// `max(v, 0)` keeping NaN, as `relu` does (`−0` becomes `+0`).
    @inline(__always) static func rectified(_ v: Float) -> Float { v > 0 ? v : (v.isNaN ? v : 0) }

    /// `y[i] = finish(x[i]·s[ch] + t[ch], i)` over `count` elements of whole rows of `c` channels.
    @inline(__always)
    static func affineRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, channels c: Int,
                           _ s: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ finish: (Float, Int) -> Float) {
        var row = 0
        while row < count {
            for ch in 0..<c { y[row + ch] = finish(x[row + ch] * s[ch] + t[ch], row + ch) }
            row += c
        }
    }

    /// The factor `m` of the running-statistic update: `momentum`, or `1 / batchesTracked` when
    /// `momentum` is `nil` (PyTorch's cumulative average; `batchesTracked` already incremented).
    @_spi(Kernels) public static func momentumFactor(momentum: Double?, batchesTracked: Int) -> Double {
        momentum ?? 1 / Double(batchesTracked)
    }

    /// Updates running mean and variance in place with factor `m` (see ``BatchNormKernel``).
    ///
    /// - Throws: ``TensorError/shapeMismatch(op:shapes:reason:)`` when the buffers do not hold one value per channel.
    @_spi(Kernels) public static func updateRunningStatistics(
        mean runningMean: inout [Float], variance runningVariance: inout [Float], with stats: Statistics, factor m: Double
    ) throws(TensorError) {
        let c = stats.mean.count
        guard runningMean.count == c, runningVariance.count == c else {
            throw .shapeMismatch(op: "batchNorm", shapes: [[runningMean.count], [runningVariance.count], [c]],
                                 reason: "running statistics must hold one value per channel")
        }
        let correction = Double(stats.count) / Double(stats.count - 1)
        for ch in 0..<c {
            runningMean[ch] = Float((1 - m) * Double(runningMean[ch]) + m * Double(stats.mean[ch]))
            runningVariance[ch] = Float((1 - m) * Double(runningVariance[ch]) + m * (Double(stats.variance[ch]) * correction))
        }
    }

    /// Per-sample parameter gradients `dβ[n, c] = Σₚ dy`, `dγ[n, c] = Σₚ dy·x̂` with
    /// `x̂ = (x − mean_c)·rstd_c` (float32), float64 sums in raster order rounded once (`[N, C]` each).
    @_spi(Kernels) public static func parameterGradients(
        _ x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, batch: Int, spatial: Int, channels c: Int,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        gammaGradients dGamma: UnsafeMutablePointer<Float>, betaGradients dBeta: UnsafeMutablePointer<Float>, threads: Int
    ) {
        forEachSampleBlock(batch: batch, channels: c, threads: threads) { n, chs in
            withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * chs.count) { scratch in
                let c0 = chs.lowerBound, width = chs.count
                let sg = scratch.baseAddress!, sb = sg + width
                sg.initialize(repeating: 0, count: 2 * width)
                let mb = mean + c0, rb = rstd + c0
                for p in 0..<spatial {
                    let at = (n * spatial + p) * c + c0
                    let xs = x + at, gs = dy + at
                    for j in 0..<width {
                        let xhat = (xs[j] - mb[j]) * rb[j], g = Double(gs[j])
                        sb[j] += g
                        sg[j] += g * Double(xhat)
                    }
                }
                for j in 0..<width {
                    dGamma[n * c + c0 + j] = Float(sg[j])
                    dBeta[n * c + c0 + j] = Float(sb[j])
                }
            }
        }
    }

    /// Training-mode backward: `dx` (`[N, S, C]`) and the per-sample `dγ`, `dβ` (`[N, C]`), from the
    /// statistics the forward saved (see ``BatchNormKernel`` for the formula).
    @_spi(Kernels) public static func trainingBackward(
        _ x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>,
        batch: Int, spatial: Int, channels c: Int, statistics stats: Statistics, gamma: UnsafePointer<Float>?,
        gammaGradients dGamma: UnsafeMutablePointer<Float>, betaGradients dBeta: UnsafeMutablePointer<Float>, threads: Int
    ) {
        stats.mean.withUnsafeBufferPointer { mean in stats.rstd.withUnsafeBufferPointer { rstd in
            let mean = mean.baseAddress!, rstd = rstd.baseAddress!
            parameterGradients(x, outputGradient: dy, batch: batch, spatial: spatial, channels: c, mean: mean, rstd: rstd,
                               gammaGradients: dGamma, betaGradients: dBeta, threads: threads)
            let sumBeta = SampleGradients.treeSum(dBeta, samples: batch, count: c)
            let sumGamma = SampleGradients.treeSum(dGamma, samples: batch, count: c)
            let m = Double(stats.count)
            let meanDy = sumBeta.map { Float(Double($0) / m) }, k = sumGamma.map { Float(Double($0) / m) }
            let a = (0..<c).map { (gamma?[$0] ?? 1) * rstd[$0] }
            meanDy.withUnsafeBufferPointer { meanDyBuffer in k.withUnsafeBufferPointer { kBuffer in a.withUnsafeBufferPointer { aBuffer in
                forEachSampleBlock(batch: batch, channels: c, threads: threads) { n, chs in
                    let c0 = chs.lowerBound, width = chs.count
                    let mb = mean + c0, rb = rstd + c0
                    let md = meanDyBuffer.baseAddress! + c0, kb = kBuffer.baseAddress! + c0, ab = aBuffer.baseAddress! + c0
                    for p in 0..<spatial {
                        let at = (n * spatial + p) * c + c0
                        let xs = x + at, gs = dy + at, out = dx + at
                        for j in 0..<width {
                            let xhat = (xs[j] - mb[j]) * rb[j]
                            out[j] = (gs[j] - md[j]).addingProduct(-xhat, kb[j]) * ab[j]
                        }
                    }
                }
            } } }
        }}
    }

    /// Eval-mode (and `FrozenBatchNorm2d`) input gradient: `dx = dy·scale_c`, with `scale` the
    /// inference kernel's per-channel scale (`γ / sqrt(var_running + eps)` in float32).
    /// For eval-mode parameter gradients call ``parameterGradients(_:outputGradient:batch:spatial:channels:mean:rstd:gammaGradients:betaGradients:threads:)``
    /// with the running mean and `rstd = 1 / sqrt(var_running + eps)` (float32).
    @_spi(Kernels) public static func affineBackward(
        outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>, pixels: Int, channels c: Int,
        scale: UnsafePointer<Float>, threads: Int
    ) {
        let rows = max(1, 4096 / max(c, 1)), chunks = (pixels + rows - 1) / rows
        ThreadPool.current.forEachChunk(chunks, threads: threads) { k in
            for p in (k * rows)..<min((k + 1) * rows, pixels) {
                for ch in 0..<c { dx[p * c + ch] = dy[p * c + ch] * scale[ch] }
            }
        }
    }
}
