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
public struct PCG64DXSM: NumPyBitGenerator, _PCG128Generator {
    /// The 64-bit LCG multiplier of the stepping.
    public static let cheapMultiplier: UInt64 = 0xda94_2042_e4dd_58b5
    /// The distance of one ``jumped(_:)``, the same as ``PCG64/jumpDistance``.
    public static let jumpDistance = PCG64.jumpDistance

    @usableFromInline var s: Word128
    @usableFromInline var inc: Word128
    @usableFromInline var _half: _Buffered32

    /// Seeds as `PCG64DXSM(seed_sequence)` (the same state as ``PCG64``).
    public init(seedSequence: SeedSequence) {
        let p = PCG64(seedSequence: seedSequence)
        s = p.state
        inc = p.increment
        _half = _Buffered32()
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

    @usableFromInline static let _name = "PCG64DXSM"
    @usableFromInline static var _stepMultiplier: Word128 { Word128(cheapMultiplier) }

    @usableFromInline init(_state: Word128, increment: Word128, half: _Buffered32) {
        s = _state
        inc = increment
        _half = half
    }
}
