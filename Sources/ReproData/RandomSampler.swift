import Foundation
import ReproRandom

/// A random permutation of `0 ..< count` per epoch, drawn from the seed.
///
/// - ``Algorithm/counterBased`` (default): ``CounterPermutation`` of
///   `(seed, epoch)`, a pure function computed at any position in O(1).
/// - ``Algorithm/torchCompatible``: PyTorch's order — epoch `e` is the
///   `(e + 1)`-th `list(RandomSampler(range(count), generator=torch.Generator().manual_seed(seed)))`,
///   i.e. the `(2e + 1)`-th `randperm(count)` of that generator. Reading epoch
///   `e` replays the generator's draws (no data) from the nearest epoch already
///   reached, so sequential epochs cost one replay each.
///
/// ```swift
/// let s = RandomSampler(count: 10, seed: 42)
/// s.indices(epoch: 0)                       // a permutation of 0..<10
/// s.indices(epoch: 0, positions: 3..<5)     // its positions 3 and 4, without the rest
/// ```
public struct RandomSampler: Sampler, Hashable {
    /// How the permutation is drawn.
    public enum Algorithm: String, Codable, Sendable, Hashable, CaseIterable {
        /// ``CounterPermutation`` of `(seed, epoch)`.
        case counterBased
        /// PyTorch's `RandomSampler` with a seeded generator.
        case torchCompatible
    }

    /// The dataset size.
    public let count: Int
    /// The seed.
    public let seed: UInt64
    /// How the permutation is drawn.
    public let algorithm: Algorithm
    private let torch: TorchEpochs?

    /// A sampler over `0 ..< count` shuffled by `seed`.
    public init(count: Int, seed: UInt64, algorithm: Algorithm = .counterBased) {
        self.count = Swift.max(0, count)
        self.seed = seed
        self.algorithm = algorithm
        torch = algorithm == .torchCompatible && count > 0 ? TorchEpochs(count: count, seed: seed) : nil
    }

    /// The indices at `positions` of epoch `epoch` (≥ 0).
    public func indices(epoch: Int, positions: Range<Int>) -> [Int] {
        if positions.isEmpty { return [] }
        switch algorithm {
        case .counterBased:
            let p = CounterPermutation(count: count, seed: seed, epoch: UInt64(Swift.max(0, epoch)))
            return positions.map { p[$0] }
        case .torchCompatible:
            return Array(torch!.order(Swift.max(0, epoch))[positions])
        }
    }

    /// `RandomSampler(count: n, seed: s, algorithm)`.
    public var identity: String { "RandomSampler(count: \(count), seed: \(seed), \(algorithm.rawValue))" }

    /// Equal when count, seed and algorithm are.
    public static func == (a: Self, b: Self) -> Bool { a.count == b.count && a.seed == b.seed && a.algorithm == b.algorithm }
    /// Hashes count, seed and algorithm.
    public func hash(into h: inout Hasher) { h.combine(count); h.combine(seed); h.combine(algorithm) }
}

/// PyTorch's epoch orders of one seeded `RandomSampler`: a cursor (the
/// sampler's generator at the start of the furthest epoch reached) and the two
/// most recent orders, shared by the threads of a loader.
final class TorchEpochs: @unchecked Sendable {
    private let lock = NSLock()
    private let start: TorchRandomSampler
    private var cursor: (epoch: Int, sampler: TorchRandomSampler)
    private let cache = OrderCache()

    init(count: Int, seed: UInt64) {
        // count > 0, so this cannot throw.
        start = try! TorchRandomSampler(count: count, generator: TorchGenerator(seed: seed))
        cursor = (0, start)
    }

    func order(_ epoch: Int) -> [Int] {
        cache.order(epoch) {
            lock.lock()
            defer { lock.unlock() }
            var unused = TorchGenerator()
            if epoch < cursor.epoch { cursor = (0, start) }
            while cursor.epoch < epoch {
                _ = cursor.sampler.epoch(defaultGenerator: &unused)
                cursor.epoch += 1
            }
            var s = cursor.sampler
            return s.epoch(defaultGenerator: &unused)
        }
    }
}
