import Foundation
import ReproRandom

/// The index order of every epoch of a schedule, and the PyTorch base seed of
/// each epoch under ``AugmentationRandomness/torchWorkerSeeding``.
///
/// The order is a ``Sampler``'s: the loader's explicit one, or the one its
/// ``ShuffleMode`` names (``SequentialSampler``, ``RandomSampler``). Only
/// PyTorch's *loader* order under torchWorkerSeeding (base seed drawn from the
/// same generator before the permutation) is kept here: the loader's generator
/// is replayed from epoch 0 once (draws only, no data loaded), keeping its
/// state at the start of each covered epoch; an epoch's order is recomputed
/// from that state when first needed and cached (two epochs at most).
struct EpochPlan: Sampler {
    let state: LoaderState
    /// The order of every epoch, except PyTorch's loader order under torchWorkerSeeding.
    private let sampler: any Sampler
    private let loaderStarts: [TorchDataLoader]
    private let baseSeeds: [UInt64]
    private let cache = OrderCache()

    /// The plan of `s`; `sampler` (a loader's explicit sampler) replaces the one `s.shuffle` names.
    init(_ s: LoaderState, sampler explicit: (any Sampler)? = nil) {
        state = s
        if let explicit {
            sampler = explicit
        } else {
            switch s.shuffle {
            case .none: sampler = SequentialSampler(count: s.datasetCount)
            case .counterBased: sampler = RandomSampler(count: s.datasetCount, seed: s.seed, algorithm: .counterBased)
            case .torchCompatible: sampler = RandomSampler(count: s.datasetCount, seed: s.seed, algorithm: .torchCompatible)
            }
        }
        var loaders: [TorchDataLoader] = [], seeds: [UInt64] = []
        let first = s.epoch, end = s.isFinished ? s.epoch : s.endEpoch
        let n = s.datasetCount
        var unused = TorchGenerator()
        if s.randomness == .torchWorkerSeeding {
            let torchShuffle = s.shuffle == .torchCompatible && explicit == nil && n > 0
            if var loader = try? TorchDataLoader(count: n, batchSize: s.batchSize, shuffle: torchShuffle,
                                                 dropLast: s.dropLast, generator: TorchGenerator(seed: s.seed)) {
                for e in 0..<end {
                    if e >= first { loaders.append(loader) }
                    let epoch = loader.epoch(defaultGenerator: &unused)
                    if e >= first { seeds.append(epoch.baseSeed) }
                }
            }
        }
        loaderStarts = loaders
        baseSeeds = seeds
    }

    /// The order of `iter(DataLoader(…, shuffle=True, generator=manual_seed(seed)))` in epoch `epoch`.
    private func torchLoaderOrder(_ epoch: Int) -> [Int] {
        cache.order(epoch) {
            var unused = TorchGenerator()
            var loader = loaderStarts[epoch - state.epoch]
            return Self.completed(loader.epoch(defaultGenerator: &unused).batches.flatMap { $0 }, state.datasetCount)
        }
    }

    /// A dropped tail is not part of PyTorch's batches; append it so positions stay total.
    private static func completed(_ prefix: [Int], _ n: Int) -> [Int] {
        guard prefix.count < n else { return prefix }
        let used = Set(prefix)
        return prefix + (0..<n).filter { !used.contains($0) }
    }

    /// Samples per epoch.
    var count: Int { state.datasetCount }

    /// The indices of epoch `epoch` at `positions`.
    func indices(epoch: Int, positions: Range<Int>) -> [Int] {
        if state.randomness == .torchWorkerSeeding && state.shuffle == .torchCompatible && state.sampler == nil {
            return positions.isEmpty ? [] : Array(torchLoaderOrder(epoch)[positions])
        }
        return sampler.indices(epoch: epoch, positions: positions)
    }

    var identity: String { "EpochPlan(\(sampler.identity))" }

    /// The base seed PyTorch's `iter(loader)` draws for epoch `epoch`.
    func baseSeed(epoch: Int) -> UInt64 { baseSeeds[epoch - state.epoch] }
}

/// The most recently used epoch orders (at most two), shared by a loader's threads.
final class OrderCache: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(epoch: Int, order: [Int])] = []

    /// The cached order of `epoch`, computing it (under the lock) when missing.
    func order(_ epoch: Int, compute: () -> [Int]) -> [Int] {
        lock.lock()
        defer { lock.unlock() }
        if let hit = entries.first(where: { $0.epoch == epoch }) { return hit.order }
        let order = compute()
        entries.append((epoch, order))
        if entries.count > 2 { entries.removeFirst() }
        return order
    }
}

/// PyTorch worker streams shared by a loader's threads: worker `w`'s
/// generator passes from its batch `p` to its batch `p + W` of the same epoch.
final class TorchWorkerStreams: @unchecked Sendable {
    private let condition = NSCondition()
    private var streams: [Int: (next: Int, generator: TorchGenerator)] = [:]
    let count: Int
    private let plan: EpochPlan

    init(count: Int, plan: EpochPlan) {
        self.count = count
        self.plan = plan
    }

    private func key(_ epoch: Int, _ worker: Int) -> Int { epoch * count + worker }

    /// Waits until the worker's stream has reached `position` and takes it.
    func take(epoch: Int, position: Int) -> TorchGenerator {
        let w = position % count, k = key(epoch, w)
        condition.lock()
        defer { condition.unlock() }
        if streams[k] == nil && position == w {
            // Worker ids are below 256 and base seeds below 2^63, so this cannot throw.
            let seed = try? TorchWorkerSeed(baseSeed: plan.baseSeed(epoch: epoch), workerID: w)
            streams[k] = (w, seed?.torchGenerator ?? TorchGenerator())
        }
        while streams[k]?.next != position { condition.wait() }
        return streams[k]!.generator
    }

    /// Hands the stream on to the worker's next batch.
    func put(epoch: Int, position: Int, generator: TorchGenerator) {
        condition.lock()
        streams[key(epoch, position % count)] = (position + count, generator)
        condition.broadcast()
        condition.unlock()
    }
}
