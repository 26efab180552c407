/// NumPy's `PCG64` bit generator (PCG XSL-RR 128/64; NumPy 2.4.6, `rng.md`
/// §5.2), the generator behind `np.random.default_rng`.
///
/// A 128-bit LCG with multiplier `0x2360ED051FC65DA44385DF649FCCF645` whose
/// output is the XSL-RR permutation of the new state. 32-bit draws hand out
/// the low half of a 64-bit output first and keep the high half buffered.
///
/// ```swift
/// var bits = PCG64(seed: 0)                    // np.random.PCG64(0)
/// let x = bits.next64()                        // 0xa30febcfd9c2825f
/// let far = bits.jumped()                      // bits.jumped()
/// bits.advance(by: Word128(1_000))             // bits.advance(1000)
/// ```
public struct PCG64: NumPyBitGenerator, _NumPyBuffered32Generator {
    /// The LCG multiplier.
    public static let multiplier = Word128(high: 0x2360_ED05_1FC6_5DA4, low: 0x4385_DF64_9FCC_F645)
    /// The distance of one ``jumped(_:)``: ⌊(φ − 1)·2^128⌋ rounded to odd.
    public static let jumpDistance = Word128(high: 0x9e37_79b9_7f4a_7c15, low: 0xf39c_c060_5ced_c835)

    @usableFromInline var s: Word128
    @usableFromInline var inc: Word128
    @usableFromInline var _half: _Buffered32

    /// The 128-bit LCG state (NumPy's `state['state']['state']`).
    public var state: Word128 { s }
    /// The 128-bit increment, always odd (NumPy's `state['state']['inc']`).
    public var increment: Word128 { inc }

    /// Seeds as `PCG64(seed_sequence)`: four 64-bit words from the sequence give
    /// `initstate = w0·2^64 + w1` and `initseq = w2·2^64 + w3`.
    public init(seedSequence: SeedSequence) {
        let w = seedSequence.generateState64(count: 4)
        self.init(initState: Word128(high: w[0], low: w[1]), initSequence: Word128(high: w[2], low: w[3]))
    }

    /// PCG's `srandom(initstate, initseq)`: `inc = 2·initseq + 1`, then
    /// step, add `initstate`, step.
    public init(initState: Word128, initSequence: Word128) {
        inc = Word128(high: (initSequence.high << 1) | (initSequence.low >> 63), low: (initSequence.low << 1) | 1)
        s = .zero
        _half = _Buffered32()
        step()
        s = s &+ initState
        step()
    }

    /// Creates a generator from NumPy's `state` dictionary fields.
    ///
    /// - Throws: ``RandomStateError`` when `increment` is even (NumPy never
    ///   produces one; the LCG would not have full period).
    public init(state: Word128, increment: Word128, hasBuffered32: Bool = false, buffered32: UInt32 = 0)
        throws(RandomStateError)
    {
        guard increment.low & 1 == 1 else {
            throw .invalidField(generator: "PCG64", field: "inc", detail: "must be odd, got \(increment)")
        }
        s = state
        inc = increment
        _half = _Buffered32(isFull: hasBuffered32, value: buffered32)
    }

    @inlinable @inline(__always)
    mutating func step() {
        s = s &* Self.multiplier &+ inc
    }

    /// The next 64-bit output: step, then XSL-RR of the new state.
    @inlinable @inline(__always)
    public mutating func next64() -> UInt64 {
        step()
        return (s.high ^ s.low)._rotatedRight(by: s.high >> 58)
    }

    /// `advance(delta)`: moves the state as if `delta` 64-bit outputs had been
    /// drawn (mod 2^128) and drops the buffered 32-bit half.
    public mutating func advance(by delta: Word128) {
        s = Word128.lcgAdvance(state: s, delta: delta, mult: Self.multiplier, plus: inc)
        _half = _Buffered32()
    }

    /// `jumped(jumps)`: a copy advanced by `jumps ·` ``jumpDistance`` (mod 2^128).
    public func jumped(_ jumps: UInt64 = 1) -> PCG64 {
        var copy = self
        copy.advance(by: Self.jumpDistance &* jumps)
        return copy
    }

    /// Layout: state (high, low), increment (high, low) as u64, has-buffer (u8),
    /// buffered half (u32): 37 bytes.
    public var serializedState: [UInt8] {
        _serializePCG(s, inc, _half)
    }

    /// Equality of the whole observable state (a consumed 32-bit half is ignored).
    public static func == (x: PCG64, y: PCG64) -> Bool {
        x.serializedState == y.serializedState
    }

    /// Restores a state written by ``serializedState``.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        let f = try _deserializePCG(bytes, "PCG64")
        try self.init(state: f.0, increment: f.1, hasBuffered32: f.2.isFull, buffered32: f.2.value)
    }
}

extension UInt64 {
    /// Rotates right by `n mod 64` bits.
    @inlinable @inline(__always)
    func _rotatedRight(by n: UInt64) -> UInt64 {
        let r = n & 63
        return (self >> r) | (self << ((64 &- r) & 63))
    }
}

func _serializePCG(_ s: Word128, _ inc: Word128, _ half: _Buffered32) -> [UInt8] {
    var w = _StateWriter(capacity: 37)
    w.write(s.high); w.write(s.low); w.write(inc.high); w.write(inc.low)
    w.write(half)
    return w.bytes
}

func _deserializePCG(_ bytes: [UInt8], _ name: String) throws(RandomStateError) -> (Word128, Word128, _Buffered32) {
    guard bytes.count == 37 else { throw .wrongLength(generator: name, expected: 37, actual: bytes.count) }
    var r = _StateReader(bytes)
    let s = Word128(high: r.read(), low: r.read())
    let inc = Word128(high: r.read(), low: r.read())
    return (s, inc, try r.readBuffered32(generator: name))
}
