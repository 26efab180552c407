/// NumPy's view of the Mersenne Twister (`_mt19937.pyx`, `mt19937.h`).
///
/// * `np.random.MT19937(seed)` seeds through ``SeedSequence``:
///   ``init(seedSequence:)``. Word 0 of the key is `0x80000000`, words
///   1…623 are `generate_state(624)[1...]`, and the position is left at 623,
///   so the first output tempers word 623 of the unmixed key before the first
///   twist — NumPy's own quirk, reproduced here.
/// * The legacy `RandomState(seed)` / `MT19937()._legacy_seeding(seed)` uses
///   `init_genrand`: ``init(seed:)``; a seed array uses `init_by_array`:
///   ``init(key:)``.
///
/// ```swift
/// var modern = MT19937(seedSequence: SeedSequence(entropy: 42)) // np.random.MT19937(42)
/// let raw = modern.nextRaw()                                    // .random_raw()
/// var legacy = MT19937(seed: 42)                                // RandomState(42)._bit_generator
/// ```
extension MT19937: NumPyBitGenerator {
    /// Seeds as `np.random.MT19937(seed_sequence)`.
    public init(seedSequence: SeedSequence) {
        var words = seedSequence.generateState(count: 624)
        words[0] = 0x8000_0000
        // NumPy position 623 = PyTorch-style counters left 2, next 623.
        try! self.init(words: words, left: 2, next: 623)  // constant, valid counters
    }

    /// Creates a generator from NumPy's `state` dictionary: 624 key words and
    /// `pos` (1…624; 624 means "twist before the next draw").
    ///
    /// - Throws: ``RandomStateError`` unless there are 624 words and
    ///   `1 ≤ pos ≤ 624`. (NumPy itself never reports `pos = 0`: it twists and
    ///   reads word 0 in one step; that position is not representable here.)
    public init(numpyKey key: [UInt32], position: Int) throws(RandomStateError) {
        guard (0...624).contains(position) else {
            throw .invalidField(generator: "MT19937", field: "pos", detail: "\(position) not in 0...624")
        }
        if position == 624 {
            try self.init(words: key, left: 1, next: 0)
        } else {
            try self.init(words: key, left: Int32(625 - position), next: UInt32(position))
        }
    }

    /// NumPy's `pos`: the index of the next key word to temper (624 = twist first).
    public var numpyPosition: Int { leftCounter == 1 ? 624 : Int(nextCounter) }

    /// NumPy's MT `next_uint64`: two draws, the first in the high half.
    @inlinable @inline(__always)
    public mutating func next64() -> UInt64 { next64HighFirst() }

    /// NumPy's MT `next_double` (also `RandomState.random_sample`):
    /// `((a >> 5) · 2^26 + (b >> 6)) / 2^53` from two draws `a`, `b`.
    @inlinable @inline(__always)
    public mutating func nextDouble() -> Double {
        let a = Int64(next32() >> 5)
        let b = Int64(next32() >> 6)
        return (Double(a) * 67_108_864.0 + Double(b)) / 9_007_199_254_740_992.0
    }

    /// `random_raw()`: one 32-bit draw, widened.
    @inlinable
    public mutating func nextRaw() -> UInt64 { UInt64(next32()) }
}
