/// SplitMix64 (Steele, Lea & Flood, 2014): a tiny 64-bit generator, used to
/// expand one seed into several independent ones and in examples.
///
/// ```swift
/// var g = SplitMix64(seed: 0)
/// g.next()   // 0xe220a8397b1dcdaf
/// ```
public struct SplitMix64: RandomBitGenerator {
    /// The 64-bit counter; each output first adds the golden-ratio increment.
    public var state: UInt64

    /// Creates a generator whose first output mixes `seed + 0x9e3779b97f4a7c15`.
    public init(seed: UInt64) { state = seed }

    /// The next 64-bit output.
    @inlinable
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// Layout: the state as one little-endian u64 (8 bytes).
    public var serializedState: [UInt8] {
        var w = _StateWriter(capacity: 8)
        w.write(state)
        return w.bytes
    }

    /// Restores a state written by ``serializedState``.
    public init(serializedState bytes: [UInt8]) throws(RandomStateError) {
        try Self._checkLength(bytes, 8, "SplitMix64")
        var r = _StateReader(bytes)
        state = r.read()
    }
}
