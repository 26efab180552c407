/// Groups a sampler's positions into batches of `batchSize` (PyTorch's
/// `BatchSampler(sampler, batch_size, drop_last)`): batch `k` of an epoch holds
/// positions `k·batchSize ..< (k+1)·batchSize`; the last, shorter batch is
/// kept unless `dropLast`. Any batch is computed without the ones before it.
/// ``DataLoader`` schedules its batches through this type.
///
/// ```swift
/// let b = try BatchSampler(SequentialSampler(count: 10), batchSize: 4, dropLast: false)
/// b.batches(epoch: 0)            // [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
/// b.batch(epoch: 0, position: 1) // [4, 5, 6, 7]
/// ```
public struct BatchSampler<Base: Sampler>: Sendable {
    /// The sampler whose positions are grouped.
    public let base: Base
    /// Indices per batch.
    public let batchSize: Int
    /// Whether a last, shorter batch is dropped.
    public let dropLast: Bool

    /// Groups `base` into batches.
    ///
    /// - Throws: ``DataLoaderError/invalidConfiguration(_:)`` unless `batchSize ≥ 1`.
    public init(_ base: Base, batchSize: Int, dropLast: Bool) throws(DataLoaderError) {
        guard batchSize >= 1 else { throw .invalidConfiguration("batchSize \(batchSize) must be at least 1") }
        self.base = base
        self.batchSize = batchSize
        self.dropLast = dropLast
    }

    /// Groups `base` into batches of an already validated size (≥ 1).
    init(_ base: Base, checkedBatchSize batchSize: Int, dropLast: Bool) {
        self.base = base
        self.batchSize = Swift.max(1, batchSize)
        self.dropLast = dropLast
    }

    /// Batches in every epoch.
    public var batchesPerEpoch: Int {
        let n = base.count
        return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize
    }

    /// The sampler positions batch `position` covers (empty outside the epoch).
    public func positions(of position: Int) -> Range<Int> {
        guard position >= 0 && position < batchesPerEpoch else { return 0..<0 }
        let lo = position * batchSize
        return lo..<Swift.min(lo + batchSize, base.count)
    }

    /// The dataset indices of batch `position` of epoch `epoch`.
    public func batch(epoch: Int, position: Int) -> [Int] {
        base.indices(epoch: epoch, positions: positions(of: position))
    }

    /// Every batch of epoch `epoch`.
    public func batches(epoch: Int) -> [[Int]] {
        (0..<batchesPerEpoch).map { batch(epoch: epoch, position: $0) }
    }
}
