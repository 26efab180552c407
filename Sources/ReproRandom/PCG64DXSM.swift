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
public struct PCG64DXSM: NumPyBitGenerator {
    /// The 64-bit LCG multiplier of the stepping.
    public static let cheapMultiplier: UInt64 = 0xda94_2042_e4dd_58b5
    /// The distance of one ``jumped(_:)``, the same as ``PCG64/jumpDistance``.
    public static let jumpDistance = PCG64.jumpDistance

    @usableFromInline var s: Word128
    @usableFromInline var inc: Word128
    @usableFromInline var has32: Bool
    @usableFromInline var buf32: UInt32

    /// The 128-bit LCG state.
    public var state: Word128 { s }
    /// The 128-bit increment, always odd.
    public var increment: Word128 { inc }
    /// Whether a buffered 32-bit half is waiting (NumPy's `has_uint32`).
    public var hasBuffered32: Bool { has32 }
    /// The buffered 32-bit half (NumPy's `uinteger`).
    public var buffered32: UInt32 { buf32 }

    /// Seeds as `PCG64DXSM(seed_sequence)` (the same state as ``PCG64``).
    public init(seedSequence: SeedSequence) {
        let p = PCG64(seedSequence: seedSequence)
        s = p.state
        inc = p.increment
        has32 = false
        buf32 = 0
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
        has32 = hasBuffered32
        buf32 = buffered32
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

    /// The next 32-bit output (low half first, high half buffered).
    @inlinable @inline(__always)
    public mutating func next32() -> UInt32 {
        if has32 {
            has32 = false
            return buf32
        }
        let v = next64()
        buf32 = UInt32(truncatingIfNeeded: v >> 32)
        has32 = true
        return UInt32(truncatingIfNeeded: v)
    }

    /// `(next64() >> 11) · 2^-53`.
    @inlinable @inline(__always)
    public mutating func nextDouble() -> Double { _numpyDouble(next64()) }

    /// `random_raw()`: ``next64()``.
    @inlinable
    public mutating func nextRaw() -> UInt64 { next64() }

    /// `advance(delta)`: as if `delta` outputs had been drawn (mod 2^128); drops
    /// the buffered 32-bit half.
    public mutating func advance(by delta: Word128) {
        s = Word128.lcgAdvance(state: s, delta: delta, mult: Word128(Self.cheapMultiplier), plus: inc)
        has32 = false
        buf32 = 0
    }

    /// `jumped(jumps)`: a copy advanced by `jumps ·` ``jumpDistance`` (mod 2^128).
    public func jumped(_ jumps: UInt64 = 1) -> PCG64DXSM {
        var copy = self
        copy.advance(by: Self.jumpDistance &* jumps)
        return copy
    }

    /// Same 37-byte layout as ``PCG64/serializedState``.
    public var serializedState: [UInt8] { _serializePCG(s, inc, has32, buf32) }

    /// Equality of the whole observable state (a consumed 32-bit half is ignored).
    public static func == (x: PCG64DXSM, y: PCG64DXSM) -> Bool {
        x.serializedState == y.serializedState
    }

    /// Restores a state written by ``serializedState``.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        let f = try _deserializePCG(bytes, "PCG64DXSM")
        try self.init(state: f.0, increment: f.1, hasBuffered32: f.2, buffered32: f.3)
    }
}
