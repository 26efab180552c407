import ReproRandom

/// Batches of a dataset in an order, and with augmentations, that depend only
/// on the seed — never on the number of workers or their timing — and that
/// resume mid-epoch bit-identically.
///
/// Each sample's transform receives its own generator,
/// ``SampleRandomness/generator(seed:epoch:index:)``, a pure function of
/// `(seed, epoch, index)`. Batches are delivered in schedule order whatever
/// order the workers finish in, and at most `workers × prefetch` batches are
/// held ahead of the consumer.
///
/// ```swift
/// let loader = try DataLoader(dataset: InMemoryDataset(Array(0..<10)), batchSize: 4, seed: 42, workers: 2,
///                             transform: { x, g in x + Int(g.next32() % 3) }, collate: { $0 })
/// for result in loader {
///     let batch = try result.get()
///     print(batch.epoch, batch.position, batch.indices, batch.value)
/// }
/// ```
public struct DataLoader<Source: Dataset, Item: Sendable, Batch: Sendable>: Sendable {
    /// The dataset.
    public let dataset: Source
    /// Worker threads (0: load on the consuming thread).
    public let workers: Int
    /// Batches each worker may compute ahead of the consumer.
    public let prefetch: Int
    /// Where iteration starts, and what it covers.
    public let start: LoaderState
    /// The explicit sampler (nil: the order ``LoaderState/shuffle`` names).
    private(set) var sampler: (any Sampler)?
    var progress: (@Sendable (LoaderProgress) -> Void)?
    private let transform: @Sendable (Source.Sample, inout SampleGenerator) throws -> Item
    private let collate: @Sendable ([Item]) throws -> Batch

    /// Creates a loader over `epochs` epochs starting at `firstEpoch`.
    ///
    /// - Parameters:
    ///   - dataset: the samples, by index.
    ///   - batchSize: samples per batch (≥ 1).
    ///   - shuffle: the epoch order (``ShuffleMode/counterBased`` by default).
    ///   - seed: the seed of shuffling and of every sample's generator.
    ///   - randomness: where transforms draw from (``AugmentationRandomness/perSample`` by default).
    ///   - workers: worker threads (0 loads on the consuming thread).
    ///   - prefetch: batches each worker may prepare ahead (≥ 1).
    ///   - dropLast: drop each epoch's last batch when it is shorter than `batchSize`.
    ///   - firstEpoch: the epoch iteration starts at.
    ///   - epochs: how many epochs to run, from `firstEpoch` on.
    ///   - transform: turns a sample into an item, drawing randomness only from the generator it is given.
    ///   - collate: turns a batch's items (in sampler order) into a batch.
    /// - Throws: ``DataLoaderError/invalidConfiguration(_:)`` for out-of-range settings.
    public init(
        dataset: Source, batchSize: Int, shuffle: ShuffleMode = .counterBased, seed: UInt64,
        randomness: AugmentationRandomness = .perSample,
        workers: Int = 0, prefetch: Int = 2, dropLast: Bool = false, firstEpoch: Int = 0, epochs: Int = 1,
        transform: @escaping @Sendable (Source.Sample, inout SampleGenerator) throws -> Item,
        collate: @escaping @Sendable ([Item]) throws -> Batch
    ) throws(DataLoaderError) {
        guard batchSize >= 1 else { throw .invalidConfiguration("batchSize \(batchSize) must be at least 1") }
        guard workers >= 0 && workers <= 256 else { throw .invalidConfiguration("workers \(workers) must be in 0...256") }
        guard prefetch >= 1 else { throw .invalidConfiguration("prefetch \(prefetch) must be at least 1") }
        guard firstEpoch >= 0, epochs >= 0, firstEpoch < 1 << 32, epochs < 1 << 32 - firstEpoch else {
            throw .invalidConfiguration("epochs \(firstEpoch) + \(epochs) out of range")
        }
        guard dataset.count >= 0 && dataset.count < 1 << 32 else {
            throw .invalidConfiguration("dataset count \(dataset.count) must be below 2^32")
        }
        self.sampler = nil
        self.dataset = dataset
        self.workers = workers
        self.prefetch = prefetch
        self.transform = transform
        self.collate = collate
        start = LoaderState(seed: seed, epoch: firstEpoch, position: 0, endEpoch: firstEpoch + epochs,
                            datasetCount: dataset.count, batchSize: batchSize, dropLast: dropLast, shuffle: shuffle,
                            randomness: randomness, workerStreams: randomness == .torchWorkerSeeding ? Swift.max(workers, 1) : 0)
    }

    /// Creates a loader whose epoch order is `sampler`'s (e.g. a ``DistributedSampler``
    /// shard); batches are ``BatchSampler`` groups of its positions. Per-sample
    /// randomness is keyed by the dataset index, as with ``ShuffleMode``.
    ///
    /// ```swift
    /// let shard = try DistributedSampler(count: 1000, worldSize: 4, rank: 1, seed: 7)
    /// let loader = try DataLoader(dataset: ds, sampler: shard, batchSize: 32, seed: 7, workers: 2,
    ///                             transform: { x, _ in x }, collate: { $0 })
    /// ```
    ///
    /// - Throws: ``DataLoaderError/invalidConfiguration(_:)`` for out-of-range settings;
    ///   an index outside the dataset fails its batch with ``DataLoaderError/sampleFailed(index:epoch:underlying:)``.
    public init(
        dataset: Source, sampler: some Sampler, batchSize: Int, seed: UInt64,
        randomness: AugmentationRandomness = .perSample,
        workers: Int = 0, prefetch: Int = 2, dropLast: Bool = false, firstEpoch: Int = 0, epochs: Int = 1,
        transform: @escaping @Sendable (Source.Sample, inout SampleGenerator) throws -> Item,
        collate: @escaping @Sendable ([Item]) throws -> Batch
    ) throws(DataLoaderError) {
        guard sampler.count >= 0 && sampler.count < 1 << 32 else {
            throw .invalidConfiguration("sampler count \(sampler.count) must be below 2^32")
        }
        let plain = try Self(dataset: dataset, batchSize: batchSize, shuffle: .none, seed: seed,
                             randomness: randomness, workers: workers, prefetch: prefetch, dropLast: dropLast,
                             firstEpoch: firstEpoch, epochs: epochs, transform: transform, collate: collate)
        var s = plain.start
        s.datasetCount = sampler.count
        s.sampler = sampler.identity
        self.init(copying: plain, start: s, workers: workers)
        self.sampler = sampler
    }

    init(copying other: Self, start: LoaderState, workers: Int) {
        sampler = other.sampler
        dataset = other.dataset
        progress = other.progress
        self.workers = workers
        prefetch = other.prefetch
        transform = other.transform
        collate = other.collate
        self.start = start
    }

    /// A loader that yields exactly the batches remaining after `state` (the
    /// rest of its epoch, then the following epochs), bit-identical to an
    /// uninterrupted run, with any worker count. Skipped samples are not loaded.
    ///
    /// - Throws: ``DataLoaderError/stateMismatch(_:)`` when the state was made
    ///   for another dataset size, batch size, drop-last or shuffle setting.
    public func resumed(from state: LoaderState, workers: Int? = nil) throws(DataLoaderError) -> Self {
        guard state.datasetCount == start.datasetCount, state.batchSize == start.batchSize,
              state.dropLast == start.dropLast, state.shuffle == start.shuffle, state.randomness == start.randomness,
              state.sampler == start.sampler
        else {
            throw .stateMismatch("state is for \(state.datasetCount) samples, batch \(state.batchSize), dropLast \(state.dropLast), \(state.shuffle)\(state.sampler.map { ", " + $0 } ?? ""); loader has \(start.datasetCount), \(start.batchSize), \(start.dropLast), \(start.shuffle)\(start.sampler.map { ", " + $0 } ?? "")")
        }
        guard state.position >= 0, state.position <= state.batchesPerEpoch, state.epoch >= 0, state.endEpoch >= state.epoch else {
            throw .stateMismatch("position \(state.position) of epoch \(state.epoch) is outside the schedule")
        }
        let w = workers ?? self.workers
        guard w >= 0 && w <= 256 else { throw .invalidConfiguration("workers \(w) must be in 0...256") }
        if state.randomness == .torchWorkerSeeding {
            guard Swift.max(w, 1) == state.workerStreams else {
                throw .stateMismatch("torchWorkerSeeding depends on the worker count: the state is for \(state.workerStreams) worker stream(s), not \(Swift.max(w, 1))")
            }
            guard state.position == 0 else {
                throw .stateMismatch("torchWorkerSeeding resumes only at an epoch boundary (position \(state.position) of epoch \(state.epoch)): PyTorch worker streams depend on every earlier sample of the epoch")
            }
        }
        return Self(copying: self, start: state, workers: w)
    }

    /// The dataset indices of epoch `epoch`, in load order.
    public func order(epoch: Int) -> [Int] {
        var from = start
        from.epoch = epoch
        from.position = 0
        from.endEpoch = epoch + 1
        return EpochPlan(from, sampler: sampler).indices(epoch: epoch)
    }

    /// The number of batches the iteration yields.
    public var batchCount: Int {
        let bpe = start.batchesPerEpoch
        return start.isFinished ? 0 : Swift.max(0, (start.endEpoch - start.epoch) * bpe - start.position)
    }

    /// Loads one batch of the schedule (epoch, position): the pure function
    /// every worker evaluates.
    func loadBatch(epoch: Int, position: Int, indices: [Int], streams: TorchWorkerStreams?) -> Result<LoaderBatch<Batch>, DataLoaderError> {
        var items: [Item] = []
        items.reserveCapacity(indices.count)
        var shared: SampleGenerator? = streams.map { SampleGenerator($0.take(epoch: epoch, position: position)) }
        defer {
            if let streams, let t = shared?.torchGenerator { streams.put(epoch: epoch, position: position, generator: t) }
        }
        for index in indices {
            do {
                guard index >= 0 && index < dataset.count else {
                    throw DataLoaderError.indexOutOfRange(index: index, count: dataset.count)
                }
                let sample = try dataset.sample(at: index)
                if shared != nil {
                    items.append(try transform(sample, &shared!))
                } else {
                    var g = SampleGenerator(SampleRandomness.generator(seed: start.seed, epoch: epoch, index: index))
                    items.append(try transform(sample, &g))
                }
            } catch {
                return .failure(.sampleFailed(index: index, epoch: epoch, underlying: "\(error)"))
            }
        }
        let value: Batch
        do { value = try collate(items) } catch {
            return .failure(.collateFailed(epoch: epoch, position: position, underlying: "\(error)"))
        }
        var after = start
        after.epoch = epoch
        after.position = position + 1
        if after.position >= after.batchesPerEpoch {
            after.epoch += 1
            after.position = 0
        }
        return .success(LoaderBatch(epoch: epoch, position: position, indices: indices, value: value, stateAfter: after))
    }
}

extension DataLoader where Item == Source.Sample {
    /// A loader without a per-sample transform.
    public init(
        dataset: Source, batchSize: Int, shuffle: ShuffleMode = .counterBased, seed: UInt64,
        randomness: AugmentationRandomness = .perSample,
        workers: Int = 0, prefetch: Int = 2, dropLast: Bool = false, firstEpoch: Int = 0, epochs: Int = 1,
        collate: @escaping @Sendable ([Item]) throws -> Batch
    ) throws(DataLoaderError) {
        try self.init(dataset: dataset, batchSize: batchSize, shuffle: shuffle, seed: seed, randomness: randomness, workers: workers,
                      prefetch: prefetch, dropLast: dropLast, firstEpoch: firstEpoch, epochs: epochs,
                      transform: { s, _ in s }, collate: collate)
    }
}

/// One batch and where it sits in the schedule.
public struct LoaderBatch<Value: Sendable>: Sendable {
    /// The epoch.
    public let epoch: Int
    /// The batch index within the epoch.
    public let position: Int
    /// The dataset indices of the batch's samples, in order.
    public let indices: [Int]
    /// The collated batch.
    public let value: Value
    /// The loader state just after this batch: resume from it to continue with the next one.
    public let stateAfter: LoaderState
}
