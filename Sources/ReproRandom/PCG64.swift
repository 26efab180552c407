/// NumPy's `PCG64` bit generator (PCG XSL-RR 128/64; NumPy 2.4.6; docs/random.md,
/// "`default_rng`"), the generator behind `np.random.default_rng`.
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
public struct PCG64: NumPyBitGenerator, _PCG128Generator {
    /// The LCG multiplier.
    public static let multiplier = Word128(high: 0x2360_ED05_1FC6_5DA4, low: 0x4385_DF64_9FCC_F645)
    /// The distance of one ``jumped(_:)``: ⌊(φ − 1)·2^128⌋ rounded to odd.
    public static let jumpDistance = Word128(high: 0x9e37_79b9_7f4a_7c15, low: 0xf39c_c060_5ced_c835)

    @usableFromInline var s: Word128
    @usableFromInline var inc: Word128
    @usableFromInline var _half: _Buffered32

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

    @usableFromInline static let _name = "PCG64"
    @usableFromInline static var _stepMultiplier: Word128 { multiplier }

    @usableFromInline init(_state: Word128, increment: Word128, half: _Buffered32) {
        s = _state
        inc = increment
        _half = half
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

/// A NumPy PCG generator: a 128-bit LCG (`state`, odd `increment`) with the
/// buffered 32-bit half; ``PCG64`` and ``PCG64DXSM`` differ only in their
/// output permutation and stepping multiplier.
@usableFromInline
protocol _PCG128Generator: _NumPyBuffered32Generator {
    var s: Word128 { get set }
    var inc: Word128 { get }
    /// NumPy's class name, for error messages.
    static var _name: String { get }
    /// The multiplier of one LCG step, for ``advance(by:)``.
    static var _stepMultiplier: Word128 { get }
    /// The fields as given, unchecked.
    init(_state: Word128, increment: Word128, half: _Buffered32)
}

extension _PCG128Generator {
    /// The 128-bit LCG state (NumPy's `state['state']['state']`).
    public var state: Word128 { s }
    /// The 128-bit increment, always odd (NumPy's `state['state']['inc']`).
    public var increment: Word128 { inc }

    /// Creates a generator from NumPy's `state` dictionary fields.
    ///
    /// - Throws: ``RandomStateError`` when `increment` is even (NumPy never
    ///   produces one; the LCG would not have full period).
    public init(state: Word128, increment: Word128, hasBuffered32: Bool = false, buffered32: UInt32 = 0)
        throws(RandomStateError)
    {
        guard increment.low & 1 == 1 else {
            throw .invalidField(generator: Self._name, field: "inc", detail: "must be odd, got \(increment)")
        }
        self.init(_state: state, increment: increment, half: _Buffered32(isFull: hasBuffered32, value: buffered32))
    }

    /// `advance(delta)`: moves the state as if `delta` 64-bit outputs had been
    /// drawn (mod 2^128) and drops the buffered 32-bit half.
    public mutating func advance(by delta: Word128) {
        s = Word128.lcgAdvance(state: s, delta: delta, mult: Self._stepMultiplier, plus: inc)
        _half = _Buffered32()
    }

    /// `jumped(jumps)`: a copy advanced by `jumps ·` ``PCG64/jumpDistance`` (mod 2^128).
    public func jumped(_ jumps: UInt64 = 1) -> Self {
        var copy = self
        copy.advance(by: PCG64.jumpDistance &* jumps)
        return copy
    }

    /// Layout: state (high, low), increment (high, low) as u64, has-buffer (u8),
    /// buffered half (u32): 37 bytes.
    public var serializedState: [UInt8] {
        var w = _StateWriter(capacity: 37)
        w.write(s.high); w.write(s.low); w.write(inc.high); w.write(inc.low)
        w.write(_half)
        return w.bytes
    }

    /// Equality of the whole observable state (a consumed 32-bit half is ignored).
    public static func == (x: Self, y: Self) -> Bool {
        x.serializedState == y.serializedState
    }

    /// Restores a state written by ``serializedState``.
    ///
    /// - Throws: ``RandomStateError`` for a wrong length, a `has_uint32` byte
    ///   other than 0 or 1, or an even increment.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        try Self._checkLength(bytes, 37, Self._name)
        var r = _StateReader(bytes)
        let s = Word128(high: r.read(), low: r.read())
        let inc = Word128(high: r.read(), low: r.read())
        let half = try r.readBuffered32(generator: Self._name)
        try self.init(state: s, increment: inc, hasBuffered32: half.isFull, buffered32: half.value)
    }
}
