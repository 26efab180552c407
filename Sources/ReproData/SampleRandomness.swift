import ReproRandom

/// The generator a sample's transform receives: a pure function of
/// `(seed, epoch, sample index)`, so augmentations never depend on worker
/// count, timing or the order samples are loaded in.
///
/// It is a Philox4x32-10 stream keyed by the seed (domain-separated from the
/// shuffling key) whose counter's high 64 bits are `epoch << 32 | index`.
///
/// ```swift
/// var g = SampleRandomness.generator(seed: 7, epoch: 0, index: 12)
/// let flip = g.next32() & 1 == 1
/// ```
public enum SampleRandomness {
    /// The per-sample generator.
    ///
    /// - Precondition: `index < 2^32` and `epoch < 2^32`.
    public static func generator(seed: UInt64, epoch: Int, index: Int) -> Philox4x32 {
        precondition(index >= 0 && index < 1 << 32 && epoch >= 0 && epoch < 1 << 32, "sample index or epoch out of range")
        var mix = SplitMix64(seed: seed ^ 0x6175_676d_656e_7431)  // "augment1"
        return Philox4x32(seed: mix.next(), subsequence: UInt64(epoch) << 32 | UInt64(index), offset: 0)
    }
}
