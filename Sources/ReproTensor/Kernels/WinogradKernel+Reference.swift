extension WinogradKernel {
    /// Copies NCHW `x` into the zero-padded NHWC buffer `[N, hp, wp, cp]` of
    /// ``paddedSize(_:variant:)``: the image at `(padH, padW)`, zeros elsewhere
    /// (also in channels `C..<cp`). Pure copies: exact.
    @_spi(Kernels) public static func pad(
        _ g: ConvGeometry, variant: WinogradTransform.Variant, nchw x: UnsafePointer<Float>,
        into p: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let c = g.inChannels, h = g.height, w = g.width
        padRows(g, variant: variant, into: p, threads: threads) { n, iy, dst, cp in
            let src = x + n * c * h * w + iy * w
            var c0 = 0
            while c0 + 8 <= c {
                let s = src + c0 * h * w, plane = h * w
                for ix in 0..<w {
                    let v = SIMD8<Float>(s[ix], s[ix + plane], s[ix + 2 * plane], s[ix + 3 * plane],
                                         s[ix + 4 * plane], s[ix + 5 * plane], s[ix + 6 * plane], s[ix + 7 * plane])
                    UnsafeMutableRawPointer(dst + ix * cp + c0).storeBytes(of: v, as: SIMD8<Float>.self)
                }
                c0 += 8
            }
            if c0 < cp {
                for ix in 0..<w {
                    for ci in c0..<cp { dst[ix * cp + ci] = ci < c ? src[ci * h * w + ix] : 0 }
                }
            }
        }
    }

    /// Copies NHWC `x` `[N, H, W, C]` into the zero-padded NHWC buffer of
    /// ``paddedSize(_:variant:)`` (see ``pad(_:variant:nchw:into:threads:)``).
    @_spi(Kernels) public static func pad(
        _ g: ConvGeometry, variant: WinogradTransform.Variant, nhwc x: UnsafePointer<Float>,
        into p: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let c = g.inChannels, h = g.height, w = g.width
        padRows(g, variant: variant, into: p, threads: threads) { n, iy, dst, cp in
            let src = x + (n * h + iy) * w * c
            if cp == c {
                dst.update(from: src, count: w * c)
            } else {
                for ix in 0..<w {
                    (dst + ix * cp).update(from: src + ix * c, count: c)
                    (dst + ix * cp + c).initialize(repeating: 0, count: cp - c)
                }
            }
        }
    }

    /// ``pad(_:variant:nhwc:into:threads:)`` of `x · scale[n, c] + shift[n, c]` (+ ReLU): a group
    /// normalisation's affine pass applied while copying, with ``GroupNormKernel``'s arithmetic
    /// (`affineRow`), so the same bits as normalising first and padding after. The padding stays
    /// zero. `scales` and `shifts` hold `[N, C]` values.
    @_spi(Kernels) public static func pad(
        _ g: ConvGeometry, variant: WinogradTransform.Variant, nhwc x: UnsafePointer<Float>,
        scales: UnsafePointer<Float>, shifts: UnsafePointer<Float>, relu: Bool,
        into p: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let c = g.inChannels, h = g.height, w = g.width
        padRows(g, variant: variant, into: p, threads: threads) { n, iy, dst, cp in
            let src = x + (n * h + iy) * w * c
            let scale = scales + n * c, shift = shifts + n * c
            for ix in 0..<w {
                GroupNormKernel.affineRow(src + ix * c, dst + ix * cp, count: c, scale: scale, shift: shift, relu: relu)
                if cp > c { (dst + ix * cp + c).initialize(repeating: 0, count: cp - c) }
            }
        }
    }

    /// The shared row loop of both `pad` layouts: zeroes padding rows and the
    /// left/right borders of image rows, and lets `interior(n, iy, dst, cp)` fill
    /// the `W × cp` image part of row `iy` of image `n` starting at `dst`.
    private static func padRows(
        _ g: ConvGeometry, variant: WinogradTransform.Variant, into p: UnsafeMutablePointer<Float>, threads: Int,
        interior: (Int, Int, UnsafeMutablePointer<Float>, Int) -> Void
    ) {
        let h = g.height, w = g.width
        let (hp, wp, cp) = paddedSize(g, variant: variant)
        ThreadPool.current.forEachChunk(g.batch * hp, threads: threads) { chunk in
            let n = chunk / hp, y = chunk % hp, iy = y - g.padding.h
            let row = p + (n * hp + y) * wp * cp
            guard iy >= 0 && iy < h else { row.initialize(repeating: 0, count: wp * cp); return }
            row.initialize(repeating: 0, count: g.padding.w * cp)
            (row + (g.padding.w + w) * cp).initialize(repeating: 0, count: (wp - g.padding.w - w) * cp)
            interior(n, iy, row + g.padding.w * cp, cp)
        }
    }

    /// The scalar reference on NCHW input and output with the same transformed
    /// weights: per tile, `V = Bᵀ d B` per channel (zeros outside the image), per
    /// output channel and frequency one FMA chain over c = 0…C−1 from zero,
    /// `Y = Aᵀ M A`, the epilogue. Every operation in the order of
    /// ``WinogradTransform``, so the bits equal ``forward(_:paddedInput:weights:output:layout:epilogue:threads:)``.
    @_spi(Kernels) public static func reference(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, weights: PackedWeights,
        output y: UnsafeMutablePointer<Float>, epilogue: Epilogue = .none
    ) {
        let t = weights.transform, m = t.m, a = t.alpha, a2 = a * a
        let c = g.inChannels, h = g.height, w = g.width, oh = g.outHeight, ow = g.outWidth
        let (rows, cols) = tiles(g, m: m)
        var v = [Float](repeating: 0, count: c * a2)
        for n in 0..<g.batch {
            for ty in 0..<rows {
                for tx in 0..<cols {
                    for ci in 0..<c {
                        var d = [Float](repeating: 0, count: a2)
                        for k in 0..<a {
                            for j in 0..<a {
                                let iy = ty * m + k - g.padding.h, ix = tx * m + j - g.padding.w
                                if iy >= 0 && iy < h && ix >= 0 && ix < w { d[k * a + j] = x[((n * c + ci) * h + iy) * w + ix] }
                            }
                        }
                        let tile = t.inputTile(d)
                        for xi in 0..<a2 { v[ci * a2 + xi] = tile[xi] }
                    }
                    for o in 0..<g.outChannels {
                        var prod = [Float](repeating: 0, count: a2)
                        for xi in 0..<a2 {
                            var acc: Float = 0
                            for ci in 0..<c { acc = acc.addingProduct(v[ci * a2 + xi], weights.value(xi: xi, c: ci, o: o)) }
                            prod[xi] = acc
                        }
                        let out = t.outputTile(prod)
                        for i in 0..<m where ty * m + i < oh {
                            for j in 0..<m where tx * m + j < ow {
                                y[((n * g.outChannels + o) * oh + ty * m + i) * ow + tx * m + j] =
                                    epilogue.apply(out[i * m + j], channel: o)
                            }
                        }
                    }
                }
            }
        }
    }
}
