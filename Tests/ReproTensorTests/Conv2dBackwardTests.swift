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

    /// Per-sample OIHW weight gradients: one FMA chain over output pixels in raster order
    /// (GEMM's fixed segments when the product is segmented).
    static func referenceWeightGradients(_ g: ConvGeometry, x: [Float], dy: [Float]) -> [Float] {
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
