import ReproRandom

/// A dataset read as a stream of samples, without random access (records in
/// a file, a generator, a network feed). ``StreamLoader`` batches it.
///
/// **Contract.** The stream of epoch `e` must be a pure function of
/// `context` (the seed and the epoch): two streams made from equal contexts
/// yield the same samples in the same order. All of the stream's own
/// randomness (a shuffle buffer, an order of shards) comes from
/// ``StreamContext/generator``. The loader reads the stream from **one
/// thread at a time, in order** — there is no worker id and no sharding to
/// get wrong, so the batches never depend on the worker count — and numbers
/// the samples `0, 1, 2, …` in stream order. Expensive per-sample work
/// (decoding, augmentation) belongs in the loader's transform, which runs on
/// the workers with a generator of `(seed, epoch, stream index)`.
///
/// ```swift
/// struct Counting: IterableDataset {
///     let length: Int
///     func makeStream(context: StreamContext) -> CountingStream { CountingStream(limit: length) }
/// }
/// struct CountingStream: SampleStream {
///     let limit: Int
///     var i = 0
///     mutating func next() -> Int? { guard i < limit else { return nil }; i += 1; return i - 1 }
///     mutating func skip(count: Int) -> Int { let n = min(count, limit - i); i += n; return n }
/// }
/// ```
public protocol IterableDataset: Sendable {
    /// The type of one sample.
    associatedtype Sample: Sendable
    /// The stream an epoch reads.
    associatedtype Stream: SampleStream where Stream.Sample == Sample

    /// A fresh stream for the epoch in `context`, positioned at its first sample.
    ///
    /// - Throws: any error; the loader reports it as ``DataLoaderError/streamFailed(epoch:index:underlying:)``.
    func makeStream(context: StreamContext) throws -> Stream
}

/// A stream of samples, read in order by one thread at a time.
///
/// ```swift
/// var s = try dataset.makeStream(context: StreamContext(seed: 0, epoch: 0))
/// while let sample = try s.next() { print(sample) }
/// ```
public protocol SampleStream {
    /// The type of one sample.
    associatedtype Sample
    /// The next sample, or nil when the stream has ended (and on every later call).
    ///
    /// - Throws: any error; the loader reports it with the sample's stream index.
    mutating func next() throws -> Sample?
    /// Moves past the next `count` samples without producing them and returns
    /// how many there were (fewer only when the stream ends first). A resumed
    /// loader calls it once per stream; implement it when the stream can seek
    /// (record offsets, a counter). The default replays the stream with
    /// ``next()`` (samples read and discarded, never transformed).
    mutating func skip(count: Int) throws -> Int
}

extension SampleStream {
    /// Replays: calls ``next()`` up to `count` times.
    public mutating func skip(count: Int) throws -> Int {
        var n = 0
        while n < count, try next() != nil { n += 1 }
        return n
    }
}

/// What a stream may depend on: the seed and the epoch.
///
/// ```swift
/// var g = context.generator            // the stream's own randomness, e.g. a shuffle buffer
/// let k = g.next32() % 16
/// ```
public struct StreamContext: Sendable, Hashable {
    /// The loader's seed.
    public let seed: UInt64
    /// The epoch the stream is read for.
    public let epoch: Int

    /// A context (the loader makes them; tests and tools may too).
    public init(seed: UInt64, epoch: Int) {
        self.seed = seed
        self.epoch = epoch
    }

    /// A generator for the stream's own randomness: Philox4x32-10 of
    /// `(seed, epoch)`, domain-separated from shuffling and from the
    /// per-sample generators. Each access starts the same stream afresh.
    public var generator: Philox4x32 {
        var mix = SplitMix64(seed: seed ^ 0x7374_7265_616d_6731)  // "streamg1"
        return Philox4x32(seed: mix.next(), subsequence: UInt64(truncatingIfNeeded: epoch), offset: 0)
    }
}

extension SampleRandomness {
    /// The generator a stream sample's transform receives: Philox4x32-10 keyed
    /// by `(seed, epoch)` (domain-separated from the other generators of the
    /// seed), whose counter's high 64 bits are the sample's `index` in the
    /// epoch's stream. Any index below 2^64 is allowed.
    ///
    /// ```swift
    /// var g = SampleRandomness.streamGenerator(seed: 7, epoch: 0, index: 12)
    /// ```
    public static func streamGenerator(seed: UInt64, epoch: Int, index: Int) -> Philox4x32 {
        var mix = SplitMix64(seed: seed ^ 0x7374_7265_616d_7331)  // "streams1"
        var perEpoch = SplitMix64(seed: mix.next() &+ UInt64(truncatingIfNeeded: epoch))
        return Philox4x32(seed: perEpoch.next(), subsequence: UInt64(truncatingIfNeeded: index), offset: 0)
    }
}
