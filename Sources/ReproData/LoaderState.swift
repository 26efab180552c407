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
    /// The dataset size the schedule was made for.
    public var datasetCount: Int
    /// Samples per batch.
    public var batchSize: Int
    /// Whether a last partial batch is dropped.
    public var dropLast: Bool
    /// The shuffling mode.
    public var shuffle: ShuffleMode

    /// Creates a state.
    public init(seed: UInt64, epoch: Int, position: Int, endEpoch: Int, datasetCount: Int, batchSize: Int,
                dropLast: Bool, shuffle: ShuffleMode) {
        self.seed = seed; self.epoch = epoch; self.position = position; self.endEpoch = endEpoch
        self.datasetCount = datasetCount; self.batchSize = batchSize; self.dropLast = dropLast; self.shuffle = shuffle
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
}
