import _ReproKernelsAVX512

/// Direct 2-D convolution on NHWC activations with a fixed summation order.
///
/// Every output is one fused multiply-add chain starting at zero over the taps
/// in the order `(ky, kx, ic)` — padded taps included, reading zeros — then
/// the ``Epilogue``. The micro-kernel computes 6 output pixels × 16 output
/// channels (twelve `SIMD8<Float>` accumulators); threads take ranges of
/// output rows. ``reference(_:input:weight:output:epilogue:)`` computes the
/// same bits with scalar loops on NCHW / OIHW.
///
/// ```swift
/// let w = Conv2dKernel.PackedWeights(oihw: wPtr, geometry: g)
/// Conv2dKernel.forward(g, paddedInput: xPadded, weights: w, output: yNHWC, threads: 2)
/// ```
@_spi(Kernels) public enum Conv2dKernel {
    /// Weights in the kernel's layout: per group and 16-channel output block,
    /// `[ky][kx][ic][16]` (zero past the last output channel).
    @_spi(Kernels) public final class PackedWeights: @unchecked Sendable {
        /// The geometry the weights were packed for (batch and input size are ignored).
        @_spi(Kernels) public let geometry: ConvGeometry
        /// Output-channel blocks per group.
        let blocks: Int
        /// Floats per block.
        let blockSize: Int
        let base: UnsafeMutablePointer<Float>

        /// Packs OIHW weights `[O, C/groups, KH, KW]` on the calling thread.
        @_spi(Kernels) public convenience init(oihw w: UnsafePointer<Float>, geometry g: ConvGeometry) {
            self.init(oihw: w, geometry: g, threads: 1)
        }

        /// Packs OIHW weights `[O, C/groups, KH, KW]`; threads take (group, block, `ky`) slices
        /// of the packed buffer (pure copies, so the thread count cannot change a value).
        @_spi(Kernels) public convenience init(oihw w: UnsafePointer<Float>, geometry g: ConvGeometry, threads: Int) {
            let icg = g.groupInChannels, ocg = g.groupOutChannels, kw = g.kernelWidth, kk = g.kernelHeight * kw
            self.init(geometry: g, threads: threads) { grp, ob, ky, d in
                // Source order: output channel by output channel, each one's `[ic][kx]` run of row
                // `ky` read in sequence (the slice written, kw · icg · 16 floats, stays in L2).
                for l in 0..<16 {
                    let o = ob * 16 + l
                    if o >= ocg {
                        for i in 0..<(kw * icg) { d[(ky * kw * icg + i) * 16 + l] = 0 }
                        continue
                    }
                    let src = w + (grp * ocg + o) * icg * kk + ky * kw
                    for ic in 0..<icg {
                        let s = src + ic * kk
                        for kx in 0..<kw { d[((ky * kw + kx) * icg + ic) * 16 + l] = s[kx] }
                    }
                }
            }
        }

        /// Packs the weights of the transposed convolution that computes the input gradient of
        /// `w` (OIHW `[O, C/groups, KH, KW]` of the forward convolution) in one pass, without an
        /// intermediate flipped copy: for `geometry` `t` (``Conv2dBackward``'s transposed geometry:
        /// `C` output and `O` input channels), output channel `c` and input channel `o` of group
        /// `grp` at tap `(ky, kx)` hold `w[grp·O/groups + o, c, KH−1−ky, KW−1−kx]`. Threads take
        /// slices as in ``init(oihw:geometry:threads:)``.
        @_spi(Kernels) public convenience init(flippedTransposedOf w: UnsafePointer<Float>, geometry t: ConvGeometry, threads: Int) {
            // In `t`, groupInChannels is the forward O/groups and groupOutChannels the forward C/groups.
            let fo = t.groupInChannels, fc = t.groupOutChannels, kw = t.kernelWidth, kk = t.kernelHeight * kw
            self.init(geometry: t, threads: threads) { grp, ob, ky, d in
                for kx in 0..<kw {
                    let tap = ky * kw + kx
                    for o in 0..<fo {
                        let row = d + (tap * fo + o) * 16
                        for l in 0..<16 {
                            let c = ob * 16 + l
                            row[l] = c < fc ? w[((grp * fo + o) * fc + c) * kk + (kk - 1 - tap)] : 0
                        }
                    }
                }
            }
        }

        /// Allocates the packed layout and lets `fill(group, block, ky, blockBase)` write the taps of
        /// kernel row `ky` of one 16-channel output block (`[kx][ic][16]` at `blockBase + ky·KW·icg·16`;
        /// lanes past the last output channel zero). Every (group, block, `ky`) slice is written by exactly
        /// one call, on one thread.
        private init(geometry g: ConvGeometry, threads: Int,
                     _ fill: (_ group: Int, _ block: Int, _ ky: Int, _ blockBase: UnsafeMutablePointer<Float>) -> Void) {
            geometry = g
            let icg = g.groupInChannels, ocg = g.groupOutChannels, kh = g.kernelHeight, kw = g.kernelWidth
            let blocks = (ocg + 15) / 16, blockSize = kh * kw * icg * 16
            self.blocks = blocks
            self.blockSize = blockSize
            let total = max(g.groups * blocks * blockSize, 1)
            let base = UnsafeMutableRawPointer.allocate(byteCount: total * 4, alignment: 64).bindMemory(to: Float.self, capacity: total)
            self.base = base
            // One chunk per (group, block, ky): a fixed split of the buffer; at least 1 MiB to
            // pack before a second thread is asked for.
            let chunks = g.groups * blocks * kh
            let t = total * 4 >= ParallelMemory.minimumParallelBytes ? threads : 1
            ThreadPool.current.forEachChunk(chunks, threads: t) { chunk in
                let ky = chunk % kh, gb = chunk / kh
                fill(gb / blocks, gb % blocks, ky, base + gb * blockSize)
            }
        }

        /// The bytes of the packed weights.
        var byteCount: Int { max(geometry.groups * blocks * blockSize, 1) * 4 }

        deinit { base.deallocate() }
    }

    /// Copies NHWC `x` `[N, H, W, C]` into a zero-padded NHWC buffer `[N, H+2·padH, W+2·padW, C]`,
    /// writing every element of `p` once (the borders zero): `p` may hold anything before.
    @_spi(Kernels) public static func pad(_ g: ConvGeometry, nhwc x: UnsafePointer<Float>, into p: UnsafeMutablePointer<Float>, threads: Int) {
        let c = g.inChannels, h = g.height, w = g.width
        padRows(g, into: p, threads: threads) { n, iy, dst in
            dst.update(from: x + (n * h + iy) * w * c, count: w * c)
        }
    }

    /// Copies NCHW `input` into a zero-padded NHWC buffer `[N, H+2·padH, W+2·padW, C]`.
    @_spi(Kernels) public static func padToNHWC(_ g: ConvGeometry, nchw x: UnsafePointer<Float>, into p: UnsafeMutablePointer<Float>, threads: Int) {
        let c = g.inChannels, h = g.height, w = g.width
        padRows(g, into: p, threads: threads) { n, iy, dst in
            let src = x + n * c * h * w + iy * w
            // 16 × 16 tiles: each tile writes 16 runs of 16 channels (whole
            // cache lines) instead of one float per line per channel.
            for c0 in stride(from: 0, to: c, by: 16) {
                let c1 = min(c0 + 16, c)
                for x0 in stride(from: 0, to: w, by: 16) {
                    let x1 = min(x0 + 16, w)
                    for ci in c0..<c1 {
                        let s = src + ci * h * w
                        for ix in x0..<x1 { dst[ix * c + ci] = s[ix] }
                    }
                }
            }
        }
    }

    /// The row loop of both `pad` layouts: zeroes padding rows and the left/right borders of image
    /// rows, and lets `interior(n, iy, dst)` fill the `W × C` image part of row `iy` of image `n`.
    private static func padRows(
        _ g: ConvGeometry, into p: UnsafeMutablePointer<Float>, threads: Int,
        interior: (Int, Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        let c = g.inChannels, h = g.height, w = g.width
        let hp = h + 2 * g.padding.h, wp = w + 2 * g.padding.w
        ThreadPool.current.forEachChunk(g.batch * hp, threads: threads) { chunk in
            let n = chunk / hp, y = chunk % hp
            let row = p + (n * hp + y) * wp * c
            let iy = y - g.padding.h
            guard iy >= 0 && iy < h else { row.initialize(repeating: 0, count: wp * c); return }
            row.initialize(repeating: 0, count: g.padding.w * c)
            (row + (g.padding.w + w) * c).initialize(repeating: 0, count: g.padding.w * c)
            interior(n, iy, row + g.padding.w * c)
        }
    }

    /// Layout of the kernel's output.
    @_spi(Kernels) public enum OutputLayout: Sendable {
        /// `[N, OH, OW, O]` (vector stores).
        case nhwc
        /// `[N, O, OH, OW]` (PyTorch's layout; each 6 × 16 tile is scattered
        /// through a small buffer, which saves a separate transposition pass).
        case nchw
    }

    /// Runs the convolution: `paddedInput` is NHWC `[N, H+2·padH, W+2·padW, C]`
    /// (see ``padToNHWC(_:nchw:into:threads:)``); `output` is laid out as `layout` says.
    @_spi(Kernels) public static func forward(
        _ g: ConvGeometry, paddedInput: UnsafePointer<Float>, weights: PackedWeights,
        output: UnsafeMutablePointer<Float>, layout: OutputLayout = .nhwc, epilogue: Epilogue = .none, threads: Int
    ) {
        if usesImplicitGEMM(g) {
            forwardImplicitGEMM(g, paddedInput: paddedInput, weights: weights, output: output, layout: layout,
                                epilogue: epilogue, threads: threads)
            return
        }
        let pe = PaddedEpilogue(epilogue, channels: g.outChannels)
        defer { pe.deallocate() }
        // The output rows of each image are cut into groups of up to four rows (fewer when that
        // leaves under four groups per thread), which the threads claim as they go
        // (``ThreadPool/forEachClaimedChunk(_:threads:_:)``); each group runs every 16-channel weight
        // block over its rows while they are in cache. Which thread computes a group, and which rows
        // are computed together, never changes one output's sum.
        let oh = g.outHeight
        let rowsPerGroup = max(1, min(4, g.batch * oh / (4 * max(threads, 1))))
        let groupsPerImage = (oh + rowsPerGroup - 1) / rowsPerGroup
        // NHWC output on the AVX-512 path: 12-pixel tiles in `_ReproKernelsAVX512` (same bits).
        let wide = Runtime.usesAVX512 && layout == .nhwc
        ThreadPool.current.forEachClaimedChunk(g.batch * groupsPerImage, threads: threads) { unit, _ in
            let n = unit / groupsPerImage, r0 = unit % groupsPerImage * rowsPerGroup
            rows(g, n: n, rows: r0..<min(r0 + rowsPerGroup, oh), input: paddedInput, weights: weights, output: output,
                 nchw: layout == .nchw, epilogue: pe, wide: wide)
        }
    }

    /// Smallest number of input channels (one group) for which ``forward(_:paddedInput:weights:output:layout:epilogue:threads:)``
    /// runs as an implicit GEMM.
    static let implicitGEMMMinChannels = 64

    /// Whether the convolution runs through ``GEMM``'s blocked driver with the
    /// im2col matrix packed on the fly (one group, at least
    /// ``implicitGEMMMinChannels`` input channels, more than one tap): a rule on
    /// the shape. Either way every output is the same `(ky, kx, ic)` chain, so
    /// the choice never changes a bit; with many channels the GEMM's cache
    /// blocking (a 6-pixel × KC panel in L1/L2, 16-channel weight panels
    /// reused across a block of pixels) beats the direct loop, whose
    /// weight block and input rows do not fit in L2.
    static func usesImplicitGEMM(_ g: ConvGeometry) -> Bool {
        g.groups == 1 && g.inChannels >= implicitGEMMMinChannels
            && (g.kernelHeight * g.kernelWidth > 1 || g.stride.h > 1 || g.stride.w > 1)
    }

    /// The implicit-GEMM path: NHWC output directly; NCHW through an NHWC
    /// buffer and one transposition.
    static func forwardImplicitGEMM(
        _ g: ConvGeometry, paddedInput: UnsafePointer<Float>, weights: PackedWeights,
        output: UnsafeMutablePointer<Float>, layout: OutputLayout, epilogue: Epilogue, threads: Int
    ) {
        let oc = g.outChannels
        if layout == .nhwc {
            GEMM.convolve(g, paddedInput: paddedInput, packedWeights: weights.base, c: output, ldc: oc,
                          epilogue: epilogue, threads: threads)
            return
        }
        let plane = g.outHeight * g.outWidth
        let count = g.batch * plane * oc
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 1))
        defer { buffer.deallocate() }
        GEMM.convolve(g, paddedInput: paddedInput, packedWeights: weights.base, c: buffer, ldc: oc,
                      epilogue: epilogue, threads: threads)
        Layout.nhwcToNCHW(buffer, output, n: g.batch, c: oc, hw: plane, threads: threads)
    }

    /// Output rows `rows` of sample `n`, all channels (weight block outermost).
    static func rows(
        _ g: ConvGeometry, n: Int, rows: Range<Int>, input: UnsafePointer<Float>, weights: PackedWeights,
        output: UnsafeMutablePointer<Float>, nchw: Bool, epilogue: PaddedEpilogue, wide: Bool = false
    ) {
        let c = g.inChannels, oc = g.outChannels, icg = g.groupInChannels, ocg = g.groupOutChannels
        let hp = g.height + 2 * g.padding.h, wp = g.width + 2 * g.padding.w
        let ow = g.outWidth
        let rowStep = g.dilation.h * wp * c, colStep = g.dilation.w * c, pixelStep = g.stride.w * c
        var tmp = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        withUnsafeMutableBytes(of: &tmp) { raw in
            let t = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            for grp in 0..<g.groups {
                for ob in 0..<weights.blocks {
                    let wb = UnsafePointer(weights.base + (grp * weights.blocks + ob) * weights.blockSize)
                    let ch = grp * ocg + ob * 16
                    let lanes = min(16, ocg - ob * 16)
                    for oy in rows {
                        let inRow = input + (n * hp + oy * g.stride.h) * wp * c
                        let outRow = output + (n * g.outHeight + oy) * ow * oc
                        if wide && !nchw {
                            let merged = colStep == icg
                            var e = epilogue.tile
                            for ox in stride(from: 0, to: ow, by: 12) {
                                repro_direct_tile12(inRow + ox * pixelStep + grp * icg, pixelStep, min(12, ow - ox), wb,
                                                    g.kernelHeight, merged ? 1 : g.kernelWidth,
                                                    merged ? g.kernelWidth * icg : icg, rowStep, colStep,
                                                    outRow + ox * oc + ch, oc, lanes, &e, ch)
                            }
                            continue
                        }
                        for ox in stride(from: 0, to: ow, by: 6) {
                            let valid = min(6, ow - ox)
                            let src = inRow + ox * pixelStep + grp * icg
                            if nchw {
                                micro(src, pixelStep, valid, wb, g.kernelHeight, g.kernelWidth, icg, rowStep, colStep,
                                      t, 16, epilogue, ch)
                                let plane = g.outHeight * ow
                                let dst = output + (n * oc + ch) * plane + oy * ow + ox
                                for l in 0..<lanes { for j in 0..<valid { dst[l * plane + j] = t[j * 16 + l] } }
                                continue
                            }
                            let dst = outRow + ox * oc + ch
                            if valid == 6 && lanes == 16 {
                                micro(src, pixelStep, 6, wb, g.kernelHeight, g.kernelWidth, icg, rowStep, colStep,
                                      dst, oc, epilogue, ch)
                            } else {
                                micro(src, pixelStep, valid, wb, g.kernelHeight, g.kernelWidth, icg, rowStep, colStep,
                                      t, 16, epilogue, ch)
                                for j in 0..<valid { for l in 0..<lanes { dst[j * oc + l] = t[j * 16 + l] } }
                            }
                        }
                    }
                }
            }
        }
    }

    /// 6 pixels × 16 channels. Pixel `j` reads `src + min(j, valid−1)·pixelStep`;
    /// output pixel `j` is stored at `dst + j·ldo` for `j < valid`.
    ///
    /// Why this is not ``GEMM``'s `kernel6x16`: that kernel reads A from a packed
    /// `[k][6]` panel, while this one reads the six pixels' taps straight from
    /// the padded image (six base pointers stepping over `(ky, kx, ic)`). Feeding
    /// the GEMM kernel would need that panel, i.e. an im2col copy of every input
    /// pixel per tap — the copy the direct kernel exists to avoid. The FMA chain
    /// per output (`(ky, kx, ic)` order, accumulators from zero) is the same.
    @inline(never)
    static func micro(
        _ src: UnsafePointer<Float>, _ pixelStep: Int, _ valid: Int, _ w: UnsafePointer<Float>,
        _ kh: Int, _ kw: Int, _ icg: Int, _ rowStep: Int, _ colStep: Int,
        _ dst: UnsafeMutablePointer<Float>, _ ldo: Int, _ e: PaddedEpilogue, _ ch: Int
    ) {
        typealias V = SIMD8<Float>
        @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func st(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
        let p0 = src, p1 = src + min(1, valid - 1) * pixelStep, p2 = src + min(2, valid - 1) * pixelStep
        let p3 = src + min(3, valid - 1) * pixelStep, p4 = src + min(4, valid - 1) * pixelStep
        let p5 = src + min(5, valid - 1) * pixelStep
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        var wp = w
        // When the taps of one kernel row are adjacent in memory (one group,
        // horizontal dilation 1) the (kx, ic) loops run as one contiguous loop:
        // the same order, fewer loop overheads (the 7×7 stem has icg = 3).
        let merged = colStep == icg
        let kxCount = merged ? 1 : kw, run = merged ? kw * icg : icg
        for ky in 0..<kh {
            for kx in 0..<kxCount {
                let off = ky * rowStep + kx * colStep
                let q0 = p0 + off, q1 = p1 + off, q2 = p2 + off, q3 = p3 + off, q4 = p4 + off, q5 = p5 + off
                for ic in 0..<run {
                    let w0 = ld(wp), w1 = ld(wp + 8)
                    var x = V(repeating: q0[ic])
                    c00 = c00.addingProduct(x, w0); c01 = c01.addingProduct(x, w1)
                    x = V(repeating: q1[ic])
                    c10 = c10.addingProduct(x, w0); c11 = c11.addingProduct(x, w1)
                    x = V(repeating: q2[ic])
                    c20 = c20.addingProduct(x, w0); c21 = c21.addingProduct(x, w1)
                    x = V(repeating: q3[ic])
                    c30 = c30.addingProduct(x, w0); c31 = c31.addingProduct(x, w1)
                    x = V(repeating: q4[ic])
                    c40 = c40.addingProduct(x, w0); c41 = c41.addingProduct(x, w1)
                    x = V(repeating: q5[ic])
                    c50 = c50.addingProduct(x, w0); c51 = c51.addingProduct(x, w1)
                    wp += 16
                }
            }
        }
        c00 = e.apply(c00, channel: ch); c01 = e.apply(c01, channel: ch + 8)
        c10 = e.apply(c10, channel: ch); c11 = e.apply(c11, channel: ch + 8)
        c20 = e.apply(c20, channel: ch); c21 = e.apply(c21, channel: ch + 8)
        c30 = e.apply(c30, channel: ch); c31 = e.apply(c31, channel: ch + 8)
        c40 = e.apply(c40, channel: ch); c41 = e.apply(c41, channel: ch + 8)
        c50 = e.apply(c50, channel: ch); c51 = e.apply(c51, channel: ch + 8)
        st(c00, dst); st(c01, dst + 8)
        if valid > 1 { st(c10, dst + ldo); st(c11, dst + ldo + 8) }
        if valid > 2 { st(c20, dst + 2 * ldo); st(c21, dst + 2 * ldo + 8) }
        if valid > 3 { st(c30, dst + 3 * ldo); st(c31, dst + 3 * ldo + 8) }
        if valid > 4 { st(c40, dst + 4 * ldo); st(c41, dst + 4 * ldo + 8) }
        if valid > 5 { st(c50, dst + 5 * ldo); st(c51, dst + 5 * ldo + 8) }
    }

    /// The scalar reference on NCHW input, OIHW weights and NCHW output: the
    /// same `(ky, kx, ic)` chain, padded taps contributing `fma(0, w, acc)`.
    @_spi(Kernels) public static func reference(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, weight w: UnsafePointer<Float>,
        output y: UnsafeMutablePointer<Float>, epilogue: Epilogue = .none
    ) {
        let icg = g.groupInChannels, ocg = g.groupOutChannels, oh = g.outHeight, ow = g.outWidth
        for n in 0..<g.batch {
            for o in 0..<g.outChannels {
                let grp = o / ocg
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var acc: Float = 0
                        for ky in 0..<g.kernelHeight {
                            for kx in 0..<g.kernelWidth {
                                let iy = oy * g.stride.h + ky * g.dilation.h - g.padding.h
                                let ix = ox * g.stride.w + kx * g.dilation.w - g.padding.w
                                let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                                for ic in 0..<icg {
                                    let c = grp * icg + ic
                                    let v: Float = inside ? x[((n * g.inChannels + c) * g.height + iy) * g.width + ix] : 0
                                    let wv = w[((o * icg + ic) * g.kernelHeight + ky) * g.kernelWidth + kx]
                                    acc = acc.addingProduct(v, wv)
                                }
                            }
                        }
                        y[((n * g.outChannels + o) * oh + oy) * ow + ox] = epilogue.apply(acc, channel: o)
                    }
                }
            }
        }
    }
}
