import Foundation
import ReproRandom

/// The index order of every epoch of a schedule, and the PyTorch base seed of
/// each epoch under ``AugmentationRandomness/torchWorkerSeeding``.
///
/// Counter-based orders are computed per position on demand. PyTorch's orders
/// come from one generator advanced epoch after epoch: it is replayed from
/// epoch 0 once (draws only, no data loaded), keeping the generator state at
/// the start of each covered epoch (a few KB each); an epoch's order is then
/// recomputed from that state when first needed and cached (two epochs at most,
/// so memory stays O(dataset size)).
struct EpochPlan: Sendable {
    let state: LoaderState
    private let samplerStarts: [TorchRandomSampler]
    private let loaderStarts: [TorchDataLoader]
    private let baseSeeds: [UInt64]
    private let cache = OrderCache()

    init(_ s: LoaderState) {
        state = s
        var samplers: [TorchRandomSampler] = [], loaders: [TorchDataLoader] = [], seeds: [UInt64] = []
        let first = s.epoch, end = s.isFinished ? s.epoch : s.endEpoch
        let n = s.datasetCount
        var unused = TorchGenerator()
        if s.randomness == .torchWorkerSeeding {
            let torchShuffle = s.shuffle == .torchCompatible && n > 0
            if var loader = try? TorchDataLoader(count: n, batchSize: s.batchSize, shuffle: torchShuffle,
                                                 dropLast: s.dropLast, generator: TorchGenerator(seed: s.seed)) {
                for e in 0..<end {
                    if e >= first { loaders.append(loader) }
                    let epoch = loader.epoch(defaultGenerator: &unused)
                    if e >= first { seeds.append(epoch.baseSeed) }
                }
            }
        } else if s.shuffle == .torchCompatible && n > 0 {
            if var sampler = try? TorchRandomSampler(count: n, generator: TorchGenerator(seed: s.seed)) {
                for e in 0..<end {
                    if e >= first { samplers.append(sampler) }
                    _ = sampler.epoch(defaultGenerator: &unused)
                }
            }
        }
        samplerStarts = samplers
        loaderStarts = loaders
        baseSeeds = seeds
    }

    /// PyTorch's order of epoch `epoch` (torch-compatible shuffling only).
    private func torchOrder(_ epoch: Int) -> [Int] {
        cache.order(epoch) {
            var unused = TorchGenerator()
            let k = epoch - state.epoch
            if state.randomness == .torchWorkerSeeding {
                var loader = loaderStarts[k]
                return Self.completed(loader.epoch(defaultGenerator: &unused).batches.flatMap { $0 }, state.datasetCount)
            }
            var sampler = samplerStarts[k]
            return sampler.epoch(defaultGenerator: &unused)
        }
    }

    /// A dropped tail is not part of PyTorch's batches; append it so positions stay total.
    private static func completed(_ prefix: [Int], _ n: Int) -> [Int] {
        guard prefix.count < n else { return prefix }
        let used = Set(prefix)
        return prefix + (0..<n).filter { !used.contains($0) }
    }

    /// The indices of epoch `epoch` at positions `range`.
    func indices(epoch: Int, _ range: Range<Int>) -> [Int] {
        switch state.shuffle {
        case .none: return Array(range)
        case .counterBased:
            let p = CounterPermutation(count: state.datasetCount, seed: state.seed, epoch: UInt64(epoch))
            return range.map { p[$0] }
        case .torchCompatible:
            if range.isEmpty { return [] }
            let order = torchOrder(epoch)
            return Array(order[range])
        }
    }

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
