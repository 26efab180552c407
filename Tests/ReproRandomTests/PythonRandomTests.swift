import Foundation
import Testing
import _ReproTestSupport
import ReproRandom

/// `PythonRandom` against CPython 3.11.7: `python_random.json` (the shared
/// vectors) and `python_extra.json` (scripts/make_python_extra_vectors.py).
@Suite struct PythonRandomTests {
    /// Every vector of python_random.json, for every seed, bit for bit.
    @Test func sharedVectors() throws {
        let seeds = try Fixtures.json("rng/python_random.json")["seeds"]
        #expect(seeds.keys.count == 7)
        for key in seeds.keys {
            let v = try seeds[key]
            var r = PythonRandom(seedWords: try magnitudeWords(decimal: key))
            let rand = (0..<10).map { _ in r.random().bitPattern }
            #expect(try rand == v["random_10"].f64Bits, "seed \(key)")
            #expect(try r.getrandbits(64) == v["getrandbits_64"].uints[0], "seed \(key)")
            let rr = try (0..<10).map { _ in Int64(try r.randrange(1000)) }
            #expect(try rr == v["randrange_1000_x10"].ints, "seed \(key)")
            var x = Array(Int64(0)..<20)
            r.shuffle(&x)
            #expect(try x == v["shuffle_range20"].ints, "seed \(key)")
            let g = (0..<4).map { _ in r.gauss().bitPattern }
            #expect(try g == v["gauss_x4"].f64Bits, "seed \(key)")

            let fresh = try v["fresh_seed_getrandbits_5_x3_then_100"]
            var f = PythonRandom(seedWords: try magnitudeWords(decimal: key))
            let b5 = try (0..<3).map { _ in Int64(try f.getrandbits(5)) }
            #expect(try b5 == fresh["b5"].ints, "seed \(key)")
            let b100 = try f.getrandbitsWords(100)
            #expect(b100.count == 4 && b100[3] < 16)
            #expect(decimalString(words: b100) == (try fresh["b100"]["values"][0].string), "seed \(key)")
        }
    }

    /// Int64/UInt64 seeding agrees with the word form, negatives use |a|.
    @Test func integerSeedForms() throws {
        #expect(PythonRandom(seed: -42) == PythonRandom(seed: 42))
        #expect(PythonRandom(seed: Int64.min) == PythonRandom(seedWords: [0, 0x8000_0000]))
        #expect(PythonRandom(seed: UInt64(4_294_967_301)) == PythonRandom(seedWords: [5, 1]))
        #expect(PythonRandom(seed: 0) == PythonRandom(seedWords: []))
        #expect(PythonRandom(seed: 7) == PythonRandom(seedWords: [7, 0, 0]))
        var a = PythonRandom(seed: 42)
        #expect(a.random() == 0.6394267984578837)
    }

    /// Big-int, string and bytes seeds and the other methods, from CPython 3.11.
    @Test func extraVectors() throws {
        let doc = try Fixtures.json("rng/python_extra.json")
        let cases = try doc["cases"].array
        #expect(cases.count == 11)
        let pop = try doc["meta"]["pop7"].array.map { try $0.string }
        for c in cases {
            let label = try c["seed_kind"].string + " " + c["seed"].string
            var r = try makeGenerator(c)
            #expect(try (0..<5).map { _ in r.random().bitPattern } == hexWords64(c["random_5"]), "\(label)")
            let bits = try (1...200).map { k in hexString(words: try r.getrandbitsWords(k)) }
            #expect(bits == (try c["getrandbits_1_to_200_hex"].array.map { try $0.string }), "\(label)")
            let choices = try (0..<10).map { _ in Int64(pop.firstIndex(of: try r.choice(pop))!) }
            #expect(choices == (try c["choice_pop7_x10"].array.map { try $0.int64 }), "\(label)")
            #expect(try (0..<10).map { _ in Int64(try r.randint(-5, 5)) } == ints(c["randint_m5_5_x10"]), "\(label)")
            #expect(try (0..<5).map { _ in Int64(try r.randint(.min, .max)) } == ints(c["randint_full_int64_x5"]), "\(label)")
            #expect(try (0..<5).map { _ in Int64(try r.randrange(3, 100, step: 7)) } == ints(c["randrange_3_100_7_x5"]), "\(label)")
            #expect(try (0..<5).map { _ in Int64(try r.randrange(100, 3, step: -7)) } == ints(c["randrange_100_3_m7_x5"]), "\(label)")
            #expect(try (0..<5).map { _ in Int64(try r.randrange(1 << 62)) } == ints(c["randrange_2p62_x5"]), "\(label)")
            #expect(try r.sample(0..<30, count: 10).map { Int64($0) } == ints(c["sample_range30_k10"]), "\(label)")
            #expect(try r.sample(0..<1_000_000, count: 8).map { Int64($0) } == ints(c["sample_range1000000_k8"]), "\(label)")
            #expect(try r.sample(0..<100, count: 64).map { Int64($0) } == ints(c["sample_range100_k64"]), "\(label)")
            #expect(try (0..<5).map { _ in r.gauss(mu: 2.0, sigma: 0.3).bitPattern } == hexWords64(c["gauss_mu2_sigma0.3_x5"]), "\(label)")
            #expect(try (0..<3).map { _ in r.uniform(-1.0, 3.0).bitPattern } == hexWords64(c["uniform_m1_3_x3"]), "\(label)")
            try expectState(r.state, c["state_after"], label)
        }
    }

    /// setstate with index 0 (no regeneration before the first draw), which
    /// CPython accepts though it never produces it.
    @Test func stateWithIndexZero() throws {
        let v = try Fixtures.json("rng/python_extra.json")["state_index0"]
        let words = PythonRandom(seed: try v["words_from_seed"].int64).state.words
        var r = try PythonRandom(state: .init(words: words, index: 0, gaussNext: nil))
        #expect(try (0..<5).map { _ in r.random().bitPattern } == hexWords64(v["random_5"]))
    }

    /// The cached Gaussian is part of the state and survives a save/restore.
    @Test func gaussCacheInState() throws {
        let v = try Fixtures.json("rng/python_extra.json")["gauss_cache_state"]
        var r = PythonRandom(seed: try v["seed"].int64)
        #expect(r.gauss().bitPattern == (try v["first_gauss"].uint64))
        try expectState(r.state, v["state_after_first"], "gauss cache")
        var restored = try PythonRandom(serializedState: r.serializedState)
        #expect(restored == r)
        let expected = try hexWords64(v["next_gauss_x3"])
        #expect((0..<3).map { _ in restored.gauss().bitPattern } == expected)
        #expect((0..<3).map { _ in r.gauss().bitPattern } == expected)
    }

    @Test func stateRoundTripsAndRejectsBadStates() throws {
        var a = PythonRandom(seed: "state")
        for _ in 0..<700 { _ = a.random() }
        _ = a.gauss()
        var b = try PythonRandom(state: a.state)
        var c = try PythonRandom(serializedState: a.serializedState)
        #expect(a == b && a == c)
        for _ in 0..<1000 {
            let x = a.next()
            #expect(b.next() == x && c.next() == x)
        }
        #expect(throws: RandomStateError.self) { try PythonRandom(state: .init(words: [1, 2], index: 0, gaussNext: nil)) }
        let words = a.state.words
        #expect(throws: RandomStateError.self) { try PythonRandom(state: .init(words: words, index: 625, gaussNext: nil)) }
        #expect(throws: RandomStateError.self) { try PythonRandom(serializedState: [0, 1]) }
        var bytes = a.serializedState
        bytes[2500] = 2  // gauss flag
        #expect(throws: RandomStateError.self) { try PythonRandom(serializedState: bytes) }
        // A fresh generator reports CPython's index 624 (regenerate before the next draw).
        #expect(PythonRandom(seed: 1).state.index == 624)
    }

    @Test func badArgumentsThrowTypedErrors() throws {
        var r = PythonRandom(seed: 1)
        #expect(throws: PythonRandomError.negativeBitCount(-1)) { try r.getrandbits(-1) }
        #expect(throws: PythonRandomError.bitCountTooLarge(65, maximum: 64)) { try r.getrandbits(65) }
        #expect(throws: PythonRandomError.negativeBitCount(-3)) { try r.getrandbitsWords(-3) }
        #expect(throws: PythonRandomError.emptyRange(start: 0, stop: 0, step: 1)) { try r.randrange(0) }
        #expect(throws: PythonRandomError.emptyRange(start: 5, stop: 5, step: 1)) { try r.randrange(5, 5) }
        #expect(throws: PythonRandomError.zeroStep) { try r.randrange(1, 5, step: 0) }
        #expect(throws: PythonRandomError.emptyRange(start: 1, stop: 5, step: -1)) { try r.randrange(1, 5, step: -1) }
        #expect(throws: PythonRandomError.emptyRange(start: 3, stop: 3, step: 1)) { try r.randint(3, 2) }
        #expect(throws: PythonRandomError.emptySequence) { try r.choice([Int]()) }
        #expect(throws: PythonRandomError.sampleSizeOutOfRange(count: 4, populationCount: 3)) { try r.sample([1, 2, 3], count: 4) }
        #expect(throws: PythonRandomError.sampleSizeOutOfRange(count: -1, populationCount: 3)) { try r.sample([1, 2, 3], count: -1) }
        // getrandbits(0) draws nothing and returns 0, as CPython.
        let before = r
        #expect(try r.getrandbits(0) == 0)
        #expect(try r.getrandbitsWords(0).isEmpty)
        #expect(r == before)
    }
}

// MARK: - Helpers

private func makeGenerator(_ c: JSON) throws -> PythonRandom {
    let value = try c["seed"].string
    switch try c["seed_kind"].string {
    case "int": return PythonRandom(seedWords: try magnitudeWords(decimal: value))
    case "str": return PythonRandom(seed: value)
    case "bytes_hex": return PythonRandom(seedBytes: try parseHexBytes(value))
    case let k: throw FixtureError.malformed("unknown seed kind \(k)")
    }
}

private func expectState(_ s: PythonRandom.State, _ v: JSON, _ label: String) throws {
    #expect(Int64(s.index) == (try v["index"].int64), "\(label)")
    let words = s.words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * $0)) } }
    #expect(sha256Hex(words) == (try v["words_sha256"].string), "\(label)")
    if let g = v.has("gauss_next") ? (try? v["gauss_next"].uint64) : nil {
        #expect(s.gaussNext?.bitPattern == g, "\(label)")
    } else {
        #expect(s.gaussNext == nil, "\(label)")
    }
}

private func hexWords64(_ v: JSON) throws -> [UInt64] { try v.array.map { try $0.uint64 } }
private func ints(_ v: JSON) throws -> [Int64] { try v.array.map { try $0.int64 } }

/// The 32-bit words (least significant first) of |n| for a decimal string.
func magnitudeWords(decimal: String) throws -> [UInt32] {
    var words: [UInt32] = [0]
    for ch in decimal.utf8 where ch != UInt8(ascii: "-") {
        guard (48...57).contains(ch) else { throw FixtureError.malformed("not decimal: \(decimal)") }
        var carry = UInt64(ch - 48)
        for i in words.indices {
            let v = UInt64(words[i]) * 10 + carry
            words[i] = UInt32(truncatingIfNeeded: v)
            carry = v >> 32
        }
        if carry != 0 { words.append(UInt32(carry)) }
    }
    return words
}

/// Decimal digits of a non-negative integer given as 32-bit words, least significant first.
func decimalString(words: [UInt32]) -> String {
    var w = words
    var chunks: [UInt32] = []
    while w.contains(where: { $0 != 0 }) {
        var rem: UInt64 = 0
        for i in w.indices.reversed() {
            let v = (rem << 32) | UInt64(w[i])
            w[i] = UInt32(v / 1_000_000_000)
            rem = v % 1_000_000_000
        }
        chunks.append(UInt32(rem))
    }
    guard let top = chunks.popLast() else { return "0" }
    return String(top) + chunks.reversed().map { c in
        let s = String(c)
        return String(repeating: "0", count: 9 - s.count) + s
    }.joined()
}

/// Lowercase hex without leading zeros ("0" for zero), as Python's `"%x"`.
func hexString(words: [UInt32]) -> String {
    var s = words.reversed().map { w -> String in
        let h = String(w, radix: 16)
        return String(repeating: "0", count: 8 - h.count) + h
    }.joined()
    while s.count > 1, s.first == "0" { s.removeFirst() }
    return s.isEmpty ? "0" : s
}
