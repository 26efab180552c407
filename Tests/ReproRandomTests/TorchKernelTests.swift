import Testing
import _ReproTestSupport
@testable import ReproRandom

/// The SIMD8 AVX2 block kernel against its scalar reference, and the bulk
/// pointer cursor against `MT19937.next32()`.
@Suite struct TorchKernelTests {
    /// Float32 uniforms (k · 2^-24) go through the radius lanes and the angle
    /// lanes of both implementations: runs of 8 consecutive k spread over the
    /// whole range (a prime stride), plus the ends of the range and the k
    /// around the branch points (√½ in `log8`, multiples of π/4 in `sincos8`).
    @Test func simdBlockMatchesScalarReference() {
        let total = 1 << 24
        var starts = Array(stride(from: 0, to: total - 8, by: 8 * 509))
        starts += [total - 8]
        for q in 1..<8 {  // angle = 2π·u crosses q·π/4 at u = q/8
            starts += [q * (total / 8) - 4]
        }
        starts += [(total >> 1) - 4, Int(0.29289323 * Double(total)) - 4]  // 1 - u near √½
        var mismatches = 0
        var a = [Float](repeating: 0, count: 16)
        for (mean, std) in [(Float(0), Float(1)), (0.5, 0.3)] {
            for k in starts {
                for j in 0..<8 {
                    a[j] = Float(min(total - 1, k + j)) * 0x1p-24
                    a[j + 8] = Float(min(total - 1, k + j)) * 0x1p-24
                }
                var b = a
                a.withUnsafeMutableBufferPointer { TorchBoxMuller.avx2Block($0.baseAddress!, mean: mean, std: std) }
                b.withUnsafeMutableBufferPointer {
                    TorchBoxMuller.avx2BlockReference($0.baseAddress!, mean: mean, std: std)
                }
                for j in 0..<16 where a[j].bitPattern != b[j].bitPattern { mismatches += 1 }
            }
        }
        #expect(starts.count > 4000)
        #expect(mismatches == 0)
    }

    @Test func cursorMatchesEngine() throws {
        var g = TorchGenerator(seed: 77)
        var mt = g.engine
        let n = 2000
        var got: [UInt32] = []
        g.engine._withTorchCursor { c in for _ in 0..<n { got.append(c.next32()) } }
        let want = (0..<n).map { _ in mt.next32() }
        #expect(got == want)
        #expect(g.engine == mt)
    }
}

/// Bad arguments get typed errors and leave the generator untouched.
@Suite struct TorchArgumentTests {
    @Test func refusedCallsDrawNothing() throws {
        var g = TorchGenerator(seed: 11)
        let start = g
        #expect(throws: TorchRandomError.negativeCount(-1)) { try g.rand(count: -1) }
        #expect(throws: TorchRandomError.negativeCount(-2)) { try g.randn(count: -2) }
        #expect(throws: TorchRandomError.negativeCount(-3)) { try g.randperm(-3) }
        #expect(throws: TorchRandomError.invalidUniformBounds(from: 1, to: 0)) { try g.uniform(count: 3, from: 1, to: 0) }
        #expect(throws: TorchRandomError.self) { try g.uniform(count: 3, from: .nan, to: 0) }
        #expect(throws: TorchRandomError.self) { try g.uniform(count: 3, from: -3e38, to: 3e38) }
        #expect(throws: TorchRandomError.self) { try g.uniform(count: 3, from: 0, to: .infinity, as: Double.self) }
        #expect(throws: TorchRandomError.invalidStandardDeviation(-1)) { try g.normal(count: 3, mean: 0, std: -1) }
        #expect(throws: TorchRandomError.self) { try g.normal(count: 30, mean: 0, std: .nan, as: Double.self) }
        #expect(throws: TorchRandomError.emptyRange(from: 5, to: 5)) { try g.randint(low: 5, high: 5, count: 2) }
        #expect(throws: TorchRandomError.boundOutsideDType(bound: 301, dtype: .uint8)) {
            try g.randomValues(count: 2, from: 0, to: 301, dtype: .uint8)
        }
        #expect(throws: TorchRandomError.self) { try g.randomValues(count: 2, from: -1, to: 3, dtype: .uint8) }
        #expect(throws: TorchRandomError.self) { try g.randomValues(count: 2, from: Int64.min, to: nil, dtype: .int32) }
        #expect(throws: TorchRandomError.invalidProbability(1.5, index: 1)) {
            try g.bernoulli(probabilities: [Float(0.5), 1.5])
        }
        #expect(throws: TorchRandomError.self) { try g.bernoulli(probabilities: [Double.nan]) }
        #expect(throws: TorchRandomError.invalidProbability(-0.1, index: nil)) {
            try g.bernoulli(count: 3, probability: -0.1)
        }
        #expect(throws: TorchRandomError.permutationTooLarge(n: 200, type: "Int8")) { try g.randperm(200, as: Int8.self) }
        #expect(g == start)
        #expect(!TorchRandomError.emptyRange(from: 5, to: 5).description.isEmpty)
    }

    /// Edge cases PyTorch defines: empty outputs, full int64 range, `to=None` bounds.
    @Test func edgeCases() throws {
        var g = TorchGenerator(seed: 11)
        let start = g
        #expect(try g.rand(count: 0).isEmpty)
        #expect(try g.randn(count: 0).isEmpty)
        #expect(try g.randperm(0).isEmpty)
        #expect(try g.randperm(1) == [0])
        #expect(g == start, "n = 0 and n = 1 draw nothing")
        // Full 64-bit range: the raw random64 reinterpreted.
        var h = g
        let full = try g.randomValues(count: 3, from: Int64.min, to: nil)
        #expect(full == (0..<3).map { _ in Int64(bitPattern: h.random64()) })
        // int8 with to=None: range 127 - from + 1, 32-bit draws.
        var k = TorchGenerator(seed: 2), kr = k
        let v = try k.randomValues(count: 5, from: -128, to: nil, dtype: .int8)
        #expect(v == (0..<5).map { _ in Int64(kr.random() % 256) - 128 })
        // The whole int64 range with explicit bounds takes the 64-bit path.
        var m = TorchGenerator(seed: 3), mr = m
        let w = try m.randint(low: Int64.min, high: Int64.max, count: 2)
        #expect(w == (0..<2).map { _ in Int64.min &+ Int64(bitPattern: mr.random64() % (UInt64.max)) })
    }

    /// The fill APIs write into caller storage exactly what the array APIs return.
    @Test func fillsMatchArrays() throws {
        var a = TorchGenerator(seed: 8, capability: .generic), b = a
        var buf = [Float](repeating: 0, count: 37)
        try buf.withUnsafeMutableBufferPointer { (p) throws(TorchRandomError) in try a.fillNormal(p, mean: 1, std: 2) }
        #expect(buf == (try b.normal(count: 37, mean: 1, std: 2)))
        var dbuf = [Double](repeating: 0, count: 9)
        try dbuf.withUnsafeMutableBufferPointer { (p) throws(TorchRandomError) in try a.fillUniform(p, from: -1, to: 1) }
        #expect(dbuf == (try b.uniform(count: 9, from: -1, to: 1, as: Double.self)))
        #expect(a == b)
    }
}
