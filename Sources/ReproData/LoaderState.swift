/// Where a data loader is in its schedule: small, `Codable`, and enough to
/// resume bit-identically in a fresh loader with any worker count.
///
/// ```swift
/// let saved = try JSONEncoder().encode(batch.stateAfter)
/// let rest = try loader.resumed(from: JSONDecoder().decode(LoaderState.self, from: saved))
/// ```
public struct LoaderState: Codable, Sendable, Hashable {
    /// The seed of shuffling and augmentation.
    public var seed: UInt64
    /// The epoch of the next batch.
    public var epoch: Int
    /// The position (batch index within the epoch) of the next batch.
    public var position: Int
    /// The first epoch not to load (iteration ends there).
    public var endEpoch: Int
    /// Samples per epoch the schedule was made for: the dataset size, or the
    /// explicit sampler's ``Sampler/count``.
    public var datasetCount: Int
    /// Samples per batch.
    public var batchSize: Int
    /// Whether a last partial batch is dropped.
    public var dropLast: Bool
    /// The shuffling mode.
    public var shuffle: ShuffleMode
    /// Where transforms draw their randomness from.
    public var randomness: AugmentationRandomness
    /// The number of PyTorch worker streams under ``AugmentationRandomness/torchWorkerSeeding``
    /// (`max(workers, 1)`); 0 for per-sample randomness, which does not depend on workers.
    public var workerStreams: Int
    /// The explicit sampler's ``Sampler/identity`` (nil when ``shuffle`` names the order).
    public var sampler: String?

    /// Creates a state.
    public init(seed: UInt64, epoch: Int, position: Int, endEpoch: Int, datasetCount: Int, batchSize: Int,
                dropLast: Bool, shuffle: ShuffleMode, randomness: AugmentationRandomness = .perSample,
                workerStreams: Int = 0, sampler: String? = nil) {
        self.sampler = sampler
        self.seed = seed; self.epoch = epoch; self.position = position; self.endEpoch = endEpoch
        self.datasetCount = datasetCount; self.batchSize = batchSize; self.dropLast = dropLast; self.shuffle = shuffle
        self.randomness = randomness; self.workerStreams = workerStreams
    }

    /// Batches in one epoch.
    public var batchesPerEpoch: Int {
        dropLast ? datasetCount / batchSize : (datasetCount + batchSize - 1) / batchSize
    }

    /// Whether every batch has been loaded.
    public var isFinished: Bool { epoch >= endEpoch || batchesPerEpoch == 0 }
}

/// How a loader orders an epoch's samples.
public enum ShuffleMode: String, Codable, Sendable, CaseIterable {
    /// Dataset order.
    case none
    /// ``CounterPermutation`` of `(seed, epoch)`: random, and computable at any position.
    case counterBased
    /// PyTorch's order: epoch `e` (0-based) is what the `(e + 1)`-th `list(sampler)` of
    /// `RandomSampler(range(n), generator=torch.Generator().manual_seed(seed))` yields,
    /// i.e. the `(2e + 1)`-th `randperm(n)` of that generator (each epoch draws two).
    /// Under ``AugmentationRandomness/torchWorkerSeeding`` the order is instead that of
    /// `DataLoader(…, shuffle=True, generator=torch.Generator().manual_seed(seed))`,
    /// which draws the epoch's base seed from the same generator first.
    case torchCompatible
}

/// Where a loader's per-sample transforms draw their randomness from.
public enum AugmentationRandomness: String, Codable, Sendable, CaseIterable {
    /// Each sample gets ``SampleRandomness/generator(seed:epoch:index:)``:
    /// identical batches for any worker count, resumable anywhere (the default).
    case perSample
    /// PyTorch's scheme: per epoch a base seed `B` is drawn from the loader's
    /// `torch.Generator().manual_seed(seed)` (as `iter(DataLoader(…, generator=g))` does),
    /// batch `k` of the epoch is loaded by worker `k % W`, and worker `w`'s samples draw,
    /// in order, from one `torch.manual_seed(B + w)` stream (ReproRandom's `TorchWorkerSeed`).
    ///
    /// **Worker-count dependent**, like PyTorch: results change with the number of
    /// workers (`workers: 0` behaves as one worker, stream `B + 0`), and a resumed
    /// loader must use the same worker count and resume at an epoch boundary.
    case torchWorkerSeeding
}
