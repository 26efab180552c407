import Testing
import _ReproTestSupport
@testable import ReproRandom

/// Decodes the `entropy`/`entropy_kind` of a `seedsequence_cases` entry into a sequence.
func seedSequence(fromCase c: JSON) throws -> SeedSequence {
    let kind = try c["entropy_kind"].string
    let spawnKey = try c["spawn_key"].array.map { try $0.uint64 }
    let poolSize = Int(try c["pool_size"].int64)
    switch kind {
    case "big_int_words":
        let words = try c["entropy"].array.map { UInt32(try $0.uint64) }
        if poolSize == SeedSequence.defaultPoolSize {
            return SeedSequence(bigEntropy: words, spawnKey: spawnKey)
        }
        return try SeedSequence(entropyWords: words, spawnKey: spawnKey, poolSize: poolSize)
    case "uint64_list":
        return SeedSequence(entropy: try c["entropy"].array.map { try $0.uint64 }, spawnKey: spawnKey)
    case "uint32_words":
        return SeedSequence(entropyWords: try c["entropy"].array.map { UInt32(try $0.uint64) }, spawnKey: spawnKey)
    default:
        throw FixtureError.malformed("unknown entropy kind \(kind)")
    }
}

@Suite struct SeedSequenceTests {
    /// `numpy.json → seedsequence[s]`: entropy words, pool, generate_state (u32, u64), spawn(2).
    @Test func matchesNumPyForEverySeed() throws {
        let v = try Fixtures.json("rng/numpy.json")["seedsequence"]
        #expect(v.keys.count == 6)
        for key in v.keys {
            let e = try v[key]
            var ss = SeedSequence(entropy: try #require(UInt64(key)))
            let words = try e["entropy_words"].array.map { UInt32(try $0.uint64) }
            #expect(ss.entropyWords == words, "seed \(key)")
            #expect(ss.pool.map(UInt64.init) == (try e["pool"].uints), "seed \(key)")
            #expect(ss.generateState(count: 8).map(UInt64.init) == (try e["generate_state_8_u32"].uints), "seed \(key)")
            #expect(ss.generateState64(count: 2) == (try e["generate_state_2_u64"].uints), "seed \(key)")
            let kids = ss.spawn(2)
            let expected = try e["spawn2_children_generate_state_4_u32"].array
            #expect(kids.count == 2 && expected.count == 2)
            for (kid, exp) in zip(kids, expected) {
                #expect(kid.generateState(count: 4).map(UInt64.init) == (try exp.uints), "seed \(key)")
            }
            #expect(kids.map(\.spawnKey) == [[0], [1]])
            #expect(ss.childrenSpawned == 2)
        }
    }

    /// `numpy_extra.json → seedsequence_cases`: big integers, lists, spawn keys,
    /// pool size 8, raw uint32 arrays; repeated spawns and grandchildren.
    @Test func extraCases() throws {
        let cases = try Fixtures.json("rng/numpy_extra.json")["seedsequence_cases"].array
        #expect(cases.count == 10)
        for c in cases {
            let name = try c["name"].string
            var ss = try seedSequence(fromCase: c)
            #expect(ss.poolSize == Int(try c["pool_size"].int64))
            #expect(ss.pool.map(UInt64.init) == (try c["pool"].uints), "\(name)")
            #expect(ss.generateState(count: 8).map(UInt64.init) == (try c["generate_state_8_u32"].uints), "\(name)")
            #expect(ss.generateState64(count: 3) == (try c["generate_state_3_u64"].uints), "\(name)")
            var kids = ss.spawn(2)
            kids += ss.spawn(1)
            let expected = try c["spawn2_then_spawn1_generate_state_2_u32"].array
            let keys = try c["spawn_keys"].array.map { try $0.array.map { try $0.uint64 } }
            #expect(kids.count == 3 && expected.count == 3)
            for (i, kid) in kids.enumerated() {
                #expect(kid.generateState(count: 2).map(UInt64.init) == (try expected[i].uints), "\(name) child \(i)")
                #expect(kid.spawnKey == keys[i], "\(name) child \(i)")
            }
            var middle = kids[1]
            let grand = middle.spawn(2)[1]
            #expect(grand.generateState(count: 4).map(UInt64.init) == (try c["grandchild_1_1_generate_state_4_u32"].uints),
                    "\(name)")
        }
    }

    @Test func integerEntropyForms() {
        // An integer's words and a list of that integer are the same entropy; high zero words vanish.
        #expect(SeedSequence(entropy: 1 << 40).entropyWords == [0, 256])
        #expect(SeedSequence(entropy: [1 << 40]).entropyWords == [0, 256])
        #expect(SeedSequence(bigEntropy: [7, 0, 0]).entropyWords == [7])
        #expect(SeedSequence(bigEntropy: []).entropyWords == [0])
        #expect(SeedSequence(entropy: 0).entropyWords == [0])
        #expect(SeedSequence(entropy: [0, 0]).entropyWords == [0, 0])
        #expect(SeedSequence(entropyWords: [0, 0, 7]).entropyWords == [0, 0, 7])
    }

    /// NumPy raises for pool_size < 4; so does the Swift port, with a typed error.
    @Test func poolSizeBelowFourThrows() throws {
        let v = try Fixtures.json("rng/numpy_extra.json")["seedsequence_pool_size_3"]
        #expect(try v["raises"].string.contains("at least 4"))
        #expect(throws: RandomStateError.self) { try SeedSequence(entropyWords: [1], poolSize: 3) }
        #expect(throws: RandomStateError.self) { try SeedSequence(entropyWords: [1], poolSize: 4, childrenSpawned: -1) }
        let ok = try SeedSequence(entropyWords: [1], poolSize: 4, childrenSpawned: 5)
        var copy = ok
        #expect(copy.spawn(1)[0].spawnKey == [5])
    }
}
