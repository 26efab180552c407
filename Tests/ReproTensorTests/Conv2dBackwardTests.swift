import Testing
@_spi(Kernels) @testable import ReproTensor

/// Conv2d backward: the kernels against a scalar reference with the same order (bit for bit),
/// finite differences in Double, PyTorch's gradients (tolerance), and invariance to threads and
/// to batch composition.
@Suite struct Conv2dBackwardTests {
    static func geometry(_ n: Int, _ c: Int, _ h: Int, _ w: Int, _ o: Int, k: (Int, Int), s: (Int, Int) = (1, 1),
                         p: (Int, Int) = (0, 0), d: (Int, Int) = (1, 1), groups: Int = 1) throws -> ConvGeometry {
        try ConvGeometry(batch: n, inChannels: c, height: h, width: w, outChannels: o, kernelHeight: k.0, kernelWidth: k.1,
                         stride: s, padding: p, dilation: d, groups: groups)
    }

    /// Awkward shapes: groups, strides, dilation, asymmetric kernels, depthwise, a 7×7 stem, pointwise.
    static let shapes: [ConvGeometry] = [
        try! geometry(2, 4, 7, 6, 6, k: (3, 3), s: (2, 2), p: (1, 1), groups: 2),
        try! geometry(2, 3, 8, 9, 5, k: (3, 2), p: (1, 0), d: (2, 1)),
        try! geometry(3, 6, 5, 5, 4, k: (1, 1)),
        try! geometry(1, 8, 9, 7, 8, k: (3, 3), s: (1, 2), p: (2, 1), groups: 8),
        try! geometry(2, 3, 11, 10, 4, k: (7, 7), s: (2, 2), p: (3, 3)),
        try! geometry(1, 17, 6, 5, 19, k: (3, 3), p: (1, 1)),
        try! geometry(1, 24, 14, 15, 26, k: (3, 3), p: (1, 1)),   // Winograd weight gradient (210-pixel plane)
    ]

    // MARK: scalar reference (plain loops, the kernels' documented order)

    /// `x` NHWC at (n, iy, ix, c).
    static func at(_ g: ConvGeometry, _ n: Int, _ iy: Int, _ ix: Int, _ c: Int) -> Int {
        ((n * g.height + iy) * g.width + ix) * g.inChannels + c
    }

    /// The input gradient by the geometry's documented path: for ``Conv2dBackward/InputGradientPath/convolution``
    /// one FMA chain from zero over the flipped taps `(KH−1−ky, KW−1−kx)` then the group's output channels
    /// (taps outside `dy` read zero); otherwise per tap an FMA chain over the output channels, the taps
    /// added in ascending `(ky, kx)` order from zero (the pointwise path is the one-tap case of both).
    /// `flippedChain` forces one rule (for the accuracy comparison of the two).
    static func referenceInputGradient(_ g: ConvGeometry, dy: [Float], w: [Float], flippedChain: Bool? = nil) -> [Float] {
        if flippedChain == nil && Conv2dBackward.inputGradientPath(g) == .winograd { return winogradReference(g, dy: dy, w: w) }
        let icg = g.groupInChannels, ocg = g.groupOutChannels, oh = g.outHeight, ow = g.outWidth, kk = g.kernelHeight * g.kernelWidth
        var dx = [Float](repeating: 0, count: g.batch * g.height * g.width * g.inChannels)
        if flippedChain ?? (Conv2dBackward.inputGradientPath(g) == .convolution) {
            for n in 0..<g.batch { for iy in 0..<g.height { for ix in 0..<g.width { for c in 0..<g.inChannels {
                let grp = c / icg, ci = c % icg
                var acc: Float = 0
                for fy in 0..<g.kernelHeight { for fx in 0..<g.kernelWidth {
                    let ky = g.kernelHeight - 1 - fy, kx = g.kernelWidth - 1 - fx
                    let oy = iy + g.padding.h - ky * g.dilation.h, ox = ix + g.padding.w - kx * g.dilation.w
                    let inside = oy >= 0 && oy < oh && ox >= 0 && ox < ow
                    for oo in 0..<ocg {
                        let o = grp * ocg + oo
                        let v = inside ? dy[((n * oh + oy) * ow + ox) * g.outChannels + o] : 0
                        acc = acc.addingProduct(v, w[(o * icg + ci) * kk + ky * g.kernelWidth + kx])
                    }
                }}
                dx[at(g, n, iy, ix, c)] = acc
            }}}}
            return dx
        }
        for n in 0..<g.batch { for iy in 0..<g.height { for ix in 0..<g.width { for c in 0..<g.inChannels {
            let grp = c / icg, ci = c % icg
            var acc: Float = 0
            for ky in 0..<g.kernelHeight { for kx in 0..<g.kernelWidth {
                let ty = iy + g.padding.h - ky * g.dilation.h, tx = ix + g.padding.w - kx * g.dilation.w
                guard ty >= 0, tx >= 0, ty % g.stride.h == 0, tx % g.stride.w == 0 else { continue }
                let oy = ty / g.stride.h, ox = tx / g.stride.w
                guard oy < oh, ox < ow else { continue }
                var term: Float = 0
                for oo in 0..<ocg {
                    let o = grp * ocg + oo
                    term = term.addingProduct(dy[((n * oh + oy) * ow + ox) * g.outChannels + o],
                                              w[(o * icg + ci) * kk + ky * g.kernelWidth + kx])
                }
                acc = acc + term
            }}
            dx[at(g, n, iy, ix, c)] = acc
        }}}}
        return dx
    }

    /// ``Conv2dBackward/InputGradientPath/winograd``'s documented rule by plain loops: the flipped,
    /// transposed weights `w'[c, o, ky', kx'] = w[o, c, 2−ky', 2−kx']` built here, `dy` transposed to
    /// NCHW, ``WinogradKernel/reference(_:input:weights:output:epilogue:)`` (the forward Winograd's
    /// scalar reference) on the stride-1 problem with padding `2 − padding`, back to NHWC.
    static func winogradReference(_ g: ConvGeometry, dy: [Float], w: [Float]) -> [Float] {
        let c = g.inChannels, o = g.outChannels, oh = g.outHeight, ow = g.outWidth
        var t = g
        t.inChannels = o; t.outChannels = c; t.height = oh; t.width = ow
        t.padding = (2 - g.padding.h, 2 - g.padding.w)
        var flipped = [Float](repeating: 0, count: c * o * 9)
        for ci in 0..<c { for oo in 0..<o { for ky in 0..<3 { for kx in 0..<3 {
            flipped[((ci * o + oo) * 3 + ky) * 3 + kx] = w[((oo * c + ci) * 3 + (2 - ky)) * 3 + (2 - kx)]
        }}}}
        var nchw = [Float](repeating: 0, count: dy.count)
        for n in 0..<g.batch { for y in 0..<oh { for x in 0..<ow { for oo in 0..<o {
            nchw[((n * o + oo) * oh + y) * ow + x] = dy[((n * oh + y) * ow + x) * o + oo]
        }}}}
        let packed = flipped.withUnsafeBufferPointer {
            WinogradKernel.PackedWeights(oihw: $0.baseAddress!, outChannels: c, inChannels: o, variant: .f4x3)
        }
        var out = [Float](repeating: .nan, count: g.batch * c * g.height * g.width)
        nchw.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer {
            WinogradKernel.reference(t, input: x.baseAddress!, weights: packed, output: $0.baseAddress!)
        } }
        var dx = [Float](repeating: .nan, count: out.count)
        for n in 0..<g.batch { for y in 0..<g.height { for x in 0..<g.width { for ci in 0..<c {
            dx[at(g, n, y, x, ci)] = out[((n * c + ci) * g.height + y) * g.width + x]
        }}}}
        return dx
    }

    /// Per-sample OIHW weight gradients by the geometry's documented path: one FMA chain over output
    /// pixels in raster order (GEMM's fixed segments when the product is segmented), or the
    /// Winograd F(2×2, 3×3) dual form (``winogradWeightReference(_:x:dy:)``).
    static func referenceWeightGradients(_ g: ConvGeometry, x: [Float], dy: [Float]) -> [Float] {
        if Conv2dBackward.weightGradientPath(g) == .winograd { return winogradWeightReference(g, x: x, dy: dy) }
        return directWeightReference(g, x: x, dy: dy)
    }

    /// The Winograd weight gradient in plain loops: per sample, 2×2 output tiles in raster order;
    /// `Ŷ = A dy Aᵀ` (rows first), `X̂ = Bᵀ x B` (rows first) of the 4×4 patch (zero outside the image
    /// or past the output), per frequency one FMA chain from zero over the tiles, then `Gᵀ M G`
    /// (rows first, `M₁ + M₂` rounded once).
    static func winogradWeightReference(_ g: ConvGeometry, x: [Float], dy: [Float]) -> [Float] {
        let oc = g.outChannels, c = g.inChannels, oh = g.outHeight, ow = g.outWidth
        let th = (oh + 1) / 2, tw = (ow + 1) / 2, tiles = th * tw, size = oc * c * 9
        // A's rows on (a, b); Bᵀ's rows on (x₀, x₁, x₂, x₃).
        func two(_ p: Int, _ a: Float, _ b: Float) -> Float { [a, a + b, a - b, 0 - b][p] }
        func four(_ p: Int, _ v: [Float]) -> Float { [v[0] - v[2], v[1] + v[2], v[2] - v[1], v[1] - v[3]][p] }
        var dw = [Float](repeating: 0, count: g.batch * size)
        for n in 0..<g.batch {
            func dyAt(_ y: Int, _ xx: Int, _ o: Int) -> Float {
                y < oh && xx < ow ? dy[((n * oh + y) * ow + xx) * oc + o] : 0
            }
            func xAt(_ y: Int, _ xx: Int, _ ch: Int) -> Float {
                y >= 0 && y < g.height && xx >= 0 && xx < g.width ? x[at(g, n, y, xx, ch)] : 0
            }
            var yHat = [Float](repeating: 0, count: 16 * tiles * oc), xHat = [Float](repeating: 0, count: 16 * tiles * c)
            for t in 0..<tiles {
                let y0 = 2 * (t / tw), x0 = 2 * (t % tw)
                for p in 0..<4 { for q in 0..<4 {
                    for o in 0..<oc {
                        let left = two(p, dyAt(y0, x0, o), dyAt(y0 + 1, x0, o))
                        let right = two(p, dyAt(y0, x0 + 1, o), dyAt(y0 + 1, x0 + 1, o))
                        yHat[((p * 4 + q) * tiles + t) * oc + o] = two(q, left, right)
                    }
                    for ch in 0..<c {
                        let columns = (0..<4).map { s in four(p, (0..<4).map { r in xAt(y0 - g.padding.h + r, x0 - g.padding.w + s, ch) }) }
                        xHat[((p * 4 + q) * tiles + t) * c + ch] = four(q, columns)
                    }
                }}
            }
            for o in 0..<oc { for ch in 0..<c {
                var m = [Float](repeating: 0, count: 16)
                for f in 0..<16 {
                    var acc: Float = 0
                    for t in 0..<tiles { acc = acc.addingProduct(yHat[(f * tiles + t) * oc + o], xHat[(f * tiles + t) * c + ch]) }
                    m[f] = acc
                }
                var r = [[Float]](repeating: [0, 0, 0, 0], count: 3)
                for q in 0..<4 {
                    let sum = m[4 + q] + m[8 + q]
                    r[0][q] = m[q] + 0.5 * sum
                    r[1][q] = 0.5 * (m[4 + q] - m[8 + q])
                    r[2][q] = 0.5 * sum + m[12 + q]
                }
                for u in 0..<3 {
                    let sum = r[u][1] + r[u][2], base = n * size + (o * c + ch) * 9 + u * 3
                    dw[base] = r[u][0] + 0.5 * sum
                    dw[base + 1] = 0.5 * (r[u][1] - r[u][2])
                    dw[base + 2] = 0.5 * sum + r[u][3]
                }
            }}
        }
        return dw
    }

    /// ``referenceWeightGradients(_:x:dy:)``'s GEMM rule, for any geometry.
    static func directWeightReference(_ g: ConvGeometry, x: [Float], dy: [Float]) -> [Float] {
        let icg = g.groupInChannels, oh = g.outHeight, ow = g.outWidth, kk = g.kernelHeight * g.kernelWidth
        let plane = oh * ow, size = g.outChannels * icg * kk
        let segmented = GEMM.isSegmented(m: g.groupOutChannels, n: kk * icg, k: plane)
        let segment = segmented ? GEMM.segmentLength : plane
        var dw = [Float](repeating: 0, count: g.batch * size)
        for n in 0..<g.batch { for o in 0..<g.outChannels { for ci in 0..<icg {
            let c = (o / g.groupOutChannels) * icg + ci
            for ky in 0..<g.kernelHeight { for kx in 0..<g.kernelWidth {
                var total: Float = 0
                for s0 in stride(from: 0, to: plane, by: segment) {
                    var acc: Float = 0
                    for pix in s0..<min(s0 + segment, plane) {
                        let oy = pix / ow, ox = pix % ow
                        let iy = oy * g.stride.h + ky * g.dilation.h - g.padding.h
                        let ix = ox * g.stride.w + kx * g.dilation.w - g.padding.w
                        let inside = iy >= 0 && iy < g.height && ix >= 0 && ix < g.width
                        let v: Float = inside ? x[at(g, n, iy, ix, c)] : 0
                        acc = acc.addingProduct(dy[(n * plane + pix) * g.outChannels + o], v)
                    }
                    total = s0 == 0 ? acc : total + acc
                }
                dw[n * size + (o * icg + ci) * kk + ky * g.kernelWidth + kx] = total
            }}
        }}}
        return dw
    }

    static func referenceBiasGradients(_ g: ConvGeometry, dy: [Float]) -> [Float] {
        let plane = g.outHeight * g.outWidth
        var db = [Float](repeating: 0, count: g.batch * g.outChannels)
        for n in 0..<g.batch { for o in 0..<g.outChannels {
            var acc: Float = 0
            for p in 0..<plane { acc = acc + dy[(n * plane + p) * g.outChannels + o] }
            db[n * g.outChannels + o] = acc
        }}
        return db
    }

    /// `Σ dy ⊙ conv(x, w) + Σ dy·b` in Double (the loss whose gradients the kernels compute).
    static func loss(_ g: ConvGeometry, x: [Double], w: [Double], b: [Double], dy: [Float]) -> Double {
        let icg = g.groupInChannels, oh = g.outHeight, ow = g.outWidth, kk = g.kernelHeight * g.kernelWidth
        var total = 0.0
        for n in 0..<g.batch { for oy in 0..<oh { for ox in 0..<ow { for o in 0..<g.outChannels {
            var acc = b[o]
            for ci in 0..<icg { for ky in 0..<g.kernelHeight { for kx in 0..<g.kernelWidth {
                let iy = oy * g.stride.h + ky * g.dilation.h - g.padding.h
                let ix = ox * g.stride.w + kx * g.dilation.w - g.padding.w
                guard iy >= 0 && iy < g.height && ix >= 0 && ix < g.width else { continue }
                acc += x[at(g, n, iy, ix, (o / g.groupOutChannels) * icg + ci)] * w[(o * icg + ci) * kk + ky * g.kernelWidth + kx]
            }}}
            total += acc * Double(dy[((n * oh + oy) * ow + ox) * g.outChannels + o])
        }}}}
        return total
    }

    // MARK: kernel calls

    struct Gradients: Equatable {
        var dx: [Float], dw: [Float], db: [Float]
    }

    static func run(_ g: ConvGeometry, x: [Float], w: [Float], dy: [Float], threads: Int) -> Gradients {
        let dx = produce(g.batch * g.height * g.width * g.inChannels) { dx in
            withPointers(dy) { dy in withPointers(w) { w in
                Conv2dBackward.inputGradient(g, outputGradient: dy, weight: w, inputGradient: dx, threads: threads)
            }}
        }
        let dw = produce(g.batch * Conv2dBackward.weightCount(g)) { dw in
            withPointers(x) { x in withPointers(dy) { dy in
                Conv2dBackward.weightGradients(g, input: x, outputGradient: dy, into: dw, threads: threads)
            }}
        }
        let db = produce(g.batch * g.outChannels) { db in
            withPointers(dy) { dy in Conv2dBackward.biasGradients(g, outputGradient: dy, into: db, threads: threads) }
        }
        return Gradients(dx: dx, dw: dw, db: db)
    }

    static func inputs(_ g: ConvGeometry, seed: UInt64) -> (x: [Float], w: [Float], dy: [Float]) {
        (seededFloats(g.batch * g.height * g.width * g.inChannels, seed: seed),
         seededFloats(Conv2dBackward.weightCount(g), seed: seed + 1, scale: 0.5),
         seededFloats(g.batch * g.outHeight * g.outWidth * g.outChannels, seed: seed + 2))
    }

    // MARK: tests

    @Test(arguments: 0..<shapes.count)
    func matchesScalarReferenceBitForBit(_ i: Int) {
        let g = Self.shapes[i]
        let (x, w, dy) = Self.inputs(g, seed: UInt64(100 + i))
        let got = Self.run(g, x: x, w: w, dy: dy, threads: 2)
        #expect(bits(got.dx) == bits(Self.referenceInputGradient(g, dy: dy, w: w)), "dx, shape \(i)")
        #expect(bits(got.dw) == bits(Self.referenceWeightGradients(g, x: x, dy: dy)), "dw, shape \(i)")
        #expect(bits(got.db) == bits(Self.referenceBiasGradients(g, dy: dy)), "db, shape \(i)")
    }

    /// A per-sample product long enough for GEMM's segmented sums (K = 130·130 ≥ 16384).
    @Test func segmentedWeightGradientMatchesReference() throws {
        let g = try Self.geometry(1, 3, 130, 130, 2, k: (1, 1))
        #expect(GEMM.isSegmented(m: 2, n: 3, k: 130 * 130))
        let (x, w, dy) = Self.inputs(g, seed: 7)
        let got = Self.run(g, x: x, w: w, dy: dy, threads: 2)
        #expect(bits(got.dw) == bits(Self.referenceWeightGradients(g, x: x, dy: dy)))
    }

    @Test(arguments: 0..<shapes.count)
    func agreesWithFiniteDifferences(_ i: Int) {
        let g = Self.shapes[i]
        let (x, w, dy) = Self.inputs(g, seed: UInt64(200 + i))
        let b = seededFloats(g.outChannels, seed: 99)
        let got = Self.run(g, x: x, w: w, dy: dy, threads: 1)
        let dw = SampleGradients.treeSum(got.dw, samples: g.batch, count: Conv2dBackward.weightCount(g))
        let db = SampleGradients.treeSum(got.db, samples: g.batch, count: g.outChannels)
        let xd = x.map(Double.init), wd = w.map(Double.init), bd = b.map(Double.init)
        // The loss is linear in each argument: central differences are exact up to float64 rounding;
        // 1e-5 covers the float32 rounding of the kernels' sums.
        expectFiniteDifferences({ Self.loss(g, x: $0, w: wd, b: bd, dy: dy) }, at: x, gradient: got.dx,
                                indices: probeIndices(x.count, count: 12, seed: 1), tol: 1e-5, "dx \(i)")
        expectFiniteDifferences({ Self.loss(g, x: xd, w: $0, b: bd, dy: dy) }, at: w, gradient: dw,
                                indices: probeIndices(w.count, count: 12, seed: 2), tol: 1e-5, "dw \(i)")
        expectFiniteDifferences({ Self.loss(g, x: xd, w: wd, b: $0, dy: dy) }, at: b, gradient: db,
                                indices: Array(0..<g.outChannels), tol: 1e-5, "db \(i)")
    }

    /// PyTorch 2.13's `conv2d` backward. Tolerance 2e-6 of the tensor's largest magnitude: both are
    /// float32 sums of the same ≤ 150 products in different orders.
    @Test func matchesPyTorch() throws {
        for (i, c) in try GradFixture.cases("conv2d").enumerated() {
            let k = try c["kernel"].pair
            let g = try ConvGeometry(batch: c["batch"].int, inChannels: c["channels"].int, height: c["height"].int,
                                     width: c["width"].int, outChannels: c["outChannels"].int, kernelHeight: k.0, kernelWidth: k.1,
                                     stride: c["stride"].pair, padding: c["padding"].pair, dilation: c["dilation"].pair,
                                     groups: c["groups"].int)
            let got = Self.run(g, x: try c["x"].floats, w: try c["weight"].floats, dy: try c["dy"].floats, threads: 2)
            let dw = SampleGradients.treeSum(got.dw, samples: g.batch, count: Conv2dBackward.weightCount(g))
            let db = SampleGradients.treeSum(got.db, samples: g.batch, count: g.outChannels)
            #expect(relativeToMax(got.dx, try c["dx"].floats) <= 2e-6, "case \(i) dx")
            #expect(relativeToMax(dw, try c["dw"].floats) <= 2e-6, "case \(i) dw")
            #expect(relativeToMax(db, try c["db"].floats) <= 2e-6, "case \(i) db")
        }
    }

    /// Threads 1/2/3 on shapes that give every call several work chunks; the pool proves the threads ran.
    @Test func invariantToThreads() throws {
        for g in [try Self.geometry(3, 8, 20, 19, 16, k: (3, 3), p: (1, 1)),
                  try Self.geometry(2, 24, 18, 17, 32, k: (3, 3), p: (1, 1)),
                  try Self.geometry(2, 6, 18, 17, 12, k: (3, 3), s: (2, 2), p: (1, 1), groups: 3)] {
            let (x, w, dy) = Self.inputs(g, seed: 5)
            let one = try onOwnPool(threads: 1) { Self.run(g, x: x, w: w, dy: dy, threads: 1) }
            for t in [2, 3] {
                let got = try onOwnPool(threads: t) { Self.run(g, x: x, w: w, dy: dy, threads: t) }
                #expect(got == one, "threads \(t)")
            }
        }
    }

    /// Every input-gradient path — pointwise (stride 1 and 2, groups), Winograd (at the 24-channel
    /// threshold; 67 output channels over several panels and channel blocks; padding 0, 1 and 2,
    /// asymmetric; an image of several tile blocks), the transposed convolution on the direct kernel
    /// (3×3 below the Winograd threshold, 5×5) and on the implicit GEMM (64+ output channels, a 3×3
    /// layer with 23 input channels, dilation, asymmetric padding),
    /// the gather (stride 2) — equals the scalar reference bit for bit on every kernel path, at
    /// threads 1 and 3 over several work chunks (the pool proves the threads ran).
    @Test func inputGradientPathsMatchReferenceOnEveryKernelPath() throws {
        let cases: [(ConvGeometry, Conv2dBackward.InputGradientPath)] = [
            (try Self.geometry(2, 24, 9, 7, 70, k: (1, 1)), .pointwise),
            (try Self.geometry(2, 12, 9, 8, 20, k: (1, 1), s: (2, 2), groups: 2), .pointwise),
            (try Self.geometry(2, 24, 11, 9, 24, k: (3, 3), p: (1, 1)), .winograd),
            (try Self.geometry(2, 25, 12, 10, 67, k: (3, 3), p: (1, 1)), .winograd),
            (try Self.geometry(2, 26, 10, 13, 30, k: (3, 3), p: (0, 2)), .winograd),
            (try Self.geometry(1, 24, 46, 41, 27, k: (3, 3), p: (1, 0)), .winograd),
            (try Self.geometry(2, 5, 11, 9, 7, k: (3, 3), p: (1, 1)), .convolution),
            (try Self.geometry(2, 23, 12, 10, 67, k: (3, 3), p: (1, 1)), .convolution),
            (try Self.geometry(2, 5, 11, 9, 7, k: (5, 5), p: (2, 2)), .convolution),
            (try Self.geometry(2, 20, 12, 10, 67, k: (3, 3), p: (2, 2), d: (2, 2)), .convolution),
            (try Self.geometry(1, 9, 13, 11, 64, k: (3, 2), p: (2, 0), d: (2, 1)), .convolution),
            (try Self.geometry(2, 6, 12, 11, 66, k: (3, 3), s: (2, 2), p: (1, 1)), .gather),
        ]
        for (i, (g, path)) in cases.enumerated() {
            #expect(Conv2dBackward.inputGradientPath(g) == path, "case \(i)")
            let (_, w, dy) = Self.inputs(g, seed: UInt64(300 + i))
            let want = bits(Self.referenceInputGradient(g, dy: dy, w: w))
            try onEveryKernelPath { isa in
                for t in [1, 3] {
                    let dx = try onOwnPool(threads: t) { () -> [Float] in
                        var dx = [Float](repeating: .nan, count: g.batch * g.height * g.width * g.inChannels)
                        dy.withUnsafeBufferPointer { dy in w.withUnsafeBufferPointer { w in dx.withUnsafeMutableBufferPointer {
                            Conv2dBackward.inputGradient(g, outputGradient: dy.baseAddress!, weight: w.baseAddress!,
                                                         inputGradient: $0.baseAddress!, threads: t)
                        } } }
                        return dx
                    }
                    #expect(bits(dx) == want, "case \(i) \(path) \(isa) threads \(t)")
                }
            }
        }
    }

    /// Accuracy of the two input-gradient rules on a ResNet-like 3×3 layer (64 → 64 channels, so
    /// 576 products per value) against a float64 sum: one FMA chain over `(ky', kx', o)` (the
    /// convolution path) and nine per-tap chains plus adds (the gather rule it replaced for stride 1).
    /// Both stay within 1e-6 of the largest magnitude (float32 rounding of a 576-term sum); the
    /// errors are printed for docs/training.md.
    @Test func inputGradientRulesAgainstFloat64() throws {
        let g = try Self.geometry(2, 64, 10, 9, 64, k: (3, 3), p: (1, 1))
        let (_, w, dy) = Self.inputs(g, seed: 41)
        var exact = [Double](repeating: 0, count: g.batch * g.height * g.width * g.inChannels)
        for n in 0..<g.batch { for iy in 0..<g.height { for ix in 0..<g.width { for c in 0..<g.inChannels {
            var acc = 0.0
            for ky in 0..<3 { for kx in 0..<3 {
                let oy = iy + 1 - ky, ox = ix + 1 - kx
                guard oy >= 0, oy < g.outHeight, ox >= 0, ox < g.outWidth else { continue }
                for o in 0..<g.outChannels {
                    acc += Double(dy[((n * g.outHeight + oy) * g.outWidth + ox) * g.outChannels + o]) * Double(w[(o * 64 + c) * 9 + ky * 3 + kx])
                }
            }}
            exact[Self.at(g, n, iy, ix, c)] = acc
        }}}}
        let scale = exact.map(abs).max()!
        func error(_ v: [Float]) -> Double { zip(v, exact).map { abs(Double($0) - $1) }.max()! / scale }
        let chain = error(Self.referenceInputGradient(g, dy: dy, w: w, flippedChain: true))
        let perTap = error(Self.referenceInputGradient(g, dy: dy, w: w, flippedChain: false))
        #expect(Conv2dBackward.inputGradientPath(g) == .winograd)
        let winograd = error(Self.run(g, x: [Float](repeating: 0, count: g.batch * g.height * g.width * g.inChannels),
                                      w: w, dy: dy, threads: 2).dx)
        print("Conv2dBackward input gradient vs float64 (of max): one chain \(chain), per-tap chains + adds \(perTap), Winograd F(4x4, 3x3) \(winograd)")
        #expect(chain <= 1e-6 && perTap <= 1e-6, "chain \(chain), per tap \(perTap)")
        #expect(chain > 0, "the float32 sums round somewhere")
        // F(4×4, 3×3)'s transforms round more (the forward's bound on RetinaNet shapes is 1.1e-5 of max).
        #expect(winograd <= 2e-5 && winograd > chain, "Winograd \(winograd)")
    }

    /// `withSampleWeightGradients` hands out exactly the scalar reference's per-sample weight
    /// gradients, in any call order, at threads 1 and 3 (the pool proves the threads ran).
    @Test func sampleWeightGradientProducerMatchesReference() throws {
        let g = try Self.geometry(3, 8, 20, 19, 16, k: (3, 3), p: (1, 1))
        let (x, _, dy) = Self.inputs(g, seed: 21)
        let wc = Conv2dBackward.weightCount(g)
        let want = Self.referenceWeightGradients(g, x: x, dy: dy)
        for t in [1, 3] {
            let got = try onOwnPool(threads: t) {
                withPointers(x) { xp in withPointers(dy) { dp in
                    Conv2dBackward.withSampleWeightGradients(g, input: xp, outputGradient: dp, threads: t) { produce in
                        var out = [Float](repeating: .nan, count: g.batch * wc)
                        out.withUnsafeMutableBufferPointer { o in for n in [2, 0, 1] { produce(n, o.baseAddress! + n * wc) } }
                        return out
                    }
                }}
            }
            #expect(bits(got) == bits(want), "threads \(t)")
        }
    }

    /// The weight-gradient rule: Winograd exactly where the forward's rule picks it and the output
    /// plane has 196+ pixels.
    @Test func weightGradientPathRule() throws {
        let cases: [(ConvGeometry, Conv2dBackward.WeightGradientPath)] = [
            (try Self.geometry(2, 24, 14, 14, 24, k: (3, 3), p: (1, 1)), .winograd),
            (try Self.geometry(2, 24, 16, 16, 24, k: (3, 3), p: (2, 0)), .winograd),
            (try Self.geometry(2, 24, 14, 14, 24, k: (3, 3), p: (0, 1)), .gemm),      // 12·14 = 168 pixels
            (try Self.geometry(2, 23, 20, 20, 64, k: (3, 3), p: (1, 1)), .gemm),      // 23 input channels
            (try Self.geometry(2, 64, 20, 20, 23, k: (3, 3), p: (1, 1)), .gemm),      // 23 output channels
            (try Self.geometry(2, 32, 40, 40, 32, k: (3, 3), s: (2, 2), p: (1, 1)), .gemm),
            (try Self.geometry(2, 32, 20, 20, 32, k: (3, 3), p: (2, 2), d: (2, 2)), .gemm),
            (try Self.geometry(2, 32, 20, 20, 32, k: (3, 3), p: (1, 1), groups: 2), .gemm),
            (try Self.geometry(2, 32, 20, 20, 32, k: (5, 5), p: (2, 2)), .gemm),
        ]
        for (i, (g, path)) in cases.enumerated() { #expect(Conv2dBackward.weightGradientPath(g) == path, "case \(i)") }
    }

    /// The Winograd weight gradient equals its scalar reference bit for bit on every kernel path at
    /// threads 1 and 3 (the pool proves the threads ran), through all three entry points (per-sample
    /// buffers, the producer, the tree sum): at the channel and plane thresholds; odd output sizes
    /// (half-empty edge tiles); 70 output and 40 input channels (12 row panels, a partial column
    /// panel); 25 input channels (a scalar tail) over 552 tiles (two KC blocks of the chain); padding
    /// 0 and 2.
    @Test func winogradWeightGradientMatchesReferenceOnEveryKernelPath() throws {
        let cases = [
            try Self.geometry(2, 24, 14, 14, 24, k: (3, 3), p: (1, 1)),
            try Self.geometry(1, 24, 15, 17, 30, k: (3, 3), p: (1, 1)),
            try Self.geometry(2, 40, 16, 21, 70, k: (3, 3), p: (0, 2)),
            try Self.geometry(1, 25, 48, 46, 26, k: (3, 3), p: (1, 1)),
        ]
        for (i, g) in cases.enumerated() {
            #expect(Conv2dBackward.weightGradientPath(g) == .winograd, "case \(i)")
            let (x, _, dy) = Self.inputs(g, seed: UInt64(500 + i))
            let want = Self.winogradWeightReference(g, x: x, dy: dy)
            let wc = Conv2dBackward.weightCount(g)
            try onEveryKernelPath { isa in
                for t in [1, 3] {
                    let (perSample, produced, tree) = try onOwnPool(threads: t) { () -> ([Float], [Float], [Float]) in
                        withPointers(x) { xp in withPointers(dy) { dp in
                            var buffers = [Float](repeating: .nan, count: g.batch * wc)
                            buffers.withUnsafeMutableBufferPointer {
                                Conv2dBackward.weightGradients(g, input: xp, outputGradient: dp, into: $0.baseAddress!, threads: t)
                            }
                            let produced = Conv2dBackward.withSampleWeightGradients(g, input: xp, outputGradient: dp, threads: t) { produce in
                                var out = [Float](repeating: .nan, count: g.batch * wc)
                                out.withUnsafeMutableBufferPointer { o in for n in (0..<g.batch).reversed() { produce(n, o.baseAddress! + n * wc) } }
                                return out
                            }
                            let tree = Conv2dBackward.weightGradientSum(g, input: xp, outputGradient: dp, firstSample: 0, threads: t).total()
                            return (buffers, produced, tree)
                        }}
                    }
                    #expect(bits(perSample) == bits(want), "case \(i) \(isa) threads \(t)")
                    #expect(bits(produced) == bits(want), "case \(i) \(isa) threads \(t) producer")
                    #expect(bits(tree) == bits(SampleGradients.treeSum(want, samples: g.batch, count: wc)), "case \(i) \(isa) threads \(t) tree")
                }
            }
        }
    }

    /// Accuracy of the weight-gradient rules on a ResNet-like 3×3 layer (64 → 64 channels, a 16×16
    /// plane: 256 products per value) against a float64 sum: the direct chain and the Winograd
    /// F(2×2, 3×3) dual form. Both are printed for docs/training.md; Winograd's transforms round
    /// more, but stay within 4× the chain and 2e-6 of the largest magnitude.
    @Test func weightGradientRulesAgainstFloat64() throws {
        let g = try Self.geometry(1, 64, 16, 16, 64, k: (3, 3), p: (1, 1))
        #expect(Conv2dBackward.weightGradientPath(g) == .winograd)
        let (x, _, dy) = Self.inputs(g, seed: 43)
        var exact = [Double](repeating: 0, count: Conv2dBackward.weightCount(g))
        for o in 0..<64 { for c in 0..<64 { for ky in 0..<3 { for kx in 0..<3 {
            var acc = 0.0
            for oy in 0..<16 { for ox in 0..<16 {
                let iy = oy + ky - 1, ix = ox + kx - 1
                guard iy >= 0, iy < 16, ix >= 0, ix < 16 else { continue }
                acc += Double(dy[(oy * 16 + ox) * 64 + o]) * Double(x[Self.at(g, 0, iy, ix, c)])
            }}
            exact[(o * 64 + c) * 9 + ky * 3 + kx] = acc
        }}}}
        let scale = exact.map(abs).max()!
        func error(_ v: [Float]) -> Double { zip(v, exact).map { abs(Double($0) - $1) }.max()! / scale }
        let chain = error(Self.directWeightReference(g, x: x, dy: dy))
        let winograd = error(Self.run(g, x: x, w: [Float](repeating: 0, count: Conv2dBackward.weightCount(g)), dy: dy, threads: 2).dw)
        print("Conv2dBackward weight gradient vs float64 (of max): one chain \(chain), Winograd F(2x2, 3x3) dual \(winograd)")
        #expect(chain > 0 && chain <= 1e-6, "chain \(chain)")
        #expect(winograd <= 2e-6 && winograd <= 4 * chain, "Winograd \(winograd), chain \(chain)")
    }

    /// Sample i's gradients are the same in a batch of 3 as alone, and the tree sums handed over by
    /// ranges (2 + 1 samples) merge to the whole batch's tree sum.
    @Test(arguments: [(3, 5, 9, 8, 7, 2, Conv2dBackward.InputGradientPath.gather),
                      (3, 24, 21, 19, 26, 1, Conv2dBackward.InputGradientPath.winograd)])
    func invariantToBatchComposition(_ shape: (Int, Int, Int, Int, Int, Int, Conv2dBackward.InputGradientPath)) throws {
        let g = try Self.geometry(shape.0, shape.1, shape.2, shape.3, shape.4, k: (3, 3), s: (shape.5, 1), p: (1, 1))
        #expect(Conv2dBackward.inputGradientPath(g) == shape.6)
        let (x, w, dy) = Self.inputs(g, seed: 11)
        let whole = Self.run(g, x: x, w: w, dy: dy, threads: 2)
        let one = g.withBatch(1), xs = g.height * g.width * g.inChannels, ys = g.outHeight * g.outWidth * g.outChannels
        let wc = Conv2dBackward.weightCount(g)
        for n in 0..<3 {
            let single = Self.run(one, x: Array(x[n * xs..<(n + 1) * xs]), w: w, dy: Array(dy[n * ys..<(n + 1) * ys]), threads: 2)
            #expect(single.dx == Array(whole.dx[n * xs..<(n + 1) * xs]), "dx sample \(n)")
            #expect(bits(single.dw) == bits(Array(whole.dw[n * wc..<(n + 1) * wc])), "dw sample \(n)")
            #expect(bits(single.db) == bits(Array(whole.db[n * g.outChannels..<(n + 1) * g.outChannels])), "db sample \(n)")
        }
        let all = withPointers(x) { xp in withPointers(dy) { dp in
            Conv2dBackward.weightGradientSum(g, input: xp, outputGradient: dp, firstSample: 0, threads: 2) } }
        var first = withPointers(x) { xp in withPointers(dy) { dp in
            Conv2dBackward.weightGradientSum(g.withBatch(2), input: xp, outputGradient: dp, firstSample: 0, threads: 2) } }
        let lastX = Array(x[(2 * xs)...]), lastDy = Array(dy[(2 * ys)...])
        let last = withPointers(lastX) { xp in withPointers(lastDy) { dp in
            Conv2dBackward.weightGradientSum(one, input: xp, outputGradient: dp, firstSample: 2, threads: 2) } }
        try first.append(last)
        #expect(bits(first.total()) == bits(all.total()))
        #expect(bits(all.total()) == bits(SampleGradients.treeSum(whole.dw, samples: 3, count: wc)))
        let biasSum = withPointers(dy) { Conv2dBackward.biasGradientSum(g, outputGradient: $0, firstSample: 0, threads: 2) }
        #expect(bits(biasSum.total()) == bits(SampleGradients.treeSum(whole.db, samples: 3, count: g.outChannels)))
    }
}

/// ``SampleGradients/accumulate(count:firstSample:samples:threads:_:)`` reduces in place, in
/// parallel: it must hand over exactly the nodes (and bits) of a ``SampleTreeSum`` fed sample by sample.
@Suite struct SampleGradientsTests {
    @Test func accumulateEqualsSampleTreeSum() throws {
        let count = 70_001   // three add chunks of 2¹⁵, the last partial
        let values = (0..<9).map { seededFloats(count, seed: UInt64(300 + $0), scale: 1e3) }
        for first in [0, 3, 5] {
            for samples in [1, 2, 3, 6, 9] {
                var want = SampleTreeSum(count: count, startIndex: first)
                for n in 0..<samples { want.append(sample: values[n]) }
                let got = try onOwnPool(threads: 2, team: .requested) {
                    SampleGradients.accumulate(count: count, firstSample: first, samples: samples, threads: 2) { n, out in
                        values[n].withUnsafeBufferPointer { out.update(from: $0.baseAddress!, count: count) }
                    }
                }
                #expect(got.blocks.map(\.start) == want.blocks.map(\.start), "first \(first), \(samples) samples")
                #expect(got.blocks.map { bits($0.values) } == want.blocks.map { bits($0.values) }, "first \(first), \(samples) samples")
            }
        }
    }
}
