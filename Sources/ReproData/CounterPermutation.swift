import ReproRandom

/// A permutation of `0 ..< count` that is a pure function of `(seed, epoch)`,
/// computable at any position without materialising the positions before it.
///
/// It is a keyed Feistel network on the smallest even number of bits that
/// covers `count` (round function: Philox4x32-10 keyed by the seed, with the
/// epoch, round and half-value in the counter), made a permutation of exactly
/// `count` elements by cycle-walking. The result depends on nothing else — not
/// on worker count, timing or platform.
///
/// ```swift
/// let p = CounterPermutation(count: 10, seed: 42, epoch: 0)
/// p[0]          // the first index of epoch 0
/// Array(p)      // all ten indices, each exactly once
/// ```
public struct CounterPermutation: RandomAccessCollection, Sendable, Hashable {
    /// The number of elements permuted.
    public let count: Int
    /// The seed.
    public let seed: UInt64
    /// The epoch.
    public let epoch: UInt64
    private let halfBits: Int
    private let key: (UInt32, UInt32)
    /// Feistel rounds (6: comfortably above the 4 that make a strong pseudo-random permutation).
    static let rounds: UInt32 = 6

    /// Creates the permutation of `0 ..< count` for `seed` and `epoch`.
    ///
    /// - Precondition: `0 ≤ count ≤ 2^62`.
    public init(count: Int, seed: UInt64, epoch: UInt64) {
        precondition(count >= 0 && count <= 1 << 62, "CounterPermutation count out of range")
        self.count = count
        self.seed = seed
        self.epoch = epoch
        let bits = Swift.max(2, Int.bitWidth - Swift.max(count - 1, 1).leadingZeroBitCount)
        halfBits = (bits + 1) / 2
        // Domain separation: the permutation key differs from the augmentation key of the same seed.
        var mix = SplitMix64(seed: seed ^ 0x7065_726d_7574_6531)  // "permute1"
        let k = mix.next()
        key = (UInt32(truncatingIfNeeded: k), UInt32(truncatingIfNeeded: k >> 32))
    }

    /// The first position.
    public var startIndex: Int { 0 }
    /// One past the last position.
    public var endIndex: Int { count }

    /// The dataset index at `position`.
    public subscript(position: Int) -> Int {
        precondition(position >= 0 && position < count, "position out of range")
        var v = UInt64(position)
        repeat { v = feistel(v) } while v >= UInt64(count)
        return Int(v)
    }

    private func feistel(_ x: UInt64) -> UInt64 {
        let mask: UInt64 = (1 << UInt64(halfBits)) - 1
        var left = x >> UInt64(halfBits), right = x & mask
        for r in 0..<Self.rounds {
            let out = Philox4x32.block(
                counter: (UInt32(truncatingIfNeeded: right), UInt32(truncatingIfNeeded: right >> 32),
                          UInt32(truncatingIfNeeded: epoch) ^ (r << 24), UInt32(truncatingIfNeeded: epoch >> 32)),
                key: key)
            let f = (UInt64(out.0) | UInt64(out.1) << 32) & mask
            (left, right) = (right, left ^ f)
        }
        return (left << UInt64(halfBits)) | right
    }

    /// Equality: same count, seed and epoch.
    public static func == (a: Self, b: Self) -> Bool { a.count == b.count && a.seed == b.seed && a.epoch == b.epoch }
    /// Hashes count, seed and epoch.
    public func hash(into h: inout Hasher) { h.combine(count); h.combine(seed); h.combine(epoch) }
}
