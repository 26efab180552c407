/// Channels-last (`[N, H, W, C]`) versions of the max pool and the nearest
/// resize. Each output element selects exactly the input the NCHW kernel
/// selects (same window order, same NaN rule), so the bits equal the NCHW
/// result after permuting; threads take whole output rows.
///
/// ```swift
/// Resampling.maxPool2dNHWC(x, y, batch: 1, height: 400, width: 544, channels: 64,
///                          kernel: 3, stride: 2, padding: 1, threads: 2)
/// ```
extension Resampling {
    /// Max pooling of NHWC data with implicit −∞ padding; a NaN in the window gives the last NaN met
    /// in window order (rows, then columns), exactly as ``maxPool2d(_:_:planes:height:width:kernel:stride:padding:threads:)``
    /// and PyTorch's CPU kernel.
    @_spi(Kernels) public static func maxPool2dNHWC(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, height h: Int, width w: Int,
        channels c: Int, kernel: Int, stride: Int, padding: Int, threads: Int
    ) {
        let oh = pooledSize(h, kernel: kernel, stride: stride, padding: padding)
        let ow = pooledSize(w, kernel: kernel, stride: stride, padding: padding)
        ThreadPool.current.forEachChunk(batch * oh, threads: threads) { row in
            let n = row / oh, oy = row % oh
            let src = x + n * h * w * c
            let y0 = max(oy * stride - padding, 0), y1 = min(oy * stride - padding + kernel, h)
            for ox in 0..<ow {
                let x0 = max(ox * stride - padding, 0), x1 = min(ox * stride - padding + kernel, w)
                let dst = y + ((n * oh + oy) * ow + ox) * c
                var ch = 0
                while ch + 8 <= c {
                    var m = SIMD8<Float>(repeating: -.infinity)
                    for iy in y0..<y1 {
                        for ix in x0..<x1 {
                            let p = src + (iy * w + ix) * c + ch
                            let v = SIMD8<Float>(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7])
                            // Take v where it is larger or NaN (PyTorch's rule: the last NaN wins).
                            m.replace(with: v, where: (v .> m) .| (v .!= v))
                        }
                    }
                    for l in 0..<8 { dst[ch + l] = m[l] }
                    ch += 8
                }
                while ch < c {
                    var m = -Float.infinity
                    for iy in y0..<y1 {
                        for ix in x0..<x1 {
                            let v = src[(iy * w + ix) * c + ch]
                            if v > m || v.isNaN { m = v }
                        }
                    }
                    dst[ch] = m
                    ch += 1
                }
            }
        }
    }

    /// Nearest-neighbour resize of NHWC data (legacy `"nearest"` indices, see ``nearestIndex(_:input:output:)``);
    /// every output pixel is a copy of one input pixel's `C` values.
    @_spi(Kernels) public static func upsampleNearestNHWC(
        _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, height h: Int, width w: Int,
        channels c: Int, outHeight oh: Int, outWidth ow: Int, threads: Int
    ) {
        let xs = (0..<ow).map { nearestIndex($0, input: w, output: ow) }
        xs.withUnsafeBufferPointer { xi in
            ThreadPool.current.forEachChunk(batch * oh, threads: threads) { row in
                let n = row / oh, oy = row % oh
                let srcRow = x + (n * h + nearestIndex(oy, input: h, output: oh)) * w * c
                let dstRow = y + row * ow * c
                for ox in 0..<ow {
                    (dstRow + ox * c).update(from: srcRow + xi[ox] * c, count: c)
                }
            }
        }
    }
}
