import Testing
import _ReproTestSupport
@testable import ReproRandom

/// The seeds of `numpy_extra.json → bitgen`, decoded through their 32-bit words.
func extraSeeds() throws -> [(key: String, seq: SeedSequence, entry: JSON)] {
    let v = try Fixtures.json("rng/numpy_extra.json")["bitgen"]
    return try v.keys.map { key in
        let e = try v[key]
        let words = try e["entropy_words"].array.map { UInt32(try $0.uint64) }
        return (key, SeedSequence(bigEntropy: words), e)
    }
}

func hex128(_ j: JSON) throws -> Word128 {
    let (hi, lo) = try parseHex128(try j.string)
    return Word128(high: hi, low: lo)
}

func rawDraws<B: NumPyBitGenerator>(_ b: inout B, _ n: Int) -> [UInt64] { (try? b.randomRaw(count: n)) ?? [] }

@Suite struct PCG64Tests {
    @Test func seedingAndRawStream() throws {
        let seeds = try extraSeeds()
        #expect(seeds.count == 5)
        for (key, seq, e) in seeds {
            var b = PCG64(seedSequence: seq)
            #expect(b.state == (try hex128(e["PCG64"]["seeding"]["state_after_seeding"])), "seed \(key)")
            #expect(b.increment == (try hex128(e["PCG64"]["seeding"]["inc_after_seeding"])), "seed \(key)")
            #expect(rawDraws(&b, 8) == (try e["PCG64"]["raw_first8"].uints), "seed \(key)")
            if let s = UInt64(key) {
                #expect(PCG64(seed: s) == PCG64(seedSequence: seq))
            }
        }
    }

    /// `numpy.json → generator[s].pcg64_after_seeding` and `pcg64_raw64_first4`.
    @Test func defaultRngStates() throws {
        let v = try Fixtures.json("rng/numpy.json")["generator"]
        var checked = 0
        for key in v.keys {
            guard let s = UInt64(key) else { continue }
            var b = PCG64(seed: s)
            #expect(b.state == (try hex128(v[key]["pcg64_after_seeding"]["state"])), "seed \(key)")
            #expect(b.increment == (try hex128(v[key]["pcg64_after_seeding"]["inc"])), "seed \(key)")
            #expect(rawDraws(&b, 4) == (try v[key]["pcg64_raw64_first4"].uints), "seed \(key)")
            checked += 1
        }
        #expect(checked == 6)
    }

    /// `seed12345_buffer_advance_jump`: the buffered half, advance(2^100 + 12345), jumped(2).
    @Test func bufferAdvanceJump() throws {
        let v = try Fixtures.json("rng/numpy.json")["generator"]["seed12345_buffer_advance_jump"]
        var g = NumPyGenerator(seed: 12345)
        #expect(try g.integers(low: 0, high: 7, count: 3) == (try v["integers_0_7_x3"].ints))
        #expect(try g.random(count: 2).map(\.bitPattern) == (try v["random_2"].f64Bits))
        #expect(g.bitGenerator.hasBuffered32 == (try v["has_uint32_before_advance"].int64 == 1))
        g.bitGenerator.advance(by: Word128(high: 1 << 36, low: 12345))
        #expect(g.bitGenerator.state == (try hex128(v["state_after_advance"])))
        #expect(g.bitGenerator.hasBuffered32 == (try v["has_uint32_after_advance"].int64 == 1))
        #expect(try g.integers(low: 0, high: 7, count: 2) == (try v["after_advance_integers_0_7_x2"].ints))
        #expect(PCG64(seed: 12345).jumped(2).state == (try hex128(v["jumped2_state"])))
    }

    @Test func advanceEqualsStepping() {
        var a = PCG64(seed: 3)
        var b = a
        for _ in 0..<1000 { _ = a.next64() }
        b.advance(by: Word128(1000))
        #expect(a == b)
        // Advancing by 2^128 - 1 and then 1 is the identity.
        var c = PCG64(seed: 3)
        c.advance(by: Word128(high: .max, low: .max))
        c.advance(by: Word128(1))
        #expect(c == PCG64(seed: 3))
    }

    @Test func stateRoundTrips() throws {
        var a = PCG64(seed: 99)
        _ = a.next32()  // leaves a buffered half
        var b = try PCG64(serializedState: a.serializedState)
        #expect(a == b)
        for _ in 0..<10 { #expect(a.next32() == b.next32()) }
        #expect(throws: RandomStateError.self) { try PCG64(serializedState: [0]) }
        var even = a.serializedState
        even[24] &= 0xfe  // lowest byte of the increment's low word → even
        #expect(throws: RandomStateError.self) { try PCG64(serializedState: even) }
        var flag = a.serializedState
        flag[32] = 2
        #expect(throws: RandomStateError.self) { try PCG64(serializedState: flag) }
    }

    @Test func negativeRawCountThrows() {
        var b = PCG64(seed: 1)
        #expect(throws: NumPyRandomError.negativeCount(-1)) { try b.randomRaw(count: -1) }
    }

    @Test func word128Hex() {
        #expect(Word128(hex: "0x1")! == Word128(1))
        #expect(Word128(hex: "0x23c23703589b35f326a9023c7969590c")!.description == "0x23c23703589b35f326a9023c7969590c")
        #expect(Word128(hex: "0x") == nil)
        #expect(Word128(hex: "xyz") == nil)
        #expect(Word128(hex: String(repeating: "f", count: 33)) == nil)
    }
}

@Suite struct PCG64DXSMTests {
    @Test func seedingRawAdvanceJump() throws {
        for (key, seq, e) in try extraSeeds() {
            let d = try e["PCG64DXSM"]
            var b = PCG64DXSM(seedSequence: seq)
            #expect(b.state == (try hex128(d["seeding"]["state_after_seeding"])), "seed \(key)")
            #expect(b.increment == (try hex128(d["seeding"]["inc_after_seeding"])), "seed \(key)")
            #expect(rawDraws(&b, 8) == (try d["raw_first8"].uints), "seed \(key)")
            var a = PCG64DXSM(seedSequence: seq)
            a.advance(by: Word128(high: 1 << 36, low: 12345))
            #expect(a.state == (try hex128(d["advance_2p100_p12345"]["state"])), "seed \(key)")
            #expect(rawDraws(&a, 3) == (try d["advance_2p100_p12345"]["raw_after"].uints), "seed \(key)")
            var j = PCG64DXSM(seedSequence: seq).jumped(3)
            #expect(j.state == (try hex128(d["jumped3"]["state"])), "seed \(key)")
            #expect(rawDraws(&j, 3) == (try d["jumped3"]["raw_after"].uints), "seed \(key)")
        }
    }

    @Test func advanceEqualsSteppingAndRoundTrips() throws {
        var a = PCG64DXSM(seed: 5)
        var b = a
        for _ in 0..<777 { _ = a.next64() }
        b.advance(by: Word128(777))
        #expect(a == b)
        _ = a.next32()
        let c = try PCG64DXSM(serializedState: a.serializedState)
        #expect(c == a)
        #expect(throws: RandomStateError.self) { try PCG64DXSM(serializedState: Array(repeating: 0, count: 36)) }
    }
}

@Suite struct SFC64Tests {
    @Test func seedingAndRawStream() throws {
        for (key, seq, e) in try extraSeeds() {
            var b = SFC64(seedSequence: seq)
            #expect(b.words == (try e["SFC64"]["seeding"]["state_after_seeding"].uints), "seed \(key)")
            #expect(rawDraws(&b, 8) == (try e["SFC64"]["raw_first8"].uints), "seed \(key)")
        }
    }

    @Test func stateRoundTrips() throws {
        var a = SFC64(seed: 1)
        _ = a.next32()
        var b = try SFC64(serializedState: a.serializedState)
        #expect(a == b)
        #expect(a.next64() == b.next64())
        #expect(throws: RandomStateError.self) { try SFC64(words: [1, 2, 3]) }
        #expect(throws: RandomStateError.self) { try SFC64(serializedState: []) }
    }
}

@Suite struct NumPyPhiloxTests {
    @Test func seedingRawAdvanceJump() throws {
        for (key, seq, e) in try extraSeeds() {
            let d = try e["Philox"]
            var b = NumPyPhilox(seedSequence: seq)
            #expect([b.key.0, b.key.1] == (try d["seeding"]["key"].uints), "seed \(key)")
            let c0 = b.counter
            #expect([c0.0, c0.1, c0.2, c0.3] == (try d["seeding"]["counter"].uints), "seed \(key)")
            #expect(rawDraws(&b, 10) == (try d["raw_first10"].uints), "seed \(key)")

            var a = NumPyPhilox(seedSequence: seq)
            _ = rawDraws(&a, 5)
            a.advance(by: (UInt64.max - 2, 0, 0, 1 << 8))  // 2^200 + 2^64 - 3
            let c = a.counter
            #expect([c.0, c.1, c.2, c.3] == (try d["advance_after_5"]["counter"].uints), "seed \(key)")
            #expect(a.bufferPosition == 4 && !a.hasBuffered32)
            #expect(rawDraws(&a, 3) == (try d["advance_after_5"]["raw_after"].uints), "seed \(key)")

            var j0 = NumPyPhilox(seedSequence: seq)
            _ = rawDraws(&j0, 2)
            var j = j0.jumped(2)
            let jc = j.counter
            #expect([jc.0, jc.1, jc.2, jc.3] == (try d["jumped2_after_2"]["counter"].uints), "seed \(key)")
            #expect(rawDraws(&j, 3) == (try d["jumped2_after_2"]["raw_after"].uints), "seed \(key)")
        }
    }

    /// `Philox(key=2**64 + 1, counter=2**128 - 2)`: the counter increment carries across words.
    @Test func explicitKeyAndCarryingCounter() throws {
        let v = try Fixtures.json("rng/numpy_extra.json")["philox_explicit_key_counter"]
        var b = NumPyPhilox(key: (1, 1), counter: (UInt64.max - 1, UInt64.max, 0, 0))
        #expect(rawDraws(&b, 9) == (try v["raw_first9"].uints))
        let c = b.counter
        #expect([c.0, c.1, c.2, c.3] == (try v["counter_after"].uints))
        #expect(b.bufferPosition == Int(try v["buffer_pos_after"].int64))
    }

    @Test func advanceCarriesAndRoundTrips() throws {
        var a = NumPyPhilox(key: (3, 4), counter: (.max, .max, .max, 7))
        a.advance(by: Word128(1))
        let c = a.counter
        #expect([c.0, c.1, c.2, c.3] == [0, 0, 0, 8])
        _ = a.next64()
        _ = a.next32()
        let b = try NumPyPhilox(serializedState: a.serializedState)
        #expect(a == b)
        var bad = a.serializedState
        bad[80] = 5
        #expect(throws: RandomStateError.self) { try NumPyPhilox(serializedState: bad) }
        #expect(throws: RandomStateError.self) { try NumPyPhilox(serializedState: [1, 2]) }
    }
}

@Suite struct MT19937NumPyTests {
    /// `np.random.MT19937(s)` seeds through SeedSequence and starts at position 623.
    @Test func seedSequenceSeeding() throws {
        for (key, seq, e) in try extraSeeds() {
            let m = try e["MT19937"]
            var b = MT19937(seedSequence: seq)
            #expect(b.numpyPosition == Int(try m["pos_after_seeding"].int64))
            let raw = rawDraws(&b, 1000)
            #expect(Array(raw[0..<8]) == (try m["raw_first8"].uints), "seed \(key)")
            #expect(Array(raw[620..<630]) == (try m["raw_620_to_630"].uints), "seed \(key)")
        }
    }

    @Test func numpyKeyAndPosition() throws {
        let a = MT19937(seedSequence: SeedSequence(entropy: 4))
        var b = try MT19937(numpyKey: a.words, position: a.numpyPosition)
        var a2 = a
        #expect(rawDraws(&a2, 700) == rawDraws(&b, 700))
        let fresh = MT19937(seed: 4)
        #expect(fresh.numpyPosition == 624)
        #expect(throws: RandomStateError.self) { try MT19937(numpyKey: a.words, position: 625) }
        #expect(throws: RandomStateError.self) { try MT19937(numpyKey: a.words, position: 0) }
    }
}

@Suite struct NumPyTestSetTests {
    /// Outputs 0…7 and 999 of NumPy's own `numpy/random/tests/data/*-testset-*.csv`.
    @Test func numpyOwnTestSets() throws {
        let v = try Fixtures.json("rng/numpy_extra.json")["numpy_testsets"]
        #expect(v.keys.count == 10)
        func run<B: NumPyBitGenerator>(_: B.Type, _ seed: UInt64) -> [UInt64] {
            var b = B(seedSequence: SeedSequence(entropy: seed))
            return rawDraws(&b, 1000)
        }
        for name in v.keys {
            let e = try v[name]
            let seed = try e["seed"].uint64
            let raw: [UInt64]
            switch try e["bit_generator"].string {
            case "PCG64": raw = run(PCG64.self, seed)
            case "PCG64DXSM": raw = run(PCG64DXSM.self, seed)
            case "SFC64": raw = run(SFC64.self, seed)
            case "Philox": raw = run(NumPyPhilox.self, seed)
            case "MT19937": raw = run(MT19937.self, seed)
            default: throw FixtureError.malformed("unknown bit generator in \(name)")
            }
            #expect(Array(raw[0..<8]) == (try e["first8"].uints), "\(name)")
            #expect([raw[999]] == (try e["index999"].uints), "\(name)")
        }
    }
}
