import Testing
@_spi(Kernels) @testable import ReproTensor

@Suite struct WinogradTests {
    struct Case: CustomStringConvertible, Sendable {
        var n = 1, c = 5, h = 9, w = 11, o = 19, pad = (1, 1)
        var alg = PreparedConv2d.Algorithm.winograd
        var description: String { "n\(n) c\(c) \(h)x\(w) o\(o) p\(pad) \(alg.rawValue)" }
    }

    /// Odd sizes: H/W not multiples of the tile, 1×1 and 2×2 images, padding 0 and 1
    /// (and asymmetric), channel counts off the 8/16 vector widths, several tile
    /// blocks, several output-channel ranges, more than one channel block.
    static let cases: [Case] = {
        var out: [Case] = []
        for alg in [PreparedConv2d.Algorithm.winograd, .winogradF2x3, .winogradF6x3] {
            out += [
                Case(alg: alg),
                Case(n: 2, c: 3, h: 1, w: 1, o: 4, alg: alg),                   // 1×1 image, padding 1
                Case(c: 8, h: 2, w: 2, o: 16, alg: alg),                        // 2×2 image
                Case(c: 7, h: 3, w: 3, o: 9, pad: (0, 0), alg: alg),            // one output pixel
                Case(c: 9, h: 10, w: 7, o: 33, pad: (0, 1), alg: alg),          // asymmetric padding
                Case(c: 4, h: 26, w: 31, o: 150, alg: alg),                     // several blocks and channel ranges
                Case(c: 260, h: 5, w: 6, o: 17, pad: (0, 0), alg: alg),         // two channel blocks
            ]
        }
        return out
    }()

    func conv(_ c: Case, bias: Bool, bn: Bool, relu: Bool) throws -> PreparedConv2d {
        let w = try seededTensor([c.o, c.c, 3, 3], seed: 3, scale: 0.5)
        let b = bias ? try seededTensor([c.o], seed: 4) : nil
        let affine = bn ? try ChannelAffine(scale: seededFloats(c.o, seed: 5), shift: seededFloats(c.o, seed: 6)) : nil
        return try PreparedConv2d(weight: w, bias: b, padding: c.pad, normalization: affine, relu: relu, algorithm: c.alg)
    }

    @Test(arguments: cases)
    func matchesScalarReferenceBitwise(_ c: Case) throws {
        let x = try seededTensor([c.n, c.c, c.h, c.w], seed: 7)
        try onEveryKernelPath { isa in
            for (bias, bn, relu) in [(false, false, false), (true, true, true), (true, false, true)] {
                let layer = try conv(c, bias: bias, bn: bn, relu: relu)
                #expect(layer.algorithm == c.alg)
                let fast = try layer.forward(x, threads: 2), ref = try layer.reference(x)
                #expect(fast.shape == ref.shape)
                #expect(try bits(fast) == bits(ref), "bias \(bias) bn \(bn) relu \(relu)")
                let nhwc = try layer.forward(nhwc: try x.permuted([0, 2, 3, 1]).contiguous(), threads: 3)
                #expect(try nhwc.permuted([0, 3, 1, 2]).contiguous().bitsHash == fast.bitsHash, "NHWC API")
            }
        }
    }

    @Test(arguments: cases)
    func threadBatchAndRunInvariance(_ c: Case) throws {
        let layer = try conv(c, bias: true, bn: true, relu: true)
        let batch = try seededTensor([3, c.c, c.h, c.w], seed: 8)
        let base = try onOwnPool(threads: 1) { try layer.forward(batch, threads: 1) }
        try onEveryKernelPath { isa in
            for t in invarianceThreadCounts where t > 1 {
                let hash = try onOwnPool(threads: t) { try layer.forward(batch, threads: t) }.bitsHash
                #expect(hash == base.bitsHash, "\(isa) threads \(t)")
            }
        }
        #expect(try layer.forward(batch, threads: 2).bitsHash == base.bitsHash, "second run")
        let alone = try layer.forward(try batch.sliced(dim: 0, range: 1..<2), threads: 3)
        #expect(try bits(alone) == bits(try base.sliced(dim: 0, range: 1..<2)), "alone vs batch of 3")
    }

    /// The chained transforms are the published matrices: on small integers every
    /// operation is exact, so the result equals the integer matrix product.
    @Test(arguments: WinogradTransform.Variant.allCases)
    func transformsEqualTheMatrices(_ v: WinogradTransform.Variant) {
        let t = WinogradTransform(v), a = t.alpha, m = t.m
        let d = (0..<(a * a)).map { Float(($0 * 7 + 3) % 11) - 5 }
        let got = t.inputTile(d)
        for i in 0..<a {
            for j in 0..<a {
                var s: Float = 0
                for k in 0..<a { for l in 0..<a { s += t.bt[i][k] * d[k * a + l] * t.bt[j][l] } }
                #expect(got[i * a + j] == s)
            }
        }
        let y = t.outputTile(d)
        for i in 0..<m {
            for j in 0..<m {
                var s: Float = 0
                for k in 0..<a { for l in 0..<a { s += t.at[i][k] * d[k * a + l] * t.at[j][l] } }
                #expect(y[i * m + j] == s)
            }
        }
        // G g Gᵀ in double, then Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A = the correlation, exactly enough.
        let f: [Float] = [1, -2, 3, 0.5, 4, -1, 2, 2, -3]
        var u = [Float](repeating: 0, count: a * a)
        f.withUnsafeBufferPointer { fp in u.withUnsafeMutableBufferPointer { t.transformFilter(fp.baseAddress!, into: $0.baseAddress!) } }
        let prod = zip(u, got).map { Double($0) * Double($1) }
        for i in 0..<m {
            for j in 0..<m {
                var s = 0.0, direct = 0.0
                for k in 0..<a { for l in 0..<a { s += Double(t.at[i][k]) * prod[k * a + l] * Double(t.at[j][l]) } }
                for ky in 0..<3 { for kx in 0..<3 { direct += Double(d[(i + ky) * a + j + kx]) * Double(f[ky * 3 + kx]) } }
                #expect(abs(s - direct) < 1e-4, "\(v) (\(i), \(j)): \(s) vs \(direct)")
            }
        }
    }

    /// Against the float64 direct convolution, with realistic data (kaiming-scale
    /// weights, ReLU'd inputs, 256 channels). Tolerance, relative to the output's
    /// largest magnitude: 2e-6 for direct and F(2,3), 3e-5 for F(4,3) and F(6,3) —
    /// 2.5–4× what they reach here (9.6e-7, 4.7e-7, 7.9e-6, 1.2e-5): float32 rounding
    /// of chains of 256–2304 terms; F(4,3)'s transforms multiply by up to 5 and 8 and
    /// cancel, which lifts its error ~8× over direct's, and F(6,3)'s (up to 5.25 and
    /// 32) another 1.5×.
    @Test func errorAgainstFloat64DirectIsBounded() throws {
        let c = 256, o = 24, h = 13, w = 14
        let std = Float((2.0 / Double(c * 9)).squareRoot())
        let weight = try seededTensor([o, c, 3, 3], seed: 11, scale: std * 1.7)
        let x = try Tensor(shape: [1, c, h, w], scalars: seededFloats(c * h * w, seed: 12).map { max(0, $0) * 2 })
        let xs: [Float] = try x.scalars(), ws: [Float] = try weight.scalars()
        var exact = [Double](repeating: 0, count: o * h * w)
        for oc in 0..<o { for y in 0..<h { for xx in 0..<w {
            var s = 0.0
            for ic in 0..<c { for ky in 0..<3 { for kx in 0..<3 {
                let iy = y + ky - 1, ix = xx + kx - 1
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                s += Double(xs[(ic * h + iy) * w + ix]) * Double(ws[((oc * c + ic) * 3 + ky) * 3 + kx])
            }}}
            exact[(oc * h + y) * w + xx] = s
        }}}
        let scale = exact.map(abs).max()!
        for (alg, bound) in [(PreparedConv2d.Algorithm.direct, 2e-6), (.winogradF2x3, 2e-6), (.winograd, 3e-5),
                             (.winogradF6x3, 3e-5)] {
            let y: [Float] = try PreparedConv2d(weight: weight, padding: (1, 1), algorithm: alg).forward(x, threads: 2).scalars()
            let err = zip(y, exact).map { abs(Double($0) - $1) }.max()!
            print("winograd accuracy: \(alg.rawValue) max abs \(err), relative to max |y| \(err / scale)")
            #expect(err / scale < bound, "\(alg): max error \(err) on outputs up to \(scale)")
        }
    }

    @Test func ruleAndForcing() throws {
        let big = try seededTensor([32, 32, 3, 3], seed: 1), small = try seededTensor([16, 32, 3, 3], seed: 1)
        #expect(try PreparedConv2d(weight: big, padding: (1, 1)).algorithm == .winograd)
        #expect(try PreparedConv2d(weight: big, padding: (0, 0)).algorithm == .winograd)
        #expect(try PreparedConv2d(weight: small, padding: (1, 1)).algorithm == .direct)
        #expect(try PreparedConv2d(weight: try seededTensor([24, 24, 3, 3], seed: 1), padding: (1, 1)).algorithm == .winograd)
        #expect(try PreparedConv2d(weight: try seededTensor([24, 23, 3, 3], seed: 1), padding: (1, 1)).algorithm == .direct)
        #expect(try PreparedConv2d(weight: big, stride: (2, 2), padding: (1, 1)).algorithm == .direct)
        #expect(try PreparedConv2d(weight: big, padding: (2, 2), dilation: (2, 2)).algorithm == .direct)
        #expect(try PreparedConv2d(weight: try seededTensor([32, 32, 1, 1], seed: 1)).algorithm == .direct)
        #expect(try PreparedConv2d(weight: big, padding: (1, 1), algorithm: .direct).algorithm == .direct)
        #expect(try PreparedConv2d(weight: small, padding: (1, 1), algorithm: .winograd).algorithm == .winograd)
        // Winograd forced on a shape it cannot compute: a typed error naming the operation.
        do {
            _ = try PreparedConv2d(weight: big, stride: (2, 2), algorithm: .winograd)
            Issue.record("expected an error")
        } catch {
            #expect(error.description.contains("conv2d") && error.description.contains("winograd"))
        }
        #expect(throws: TensorError.self) { try PreparedConv2d(weight: try seededTensor([8, 2, 3, 3], seed: 1), groups: 2, algorithm: .winogradF2x3) }
        // Bad inputs still give typed errors on the Winograd path.
        let layer = try PreparedConv2d(weight: big, padding: (1, 1))
        #expect(throws: TensorError.self) { try layer(try seededTensor([1, 31, 5, 5], seed: 2)) }
        #expect(throws: TensorError.self) { try layer.forward(nhwc: try seededTensor([1, 5, 5, 31], seed: 2), threads: 1) }
        #expect(throws: TensorError.self) { try PreparedConv2d(weight: big)(try seededTensor([1, 32, 2, 2], seed: 2)) }
        #expect(throws: TensorError.self) { try layer(try Tensor(zeros: [1, 32, 4, 4], dtype: .float64)) }
        // Winograd and direct differ in bits (both deterministic).
        let x = try seededTensor([1, 32, 9, 9], seed: 3)
        let direct = try PreparedConv2d(weight: big, padding: (1, 1), algorithm: .direct)
        #expect(try layer(x).bitsHash != direct(x).bitsHash)
        #expect(try layer.reference(x, algorithm: .direct).bitsHash == direct(x).bitsHash)
    }

    @Test func autotunerPicksARecordedAlgorithmOnlyInBenchmarkMode() throws {
        let layer = try PreparedConv2d(weight: try seededTensor([40, 33, 3, 3], seed: 1), padding: (1, 1))
        let x = try seededTensor([1, 33, 11, 10], seed: 2)
        var s = RuntimeSettings(threads: 2)
        s.benchmark = true
        let first = try Runtime.withSettings(s) { try layer(x) }
        let key = "conv2d input [1, 33, 11, 10] weight [40, 33, 3, 3] padding (h: 1, w: 1) threads 2"
        let choice = try #require(Runtime.autotuneChoices.first { $0.key == key }?.choice)
        let chosen = try #require(PreparedConv2d.Algorithm(rawValue: choice))
        let expected = try layer.reference(x, algorithm: chosen == .direct ? .direct : layer.algorithm)
        #expect(first.bitsHash == expected.bitsHash)
        #expect(try Runtime.withSettings(s) { try layer(x) }.bitsHash == first.bitsHash)
        // Without benchmark mode the rule decides, and a forced algorithm is never overridden.
        #expect(try layer.forward(x, threads: 2).bitsHash == layer.reference(x).bitsHash)
        let forced = try PreparedConv2d(weight: try seededTensor([40, 33, 3, 3], seed: 1), padding: (1, 1), algorithm: .direct)
        #expect(try Runtime.withSettings(s) { try forced(x) }.bitsHash == forced.reference(x).bitsHash)
    }
}
