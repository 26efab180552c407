import Foundation
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
/// As a ``Sampler`` (for ``DataLoader/init(dataset:sampler:batchSize:seed:randomness:workers:prefetch:dropLast:firstEpoch:epochs:transform:collate:)``)
/// its ``count`` is ``samplesPerRank`` and the loader's epoch selects the shard
/// (the loader calls `indices(epoch:positions:)`; ``setEpoch(_:)`` only
/// affects ``indices``). A padded position repeats a sample of the epoch, and
/// under per-sample randomness the repeat draws the same augmentation.
///
/// ```swift
/// var s = try DistributedSampler(count: 10, worldSize: 3, rank: 1, seed: 0)
/// s.setEpoch(2)
/// s.indices   // this rank's 4 indices of epoch 2
/// s.indices(epoch: 2, positions: 1..<3)   // two of them, computed alone
/// ```
public struct DistributedSampler: Sampler, Hashable {
    /// Dataset size (the `count:` of the initialiser; ``count`` is the shard size).
    public let datasetCount: Int
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
    private let torchOrders = OrderCache()

    /// Creates a sampler.
    ///
    /// - Throws: ``DataLoaderError/invalidConfiguration(_:)`` unless `worldSize ≥ 1`, `0 ≤ rank < worldSize` and `count ≥ 0`.
    public init(count: Int, worldSize: Int, rank: Int, shuffle: ShuffleMode = .counterBased, seed: UInt64 = 0,
                dropLast: Bool = false) throws(DataLoaderError) {
        guard worldSize >= 1 else { throw .invalidConfiguration("worldSize \(worldSize) must be at least 1") }
        guard rank >= 0 && rank < worldSize else { throw .invalidConfiguration("rank \(rank) must be in 0..<\(worldSize)") }
        guard count >= 0 else { throw .invalidConfiguration("count \(count) is negative") }
        self.datasetCount = count; self.worldSize = worldSize; self.rank = rank
        self.shuffle = shuffle; self.seed = seed; self.dropLast = dropLast
    }

    /// Selects the epoch (PyTorch's `set_epoch`).
    public mutating func setEpoch(_ epoch: Int) { self.epoch = epoch }

    /// Samples per rank per epoch.
    public var samplesPerRank: Int {
        let n = datasetCount
        if dropLast && n % worldSize != 0 {
            return (n - worldSize + worldSize - 1) / worldSize  // ceil((n − w) / w)
        }
        return (n + worldSize - 1) / worldSize
    }

    /// This rank's indices for the current epoch (``setEpoch(_:)``).
    public var indices: [Int] { indices(epoch: epoch) }

    /// Indices per epoch on this rank (``samplesPerRank``).
    public var count: Int { samplesPerRank }

    /// This rank's indices at `positions` of epoch `epoch`.
    ///
    /// Position `p` is the epoch order's position `g = rank + p·worldSize` of
    /// PyTorch's padded list, whose padding repeats the order from its head:
    /// the index is `order[g mod count]`.
    public func indices(epoch: Int, positions: Range<Int>) -> [Int] {
        let n = datasetCount
        guard n > 0 else { return [] }
        let globals = positions.map { (rank + $0 * worldSize) % n }
        switch shuffle {
        case .none: return globals
        case .counterBased:
            let p = CounterPermutation(count: n, seed: seed, epoch: UInt64(truncatingIfNeeded: epoch))
            return globals.map { p[$0] }
        case .torchCompatible:
            let order = torchOrders.order(epoch) {
                // PyTorch: g = torch.Generator(); g.manual_seed(seed + epoch); torch.randperm(n, generator=g).
                var g = TorchGenerator(seed: seed &+ UInt64(truncatingIfNeeded: epoch))
                return ((try? g.randperm(n)) ?? []).map { Int($0) }
            }
            return globals.map { order[$0] }
        }
    }

    /// `DistributedSampler(count:worldSize:rank:shuffle:seed:dropLast:)`.
    public var identity: String {
        "DistributedSampler(count: \(datasetCount), worldSize: \(worldSize), rank: \(rank), \(shuffle.rawValue), seed: \(seed), dropLast: \(dropLast))"
    }

    /// Equal when every setting and the epoch are.
    public static func == (a: Self, b: Self) -> Bool {
        (a.datasetCount, a.worldSize, a.rank, a.epoch) == (b.datasetCount, b.worldSize, b.rank, b.epoch)
            && (a.shuffle, a.seed, a.dropLast) == (b.shuffle, b.seed, b.dropLast)
    }

    /// Hashes every setting and the epoch.
    public func hash(into h: inout Hasher) {
        h.combine(datasetCount); h.combine(worldSize); h.combine(rank); h.combine(shuffle)
        h.combine(seed); h.combine(dropLast); h.combine(epoch)
    }
}
