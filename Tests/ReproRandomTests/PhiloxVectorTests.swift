import Testing
import _ReproTestSupport
import ReproRandom

/// Philox4x32-10 beyond the Random123 KATs: philox.json's own vectors and
/// `at::Philox4_32` engine streams, and torch 2.15's stateless Philox
/// (docs/random.md, "Philox4x32-10").
@Suite struct PhiloxVectorTests {
    @Test func ownVectorsCheckedAgainstReference() throws {
        let vectors = try Fixtures.json("rng/philox.json")["own_vectors_checked_against_reference"].array
        #expect(vectors.count == 6)
        for v in vectors {
            let c = try v["ctr"].array.map { UInt32(try $0.uint64) }
            let k = try v["key"].array.map { UInt32(try $0.uint64) }
            let e = try v["expected"].array.map { UInt32(try $0.uint64) }
            let out = Philox4x32.block(counter: (c[0], c[1], c[2], c[3]), key: (k[0], k[1]),
                                       rounds: Int(try v["rounds"].int64))
            #expect([out.0, out.1, out.2, out.3] == e, "ctr \(c) key \(k)")
        }
    }

    @Test func engineStreams() throws {
        let cases = try Fixtures.json("rng/philox.json")["philox_engine_streams"]["cases"].array
        #expect(cases.count == 5)
        for c in cases {
            let seed = try c["seed"].uint64, sub = try c["subsequence"].uint64, off = try c["offset_blocks"].uint64
            let expected = try c["first10_u32"].array.map { UInt32(try $0.uint64) }
            var p = Philox4x32(seed: seed, subsequence: sub, offset: off)
            #expect((0..<10).map { _ in p.next32() } == expected, "seed \(seed) sub \(sub) offset \(off)")
            // The same stream, filled as floats, consumes the same words.
            var q = Philox4x32(seed: seed, subsequence: sub, offset: off)
            #expect(q.uniformFloats(count: 10).map(\.bitPattern) == expected.map { (Float($0 >> 8) * 0x1p-24).bitPattern })
        }
    }

    @Test func torchStatelessPhiloxRandint() throws {
        let cases = try Fixtures.json("rng/torch_cpu.json")["capability_independent"]["torch_stateless_philox_randint_uint32"].array
        #expect(cases.count == 4)
        for c in cases {
            let seed = try c["seed"].uint64, offset = try c["offset"].uint64
            let expected = try c["uint32_x10"].uints.map { UInt32($0) }
            #expect(Philox4x32.statelessWords(seed: seed, offset: offset, count: 10) == expected, "seed \(seed) offset \(offset)")
            // Within 64-bit offsets it is the engine stream with subsequence 0.
            var p = Philox4x32(seed: seed, subsequence: 0, offset: offset)
            #expect((0..<10).map { _ in p.next32() } == expected)
        }
        #expect(Philox4x32.statelessWords(seed: 1, offset: 2, count: 0).isEmpty)
    }
}
