/// NumPy's `PCG64DXSM` bit generator (PCG "cheap multiplier" with the DXSM
/// output; NumPy 2.4.6 `pcg64.h`, `_pcg64.pyx`).
///
/// The state is a 128-bit LCG like ``PCG64``'s and is seeded the same way —
/// with the *full* 128-bit multiplier, so `PCG64DXSM(s)` and `PCG64(s)` start
/// from the same state. Each draw then outputs the DXSM permutation of the
/// current (pre-step) state and steps with the 64-bit multiplier
/// `0xda942042e4dd58b5`. 32-bit draws are buffered as in ``PCG64``.
///
/// ```swift
/// var bits = PCG64DXSM(seed: 42)       // np.random.PCG64DXSM(42)
/// let raw = try bits.randomRaw(count: 4)   // bits.random_raw(4)
/// ```
public struct PCG64DXSM: NumPyBitGenerator, _NumPyBuffered32Generator {
    /// The 64-bit LCG multiplier of the stepping.
    public static let cheapMultiplier: UInt64 = 0xda94_2042_e4dd_58b5
    /// The distance of one ``jumped(_:)``, the same as ``PCG64/jumpDistance``.
    public static let jumpDistance = PCG64.jumpDistance

    @usableFromInline var s: Word128
    @usableFromInline var inc: Word128
    @usableFromInline var _half: _Buffered32

    /// The 128-bit LCG state.
    public var state: Word128 { s }
    /// The 128-bit increment, always odd.
    public var increment: Word128 { inc }

    /// Seeds as `PCG64DXSM(seed_sequence)` (the same state as ``PCG64``).
    public init(seedSequence: SeedSequence) {
        let p = PCG64(seedSequence: seedSequence)
        s = p.state
        inc = p.increment
        _half = _Buffered32()
    }

    /// Creates a generator from NumPy's `state` dictionary fields.
    ///
    /// - Throws: ``RandomStateError`` when `increment` is even.
    public init(state: Word128, increment: Word128, hasBuffered32: Bool = false, buffered32: UInt32 = 0)
        throws(RandomStateError)
    {
        guard increment.low & 1 == 1 else {
            throw .invalidField(generator: "PCG64DXSM", field: "inc", detail: "must be odd, got \(increment)")
        }
        s = state
        inc = increment
        _half = _Buffered32(isFull: hasBuffered32, value: buffered32)
    }

    /// The next 64-bit output: DXSM of the current state, then one step.
    @inlinable @inline(__always)
    public mutating func next64() -> UInt64 {
        var hi = s.high
        let lo = s.low | 1
        hi ^= hi >> 32
        hi = hi &* Self.cheapMultiplier
        hi ^= hi >> 48
        hi = hi &* lo
        s = s &* Self.cheapMultiplier &+ inc
        return hi
    }

    /// `advance(delta)`: as if `delta` outputs had been drawn (mod 2^128); drops
    /// the buffered 32-bit half.
    public mutating func advance(by delta: Word128) {
        s = Word128.lcgAdvance(state: s, delta: delta, mult: Word128(Self.cheapMultiplier), plus: inc)
        _half = _Buffered32()
    }

    /// `jumped(jumps)`: a copy advanced by `jumps ·` ``jumpDistance`` (mod 2^128).
    public func jumped(_ jumps: UInt64 = 1) -> PCG64DXSM {
        var copy = self
        copy.advance(by: Self.jumpDistance &* jumps)
        return copy
    }

    /// Same 37-byte layout as ``PCG64/serializedState``.
    public var serializedState: [UInt8] { _serializePCG(s, inc, _half) }

    /// Equality of the whole observable state (a consumed 32-bit half is ignored).
    public static func == (x: PCG64DXSM, y: PCG64DXSM) -> Bool {
        x.serializedState == y.serializedState
    }

    /// Restores a state written by ``serializedState``.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        let f = try _deserializePCG(bytes, "PCG64DXSM")
        try self.init(state: f.0, increment: f.1, hasBuffered32: f.2.isFull, buffered32: f.2.value)
    }
}
