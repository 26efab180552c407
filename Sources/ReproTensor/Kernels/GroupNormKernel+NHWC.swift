/// Group normalisation of channels-last data `[N, H·W, C]` with the **same**
/// statistics order as the NCHW kernel: for each (n, g) the group's
/// `C/G × H·W` values are first gathered into a scratch buffer in NCHW order
/// (channel-major), then summed with the fixed striped order of
/// ``GroupNormKernel`` — so mean, variance and every output bit equal the NCHW
/// result after permuting, at any thread count. The affine step
/// `y = x · scale_c + shift_c` (+ ReLU) then runs over pixels in place order.
///
/// ```swift
/// GroupNormKernel.forwardNHWC(x, y, batch: 1, spatial: 100 * 136, channels: 256, groups: 32,
///                             gamma: g, beta: b, eps: 1e-5, relu: true, threads: 2)
/// ```
extension GroupNormKernel {
    /// Normalises NHWC `x` into `y` (may alias). `gamma`/`beta` hold one value per channel (or `nil` for 1 / 0).
    @_spi(Kernels) public static func forwardNHWC(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, spatial: Int, channels: Int,
        groups: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float, relu: Bool, threads: Int
    ) {
        normalizeNHWC(x, y, batch: batch, spatial: spatial, channels: channels, groups: groups, gamma: gamma, beta: beta,
                      eps: eps, relu: relu, saving: nil, threads: threads)
    }

    /// The NHWC normalisation, optionally writing each (n, g)'s float32 mean and rstd to `saving` (`[N, G]`).
    static func normalizeNHWC(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, spatial: Int, channels: Int,
        groups: Int, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?, eps: Float, relu: Bool,
        saving: (mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>)?, threads: Int
    ) {
        let cg = channels / groups
        let m = cg * spatial
        // Per (n, c): scale and shift, computed from the group's statistics.
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: max(batch * channels, 1))
        let shifts = UnsafeMutablePointer<Float>.allocate(capacity: max(batch * channels, 1))
        defer { scales.deallocate(); shifts.deallocate() }
        ThreadPool.current.forEachChunk(batch * groups, threads: threads) { ng in
            let n = ng / groups, g = ng % groups
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(m, 1))
            defer { scratch.deallocate() }
            let src = x + n * spatial * channels + g * cg
            for s in 0..<spatial {
                let p = src + s * channels
                for cc in 0..<cg { scratch[cc * spatial + s] = p[cc] }
            }
            let mean = stripedSum(scratch, m, center: 0, square: false) / Double(m)
            let variance = stripedSum(scratch, m, center: mean, square: true) / Double(m)
            let rstd = Float(1 / (variance + Double(eps)).squareRoot())
            let meanF = Float(mean)
            if let saving {
                saving.mean[ng] = meanF
                saving.rstd[ng] = rstd
            }
            for cc in 0..<cg {
                let c = g * cg + cc
                let scale = rstd * (gamma?[c] ?? 1)
                scales[n * channels + c] = scale
                shifts[n * channels + c] = (beta?[c] ?? 0) - meanF * scale
            }
        }
        let rowsPerChunk = max(1, 4096 / max(channels, 1))
        let chunksPerImage = (spatial + rowsPerChunk - 1) / rowsPerChunk
        ThreadPool.current.forEachChunk(batch * chunksPerImage, threads: threads) { chunk in
            let n = chunk / chunksPerImage, s0 = (chunk % chunksPerImage) * rowsPerChunk
            let s1 = min(s0 + rowsPerChunk, spatial)
            let scale = scales + n * channels, shift = shifts + n * channels
            for s in s0..<s1 {
                let base = (n * spatial + s) * channels
                for c in 0..<channels {
                    var v = x[base + c] * scale[c] + shift[c]
                    if relu && v < 0 { v = 0 }
                    y[base + c] = v
                }
            }
        }
    }
}
