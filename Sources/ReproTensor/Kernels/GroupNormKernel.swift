/// Group normalisation of NCHW data with statistics in a fixed order.
///
/// For each sample `n` and group `g` (channels `g·C/G ..< (g+1)·C/G`, all
/// `H·W` positions) the mean and the *biased* variance are accumulated in
/// float64 in two passes (`mean = Σx / m`, `var = Σ(x − mean)² / m`); each sum
/// keeps 16 partial sums (element `i` goes to partial `i mod 16`, tail
/// elements added last in order) combined in one fixed order — an order set by
/// the algorithm alone. Then, per channel `c`:
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
@_spi(Kernels) public enum GroupNormKernel {
    /// Normalises `x` into `y` (may alias). `gamma`/`beta` hold one value per channel (or `nil` for 1 / 0).
    @_spi(Kernels) public static func forward(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, channels: Int, spatial: Int,
        groups: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float, relu: Bool, threads: Int
    ) {
        let cg = channels / groups
        ThreadPool.current.forEachChunk(batch * groups, threads: threads) { ng in
            let n = ng / groups, g = ng % groups
            let base = (n * channels + g * cg) * spatial
            let m = cg * spatial
            let src = x + base
            let mean = stripedSum(src, m, center: 0, square: false) / Double(m)
            let variance = stripedSum(src, m, center: mean, square: true) / Double(m)
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

    /// `Σ f(x[i])` in float64 with `f(x) = x` or `(x − center)²`, in the fixed
    /// striped order described above.
    @inline(__always)
    static func stripedSum(_ p: UnsafePointer<Float>, _ m: Int, center: Double, square: Bool) -> Double {
        typealias D = SIMD4<Double>
        @inline(__always) func term(_ i: Int) -> D {
            var v = D(Double(p[i]), Double(p[i + 1]), Double(p[i + 2]), Double(p[i + 3]))
            if square {
                v = v - center
                v = v * v
            }
            return v
        }
        var a0 = D(), a1 = D(), a2 = D(), a3 = D()
        var i = 0
        while i + 16 <= m {
            a0 = a0 + term(i); a1 = a1 + term(i + 4); a2 = a2 + term(i + 8); a3 = a3 + term(i + 12)
            i += 16
        }
        let v = (a0 + a1) + (a2 + a3)
        var total = (v[0] + v[1]) + (v[2] + v[3])
        while i < m {
            var x = Double(p[i])
            if square {
                x = x - center
                x = x * x
            }
            total = total + x
            i += 1
        }
        return total
    }
}
