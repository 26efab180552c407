import Testing
import _ReproTestSupport
@testable import ReproRandom

@Suite struct MT19937Tests {
    /// `mt_raw32_first20`: torch's raw stream after manual_seed(s) equals init_genrand(low 32 bits of s).
    @Test func rawStreamMatchesTorch() throws {
        let v = try Fixtures.json("rng/torch_cpu.json")["capability_independent"]["per_seed"]
        for key in v.keys {
            let seed = UInt64(key) ?? UInt64(bitPattern: Int64(key)!)
            var mt = MT19937(seed: UInt32(truncatingIfNeeded: seed))
            let expected = try v[key]["mt_raw32_first20"].uints
            #expect(expected.count == 20)
            let got = (0..<20).map { _ in UInt64(mt.next32()) }
            #expect(got == expected, "seed \(key)")
        }
    }

    @Test func stateRoundTrips() throws {
        var a = MT19937(key: [1, 2, 3, 4_294_967_295])
        for _ in 0..<1000 { _ = a.next32() }
        var b = try MT19937(serializedState: a.serializedState)
        #expect(a == b)
        for _ in 0..<2000 { #expect(a.next32() == b.next32()) }
        #expect(throws: RandomStateError.self) { try MT19937(serializedState: [1, 2, 3]) }
        var bad = a.serializedState
        bad[2496] = 0; bad[2497] = 0; bad[2498] = 0; bad[2499] = 0  // left = 0
        #expect(throws: RandomStateError.self) { try MT19937(serializedState: bad) }
    }
}

@Suite struct Philox4x32Tests {
    /// Random123 known answers (10 and 7 rounds).
    @Test func knownAnswers() throws {
        let kats = try Fixtures.json("rng/philox.json")["kats"].array
        #expect(kats.count == 6)
        for kat in kats {
            let c = try kat["ctr"].array.map { UInt32(try $0.uint64) }
            let k = try kat["key"].array.map { UInt32(try $0.uint64) }
            let e = try kat["expected"].array.map { UInt32(try $0.uint64) }
            let r = Int(try kat["rounds"].int64)
            let out = Philox4x32.block(counter: (c[0], c[1], c[2], c[3]), key: (k[0], k[1]), rounds: r)
            #expect([out.0, out.1, out.2, out.3] == e)
        }
    }

    @Test func fillUniformMatchesWordStream() throws {
        var a = Philox4x32(seed: 7, subsequence: 3, offset: 5)
        var b = a
        _ = a.next32()
        _ = b.next32()
        let floats = a.uniformFloats(count: 103)
        let words = (0..<103).map { _ in b.next32() }
        #expect(floats.map(\.bitPattern) == words.map { (Float($0 >> 8) * 0x1p-24).bitPattern })
        #expect(a == b)
        let restored = try Philox4x32(serializedState: a.serializedState)
        #expect(restored == a)
    }

    @Test func advanceCarries() {
        var p = Philox4x32(counter: (0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0), key: (1, 2))
        p.advance(blocks: 1)
        #expect(p.counter0 == 0 && p.counter1 == 0 && p.counter2 == 0 && p.counter3 == 1)
    }
}

@Suite struct SplitMix64Tests {
    /// Reference outputs of Vigna's splitmix64.c for seed 0 and 1234567.
    @Test func knownAnswers() {
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xe220_a839_7b1d_cdaf)
        #expect(g.next() == 0x6e78_9e6a_a1b9_65f4)
        #expect(g.next() == 0x06c4_5d18_8009_454f)
        var h = SplitMix64(seed: 1_234_567)
        #expect(h.next() == 6_457_827_717_110_365_317)
        #expect(h.next() == 3_203_168_211_198_807_973)
    }
}
