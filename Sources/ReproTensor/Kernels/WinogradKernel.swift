import _ReproKernelsAVX512

/// Winograd convolution F(m×m, 3×3) for 3×3 kernels with stride 1, dilation 1
/// and one group, on a zero-padded NHWC input, with a fixed order for every output.
///
/// Per image the output is cut into m×m tiles on a grid anchored at the top-left
/// output pixel; tile `(ty, tx)` reads the α×α window of the padded input at
/// `(m·ty, m·tx)` (α = m + 2; pixels past the image read the buffer's zeros).
/// Each output element is computed the same way whatever the blocking, thread
/// count or batch:
/// 1. `V = Bᵀ d B` per tile and input channel (``WinogradTransform`` order);
/// 2. per frequency ξ and output channel, `M[ξ] = Σ_c V[ξ, c] · U[ξ, c]` as one
///    fused multiply-add chain from zero over c = 0…C−1 (accumulators are stored
///    and reloaded between channel blocks, which does not change the chain);
/// 3. `Y = Aᵀ M A`, then the ``Epilogue``.
///
/// Work is cut into (image, block of tiles, output-channel range) chunks, sized
/// from the shape alone (``tilesPerBlock(tilesPerImage:)``), which the threads
/// claim as they go; no sum is split. The products run on a 6-tile × 16-channel micro-kernel
/// (twelve `SIMD8<Float>` accumulators).
/// ``reference(_:input:weights:output:epilogue:)`` computes the same bits with
/// scalar loops on NCHW.
///
/// The transformed weights `U` (α²/9 = 4× the raw 3×3 weights for F(4×4, 3×3)) need not stay
/// resident: `PreparedConv2d` builds ``PackedWeights`` from the raw OIHW weights at the start of
/// every call, in the thread pool's reused workspace next to the padded input and the scratch
/// (the same per-filter arithmetic, so the same bits as weights prepared once).
///
/// ```swift
/// let w = WinogradKernel.PackedWeights(oihw: wPtr, outChannels: 256, inChannels: 256, variant: .f4x3)
/// let (hp, wp, cp) = WinogradKernel.paddedSize(g, variant: .f4x3)
/// WinogradKernel.pad(g, variant: .f4x3, nchw: x, into: buffer, threads: 2)   // buffer: N·hp·wp·cp floats
/// WinogradKernel.forward(g, paddedInput: buffer, weights: w, output: y, layout: .nchw, threads: 2)
/// ```
@_spi(Kernels) public enum WinogradKernel {
    /// Tiles per block: the transformed inputs of one block (α² · tiles · channels
    /// floats) are produced once and reused for every output channel.
    @_spi(Kernels) public static let maximumTilesPerBlock = 96

    /// Tiles per block for an image of `tiles` tiles: about a sixteenth of the
    /// image (so a few threads get even shares), a multiple of 6 between 12 and
    /// ``maximumTilesPerBlock``. Blocking never changes an output's bits.
    @_spi(Kernels) public static func tilesPerBlock(tilesPerImage tiles: Int) -> Int {
        min(maximumTilesPerBlock, max(12, (tiles + 16 * 6 - 1) / (16 * 6) * 6))
    }
    /// Channel depth of one pass of the micro-kernel (its operands stay in L1/L2).
    @_spi(Kernels) public static let channelBlock = 256
    /// Output channels whose products are buffered at once (bounds that buffer).
    @_spi(Kernels) public static let outputChannelBlock = 64

    /// Whether the Winograd kernel computes a convolution of this shape: 3×3,
    /// stride 1, dilation 1, one group. The one statement of the rule
    /// (``Conv2d`` asks it too).
    @_spi(Kernels) public static func isApplicable(
        kernelHeight: Int, kernelWidth: Int, stride: (Int, Int), dilation: (Int, Int), groups: Int
    ) -> Bool {
        kernelHeight == 3 && kernelWidth == 3 && stride == (1, 1) && dilation == (1, 1) && groups == 1
    }

    /// Transformed weights `U = G g Gᵀ`, laid out `[ξ][16-channel panel][c][16]`
    /// (zero past the last output channel).
    @_spi(Kernels) public final class PackedWeights: @unchecked Sendable {
        /// The transform (tile size) the weights were prepared for.
        @_spi(Kernels) public let transform: WinogradTransform
        /// Input channels C.
        @_spi(Kernels) public let inChannels: Int
        /// Output channels O.
        @_spi(Kernels) public let outChannels: Int
        /// 16-channel output panels.
        let panels: Int
        let base: UnsafeMutablePointer<Float>
        /// Whether `base` was allocated here (and is freed with this object) or lent by the caller.
        let ownsStorage: Bool

        /// Transforms OIHW weights `[O, C, 3, 3]`, each filter in ``WinogradTransform/transformFilter(_:into:)``'s order,
        /// on up to `threads` threads (split over output channels; each filter's transform is the same for any split).
        @_spi(Kernels) public convenience init(oihw w: UnsafePointer<Float>, outChannels: Int, inChannels: Int,
                                               variant: WinogradTransform.Variant, threads: Int = 1) {
            let total = Self.byteCount(outChannels: outChannels, inChannels: inChannels, variant: variant) / 4
            let storage = UnsafeMutableRawPointer.allocate(byteCount: total * 4, alignment: 64).bindMemory(to: Float.self, capacity: total)
            self.init(oihw: w, outChannels: outChannels, inChannels: inChannels, variant: variant, threads: threads,
                      storage: storage, owned: true)
        }

        /// The same transform into `storage` (at least ``byteCount(outChannels:inChannels:variant:)``
        /// bytes, 64-byte aligned), which the caller keeps alive and frees after this object.
        init(oihw w: UnsafePointer<Float>, outChannels: Int, inChannels: Int, variant: WinogradTransform.Variant,
             threads: Int, storage: UnsafeMutablePointer<Float>, owned: Bool) {
            let t = WinogradTransform(variant)
            transform = t
            self.inChannels = inChannels
            self.outChannels = outChannels
            panels = (outChannels + 15) / 16
            base = storage
            ownsStorage = owned
            let total = Self.byteCount(outChannels: outChannels, inChannels: inChannels, variant: variant) / 4
            let dst = base, p = panels, o = outChannels, c = inChannels
            // One unit is (panel, input channel): its 16 filters transformed side by side (lanes past
            // O are zero filters, which transform to +0) and stored as α² runs of 16 floats. Every
            // element is written exactly once, by the same arithmetic as transformFilter(_:into:).
            if p * c == 0 { base.initialize(repeating: 0, count: total) }
            let wide = Runtime.usesAVX512
            ThreadPool.current.forEachChunk(p * c, threads: threads) { unit in
                let panel = unit / c, ci = unit % c
                let lanes = min(16, o - panel * 16)
                t.transformFilters16(w + (panel * 16 * c + ci) * 9, filterStride: c * 9, lanes: lanes,
                                     into: dst + (panel * c + ci) * 16, stride: p * c * 16, wide: wide)
            }
        }

        /// The bytes of the transformed weights.
        var byteCount: Int { Self.byteCount(outChannels: outChannels, inChannels: inChannels, variant: transform.variant) }

        /// The bytes of `variant`'s transformed weights for `outChannels` × `inChannels` filters
        /// (output channels rounded up to 16).
        @_spi(Kernels) public static func byteCount(outChannels: Int, inChannels: Int, variant: WinogradTransform.Variant) -> Int {
            let alpha = variant.rawValue + 2
            return max(alpha * alpha * (outChannels + 15) / 16 * 16 * inChannels, 1) * 4
        }

        /// The transformed value `U[ξ][c][o]`.
        func value(xi: Int, c: Int, o: Int) -> Float { base[((xi * panels + o / 16) * inChannels + c) * 16 + o % 16] }

        deinit { if ownsStorage { base.deallocate() } }
    }

    /// Tile rows and columns of one image.
    static func tiles(_ g: ConvGeometry, m: Int) -> (rows: Int, cols: Int) {
        ((g.outHeight + m - 1) / m, (g.outWidth + m - 1) / m)
    }

    /// The padded NHWC buffer's height, width and channel stride for `g`:
    /// every tile window fits inside, and channels are rounded up to 8.
    @_spi(Kernels) public static func paddedSize(_ g: ConvGeometry, variant: WinogradTransform.Variant) -> (height: Int, width: Int, channels: Int) {
        let m = variant.rawValue, t = tiles(g, m: m)
        return (t.rows * m + 2, t.cols * m + 2, (g.inChannels + 7) / 8 * 8)
    }

    /// Runs the convolution: `paddedInput` from ``pad(_:variant:nchw:into:threads:)``
    /// (or the NHWC variant), `output` laid out as `layout` says.
    @_spi(Kernels) public static func forward(
        _ g: ConvGeometry, paddedInput: UnsafePointer<Float>, weights: PackedWeights,
        output: UnsafeMutablePointer<Float>, layout: Conv2dKernel.OutputLayout = .nhwc, epilogue: Epilogue = .none,
        threads: Int
    ) {
        guard g.batch > 0 else { return }
        ThreadPool.current.withWorkspace(bytes: scratchBytes(g, weights: weights, threads: threads)) { raw in
            forward(g, paddedInput: paddedInput, weights: weights, output: output, layout: layout, epilogue: epilogue,
                    threads: threads, scratch: raw)
        }
    }

    /// Bytes of scratch memory ``forward(_:paddedInput:weights:output:layout:epilogue:threads:scratch:)``
    /// needs for `threads` threads (each thread's transformed inputs and buffered products).
    static func scratchBytes(_ g: ConvGeometry, weights: PackedWeights, threads: Int) -> Int {
        Scratch.bytes(Plan.Blocking(g, weights: weights)) * max(1, threads)
    }

    /// ``scratchBytes(_:weights:threads:)`` for weights of `variant` (before they are transformed).
    static func scratchBytes(_ g: ConvGeometry, variant: WinogradTransform.Variant, threads: Int) -> Int {
        Scratch.bytes(Plan.Blocking(g, transform: WinogradTransform(variant))) * max(1, threads)
    }

    /// ``forward(_:paddedInput:weights:output:layout:epilogue:threads:)`` with the caller's scratch
    /// memory (``scratchBytes(_:weights:threads:)`` bytes, 64-byte aligned, contents irrelevant: every
    /// value is written before it is read). Reusing it across calls spares the page faults and the
    /// kernel's zeroing of fresh pages that a per-call allocation costs.
    static func forward(
        _ g: ConvGeometry, paddedInput: UnsafePointer<Float>, weights: PackedWeights,
        output: UnsafeMutablePointer<Float>, layout: Conv2dKernel.OutputLayout, epilogue: Epilogue,
        threads: Int, scratch: UnsafeMutableRawPointer
    ) {
        forward(levels: [Level(g, paddedInput: paddedInput, output: output)], weights: weights, layout: layout,
                epilogue: epilogue, threads: threads, scratch: scratch)
    }

    /// One input of a call over several inputs that share the weights (a pyramid's levels): its
    /// geometry, its padded input (``paddedSize(_:variant:)``) and its output.
    struct Level {
        let g: ConvGeometry
        let paddedInput: UnsafePointer<Float>
        let output: UnsafeMutablePointer<Float>

        init(_ g: ConvGeometry, paddedInput: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
            self.g = g
            self.paddedInput = paddedInput
            self.output = output
        }
    }

    /// Bytes of scratch memory ``forward(levels:weights:layout:epilogue:threads:scratch:)`` needs for
    /// `threads` threads over inputs of these geometries (the largest level's per-thread share).
    static func scratchBytes(levels: [ConvGeometry], variant: WinogradTransform.Variant, threads: Int) -> Int {
        let t = WinogradTransform(variant)
        return (levels.map { Scratch.bytes(Plan.Blocking($0, transform: t)) }.max() ?? 0) * max(1, threads)
    }

    /// Runs the convolution on every level with one set of transformed weights, in one team of
    /// threads. Each level is cut into the (image, tile block, output-channel range) chunks a call
    /// of its own would make, and each chunk computes its outputs exactly as there, so every
    /// level's output has the bits of a call on that level alone. The threads claim the chunks of
    /// all levels in level order as they go (``ThreadPool/forEachClaimedChunk(_:threads:_:)``), so
    /// neither the small levels nor a thread slowed down by another process leave threads idle.
    static func forward(
        levels: [Level], weights: PackedWeights, layout: Conv2dKernel.OutputLayout, epilogue: Epilogue,
        threads: Int, scratch: UnsafeMutableRawPointer
    ) {
        let padded = PaddedEpilogue(epilogue, channels: weights.outChannels)
        defer { padded.deallocate() }
        let plans = levels.filter { $0.g.batch > 0 }.map {
            Plan($0.g, weights: weights, paddedInput: $0.paddedInput, output: $0.output, nchw: layout == .nchw,
                 epilogue: padded)
        }
        // Chunk i of the call is chunk i − first[l] of plans[l].
        var first: [Int] = [], owner: [Int] = []
        for (l, plan) in plans.enumerated() {
            first.append(owner.count)
            owner.append(contentsOf: repeatElement(l, count: plan.chunks))
        }
        let perThread = plans.map { Scratch.bytes($0.blocking) }.max() ?? 0
        ThreadPool.current.forEachClaimedChunk(owner.count, threads: threads) { chunk, p in
            let plan = plans[owner[chunk]]
            plan.run(chunk: chunk - first[owner[chunk]], Scratch(plan.blocking, at: scratch + p * perThread))
        }
    }
}

extension WinogradKernel {
    /// Shared, read-only description of one call.
    struct Plan: @unchecked Sendable {
        let g: ConvGeometry
        let t: WinogradTransform
        let m: Int, alpha: Int, a2: Int
        let tileRows: Int, tileCols: Int, tilesPerImage: Int, tb: Int, blocks: Int
        let hp: Int, wp: Int, cp: Int
        let subRanges: Int, ranges: Int
        /// Distance between frequencies in the V and M buffers: a block plus one
        /// cache line, so the α² streams do not share L1 sets (4 KiB aliasing).
        let vStride: Int, mStride: Int
        let weights: PackedWeights
        let input: UnsafePointer<Float>
        let output: UnsafeMutablePointer<Float>
        let nchw: Bool
        let epilogue: PaddedEpilogue
        /// The scratch sizes of this shape.
        let blocking: Blocking
        /// Whether the F(4×4, 3×3) and F(6×6, 3×3) input and output transforms run 16 channels
        /// wide in `_ReproKernelsAVX512` (``Runtime/kernelISA``, read by the caller; same bits).
        let wide: Bool

        /// The sizes a thread's scratch depends on, from the shape alone.
        struct Blocking {
            let a2: Int, vStride: Int, mStride: Int

            init(_ g: ConvGeometry, weights: PackedWeights) { self.init(g, transform: weights.transform) }

            init(_ g: ConvGeometry, transform t: WinogradTransform) {
                a2 = t.alpha * t.alpha
                let tiles = WinogradKernel.tiles(g, m: t.m)
                let tb = WinogradKernel.tilesPerBlock(tilesPerImage: tiles.rows * tiles.cols)
                let cp = WinogradKernel.paddedSize(g, variant: t.variant).channels
                vStride = tb * cp + 16
                mStride = tb * WinogradKernel.outputChannelBlock + 16
            }
        }

        init(_ g: ConvGeometry, weights: PackedWeights, paddedInput: UnsafePointer<Float>,
             output: UnsafeMutablePointer<Float>, nchw: Bool, epilogue: PaddedEpilogue) {
            self.g = g
            t = weights.transform
            m = t.m
            alpha = t.alpha
            a2 = alpha * alpha
            (tileRows, tileCols) = WinogradKernel.tiles(g, m: m)
            tilesPerImage = tileRows * tileCols
            tb = WinogradKernel.tilesPerBlock(tilesPerImage: tilesPerImage)
            blocks = (tilesPerImage + tb - 1) / tb
            (hp, wp, cp) = WinogradKernel.paddedSize(g, variant: t.variant)
            let subPanels = WinogradKernel.outputChannelBlock / 16
            subRanges = (weights.panels + subPanels - 1) / subPanels
            // Enough chunks for a few threads even on small images (a shape-only
            // rule; which chunk computes an output never changes its bits).
            ranges = max(1, min(subRanges, (8 + blocks - 1) / blocks))
            blocking = Blocking(g, weights: weights)
            vStride = blocking.vStride
            mStride = blocking.mStride
            self.weights = weights
            input = paddedInput
            self.output = output
            self.nchw = nchw
            self.epilogue = epilogue
            wide = Runtime.usesAVX512 && (t.variant == .f4x3 || t.variant == .f6x3)
        }

        var chunks: Int { g.batch * blocks * ranges }

        /// One (image, tile block, output-channel range) chunk.
        func run(chunk: Int, _ s: Scratch) {
            let r = chunk % ranges, b = (chunk / ranges) % blocks, n = chunk / (ranges * blocks)
            let t0 = b * tb
            let count = min(tb, tilesPerImage - t0)
            transformInputs(n: n, tiles: t0..<(t0 + count), into: s.v, s.tmp)
            let subPanels = WinogradKernel.outputChannelBlock / 16
            for sub in (r * subRanges / ranges)..<((r + 1) * subRanges / ranges) {
                let p0 = sub * subPanels, p1 = min(p0 + subPanels, weights.panels)
                multiply(count: count, panels: p0..<p1, v: s.v, into: s.m)
                transformOutputs(n: n, tiles: t0..<(t0 + count), panels: p0..<p1, from: s.m, s.tmp)
            }
        }

        /// `V` for the block's tiles and all channels, packed for the micro-kernel:
        /// `[ξ][tile panel][c][6 tiles]` (tiles past the block's end are zero).
        func transformInputs(n: Int, tiles: Range<Int>, into v: UnsafeMutablePointer<Float>, _ tmp: UnsafeMutablePointer<SIMD8<Float>>) {
            typealias V = SIMD8<Float>
            let panelStride = cp * 6, xiStride = vStride, rowStep = wp * cp
            if wide {
                // Six tiles at a time, 16 channels per register, stored panel-major by the C kernel
                // (the tiles past the block's end are zero tiles).
                withUnsafeTemporaryAllocation(of: UnsafePointer<Float>?.self, capacity: 6) { src in
                    for p in 0..<((tiles.count + 5) / 6) {
                        for t in 0..<6 {
                            let ti = tiles.lowerBound + p * 6 + t
                            src[t] = ti < tiles.upperBound
                                ? UnsafePointer(input + ((n * hp + ti / tileCols * m) * wp + ti % tileCols * m) * cp) : nil
                        }
                        if m == 6 {
                            repro_winograd_input_panel6(src.baseAddress!, rowStep, cp, v + p * panelStride, xiStride)
                        } else {
                            repro_winograd_input_panel4(src.baseAddress!, rowStep, cp, v + p * panelStride, xiStride)
                        }
                    }
                }
                return
            }
            let out = tmp + a2  // α² transformed vectors of one tile, after the column pass's α²
            for ti in tiles {
                let ty = ti / tileCols, tx = ti % tileCols, t = ti - tiles.lowerBound
                let src = input + ((n * hp + ty * m) * wp + tx * m) * cp
                let dst = v + (t / 6) * panelStride + t % 6
                for c8 in stride(from: 0, to: cp, by: 8) {
                    @inline(__always) func ld(_ k: Int, _ j: Int) -> V {
                        UnsafeRawPointer(src + k * rowStep + j * cp + c8).loadUnaligned(as: V.self)
                    }
                    @inline(__always) func st(_ x: V, _ i: Int, _ j: Int) { out[i * alpha + j] = x }
                    if m == 2 {
                        // Columns (Bᵀ d) into tmp[i·4 + j], then rows.
                        for j in 0..<4 {
                            let r = WinogradSIMD.input2(ld(0, j), ld(1, j), ld(2, j), ld(3, j))
                            tmp[j] = r.0; tmp[4 + j] = r.1; tmp[8 + j] = r.2; tmp[12 + j] = r.3
                        }
                        for i in 0..<4 {
                            let r = WinogradSIMD.input2(tmp[i * 4], tmp[i * 4 + 1], tmp[i * 4 + 2], tmp[i * 4 + 3])
                            st(r.0, i, 0); st(r.1, i, 1); st(r.2, i, 2); st(r.3, i, 3)
                        }
                    } else if m == 6 {
                        for j in 0..<8 {
                            let r = WinogradSIMD.input6(ld(0, j), ld(1, j), ld(2, j), ld(3, j), ld(4, j), ld(5, j),
                                                        ld(6, j), ld(7, j))
                            tmp[j] = r.0; tmp[8 + j] = r.1; tmp[16 + j] = r.2; tmp[24 + j] = r.3
                            tmp[32 + j] = r.4; tmp[40 + j] = r.5; tmp[48 + j] = r.6; tmp[56 + j] = r.7
                        }
                        for i in 0..<8 {
                            let q = tmp + i * 8
                            let r = WinogradSIMD.input6(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7])
                            st(r.0, i, 0); st(r.1, i, 1); st(r.2, i, 2); st(r.3, i, 3)
                            st(r.4, i, 4); st(r.5, i, 5); st(r.6, i, 6); st(r.7, i, 7)
                        }
                    } else {
                        for j in 0..<6 {
                            let r = WinogradSIMD.input4(ld(0, j), ld(1, j), ld(2, j), ld(3, j), ld(4, j), ld(5, j))
                            tmp[j] = r.0; tmp[6 + j] = r.1; tmp[12 + j] = r.2
                            tmp[18 + j] = r.3; tmp[24 + j] = r.4; tmp[30 + j] = r.5
                        }
                        for i in 0..<6 {
                            let q = tmp + i * 6
                            let r = WinogradSIMD.input4(q[0], q[1], q[2], q[3], q[4], q[5])
                            st(r.0, i, 0); st(r.1, i, 1); st(r.2, i, 2); st(r.3, i, 3); st(r.4, i, 4); st(r.5, i, 5)
                        }
                    }
                    // Scatter: lane l of frequency ξ goes to channel c8 + l of this tile's column.
                    let lanes = UnsafeRawPointer(out).assumingMemoryBound(to: Float.self)
                    for xi in 0..<a2 {
                        let d = dst + xi * xiStride + c8 * 6, s = lanes + xi * 8
                        d[0] = s[0]; d[6] = s[1]; d[12] = s[2]; d[18] = s[3]
                        d[24] = s[4]; d[30] = s[5]; d[36] = s[6]; d[42] = s[7]
                    }
                }
            }
            // Zero the rows of a partial last panel so the micro-kernel reads defined values.
            let count = tiles.count, padded = (count + 5) / 6 * 6
            for t in count..<padded {
                let dst = v + (t / 6) * panelStride + t % 6
                for xi in 0..<a2 { for c in 0..<cp { dst[xi * xiStride + c * 6] = 0 } }
            }
        }

        /// `M[ξ][tile][o]` (o relative to the first panel) for the given output panels.
        func multiply(count: Int, panels: Range<Int>, v: UnsafePointer<Float>, into mBuf: UnsafeMutablePointer<Float>) {
            let c = g.inChannels, kc = WinogradKernel.channelBlock
            let width = panels.count * 16
            let tilePanels = (count + 5) / 6
            let wide = Runtime.usesAVX512
            for xi in 0..<a2 {
                for cb in stride(from: 0, to: c, by: kc) {
                    let kcb = min(kc, c - cb)
                    for p in panels {
                        let bp = UnsafePointer(weights.base + ((xi * weights.panels + p) * c + cb) * 16)
                        var tp = 0
                        while tp < tilePanels {
                            let a = v + xi * vStride + (tp * cp + cb) * 6
                            let out = mBuf + xi * mStride + tp * 6 * width + (p - panels.lowerBound) * 16
                            let src = cb == 0 ? nil : UnsafePointer(out)
                            // GEMM's micro-kernel (A packed `[k][6]`, B `[k][16]`, one
                            // FMA chain per element). A partial last panel computes all
                            // six rows: its extra A rows are zero and `mBuf` holds a whole
                            // block (`tb` is a multiple of 6), and those rows are never read.
                            if wide && tp + 1 < tilePanels {
                                // Two tile panels in one 12 × 16 AVX-512 tile (the next panel's
                                // A is `cp·6` floats on, its rows follow in `mBuf`).
                                GEMM.tileAVX512(rows: 12, kcb, a, panelStride: cp * 6, bp, src, width, out, width, nil, 0, nil)
                                tp += 2
                            } else {
                                GEMM.tile6x16(wide: wide, kcb, a, bp, src, width, out, width, nil, 0)
                                tp += 1
                            }
                        }
                    }
                }
            }
        }

        /// `Y = Aᵀ M A` plus the epilogue, stored for the valid pixels and channels.
        func transformOutputs(n: Int, tiles: Range<Int>, panels: Range<Int>, from mBuf: UnsafePointer<Float>,
                              _ tmp: UnsafeMutablePointer<SIMD8<Float>>) {
            typealias V = SIMD8<Float>
            let width = panels.count * 16, o0 = panels.lowerBound * 16, o1 = min(panels.upperBound * 16, g.outChannels)
            let oh = g.outHeight, ow = g.outWidth, oc = g.outChannels, plane = oh * ow
            let y = tmp + m * alpha  // m·m results, after the column pass's m·α
            var e = epilogue.tile
            for ti in tiles {
                let ty = ti / tileCols, tx = ti % tileCols
                let rows = min(m, oh - ty * m), cols = min(m, ow - tx * m)
                let src = mBuf + (ti - tiles.lowerBound) * width
                if wide && !nchw {
                    // 16 channels per register (the C kernel applies the epilogue and stores NHWC).
                    let d = output + ((n * oh + ty * m) * ow + tx * m) * oc
                    for o16 in stride(from: o0, to: o1, by: 16) {
                        if m == 6 {
                            repro_winograd_output6(src + (o16 - o0), mStride, d + o16, ow * oc, oc, rows, cols,
                                                   min(16, o1 - o16), &e, o16)
                        } else {
                            repro_winograd_output4(src + (o16 - o0), mStride, d + o16, ow * oc, oc, rows, cols,
                                                   min(16, o1 - o16), &e, o16)
                        }
                    }
                    continue
                }
                for o8 in stride(from: o0, to: o1, by: 8) {
                    @inline(__always) func ld(_ k: Int, _ j: Int) -> V {
                        UnsafeRawPointer(src + (k * alpha + j) * mStride + (o8 - o0)).loadUnaligned(as: V.self)
                    }
                    if m == 2 {
                        for j in 0..<4 {
                            let r = WinogradSIMD.output2(ld(0, j), ld(1, j), ld(2, j), ld(3, j))
                            tmp[j] = r.0; tmp[4 + j] = r.1
                        }
                        for i in 0..<2 {
                            let r = WinogradSIMD.output2(tmp[i * 4], tmp[i * 4 + 1], tmp[i * 4 + 2], tmp[i * 4 + 3])
                            y[i * 2] = epilogue.apply(r.0, channel: o8); y[i * 2 + 1] = epilogue.apply(r.1, channel: o8)
                        }
                    } else if m == 6 {
                        for j in 0..<8 {
                            let r = WinogradSIMD.output6(ld(0, j), ld(1, j), ld(2, j), ld(3, j), ld(4, j), ld(5, j),
                                                         ld(6, j), ld(7, j))
                            tmp[j] = r.0; tmp[8 + j] = r.1; tmp[16 + j] = r.2
                            tmp[24 + j] = r.3; tmp[32 + j] = r.4; tmp[40 + j] = r.5
                        }
                        for i in 0..<6 {
                            let q = tmp + i * 8
                            let r = WinogradSIMD.output6(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7])
                            let row = y + i * 6
                            row[0] = epilogue.apply(r.0, channel: o8); row[1] = epilogue.apply(r.1, channel: o8)
                            row[2] = epilogue.apply(r.2, channel: o8); row[3] = epilogue.apply(r.3, channel: o8)
                            row[4] = epilogue.apply(r.4, channel: o8); row[5] = epilogue.apply(r.5, channel: o8)
                        }
                    } else {
                        for j in 0..<6 {
                            let r = WinogradSIMD.output4(ld(0, j), ld(1, j), ld(2, j), ld(3, j), ld(4, j), ld(5, j))
                            tmp[j] = r.0; tmp[6 + j] = r.1; tmp[12 + j] = r.2; tmp[18 + j] = r.3
                        }
                        for i in 0..<4 {
                            let q = tmp + i * 6
                            let r = WinogradSIMD.output4(q[0], q[1], q[2], q[3], q[4], q[5])
                            y[i * 4] = epilogue.apply(r.0, channel: o8); y[i * 4 + 1] = epilogue.apply(r.1, channel: o8)
                            y[i * 4 + 2] = epilogue.apply(r.2, channel: o8); y[i * 4 + 3] = epilogue.apply(r.3, channel: o8)
                        }
                    }
                    let lanes = min(8, o1 - o8)
                    for i in 0..<rows {
                        let py = ty * m + i
                        for j in 0..<cols {
                            let px = tx * m + j, r = y[i * m + j]
                            if nchw {
                                let d = output + (n * oc + o8) * plane + py * ow + px
                                for l in 0..<lanes { d[l * plane] = r[l] }
                            } else {
                                let d = output + ((n * oh + py) * ow + px) * oc + o8
                                if lanes == 8 {
                                    UnsafeMutableRawPointer(d).storeBytes(of: r, as: V.self)
                                } else {
                                    for l in 0..<lanes { d[l] = r[l] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Per-thread buffers: transformed inputs, buffered products, transform temporaries, carved
    /// from caller-provided memory (``bytes(_:)`` bytes, 64-byte aligned).
    struct Scratch {
        let v: UnsafeMutablePointer<Float>
        let m: UnsafeMutablePointer<Float>
        let tmp: UnsafeMutablePointer<SIMD8<Float>>

        /// Vectors of the transform temporaries: the largest tile's column pass and result (2·α² for
        /// the input transform of F(6×6, 3×3), α = 8).
        static let tmpVectors = 128

        /// Float counts of `v` and `m`, each rounded up to a whole cache line.
        private static func counts(_ b: Plan.Blocking) -> (v: Int, m: Int) {
            ((b.a2 * b.vStride + 15) / 16 * 16, (b.a2 * b.mStride + 15) / 16 * 16)
        }

        /// Bytes of one thread's scratch (a multiple of 64).
        static func bytes(_ b: Plan.Blocking) -> Int {
            let c = counts(b)
            return (c.v + c.m) * 4 + tmpVectors * MemoryLayout<SIMD8<Float>>.stride
        }

        init(_ b: Plan.Blocking, at raw: UnsafeMutableRawPointer) {
            let c = Self.counts(b)
            v = raw.bindMemory(to: Float.self, capacity: c.v)
            m = (raw + c.v * 4).bindMemory(to: Float.self, capacity: c.m)
            tmp = (raw + (c.v + c.m) * 4).bindMemory(to: SIMD8<Float>.self, capacity: Self.tmpVectors)
        }
    }
}
