import ReproRandom

/// Splits each epoch across `worldSize` ranks exactly as PyTorch's
/// `DistributedSampler(dataset, num_replicas, rank, shuffle, seed, drop_last)`
/// does: the epoch order is padded by repeating its head (or truncated with
/// `dropLast`) to a multiple of `worldSize`, and rank `r` takes positions
/// `r, r + worldSize, …`.
///
/// With ``ShuffleMode/counterBased`` the epoch order is
/// ``CounterPermutation`` of `(seed, epoch)`; with ``ShuffleMode/torchCompatible``
/// it is PyTorch's `randperm(count, generator=torch.Generator().manual_seed(seed + epoch))`.
///
/// ```swift
/// var s = try DistributedSampler(count: 10, worldSize: 3, rank: 1, seed: 0)
/// s.setEpoch(2)
/// s.indices   // this rank's 4 indices of epoch 2
/// ```
public struct DistributedSampler: Sendable, Hashable {
    /// Dataset size.
    public let count: Int
    /// Number of ranks.
    public let worldSize: Int
    /// This rank (0 ..< worldSize).
    public let rank: Int
    /// The epoch order.
    public let shuffle: ShuffleMode
    /// The seed.
    public let seed: UInt64
    /// Whether the tail is dropped to make the epoch divisible (instead of padding).
    public let dropLast: Bool
    /// The epoch whose shard ``indices`` returns.
    public private(set) var epoch: Int = 0

    /// Creates a sampler.
    ///
    /// - Throws: ``DataLoaderError/invalidConfiguration(_:)`` unless `worldSize ≥ 1`, `0 ≤ rank < worldSize` and `count ≥ 0`.
    public init(count: Int, worldSize: Int, rank: Int, shuffle: ShuffleMode = .counterBased, seed: UInt64 = 0,
                dropLast: Bool = false) throws(DataLoaderError) {
        guard worldSize >= 1 else { throw .invalidConfiguration("worldSize \(worldSize) must be at least 1") }
        guard rank >= 0 && rank < worldSize else { throw .invalidConfiguration("rank \(rank) must be in 0..<\(worldSize)") }
        guard count >= 0 else { throw .invalidConfiguration("count \(count) is negative") }
        self.count = count; self.worldSize = worldSize; self.rank = rank
        self.shuffle = shuffle; self.seed = seed; self.dropLast = dropLast
    }

    /// Selects the epoch (PyTorch's `set_epoch`).
    public mutating func setEpoch(_ epoch: Int) { self.epoch = epoch }

    /// Samples per rank per epoch.
    public var samplesPerRank: Int {
        if dropLast && count % worldSize != 0 {
            return (count - worldSize + worldSize - 1) / worldSize  // ceil((n − w) / w)
        }
        return (count + worldSize - 1) / worldSize
    }

    /// This rank's indices for the current epoch.
    public var indices: [Int] {
        let order: [Int]
        switch shuffle {
        case .none: order = Array(0..<count)
        case .counterBased: order = Array(CounterPermutation(count: count, seed: seed, epoch: UInt64(epoch)))
        case .torchCompatible:
            // PyTorch: g = torch.Generator(); g.manual_seed(seed + epoch); torch.randperm(n, generator=g).
            var g = TorchGenerator(seed: seed &+ UInt64(truncatingIfNeeded: epoch))
            order = ((try? g.randperm(count)) ?? []).map { Int($0) }
        }
        return Self.shard(order, worldSize: worldSize, rank: rank, samplesPerRank: samplesPerRank, dropLast: dropLast)
    }

    /// PyTorch's padding/truncation and strided split of an epoch order.
    static func shard(_ order: [Int], worldSize: Int, rank: Int, samplesPerRank: Int, dropLast: Bool) -> [Int] {
        let total = samplesPerRank * worldSize
        var all = order
        if !dropLast {
            let padding = total - all.count
            if padding > 0 && !order.isEmpty {
                var extra: [Int] = []
                while extra.count < padding { extra += order }
                all += extra.prefix(padding)
            }
        } else {
            all = Array(all.prefix(total))
        }
        return stride(from: rank, to: total, by: worldSize).map { all[$0] }
    }
}
