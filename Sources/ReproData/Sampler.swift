/// The order in which a loader reads a dataset in each epoch: dataset indices,
/// readable at any position, so a loader can resume mid-epoch without drawing
/// the positions before it.
///
/// A sampler is a pure function of its configuration and the epoch; the
/// loader never mutates it. ``SequentialSampler``, ``RandomSampler`` and
/// ``DistributedSampler`` conform; ``BatchSampler`` groups any sampler's
/// positions into batches, and ``DataLoader`` batches through it.
///
/// ```swift
/// struct Reversed: Sampler {
///     let count: Int
///     func indices(epoch: Int, positions: Range<Int>) -> [Int] { positions.map { count - 1 - $0 } }
/// }
/// Reversed(count: 3).indices(epoch: 0)  // [2, 1, 0]
/// ```
public protocol Sampler: Sendable {
    /// The number of indices in every epoch.
    var count: Int { get }
    /// The dataset indices at `positions` (within `0 ..< count`) of epoch `epoch`.
    func indices(epoch: Int, positions: Range<Int>) -> [Int]
    /// A short description of everything the order depends on (type, sizes,
    /// seed, mode). A saved ``LoaderState`` records it, and resuming with a
    /// sampler of another identity is refused.
    var identity: String { get }
}

extension Sampler {
    /// Every index of epoch `epoch`, in order.
    ///
    /// ```swift
    /// SequentialSampler(count: 3).indices(epoch: 0)  // [0, 1, 2]
    /// ```
    public func indices(epoch: Int) -> [Int] { indices(epoch: epoch, positions: 0..<count) }

    /// The type name and count (override to include a seed or mode).
    public var identity: String { "\(Self.self)(count: \(count))" }
}

/// Dataset order, `0 ..< count`, every epoch (PyTorch's `SequentialSampler`).
///
/// ```swift
/// SequentialSampler(count: 4).indices(epoch: 7)  // [0, 1, 2, 3]
/// ```
public struct SequentialSampler: Sampler, Hashable {
    /// The dataset size.
    public let count: Int

    /// A sampler over `0 ..< count`.
    public init(count: Int) { self.count = Swift.max(0, count) }

    /// `positions` themselves.
    public func indices(epoch: Int, positions: Range<Int>) -> [Int] { Array(positions) }

    /// `SequentialSampler(count: n)`.
    public var identity: String { "SequentialSampler(count: \(count))" }
}
