import Testing
import _ReproTestSupport
@testable import ReproRandom

@Suite struct TorchGeneratorTests {
    /// `mt_raw32_first20` through random64 (high half first) and `initial_seed`.
    @Test func rawStreamAndInitialSeed() throws {
        let ps = try TorchFixtures.cpu()["capability_independent"]["per_seed"]
        #expect(ps.keys == TorchFixtures.seedKeys.sorted())
        for key in TorchFixtures.seedKeys {
            var g = TorchGenerator(seed: TorchFixtures.seed(key))
            var words: [UInt64] = []
            for _ in 0..<10 {
                let w = g.random64()
                words += [w >> 32, w & 0xffff_ffff]
            }
            #expect(words == (try ps[key]["mt_raw32_first20"].uints), "seed \(key)")
            #expect([Int64(bitPattern: g.initialSeed)] == (try ps[key]["initial_seed"].ints), "seed \(key)")
            var h = TorchGenerator(seed: TorchFixtures.seed(key))
            #expect(UInt64(h.random()) == words[0])
        }
    }

    @Test func unseededGenerator() throws {
        let v = try TorchFixtures.cpu()["capability_independent"]["unseeded_torch_Generator"]
        let g = TorchGenerator()
        #expect(g.initialSeed == (try v["initial_seed"].uint64))
        #expect(UInt64(g.engine.words[0]) == (try v["mt_seed_word"].uint64))
        #expect(g == TorchGenerator(seed: TorchGenerator.defaultSeed))
    }

    @Test func negativeSeedMapping() throws {
        let v = try TorchFixtures.cpu()["capability_independent"]["negative_seed_mapping"]
        for key in ["-1", "-5"] {
            var g = TorchGenerator()
            g.manualSeed(Int64(key)!)
            #expect(g.initialSeed == (try v[key].uint64), "seed \(key)")
            #expect(TorchGenerator(seed: Int64(key)!).initialSeed == g.initialSeed)
            var h = TorchGenerator()
            h.manualSeed(Int(key)!)
            #expect(h == g)
        }
        // Only the low 32 bits reach MT: 2^32 + 5 and 5 give the same stream.
        var a = TorchGenerator(seed: UInt64(1) << 32 | 5)
        var b = TorchGenerator(seed: 5)
        #expect(a.initialSeed != b.initialSeed)
        for _ in 0..<1000 { #expect(a.random() == b.random()) }
    }

    @Test func seedParsing() throws {
        #expect(try TorchGenerator.seed(parsing: "42") == 42)
        #expect(try TorchGenerator.seed(parsing: "+7") == 7)
        #expect(try TorchGenerator.seed(parsing: "-0") == 0)
        #expect(try TorchGenerator.seed(parsing: "-1") == UInt64.max)
        #expect(try TorchGenerator.seed(parsing: "-9223372036854775808") == 1 << 63)
        #expect(try TorchGenerator.seed(parsing: "18446744073709551615") == UInt64.max)
        let v = try TorchFixtures.cpu()["capability_independent"]["negative_seed_mapping"]
        #expect(try TorchGenerator.seed(parsing: "-5") == (try v["-5"].uint64))
        for bad in ["18446744073709551616", "-9223372036854775809", "", "-", "1e3", "0x10", " 5", "5 ", "٣"] {
            #expect(throws: RandomStateError.self, "\(bad)") { try TorchGenerator.seed(parsing: bad) }
        }
    }

    @Test func seedingClearsTheNormalCache() throws {
        var g = TorchGenerator(seed: 1)
        _ = try g.randn(count: 3)
        #expect(g.cachedNormal != nil)
        g.manualSeed(1)
        #expect(g.cachedNormal == nil)
        #expect(g == TorchGenerator(seed: 1))
    }

    /// `generator_state_example`: bytes, decoded fields, and restore-and-continue.
    @Test func stateExample() throws {
        let v = try TorchFixtures.cpu()["capability_independent"]["generator_state_example"]
        var g = TorchGenerator(seed: 42)
        _ = try g.randn(count: 3)
        let state = g.serializedState
        #expect(state.count == 5056)
        #expect(state.count == Int(try v["size_bytes"].int64))
        #expect(state == (try parseHexBytes(v["state_hex"].string)))
        #expect(sha256Hex(state) == (try v["sha256"].string))
        let fields = try v["fields"]
        #expect(Int64(g.engine.leftCounter) == (try fields["left"].int64))
        #expect(Int64(g.engine.nextCounter) == (try fields["next"].int64))
        #expect(g.cachedNormal?.bitPattern == (try fields["normal_y"]["bits"].uint64))
        var h = try TorchGenerator(serializedState: state)
        #expect(h == g)
        try TorchValues.f32(h.randn(count: 4)).expectEqual(v["randn_4_after_restore"], "randn_4_after_restore")
        // set_state on an existing generator keeps its capability.
        var k = TorchGenerator(seed: 9, capability: .generic)
        try k.setState(state)
        #expect(k.capability == .generic && k.serializedState == state)
    }

    @Test func freshStateSeed5() throws {
        let v = try TorchFixtures.cpu()["capability_independent"]["fresh_state_seed5"]
        let st = TorchGenerator(seed: 5).serializedState
        #expect(sha256Hex(st) == (try v["sha256"].string))
        #expect(Array(st[0..<24]) == (try parseHexBytes(v["first24_hex"].string)))
        #expect(Array(st[5016...]) == (try parseHexBytes(v["tail40_hex"].string)))
    }

    @Test func stateRoundTripsAtEveryPosition() throws {
        var g = TorchGenerator(seed: 3407)
        for step in 0..<700 {
            if step % 97 == 0 { _ = try g.randn(count: 1) }  // sometimes leave a cached normal
            let copy = try TorchGenerator(serializedState: g.serializedState)
            #expect(copy == g)
            var a = g, b = copy
            #expect(try a.randn(count: 3) == b.randn(count: 3))
            _ = g.random()
        }
        // The float cache (never set by torch 2.15 kernels) round-trips too.
        var withFloat = g
        withFloat.floatNormalCache = 1.5
        let restored = try TorchGenerator(serializedState: withFloat.serializedState)
        #expect(restored.floatNormalCache == 1.5)
    }

    @Test func badStatesAreRefused() throws {
        let good = TorchGenerator(seed: 42).serializedState
        func patched(_ offset: Int, _ bytes: [UInt8]) -> [UInt8] {
            var s = good
            for (i, b) in bytes.enumerated() { s[offset + i] = b }
            return s
        }
        #expect(throws: RandomStateError.wrongLength(generator: "TorchGenerator", expected: 5056, actual: 5055)) {
            try TorchGenerator(serializedState: Array(good.dropLast()))
        }
        #expect(throws: RandomStateError.self) { try TorchGenerator(serializedState: []) }
        // seeded != 1
        #expect(throws: RandomStateError.self) { try TorchGenerator(serializedState: patched(12, [0, 0, 0, 0])) }
        // left = 0 and left = 625
        #expect(throws: RandomStateError.self) { try TorchGenerator(serializedState: patched(8, [0, 0, 0, 0])) }
        #expect(throws: RandomStateError.self) { try TorchGenerator(serializedState: patched(8, [0x71, 2, 0, 0])) }
        // next = 625
        #expect(throws: RandomStateError.self) { try TorchGenerator(serializedState: patched(16, [0x71, 2])) }
        // left = 624 with next = 624 would read past the words
        #expect(throws: RandomStateError.self) {
            try TorchGenerator(serializedState: patched(8, [0x70, 2, 0, 0, 1, 0, 0, 0, 0x70, 2]))
        }
        // Boundary values that torch itself produces are accepted: left 1/next 624, left 624/next 1.
        _ = try TorchGenerator(serializedState: patched(8, [1, 0, 0, 0, 1, 0, 0, 0, 0x70, 2]))
        _ = try TorchGenerator(serializedState: patched(8, [0x70, 2, 0, 0, 1, 0, 0, 0, 1, 0]))
        // A refused setState leaves the generator unchanged.
        var g = TorchGenerator(seed: 7)
        #expect(throws: RandomStateError.self) { try g.setState([1, 2, 3]) }
        #expect(g == TorchGenerator(seed: 7))
        // High bits of saved words are truncated, as torch does.
        let wide = patched(24 + 4, [0xff, 0xff, 0xff, 0xff])
        #expect(try TorchGenerator(serializedState: wide).serializedState == good)
    }
}
