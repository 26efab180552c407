/// Max pooling and resizing of NCHW planes. All of these select or blend a
/// fixed set of inputs per output with a fixed formula, so one scalar code
/// path is both the kernel and its reference; threads take whole planes.
///
/// ```swift
/// Resampling.maxPool2d(x, y, planes: n * c, height: 400, width: 544, kernel: 3, stride: 2, padding: 1, threads: 2)
/// ```
@_spi(Kernels) public enum Resampling {
    /// Output size of a pooling window along one axis (PyTorch's floor rule).
    @_spi(Kernels) public static func pooledSize(_ input: Int, kernel: Int, stride: Int, padding: Int) -> Int {
        (input + 2 * padding - kernel) / stride + 1
    }

    /// Max pooling with implicit −∞ padding; NaN propagates. PyTorch's CPU rule: scanning the window
    /// row by row, a value replaces the maximum when it is greater or NaN, so a window holding NaNs
    /// gives its **last** NaN (payload and sign included) and tied maxima give the first.
    @_spi(Kernels) public static func maxPool2d(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, planes: Int, height h: Int, width w: Int,
        kernel: Int, stride: Int, padding: Int, threads: Int
    ) {
        let oh = pooledSize(h, kernel: kernel, stride: stride, padding: padding)
        let ow = pooledSize(w, kernel: kernel, stride: stride, padding: padding)
        ThreadPool.current.forEachChunk(planes, threads: threads) { p in
            let src = x + p * h * w, dst = y + p * oh * ow
            for oy in 0..<oh {
                let y0 = max(oy * stride - padding, 0), y1 = min(oy * stride - padding + kernel, h)
                for ox in 0..<ow {
                    let x0 = max(ox * stride - padding, 0), x1 = min(ox * stride - padding + kernel, w)
                    var m = -Float.infinity
                    for iy in y0..<y1 {
                        for ix in x0..<x1 {
                            let v = src[iy * w + ix]
                            if v > m || v.isNaN { m = v }
                        }
                    }
                    dst[oy * ow + ox] = m
                }
            }
        }
    }

    /// Source index of PyTorch's legacy `mode="nearest"` for output index `d`:
    /// `min(floor(d · (in / out)), in − 1)` with the scale in float32
    /// (exact `d >> 1` when `out == 2·in`, identity when equal).
    @_spi(Kernels) public static func nearestIndex(_ d: Int, input: Int, output: Int) -> Int {
        if output == input { return d }
        if output == 2 * input { return d >> 1 }
        let scale = Float(input) / Float(output)
        return min(Int((Float(d) * scale).rounded(.down)), input - 1)
    }

    /// Nearest-neighbour resize of `planes` planes from `h × w` to `oh × ow` (exact copies).
    @_spi(Kernels) public static func upsampleNearest(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, planes: Int,
        height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int, threads: Int
    ) {
        let xs = (0..<ow).map { nearestIndex($0, input: w, output: ow) }
        xs.withUnsafeBufferPointer { xi in
            ThreadPool.current.forEachChunk(planes, threads: threads) { p in
                let src = x + p * h * w, dst = y + p * oh * ow
                for oy in 0..<oh {
                    let row = src + nearestIndex(oy, input: h, output: oh) * w
                    for ox in 0..<ow { dst[oy * ow + ox] = row[xi[ox]] }
                }
            }
        }
    }

    /// Source taps and weights of bilinear `align_corners=False` along one axis:
    /// `s = in / out` (float32), `src = max(s · (d + 0.5) − 0.5, 0)`,
    /// `i0 = floor(src)`, `i1 = min(i0 + 1, in − 1)`, `w1 = src − i0`, `w0 = 1 − w1`.
    @_spi(Kernels) public static func bilinearTaps(input: Int, output: Int) -> [(i0: Int, i1: Int, w0: Float, w1: Float)] {
        let s = Float(input) / Float(output)
        return (0..<output).map { d in
            let src = max(s * (Float(d) + 0.5) - 0.5, 0)
            let i0 = min(Int(src), input - 1)
            let i1 = min(i0 + 1, input - 1)
            let w1 = src - Float(i0)
            return (i0, i1, 1 - w1, w1)
        }
    }

    /// Bilinear resize (`torch.nn.functional.interpolate(mode="bilinear",
    /// align_corners=False, antialias=False)` with the size given), computed per
    /// output as `wy0·(wx0·a + wx1·b) + wy1·(wx0·c + wx1·d)` in float32 without
    /// fused multiply-add. At equal sizes it is an exact copy.
    @_spi(Kernels) public static func upsampleBilinear(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, planes: Int,
        height h: Int, width w: Int, outHeight oh: Int, outWidth ow: Int, threads: Int
    ) {
        let ty = bilinearTaps(input: h, output: oh), tx = bilinearTaps(input: w, output: ow)
        ty.withUnsafeBufferPointer { ty in tx.withUnsafeBufferPointer { tx in
            ThreadPool.current.forEachChunk(planes, threads: threads) { p in
                let src = x + p * h * w, dst = y + p * oh * ow
                for oy in 0..<oh {
                    let r0 = src + ty[oy].i0 * w, r1 = src + ty[oy].i1 * w
                    let wy0 = ty[oy].w0, wy1 = ty[oy].w1
                    for ox in 0..<ow {
                        let t = tx[ox]
                        let top = t.w0 * r0[t.i0] + t.w1 * r0[t.i1]
                        let bottom = t.w0 * r1[t.i0] + t.w1 * r1[t.i1]
                        dst[oy * ow + ox] = wy0 * top + wy1 * bottom
                    }
                }
            }
        }}
    }
}
