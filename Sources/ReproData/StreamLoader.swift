/// Batches of an ``IterableDataset`` whose content and augmentations depend
/// only on the seed — identical for any number of workers and any timing —
/// and that resume mid-epoch.
///
/// One reader at a time pulls the epoch's stream in order (the sample after
/// the `k`-th is read only once the `k`-th has been), numbering samples
/// `0, 1, 2, …`; batch `k` of an epoch holds stream indices
/// `k·batchSize ..< (k+1)·batchSize`. Workers then transform and collate
/// batches in parallel; sample `i` of epoch `e` gets
/// ``SampleRandomness/streamGenerator(seed:epoch:index:)``. Batches are
/// delivered in stream order, at most `workers × prefetch` ahead of the
/// consumer. An epoch ends when its stream does; the last, shorter batch is
/// kept unless `dropLast`.
///
/// Unlike PyTorch, where each worker iterates its own copy of an
/// `IterableDataset` and must shard it by worker id (so the batches change
/// with `num_workers`), the stream here is never split.
///
/// ```swift
/// let loader = try StreamLoader(dataset: records, batchSize: 32, seed: 7, workers: 4,
///                               transform: { r, g in decodeAndAugment(r, &g) }, collate: { $0 })
/// for result in loader {
///     let batch = try result.get()    // batch.indices are stream indices
///     save(batch.stateAfter)          // resume later with loader.resumed(from:)
/// }
/// ```
public struct StreamLoader<Source: IterableDataset, Item: Sendable, Batch: Sendable>: Sendable {
    /// The dataset.
    public let dataset: Source
    /// Worker threads (0: read and transform on the consuming thread).
    public let workers: Int
    /// Batches each worker may compute ahead of the consumer.
    public let prefetch: Int
    /// Where iteration starts, and what it covers.
    public let start: StreamLoaderState
    let transform: @Sendable (Source.Sample, inout SampleGenerator) throws -> Item
    let collate: @Sendable ([Item]) throws -> Batch

    /// Creates a loader over `epochs` epochs starting at `firstEpoch`.
    ///
    /// - Parameters:
    ///   - dataset: makes each epoch's stream of samples.
    ///   - batchSize: samples per batch (≥ 1).
    ///   - seed: the seed of the streams' ``StreamContext`` and of every sample's generator.
    ///   - workers: worker threads that transform and collate (0 works on the consuming thread).
    ///   - prefetch: batches each worker may prepare ahead (≥ 1).
    ///   - dropLast: drop an epoch's last batch when the stream ends before filling it.
    ///   - firstEpoch: the epoch iteration starts at.
    ///   - epochs: how many epochs to run, from `firstEpoch` on.
    ///   - transform: turns a sample into an item, drawing randomness only from the generator it is given.
    ///   - collate: turns a batch's items (in stream order) into a batch.
    /// - Throws: ``DataLoaderError/invalidConfiguration(_:)`` for out-of-range settings.
    public init(
        dataset: Source, batchSize: Int, seed: UInt64, workers: Int = 0, prefetch: Int = 2, dropLast: Bool = false,
        firstEpoch: Int = 0, epochs: Int = 1,
        transform: @escaping @Sendable (Source.Sample, inout SampleGenerator) throws -> Item,
        collate: @escaping @Sendable ([Item]) throws -> Batch
    ) throws(DataLoaderError) {
        guard batchSize >= 1 else { throw .invalidConfiguration("batchSize \(batchSize) must be at least 1") }
        guard workers >= 0 && workers <= 256 else { throw .invalidConfiguration("workers \(workers) must be in 0...256") }
        guard prefetch >= 1 else { throw .invalidConfiguration("prefetch \(prefetch) must be at least 1") }
        guard firstEpoch >= 0, epochs >= 0, epochs <= Int.max - firstEpoch else {
            throw .invalidConfiguration("epochs \(firstEpoch) + \(epochs) out of range")
        }
        self.dataset = dataset
        self.workers = workers
        self.prefetch = prefetch
        self.transform = transform
        self.collate = collate
        start = StreamLoaderState(seed: seed, epoch: firstEpoch, position: 0, endEpoch: firstEpoch + epochs,
                                  batchSize: batchSize, dropLast: dropLast)
    }

    init(copying other: Self, start: StreamLoaderState, workers: Int) {
        dataset = other.dataset
        self.workers = workers
        prefetch = other.prefetch
        transform = other.transform
        collate = other.collate
        self.start = start
    }

    /// A loader that yields exactly the batches after `state` (the rest of its
    /// epoch, then the following epochs), bit-identical to an uninterrupted
    /// run, with any worker count. The resumed epoch's stream is made afresh
    /// and moved past the consumed samples with ``SampleStream/skip(count:)``
    /// (which replays the stream unless the dataset implements a seek); the
    /// skipped samples are never transformed.
    ///
    /// - Throws: ``DataLoaderError/stateMismatch(_:)`` when the state was made
    ///   with another batch size or drop-last setting, or is not at a batch boundary.
    public func resumed(from state: StreamLoaderState, workers: Int? = nil) throws(DataLoaderError) -> Self {
        guard state.batchSize == start.batchSize, state.dropLast == start.dropLast else {
            throw .stateMismatch("state is for batch \(state.batchSize), dropLast \(state.dropLast); loader has \(start.batchSize), \(start.dropLast)")
        }
        guard state.epoch >= 0, state.endEpoch >= state.epoch, state.position >= 0, state.position % state.batchSize == 0 else {
            throw .stateMismatch("position \(state.position) of epoch \(state.epoch) is not a batch boundary of the schedule")
        }
        let w = workers ?? self.workers
        guard w >= 0 && w <= 256 else { throw .invalidConfiguration("workers \(w) must be in 0...256") }
        return Self(copying: self, start: state, workers: w)
    }

    /// Transforms and collates one batch read from the stream: the pure
    /// function every worker evaluates.
    func load(_ raw: StreamReader<Source>.RawBatch) -> Result<StreamBatch<Batch>, DataLoaderError> {
        var items: [Item] = []
        items.reserveCapacity(raw.samples.count)
        for (k, sample) in raw.samples.enumerated() {
            let index = raw.firstIndex + k
            var g = SampleGenerator(SampleRandomness.streamGenerator(seed: start.seed, epoch: raw.epoch, index: index))
            do { items.append(try transform(sample, &g)) } catch {
                return .failure(.sampleFailed(index: index, epoch: raw.epoch, underlying: "\(error)"))
            }
        }
        let value: Batch
        do { value = try collate(items) } catch {
            return .failure(.collateFailed(epoch: raw.epoch, position: raw.position, underlying: "\(error)"))
        }
        return .success(StreamBatch(epoch: raw.epoch, position: raw.position,
                                    indices: Array(raw.firstIndex..<(raw.firstIndex + raw.samples.count)),
                                    value: value, stateAfter: raw.stateAfter))
    }
}

extension StreamLoader where Item == Source.Sample {
    /// A loader without a per-sample transform.
    public init(
        dataset: Source, batchSize: Int, seed: UInt64, workers: Int = 0, prefetch: Int = 2, dropLast: Bool = false,
        firstEpoch: Int = 0, epochs: Int = 1, collate: @escaping @Sendable ([Item]) throws -> Batch
    ) throws(DataLoaderError) {
        try self.init(dataset: dataset, batchSize: batchSize, seed: seed, workers: workers, prefetch: prefetch,
                      dropLast: dropLast, firstEpoch: firstEpoch, epochs: epochs, transform: { s, _ in s }, collate: collate)
    }
}

/// Where a ``StreamLoader`` is: small, `Codable`, and enough to resume
/// bit-identically in a fresh loader with any worker count.
///
/// ```swift
/// let saved = try JSONEncoder().encode(batch.stateAfter)
/// let rest = try loader.resumed(from: JSONDecoder().decode(StreamLoaderState.self, from: saved))
/// ```
public struct StreamLoaderState: Codable, Sendable, Hashable {
    /// The seed of the streams and of every sample's generator.
    public var seed: UInt64
    /// The epoch of the next batch.
    public var epoch: Int
    /// Samples of the epoch's stream already consumed (a multiple of ``batchSize``).
    public var position: Int
    /// The first epoch not to load (iteration ends there).
    public var endEpoch: Int
    /// Samples per batch.
    public var batchSize: Int
    /// Whether an epoch's last, shorter batch is dropped.
    public var dropLast: Bool

    /// Creates a state.
    public init(seed: UInt64, epoch: Int, position: Int, endEpoch: Int, batchSize: Int, dropLast: Bool) {
        self.seed = seed; self.epoch = epoch; self.position = position; self.endEpoch = endEpoch
        self.batchSize = batchSize; self.dropLast = dropLast
    }

    /// Whether every epoch has been read.
    public var isFinished: Bool { epoch >= endEpoch }
}

/// One batch of a stream and where it sits in the schedule.
public struct StreamBatch<Value: Sendable>: Sendable {
    /// The epoch.
    public let epoch: Int
    /// The batch index within the epoch.
    public let position: Int
    /// The stream indices of the batch's samples (consecutive).
    public let indices: [Int]
    /// The collated batch.
    public let value: Value
    /// The loader state just after this batch: resume from it to continue with the next one.
    public let stateAfter: StreamLoaderState
}
