import Testing
import _ReproTestSupport
import Repro

/// `repro random`'s streams against the library vectors, for every seed in the files.
@Suite struct RandomStreamLibraryTests {
    static func floats(_ stream: String, seed: String, count: Int) throws -> [UInt64] {
        try RandomStream(parsing: stream).values(seed: IntegerSeed(parsing: seed), count: count).map {
            switch $0 {
            case .float64(let x): return x.bitPattern
            case .float32(let x): return UInt64(x.bitPattern)
            default: throw FixtureError.malformed("not a float")
            }
        }
    }

    static func ints(_ stream: String, seed: String, count: Int) throws -> [Int64] {
        try RandomStream(parsing: stream).values(seed: IntegerSeed(parsing: seed), count: count).map {
            switch $0 {
            case .signed(let v): return v
            case .unsigned(let v): return Int64(bitPattern: v)
            default: throw FixtureError.malformed("not an integer")
            }
        }
    }

    @Test func numpyStreams() throws {
        let np = try Fixtures.json("rng/numpy.json")
        let legacySeeds = try np["legacy"].keys.filter { UInt64($0).map { $0 < 1 << 32 } ?? false }
        #expect(legacySeeds.count >= 4)
        for s in legacySeeds {
            let v = try np["legacy"][s]
            #expect(try Self.floats("numpy.legacy.random_sample", seed: s, count: 10) == v["random_sample_10"].f64Bits)
            #expect(try Self.ints("numpy.MT19937.raw", seed: s, count: 0) == [])
        }
        let genSeeds = try np["generator"].keys.filter { UInt64($0) != nil }
        #expect(genSeeds.count >= 5)
        for s in genSeeds {
            let v = try np["generator"][s]
            #expect(try Self.floats("numpy.default_rng.random", seed: s, count: 10) == v["random_10"].f64Bits, "seed \(s)")
            #expect(try Self.ints("numpy.PCG64.raw", seed: s, count: 4).map { UInt64(bitPattern: $0) } == v["pcg64_raw64_first4"].uints)
            let fresh = try v["fresh_seed_each"]
            #expect(try Self.ints("numpy.default_rng.permutation:20", seed: s, count: 20) == fresh["permutation_20"].ints)
            #expect(try Self.ints("numpy.default_rng.integers:0:1099511627776", seed: s, count: 5) == fresh["integers_0_2p40_x5"].ints)
        }
        // Legacy seeds ≥ 2^32 are refused, as NumPy refuses them.
        #expect(throws: RandomStreamError.self) { try Self.floats("numpy.legacy.random_sample", seed: "4294967296", count: 1) }
        #expect(throws: RandomStreamError.self) { try Self.floats("numpy.default_rng.random", seed: "-1", count: 1) }
        // Big seeds go through SeedSequence like NumPy's.
        #expect(try Self.ints("numpy.PCG64.raw", seed: "18446744073709551619", count: 2).count == 2)
    }
}
