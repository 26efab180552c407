/// Gradients of a 2-D convolution on NHWC activations (`x` `[N, H, W, C]`, `dy` `[N, OH, OW, O]`)
/// with OIHW weights `[O, C/groups, KH, KW]`, each with a fixed summation order that depends on
/// the shape alone. They are the gradients of the mathematical convolution, so they are correct
/// whichever forward algorithm ran (direct, implicit GEMM or Winograd).
///
/// **Input gradient** (stride, padding, dilation, groups), by a rule on the shape
/// (``inputGradientPath(_:)``):
/// - 1×1 kernel, no padding (``InputGradientPath/pointwise``): `dx[pixel, c] = Σ_o dy[pixel, o] · w[o, c]`,
///   one FMA chain over the group's output channels in ascending order, from zero — one ``GEMM``
///   over every pixel of the batch (scattered to the pixels `(s·oy, s·ox)` at stride `s`, zero elsewhere).
/// - where the forward's shape rule picks Winograd (3×3, stride 1, dilation 1, one group, at least
///   ``PreparedConv2d/winogradMinimumChannels`` channels each way) and padding ≤ 2 (``InputGradientPath/winograd``):
///   ``WinogradKernel``'s F(4×4, 3×3) convolution of `dy`, zero-padded by `2 − padding`, with the
///   flipped, transposed weights below — the forward Winograd's fixed order per output.
/// - other stride-1 shapes, padding ≤ `dilation·(kernel − 1)` (``InputGradientPath/convolution``): the forward
///   convolution of `dy`, zero-padded by `dilation·(kernel − 1) − padding`, with the flipped,
///   transposed weights `w'[c, o, ky', kx'] = w[o, c, KH−1−ky', KW−1−kx']` (``Conv2dKernel``): one
///   FMA chain from zero over `(ky', kx', o)` ascending — the taps in descending `(ky, kx)` order,
///   taps outside `dy` reading zero.
/// - otherwise (``InputGradientPath/gather``): per sample, one ``GEMM`` product
///   `cols[pixel, (ky, kx, c)] = Σ_o dy[pixel, o] · w[o, c, ky, kx]` (an FMA chain over the group's
///   output channels in ascending order, from zero), then a gather: `dx[iy, ix, c]` is `0` plus the
///   `cols` entries of the taps that reach it, in ascending `(ky, kx)` order (plain adds).
///
/// The pointwise rule is the one-tap case of the convolution and gather rules, so a 1×1 layer gets
/// the same bits either way.
///
/// **Weight gradient**, per sample `n`, by a rule on the shape (``weightGradientPath(_:)``):
/// `dWₙ[o, c, ky, kx]` is the ``GEMM`` product `dyₙᵀ · im2col(xₙ)` with K = OH·OW (output pixels
/// in raster order; one FMA chain from zero, or GEMM's fixed segments when
/// ``GEMM/isSegmented(m:n:k:)``) — or, for 3×3 stride-1 layers the forward runs by Winograd with an
/// output plane of at least ``winogradWeightMinimumPlane`` pixels, F(2×2, 3×3) in its dual form
/// (``WeightGradientPath/winograd``, `Conv2dBackward+WinogradWeights.swift`); either way it depends
/// only on sample `n`.
/// **Bias gradient**, per sample: `dbₙ[o] = 0 + dy[n, 0, 0, o] + dy[n, 0, 1, o] + …` (raster order).
/// Both come as per-sample contributions (``SampleGradients``): `[N, …]` buffers or a
/// ``SampleTreeSum`` for a range of global sample indices.
///
/// Threads split the outputs of each step only (GEMM rows/columns, input rows, samples ×
/// channel blocks), never a sum. Scalar references with plain loops that give the same bits live
/// with the tests (`Conv2dBackwardTests`).
///
/// ```swift
/// Conv2dBackward.inputGradient(g, outputGradient: dy, weight: w, inputGradient: dx, threads: 2)
/// Conv2dBackward.weightGradients(g, input: x, outputGradient: dy, into: dwPerSample, threads: 2)
/// ```
@_spi(Kernels) public enum Conv2dBackward {
    /// Floats per pixel row of the `cols` / im2col matrices: `KH·KW·C`.
    static func tapWidth(_ g: ConvGeometry) -> Int { g.kernelHeight * g.kernelWidth * g.inChannels }

    /// OIHW `[O, Cg, KH, KW]` → `[O, KH, KW, Cg]` (the GEMM's B for the input gradient).
    static func weightsTapMajor(_ g: ConvGeometry, _ w: UnsafePointer<Float>) -> [Float] {
        let icg = g.groupInChannels, kk = g.kernelHeight * g.kernelWidth
        var out = [Float](repeating: 0, count: g.outChannels * kk * icg)
        for o in 0..<g.outChannels {
            for c in 0..<icg {
                for t in 0..<kk { out[(o * kk + t) * icg + c] = w[(o * icg + c) * kk + t] }
            }
        }
        return out
    }

    /// How ``inputGradient(_:outputGradient:weight:inputGradient:threads:)`` computes `dx` for a
    /// geometry — a rule on the shape alone.
    @_spi(Kernels) public enum InputGradientPath: Sendable, Equatable {
        /// 1×1 kernel, no padding: one ``GEMM`` product `dy · W` over every output pixel of the
        /// batch (each `dx` value one FMA chain over the group's output channels, from zero),
        /// straight into `dx` at stride 1, through a scatter at larger strides.
        case pointwise
        /// Where the forward's shape rule picks Winograd (``PreparedConv2d/defaultAlgorithm(weightShape:stride:dilation:groups:)``:
        /// 3×3, stride 1, dilation 1, one group, at least 24 channels each way) and padding at most 2
        /// on each axis (every 3×3 layer of a ResNet but the strided ones): ``WinogradKernel``'s F(4×4, 3×3) convolution of
        /// `dy` (zero-padded by `2 − padding`) with the flipped, transposed weights — the forward's
        /// Winograd arithmetic and order (`V = Bᵀ d B`, per frequency one FMA chain from zero over
        /// the output channels, `Aᵀ M A`), each `dx` value the same whatever the threads or batch.
        /// About 2.5× fewer operations than the direct sum, at F(4×4, 3×3)'s larger rounding
        /// error (docs/training.md gives both).
        case winograd
        /// Other stride-1 geometries with padding at most `dilation·(kernel − 1)` on each axis: a forward
        /// convolution of `dy` (zero-padded by `dilation·(kernel − 1) − padding`) with the
        /// flipped, transposed weights through ``Conv2dKernel`` (implicit GEMM or the direct
        /// kernel): each `dx` value is one FMA chain from zero over the flipped taps and then
        /// the group's output channels.
        case convolution
        /// Anything else (strides above 1 with a kernel larger than 1×1): a ``GEMM`` product into
        /// per-tap columns, then a fixed-order gather.
        case gather
    }

    /// The ``InputGradientPath`` of a geometry.
    @_spi(Kernels) public static func inputGradientPath(_ g: ConvGeometry) -> InputGradientPath {
        if g.kernelHeight == 1 && g.kernelWidth == 1 && g.padding == (0, 0) { return .pointwise }
        // The forward's fixed rule (3×3, stride 1, dilation 1, one group, enough channels each way;
        // symmetric in O and C, so the same for the transposed convolution) and padding ≤ 2.
        if PreparedConv2d.defaultAlgorithm(weightShape: [g.outChannels, g.groupInChannels, g.kernelHeight, g.kernelWidth],
                                           stride: g.stride, dilation: g.dilation, groups: g.groups) == .winograd
            && g.padding.h <= 2 && g.padding.w <= 2 { return .winograd }
        if g.stride == (1, 1) && g.padding.h <= g.dilation.h * (g.kernelHeight - 1)
            && g.padding.w <= g.dilation.w * (g.kernelWidth - 1) { return .convolution }
        return .gather
    }

    /// Writes `dx` `[N, H, W, C]` from `dy` `[N, OH, OW, O]` and OIHW weights, by the geometry's
    /// ``InputGradientPath``.
    @_spi(Kernels) public static func inputGradient(
        _ g: ConvGeometry, outputGradient dy: UnsafePointer<Float>, weight w: UnsafePointer<Float>,
        inputGradient dx: UnsafeMutablePointer<Float>, threads: Int
    ) {
        guard g.batch > 0 else { return }
        switch inputGradientPath(g) {
        case .pointwise: pointwiseInputGradient(g, dy: dy, w: w, dx: dx, threads: threads)
        case .winograd: winogradInputGradient(transposedGeometry(g), dy: dy, w: w, dx: dx, threads: threads)
        case .convolution: convolutionInputGradient(g, dy: dy, w: w, dx: dx, threads: threads)
        case .gather: gatherInputGradient(g, dy: dy, w: w, dx: dx, threads: threads)
        }
    }

    /// ``InputGradientPath/pointwise``: `dx = dy · W` per group, all samples in one product (a
    /// row's sum never depends on the other rows); at stride `s` the products land in a buffer and
    /// are scattered to the pixels `(s·oy, s·ox)`, every other pixel zero.
    static func pointwiseInputGradient(
        _ g: ConvGeometry, dy: UnsafePointer<Float>, w: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let c = g.inChannels, oc = g.outChannels, icg = g.groupInChannels, ocg = g.groupOutChannels
        let oh = g.outHeight, ow = g.outWidth, rows = g.batch * oh * ow
        let dense = g.stride == (1, 1)
        let target = dense ? dx : UnsafeMutablePointer<Float>.allocate(capacity: rows * c)
        defer { if !dense { target.deallocate() } }
        for grp in 0..<g.groups {
            GEMM.multiply(m: rows, n: icg, k: ocg, a: .init(dy + grp * ocg, rowStride: oc),
                          b: .init(w + grp * ocg * icg, rowStride: icg), c: target + grp * icg, ldc: c, threads: threads)
        }
        guard !dense else { return }
        ThreadPool.current.forEachChunk(g.batch * g.height, threads: threads) { r in
            let n = r / g.height, iy = r % g.height
            let row = dx + r * g.width * c
            row.initialize(repeating: 0, count: g.width * c)
            guard iy % g.stride.h == 0 else { return }
            let src = target + (n * oh + iy / g.stride.h) * ow * c
            for ox in 0..<ow { (row + ox * g.stride.w * c).update(from: src + ox * c, count: c) }
        }
    }

    /// ``InputGradientPath/convolution``: `dx` is the stride-1 convolution of `dy` padded by
    /// `dilation·(kernel − 1) − padding` with `w'[c, o, ky', kx'] = w[o, c, KH−1−ky', KW−1−kx']`
    /// (per group), through ``Conv2dKernel/forward(_:paddedInput:weights:output:layout:epilogue:threads:)``.
    static func convolutionInputGradient(
        _ g: ConvGeometry, dy: UnsafePointer<Float>, w: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let t = transposedGeometry(g)
        // Flip and transpose while packing: one threaded pass, no intermediate copy.
        let packed = Conv2dKernel.PackedWeights(flippedTransposedOf: w, geometry: t, threads: threads)
        let hp = t.height + 2 * t.padding.h, wp = t.width + 2 * t.padding.w, oc = g.outChannels
        let padded = UnsafeMutableRawPointer.allocate(byteCount: max(g.batch * hp * wp * oc, 1) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(g.batch * hp * wp * oc, 1))
        defer { padded.deallocate() }
        ThreadPool.current.forEachChunk(g.batch * hp, threads: threads) { r in
            let n = r / hp, y = r % hp - t.padding.h
            let row = padded + r * wp * oc
            guard y >= 0, y < t.height else { row.initialize(repeating: 0, count: wp * oc); return }
            row.initialize(repeating: 0, count: t.padding.w * oc)
            (row + t.padding.w * oc).initialize(from: dy + (n * t.height + y) * t.width * oc, count: t.width * oc)
            (row + (t.padding.w + t.width) * oc).initialize(repeating: 0, count: t.padding.w * oc)
        }
        Conv2dKernel.forward(t, paddedInput: padded, weights: packed, output: dx, layout: .nhwc, threads: threads)
    }

    /// ``InputGradientPath/winograd``: `dx` is ``WinogradKernel``'s F(4×4, 3×3) convolution of `dy`
    /// (geometry `t`, from ``transposedGeometry(_:)``) with `w'[c, o, k] = w[o, c, 8 − k]`, the
    /// forward's arithmetic, so each `dx` value has a fixed order whatever the threads or the batch.
    /// The flipped weights, their transform, the padded `dy` and the scratch share one request of
    /// the pool's reused workspace (no fresh pages per call).
    static func winogradInputGradient(
        _ t: ConvGeometry, dy: UnsafePointer<Float>, w: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let v = WinogradTransform.Variant.f4x3
        let oc = t.inChannels, c = t.outChannels   // the forward's O and C
        func rounded(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }
        let flippedBytes = rounded(c * oc * 9 * 4)
        let weightBytes = rounded(WinogradKernel.PackedWeights.byteCount(outChannels: c, inChannels: oc, variant: v))
        let (hp, wp, cp) = WinogradKernel.paddedSize(t, variant: v)
        let paddedBytes = rounded(t.batch * hp * wp * cp * 4)
        let scratchBytes = WinogradKernel.scratchBytes(t, variant: v, threads: threads)
        ThreadPool.current.withWorkspace(bytes: flippedBytes + weightBytes + paddedBytes + scratchBytes) { raw in
            // w'[c, o, k] = w[o, c, 8 − k]: the 3×3 taps reversed, input and output channels swapped (exact copies).
            let flipped = raw.bindMemory(to: Float.self, capacity: max(c * oc * 9, 1))
            ThreadPool.current.forEachChunk(c, threads: threads) { ci in
                for o in 0..<oc {
                    let src = w + (o * c + ci) * 9, dst = flipped + (ci * oc + o) * 9
                    for k in 0..<9 { dst[k] = src[8 - k] }
                }
            }
            let packed = WinogradKernel.PackedWeights(
                oihw: flipped, outChannels: c, inChannels: oc, variant: v, threads: threads,
                storage: (raw + flippedBytes).bindMemory(to: Float.self, capacity: weightBytes / 4), owned: false)
            let padded = (raw + flippedBytes + weightBytes).bindMemory(to: Float.self, capacity: max(t.batch * hp * wp * cp, 1))
            WinogradKernel.pad(t, variant: v, nhwc: dy, into: padded, threads: threads)
            WinogradKernel.forward(t, paddedInput: padded, weights: packed, output: dx, layout: .nhwc, epilogue: .none,
                                   threads: threads, scratch: raw + flippedBytes + weightBytes + paddedBytes)
        }
    }

    /// The stride-1 convolution whose output is `dx`: input `dy` (`O` channels, `OH × OW`), output
    /// `C` channels, the same kernel, dilation and groups, padding `dilation·(kernel − 1) − padding`.
    static func transposedGeometry(_ g: ConvGeometry) -> ConvGeometry {
        var t = g
        t.inChannels = g.outChannels
        t.outChannels = g.inChannels
        t.height = g.outHeight
        t.width = g.outWidth
        t.padding = (g.dilation.h * (g.kernelHeight - 1) - g.padding.h, g.dilation.w * (g.kernelWidth - 1) - g.padding.w)
        return t
    }

    /// ``InputGradientPath/gather``: per sample, one ``GEMM`` product
    /// `cols[pixel, (ky, kx, c)] = Σ_o dy[pixel, o] · w[o, c, ky, kx]`, then ``gatherColumns(_:cols:into:threads:)``.
    static func gatherInputGradient(
        _ g: ConvGeometry, dy: UnsafePointer<Float>, w: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let plane = g.outHeight * g.outWidth, oc = g.outChannels, width = tapWidth(g)
        let icg = g.groupInChannels, ocg = g.groupOutChannels, kk = g.kernelHeight * g.kernelWidth
        let wt = weightsTapMajor(g, w)
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: max(plane * width, 1))
        defer { cols.deallocate() }
        wt.withUnsafeBufferPointer { wt in
            for n in 0..<g.batch {
                for grp in 0..<g.groups {
                    GEMM.multiply(m: plane, n: kk * icg, k: ocg,
                                  a: .init(dy + n * plane * oc + grp * ocg, rowStride: oc),
                                  b: .init(wt.baseAddress! + grp * ocg * kk * icg, rowStride: kk * icg),
                                  c: cols + grp * kk * icg, ldc: width, threads: threads)
                }
                gatherColumns(g, cols: cols, into: dx + n * g.height * g.width * g.inChannels, threads: threads)
            }
        }
    }

    /// `dx[iy, ix, c] = 0 + Σ cols[(oy, ox), tap(ky, kx), c]` over the taps that reach `(iy, ix)`,
    /// in ascending `(ky, kx)`; threads take input rows.
    static func gatherColumns(_ g: ConvGeometry, cols: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>, threads: Int) {
        let c = g.inChannels, icg = g.groupInChannels, kk = g.kernelHeight * g.kernelWidth
        let width = tapWidth(g), ow = g.outWidth
        ThreadPool.current.forEachChunk(g.height, threads: threads) { iy in
            for ix in 0..<g.width {
                let d = dx + (iy * g.width + ix) * c
                d.initialize(repeating: 0, count: c)
                for ky in 0..<g.kernelHeight {
                    let ty = iy + g.padding.h - ky * g.dilation.h
                    guard ty >= 0, ty % g.stride.h == 0, ty / g.stride.h < g.outHeight else { continue }
                    let oy = ty / g.stride.h
                    for kx in 0..<g.kernelWidth {
                        let tx = ix + g.padding.w - kx * g.dilation.w
                        guard tx >= 0, tx % g.stride.w == 0, tx / g.stride.w < ow else { continue }
                        let row = cols + (oy * ow + tx / g.stride.w) * width
                        let tap = ky * g.kernelWidth + kx
                        for grp in 0..<g.groups {
                            let s = row + (grp * kk + tap) * icg, dd = d + grp * icg
                            for j in 0..<icg { dd[j] = dd[j] + s[j] }
                        }
                    }
                }
            }
        }
    }

    /// Fills `cols` `[OH·OW, C, KH, KW]` (per pixel, OIHW's column order) with sample `xₙ`'s taps
    /// (zeros outside the image); `x` is that sample's `[H, W, C]`. The weight gradient's B operand,
    /// so the product lands in OIHW order directly (also used by the benchmarks).
    @_spi(Kernels) public static func im2col(_ g: ConvGeometry, sample x: UnsafePointer<Float>, into cols: UnsafeMutablePointer<Float>, threads: Int) {
        let c = g.inChannels, kh = g.kernelHeight, kw = g.kernelWidth, kk = kh * kw
        let width = tapWidth(g), ow = g.outWidth
        ThreadPool.current.forEachChunk(g.outHeight, threads: threads) { oy in
            var taps = [Int](repeating: -1, count: kk)   // input pixel offset of each tap, −1 outside
            for ox in 0..<ow {
                for ky in 0..<kh {
                    let iy = oy * g.stride.h + ky * g.dilation.h - g.padding.h
                    for kx in 0..<kw {
                        let ix = ox * g.stride.w + kx * g.dilation.w - g.padding.w
                        let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                        taps[ky * kw + kx] = inside ? (iy * g.width + ix) * c : -1
                    }
                }
                let row = cols + (oy * ow + ox) * width
                for ch in 0..<c {
                    let d = row + ch * kk
                    for t in 0..<kk { d[t] = taps[t] < 0 ? 0 : x[taps[t] + ch] }
                }
            }
        }
    }

    /// Floats of one sample's weight gradient (`O·Cg·KH·KW`).
    @_spi(Kernels) public static func weightCount(_ g: ConvGeometry) -> Int {
        g.outChannels * g.groupInChannels * g.kernelHeight * g.kernelWidth
    }

    /// Per-sample weight gradients: `dw[n]` (OIHW, ``weightCount(_:)`` floats each) for every sample.
    @_spi(Kernels) public static func weightGradients(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        into dw: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let size = weightCount(g)
        if weightGradientPath(g) == .winograd {
            withWinogradSampleWeightGradients(g, input: x, outputGradient: dy, threads: threads) { produce in
                for n in 0..<g.batch { produce(n, dw + n * size) }
            }
            return
        }
        withWeightGradientWorkspace(g) { ws in
            for n in 0..<g.batch { sampleWeightGradient(g, n: n, x: x, dy: dy, out: dw + n * size, ws: ws, threads: threads) }
        }
    }

    /// The weight gradient of samples `0..<g.batch`, which have global indices
    /// `firstSample ..< firstSample + g.batch`, as nodes of the canonical sample tree (reduced
    /// inside the GEMM: `Conv2dBackward+SampleTree.swift`; the bits of the per-sample gradients
    /// pushed through ``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``).
    ///
    /// `path` overrides the shape's ``WeightGradientPath`` (benchmarks compare the two; `.winograd`
    /// needs a 3×3 stride-1 ungrouped geometry).
    @_spi(Kernels) public static func weightGradientSum(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
        firstSample: Int, threads: Int, path: WeightGradientPath? = nil
    ) -> SampleTreeSum {
        weightGradientTree(g, input: x, outputGradient: dy, firstSample: firstSample, threads: threads, path: path)
    }

    /// Runs `body` with a producer of per-sample weight gradients: `produce(n, out)` writes sample
    /// `n`'s `dWₙ` (OIHW, ``weightCount(_:)`` floats), exactly as ``weightGradients(_:input:outputGradient:into:threads:)``
    /// does, reusing one im2col workspace — so a caller can push each sample straight into a
    /// ``SampleTreeSum`` (``SampleGradients/accumulate(count:firstSample:samples:threads:_:)``)
    /// instead of holding all `N` gradients.
    @_spi(Kernels) public static func withSampleWeightGradients<R>(
        _ g: ConvGeometry, input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>, threads: Int,
        _ body: ((Int, UnsafeMutablePointer<Float>) -> Void) -> R
    ) -> R {
        if weightGradientPath(g) == .winograd {
            return withWinogradSampleWeightGradients(g, input: x, outputGradient: dy, threads: threads, body)
        }
        return withWeightGradientWorkspace(g) { ws in
            body { n, out in sampleWeightGradient(g, n: n, x: x, dy: dy, out: out, ws: ws, threads: threads) }
        }
    }

    /// Scratch for one sample: its im2col matrix.
    static func withWeightGradientWorkspace<R>(_ g: ConvGeometry, _ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let floats = g.outHeight * g.outWidth * tapWidth(g)
        let ws = UnsafeMutablePointer<Float>.allocate(capacity: max(floats, 1))
        defer { ws.deallocate() }
        return body(ws)
    }

    /// `dWₙ = dyₙᵀ · im2col(xₙ)` per group, written in OIHW order.
    static func sampleWeightGradient(
        _ g: ConvGeometry, n: Int, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, ws: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let plane = g.outHeight * g.outWidth, oc = g.outChannels, width = tapWidth(g)
        let icg = g.groupInChannels, ocg = g.groupOutChannels, kk = g.kernelHeight * g.kernelWidth
        let cols = ws
        im2col(g, sample: x + n * g.height * g.width * g.inChannels, into: cols, threads: threads)
        for grp in 0..<g.groups {
            GEMM.multiply(m: ocg, n: icg * kk, k: plane,
                          a: .init(dy + n * plane * oc + grp * ocg, rowStride: 1, colStride: oc),
                          b: .init(cols + grp * icg * kk, rowStride: width),
                          c: out + grp * ocg * icg * kk, ldc: icg * kk, threads: threads)
        }
    }

    /// Per-sample bias gradients `db[n, o]` (`[N, O]`): raster-order sums from zero.
    @_spi(Kernels) public static func biasGradients(
        _ g: ConvGeometry, outputGradient dy: UnsafePointer<Float>, into db: UnsafeMutablePointer<Float>, threads: Int
    ) {
        let plane = g.outHeight * g.outWidth, oc = g.outChannels, blocks = (oc + 15) / 16
        ThreadPool.current.forEachChunk(g.batch * blocks, threads: threads) { chunk in
            let n = chunk / blocks, c0 = (chunk % blocks) * 16, c1 = min(c0 + 16, oc)
            let d = db + n * oc
            for o in c0..<c1 { d[o] = 0 }
            for p in 0..<plane {
                let s = dy + (n * plane + p) * oc
                for o in c0..<c1 { d[o] = d[o] + s[o] }
            }
        }
    }

    /// The bias gradient of samples with global indices `firstSample ..< firstSample + g.batch`
    /// as nodes of the canonical sample tree.
    @_spi(Kernels) public static func biasGradientSum(
        _ g: ConvGeometry, outputGradient dy: UnsafePointer<Float>, firstSample: Int, threads: Int
    ) -> SampleTreeSum {
        biasGradientTree(g, outputGradient: dy, firstSample: firstSample, threads: threads)
    }
}
