/// Group normalisation for training on NHWC data `[N, S, C]`: a forward that saves the
/// statistics and the backward.
///
/// **Forward** is ``GroupNormKernel/forwardNHWC(_:_:batch:spatial:channels:groups:gamma:beta:eps:relu:threads:)``
/// (same statistics, same bits) with the per-(sample, group) `mean` (float32 of the float64 mean)
/// and `rstd = Float(1 / sqrt(var + eps))` written to `[N, G]` buffers.
///
/// **Backward**, per sample `n` and group `g` (`M = C/G · S` values), PyTorch's formula in float64:
/// `dsᶜ = Σₚ dy·x`, `dbᶜ = Σₚ dy` (pixels in raster order, from zero), `dγₙᶜ = (dsᶜ − dbᶜ·mean)·rstd`,
/// `dβₙᶜ = dbᶜ` (rounded once); `Σds = Σ_c dsᶜ·γᶜ`, `Σdb = Σ_c dbᶜ·γᶜ` (channels ascending);
/// `b = (Σdb·mean − Σds)·rstd³ / M`, `c₀ = −b·mean − Σdb·rstd / M`; then in float32 with two
/// fused multiply-adds `dx = fma(Float(γᶜ)·rstd, dy, fma(Float(b), x, Float(c₀)))`. Each sample's
/// `dx` and `dγₙ`, `dβₙ` depend on that sample alone; threads take (sample, group) pairs.
///
/// ```swift
/// GroupNormKernel.trainingForwardNHWC(x, y, batch: 2, spatial: 64, channels: 32, groups: 8, gamma: g, beta: b,
///                                     eps: 1e-5, mean: mean, rstd: rstd, threads: 2)
/// ```
extension GroupNormKernel {
    /// Forward for training: `y` as ``forwardNHWC(_:_:batch:spatial:channels:groups:gamma:beta:eps:relu:threads:)``
    /// (no ReLU), plus the statistics `mean`, `rstd` (`[N, G]`) the backward needs.
    @_spi(Kernels) public static func trainingForwardNHWC(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, spatial: Int, channels: Int,
        groups: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float,
        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, threads: Int
    ) {
        normalizeNHWC(x, y, batch: batch, spatial: spatial, channels: channels, groups: groups, gamma: gamma, beta: beta,
                      eps: eps, relu: false, saving: (mean, rstd), threads: threads)
    }

    /// Backward: `dx` (`[N, S, C]`) and per-sample `dγ`, `dβ` (`[N, C]`) from the saved statistics.
    @_spi(Kernels) public static func backwardNHWC(
        _ x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, inputGradient dx: UnsafeMutablePointer<Float>,
        batch: Int, spatial: Int, channels: Int, groups: Int, gamma: UnsafePointer<Float>?,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        gammaGradients dGamma: UnsafeMutablePointer<Float>, betaGradients dBeta: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let cg = channels / groups
        ThreadPool.current.forEachChunk(batch * groups, threads: threads) { ng in
            let n = ng / groups, g = ng % groups, c0 = g * cg
            var ds = [Double](repeating: 0, count: cg), db = ds
            for p in 0..<spatial {
                let at = (n * spatial + p) * channels + c0
                for cc in 0..<cg {
                    let d = Double(dy[at + cc])
                    ds[cc] += d * Double(x[at + cc])
                    db[cc] += d
                }
            }
            let mu = Double(mean[ng]), r = Double(rstd[ng])
            var sumDs = 0.0, sumDb = 0.0
            for cc in 0..<cg {
                let gm = Double(gamma?[c0 + cc] ?? 1)
                dGamma[n * channels + c0 + cc] = Float((ds[cc] - db[cc] * mu) * r)
                dBeta[n * channels + c0 + cc] = Float(db[cc])
                sumDs += ds[cc] * gm
                sumDb += db[cc] * gm
            }
            let s = 1 / Double(cg * spatial)
            let b = (sumDb * mu - sumDs) * r * r * r * s
            let c = -b * mu - sumDb * r * s
            let bF = Float(b), cF = Float(c), rF = rstd[ng]
            for p in 0..<spatial {
                let at = (n * spatial + p) * channels + c0
                for cc in 0..<cg {
                    let a = (gamma?[c0 + cc] ?? 1) * rF
                    dx[at + cc] = cF.addingProduct(bF, x[at + cc]).addingProduct(a, dy[at + cc])
                }
            }
        }
    }
}
