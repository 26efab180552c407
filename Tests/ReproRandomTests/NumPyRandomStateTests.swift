import Testing
import _ReproTestSupport
@testable import ReproRandom

@Suite struct NumPyRandomStateTests {
    /// Every chained `numpy.json → legacy[s]` vector for every accepted seed.
    @Test func legacyChainMatchesNumPy() throws {
        let v = try Fixtures.json("rng/numpy.json")["legacy"]
        var checked = 0
        for key in v.keys {
            let e = try v[key]
            guard e.has("random_sample_10") else { continue }
            let seed = try #require(UInt64(key))
            var raw = try NumPyRandomState(seed: seed).bitGenerator
            #expect(try raw.randomRaw(count: 8) == (try e["mt_raw32_first8"].uints), "seed \(key)")
            var rs = try NumPyRandomState(seed: seed)
            #expect(try rs.randomSample(count: 10).map(\.bitPattern) == (try e["random_sample_10"].f64Bits), "seed \(key)")
            #expect(try rs.standardNormal(count: 10).map(\.bitPattern) == (try e["standard_normal_10"].f64Bits),
                    "seed \(key)")
            #expect(try rs.randint(low: 0, high: 100, count: 10) == (try e["randint_0_100_x10"].ints), "seed \(key)")
            #expect(rs.permutation(20).map(Int64.init) == (try e["permutation_20"].ints), "seed \(key)")
            #expect(try rs.randint(low: 0, high: 1 << 40, count: 3) == (try e["randint_0_2p40_x3"].ints), "seed \(key)")
            checked += 1
        }
        #expect(checked == 5)
    }

    /// Seeds NumPy refuses (2^32 + 5, 2^63 - 1) throw a typed error here.
    @Test func outOfRangeSeedsThrow() throws {
        let v = try Fixtures.json("rng/numpy.json")["legacy"]
        var checked = 0
        for key in v.keys {
            guard try v[key].has("raises") else { continue }
            #expect(try v[key]["raises"].string == "ValueError: Seed must be between 0 and 2**32 - 1")
            let seed = try #require(UInt64(key))
            #expect(throws: RandomStateError.self) { try NumPyRandomState(seed: seed) }
            #expect(throws: RandomStateError.self) { try NumPyRandomState(seed: Int64(bitPattern: seed)) }
            checked += 1
        }
        #expect(checked == 2)
        let errors = try Fixtures.json("rng/numpy_extra.json")["legacy_errors"]
        #expect(try errors["negative"]["raises"].string.contains("between 0 and 2**32 - 1"))
        #expect(throws: RandomStateError.self) { try NumPyRandomState(seed: Int64(-1)) }
        #expect(try errors["empty_array"]["raises"].string.contains("non-empty"))
        #expect(throws: RandomStateError.self) { try NumPyRandomState(seedWords: [UInt32]()) }
        #expect(try errors["word_2p32"]["raises"].string.contains("between 0 and 2**32 - 1"))
        #expect(throws: RandomStateError.self) { try NumPyRandomState(seedWords: [1, Int64(1) << 32]) }
        #expect(try NumPyRandomState(seed: Int64(4_294_967_295)) == NumPyRandomState(seed: UInt32.max))
    }

    @Test func arraySeedUsesInitByArray() throws {
        let v = try Fixtures.json("rng/numpy.json")["legacy"]["array_seed"]
        let words = try v["seed_words"].array.map { UInt32(try $0.uint64) }
        var rs = try NumPyRandomState(seedWords: words)
        #expect(try rs.randomSample(count: 4).map(\.bitPattern) == (try v["random_sample_4"].f64Bits))
    }

    /// `numpy_extra.json → legacy[s]`: normal, the gauss cache, the 32- and
    /// 64-bit randint edges, the no-draw range and shuffling a list.
    @Test func extraLegacyVectors() throws {
        let v = try Fixtures.json("rng/numpy_extra.json")["legacy"]
        #expect(v.keys.count == 3)
        for key in v.keys {
            let e = try v[key]
            let seed = try #require(UInt32(key))
            var rs = NumPyRandomState(seed: seed)
            #expect(try rs.normal(loc: 0.5, scale: 2.0, count: 5).map(\.bitPattern) == (try e["normal_0.5_2_x5"].f64Bits))
            rs = NumPyRandomState(seed: seed)
            _ = try rs.standardNormal(count: 3)
            #expect(rs.hasGauss == (try e["after_standard_normal_3"]["has_gauss"].int64 == 1))
            #expect([rs.gauss.bitPattern] == (try e["after_standard_normal_3"]["gauss"].f64Bits))
            rs = NumPyRandomState(seed: seed)
            #expect(try rs.randint(low: .min, high: .max, count: 4) == (try e["randint_m2p63_2p63m1_x4"].ints))
            rs = NumPyRandomState(seed: seed)
            #expect(try rs.randint(low: 0, high: 1 << 32, count: 4) == (try e["randint_0_2p32_x4"].ints))
            rs = NumPyRandomState(seed: seed)
            let chained = try e["randint_5_6_x3_then_random_sample_1"]
            #expect(try rs.randint(low: 5, high: 6, count: 3) == (try chained["randint"].ints))
            #expect([rs.randomSample().bitPattern] == (try chained["random_sample"].f64Bits))
            rs = NumPyRandomState(seed: seed)
            var list = Array(0..<10)
            rs.shuffle(&list)
            #expect(list.map(Int64.init) == (try e["shuffle_list10"].ints))
        }
    }

    @Test func longRunStandardNormal() throws {
        let v = try Fixtures.json("rng/numpy_extra.json")["long_runs"]["legacy_standard_normal_100000_seed7"]
        var rs = NumPyRandomState(seed: 7)
        let z = try rs.standardNormal(count: Int(try v["count"].int64))
        #expect(sha256Hex(littleEndianBytes(z)) == (try v["sha256_f64le"].string))
    }

    @Test func stateRoundTripsWithGaussCache() throws {
        var a = NumPyRandomState(seed: 11)
        _ = a.standardNormal()  // leaves a cached value
        #expect(a.hasGauss)
        var b = try NumPyRandomState(serializedState: a.serializedState)
        #expect(a == b)
        for _ in 0..<5 { #expect(a.standardNormal().bitPattern == b.standardNormal().bitPattern) }
        #expect(throws: RandomStateError.self) { try NumPyRandomState(serializedState: [0, 1]) }
        var bad = a.serializedState
        bad[2504] = 7
        #expect(throws: RandomStateError.self) { try NumPyRandomState(serializedState: bad) }
    }

    @Test func invalidArgumentsThrow() {
        var rs = NumPyRandomState(seed: 1)
        #expect(throws: NumPyRandomError.emptyRange(low: 5, high: 5)) { try rs.randint(low: 5, high: 5) }
        #expect(throws: NumPyRandomError.negativeCount(-1)) { try rs.randomSample(count: -1) }
        #expect(throws: NumPyRandomError.negativeScale(-1)) { try rs.normal(scale: -1) }
        #expect(throws: NumPyRandomError.self) { try rs.normal(scale: -0.0) }
        #expect(rs.permutation(-3).isEmpty)
        // A refused call consumes nothing.
        #expect(rs == NumPyRandomState(seed: 1))
    }
}

/// The little-endian bytes of doubles' bit patterns (the vectors' `sha256_f64le`).
func littleEndianBytes(_ values: [Double]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(values.count * 8)
    for v in values {
        let b = v.bitPattern
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: b >> (8 * UInt64(i)))) }
    }
    return out
}
