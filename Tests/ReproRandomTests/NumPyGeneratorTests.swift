import Testing
import _ReproTestSupport
@testable import ReproRandom

@Suite struct NumPyGeneratorTests {
    /// Every `numpy.json → generator[s]` chain and `fresh_seed_each` vector.
    @Test func defaultRngMatchesNumPy() throws {
        let v = try Fixtures.json("rng/numpy.json")["generator"]
        var checked = 0
        for key in v.keys {
            guard let seed = UInt64(key) else { continue }
            let e = try v[key]
            var g = NumPyGenerator(seed: seed)
            #expect(try g.random(count: 10).map(\.bitPattern) == (try e["random_10"].f64Bits), "seed \(key)")
            #expect(try g.integers(low: 0, high: 100, count: 10) == (try e["integers_0_100_x10"].ints), "seed \(key)")
            #expect(try g.standardNormal(count: 10).map(\.bitPattern) == (try e["standard_normal_10"].f64Bits),
                    "seed \(key)")
            #expect(g.permutation(20).map(Int64.init) == (try e["permutation_20"].ints), "seed \(key)")

            let fresh = try e["fresh_seed_each"]
            g = NumPyGenerator(seed: seed)
            #expect(g.permutation(20).map(Int64.init) == (try fresh["permutation_20"].ints), "seed \(key)")
            g = NumPyGenerator(seed: seed)
            #expect(try g.integers(low: 0, high: 1 << 40, count: 5) == (try fresh["integers_0_2p40_x5"].ints))
            g = NumPyGenerator(seed: seed)
            #expect(try g.integers(low: .min, high: 1 << 62, count: 8) == (try fresh["integers_m2p63_2p62_x8"].ints),
                    "seed \(key)")
            g = NumPyGenerator(seed: seed)
            #expect(try g.integers(low: 0, high: 3 << 30, count: 8) == (try fresh["integers_0_3x2p30_x8"].ints),
                    "seed \(key)")
            checked += 1
        }
        #expect(checked == 6)
    }

    /// `lemire_rejected_draws`: the Lemire loops throw away exactly the draws the
    /// reference did (counted by replaying a fresh generator until the states meet).
    @Test func lemireRejectionCounts() throws {
        let v = try Fixtures.json("rng/numpy.json")["generator"]
        var totalRejected: Int64 = 0
        for key in v.keys {
            guard let seed = UInt64(key) else { continue }
            let fresh = try v[key]["fresh_seed_each"]
            for (name, low, high, wide) in [("integers_m2p63_2p62_x8", Int64.min, Int64(1) << 62, true),
                                            ("integers_0_3x2p30_x8", 0, Int64(3) << 30, false),
                                            ("integers_0_2p40_x5", 0, Int64(1) << 40, true)] {
                let e = try fresh[name]
                let count = try e["values"].array.count
                var g = NumPyGenerator(seed: seed)
                _ = try g.integers(low: low, high: high, count: count)
                var replay = PCG64(seed: seed)
                var draws = 0
                while replay != g.bitGenerator && draws < 100 {
                    if wide { _ = replay.next64() } else { _ = replay.next32() }
                    draws += 1
                }
                let rejected = try e["lemire_rejected_draws"].int64
                #expect(Int64(draws - count) == rejected, "\(name) seed \(key)")
                totalRejected += rejected
            }
        }
        #expect(totalRejected > 0)  // the rejection loops were exercised
    }

    /// `numpy_extra.json → generator[s]`: the 2^32 - 1 and 64-bit edges, the
    /// no-draw range, a 2^32 + 1 range (64-bit Lemire with rejection) and list shuffles.
    @Test func extraGeneratorVectors() throws {
        let v = try Fixtures.json("rng/numpy_extra.json")["generator"]
        #expect(v.keys.count == 3)
        for key in v.keys {
            let e = try v[key]
            let words = try e["entropy_words"].array.map { UInt32(try $0.uint64) }
            let seq = SeedSequence(bigEntropy: words)
            var g = NumPyGenerator<PCG64>(seedSequence: seq)
            #expect(try g.integers(low: 0, high: 1 << 32, count: 4) == (try e["integers_0_2p32_x4"].ints), "seed \(key)")
            g = NumPyGenerator(seedSequence: seq)
            #expect(try g.integers(low: .min, high: .max, count: 4) == (try e["integers_m2p63_2p63m1_x4"].ints))
            g = NumPyGenerator(seedSequence: seq)
            #expect(try g.integers(low: 0, high: (1 << 32) + 1, count: 4) == (try e["integers_0_2p32p1_x4"].ints))
            g = NumPyGenerator(seedSequence: seq)
            let chained = try e["integers_7_8_x3_then_random_1"]
            #expect(try g.integers(low: 7, high: 8, count: 3) == (try chained["integers"].ints))
            #expect([g.random().bitPattern] == (try chained["random"].f64Bits))
            g = NumPyGenerator(seedSequence: seq)
            var list = Array(0..<10)
            g.shuffle(&list)
            #expect(list.map(Int64.init) == (try e["shuffle_list10"].ints), "seed \(key)")
        }
    }

    /// `Generator(X(s))` for every NumPy bit generator: random, integers, ziggurat, permutation.
    @Test func generatorOverEveryBitGenerator() throws {
        func check<B: NumPyBitGenerator>(_: B.Type, _ name: String, _ seq: SeedSequence, _ e: JSON, _ key: String) throws {
            let v = try e["generator_over"][name]
            var g = NumPyGenerator<B>(seedSequence: seq)
            #expect(try g.random(count: 3).map(\.bitPattern) == (try v["random_3"].f64Bits), "\(name) seed \(key)")
            #expect(try g.integers(low: 0, high: 1000, count: 5) == (try v["integers_0_1000_x5"].ints), "\(name) \(key)")
            #expect(try g.standardNormal(count: 4).map(\.bitPattern) == (try v["standard_normal_4"].f64Bits),
                    "\(name) seed \(key)")
            #expect(g.permutation(10).map(Int64.init) == (try v["permutation_10"].ints), "\(name) seed \(key)")
        }
        for (key, seq, e) in try extraSeeds() {
            try check(PCG64.self, "PCG64", seq, e, key)
            try check(PCG64DXSM.self, "PCG64DXSM", seq, e, key)
            try check(SFC64.self, "SFC64", seq, e, key)
            try check(NumPyPhilox.self, "Philox", seq, e, key)
            try check(MT19937.self, "MT19937", seq, e, key)
        }
    }

    /// 200,000 ziggurat draws (`default_rng(s).standard_normal(25000)` for s in 0..<8;
    /// rng.md reports 50 tail and 2,936 wedge hits in this run) hashed bit for bit.
    @Test func longRunZiggurat() throws {
        let v = try Fixtures.json("rng/numpy_extra.json")["long_runs"]
        let zig = try v["ziggurat_8x25000"]
        var all: [Double] = []
        for s in 0..<8 {
            var g = NumPyGenerator(seed: UInt64(s))
            all += try g.standardNormal(count: 25000)
        }
        #expect(all.count == Int(try zig["count"].int64))
        #expect(Array(all.prefix(3)).map(\.bitPattern) == (try zig["first3"].f64Bits))
        #expect([all.min()!.bitPattern] == (try zig["min"].f64Bits))
        #expect([all.max()!.bitPattern] == (try zig["max"].f64Bits))
        #expect(sha256Hex(littleEndianBytes(all)) == (try zig["sha256_f64le"].string))

        let dx = try v["pcg64dxsm_standard_normal_100000_seed9"]
        var g = NumPyGenerator(bitGenerator: PCG64DXSM(seed: 9))
        let z = try g.standardNormal(count: Int(try dx["count"].int64))
        #expect(sha256Hex(littleEndianBytes(z)) == (try dx["sha256_f64le"].string))
    }

    @Test func stateRoundTripsAndErrors() throws {
        var a = NumPyGenerator(seed: 8)
        _ = try a.integers(low: 0, high: 10)  // leaves a buffered half
        var b = try NumPyGenerator<PCG64>(serializedState: a.serializedState)
        #expect(a == b)
        #expect(try a.integers(low: 0, high: 10, count: 7) == (try b.integers(low: 0, high: 10, count: 7)))
        #expect(throws: NumPyRandomError.emptyRange(low: 3, high: 2)) { try a.integers(low: 3, high: 2) }
        #expect(throws: NumPyRandomError.negativeCount(-2)) { try a.standardNormal(count: -2) }
        #expect(throws: NumPyRandomError.self) { try a.normal(scale: -.infinity) }
        #expect(throws: RandomStateError.self) { try NumPyGenerator<SFC64>(serializedState: [9]) }
        #expect(a == b)
    }
}

@Suite struct ZigguratTablesTests {
    /// The tables' SHA-256 digests (docs/random.md, "The ziggurat normal") and spot values from numpy.json.
    @Test func tablesMatchNumPyDigests() throws {
        let z = try Fixtures.json("rng/numpy.json")["ziggurat_tables"]
        func le(_ words: [UInt64]) -> [UInt8] {
            words.flatMap { w in (0..<8).map { UInt8(truncatingIfNeeded: w >> (8 * UInt64($0))) } }
        }
        #expect(_ZigguratTables.ki.count == 256 && _ZigguratTables.wi.count == 256 && _ZigguratTables.fi.count == 256)
        #expect(sha256Hex(le(_ZigguratTables.ki)) == (try z["sha256_ki_u64le"].string))
        #expect(sha256Hex(le(_ZigguratTables.wi.map(\.bitPattern))) == (try z["sha256_wi_f64le"].string))
        #expect(sha256Hex(le(_ZigguratTables.fi.map(\.bitPattern))) == (try z["sha256_fi_f64le"].string))
        let spots = try z["spot_values"]
        for name in spots.keys {
            let table = String(name.prefix(2))
            let index = Int(name.dropFirst(3).dropLast())!
            let expected = try spots[name].uint64
            switch table {
            case "ki": #expect(_ZigguratTables.ki[index] == expected, "\(name)")
            case "wi": #expect(_ZigguratTables.wi[index].bitPattern == expected, "\(name)")
            default: #expect(_ZigguratTables.fi[index].bitPattern == expected, "\(name)")
            }
        }
        #expect(spots.keys.count == 7)
        let packed = _ZigguratTables.ki + _ZigguratTables.wi.map(\.bitPattern) + _ZigguratTables.fi.map(\.bitPattern)
        #expect(_ZigguratTables.packed == packed)
        #expect(_ZigguratTables.r.bitPattern == 0x400d_3bb4_8209_ad33)
        #expect(_ZigguratTables.invR == 1 / _ZigguratTables.r)
    }
}
