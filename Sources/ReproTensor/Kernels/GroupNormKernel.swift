/// Group normalisation of NCHW data with statistics in a fixed order.
///
/// For each sample `n` and group `g` (channels `g·C/G ..< (g+1)·C/G`, all
/// `H·W` positions) the mean and the *biased* variance are accumulated in
/// float64, sequentially in memory order, in two passes
/// (`mean = Σx / m`, `var = Σ(x − mean)² / m`). Then, per channel `c`:
/// `rstd = Float(1 / sqrt(var + eps))`, `scale = rstd · γ_c`,
/// `shift = β_c − Float(mean) · scale`, and `y = x · scale + shift` (float32,
/// two roundings) — PyTorch's formula, `y = (x − mean)/sqrt(var + eps)·γ + β`.
/// PyTorch accumulates differently, so compare with it by tolerance (~1e-6
/// relative). Threads take whole (n, g) pairs: the statistics never depend on
/// the thread count or on other samples.
///
/// ```swift
/// GroupNormKernel.forward(x, y, batch: 1, channels: 256, spatial: 100 * 136, groups: 32,
///                         gamma: g, beta: b, eps: 1e-5, relu: true, threads: 2)
/// ```
public enum GroupNormKernel {
    /// Normalises `x` into `y` (may alias). `gamma`/`beta` hold one value per channel (or `nil` for 1 / 0).
    public static func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, spatial: Int,
        groups: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float, relu: Bool, threads: Int
    ) {
        let cg = channels / groups
        ThreadPool.shared.forEachChunk(batch * groups, threads: threads) { ng in
            let n = ng / groups, g = ng % groups
            let base = (n * channels + g * cg) * spatial
            let m = cg * spatial
            let src = x + base
            var sum = 0.0
            for i in 0..<m { sum += Double(src[i]) }
            let mean = sum / Double(m)
            var sq = 0.0
            for i in 0..<m {
                let d = Double(src[i]) - mean
                sq += d * d
            }
            let variance = sq / Double(m)
            let rstd = Float(1 / (variance + Double(eps)).squareRoot())
            let meanF = Float(mean)
            for cc in 0..<cg {
                let c = g * cg + cc
                let scale = rstd * (gamma?[c] ?? 1)
                let shift = (beta?[c] ?? 0) - meanF * scale
                let s = src + cc * spatial, d = y + base + cc * spatial
                for i in 0..<spatial {
                    var v = s[i] * scale + shift
                    if relu && v < 0 { v = 0 }
                    d[i] = v
                }
            }
        }
    }
}
