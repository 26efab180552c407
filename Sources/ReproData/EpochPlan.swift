import Foundation
import ReproRandom

/// The index order of every epoch of a schedule, and the PyTorch base seed of
/// each epoch under ``AugmentationRandomness/torchWorkerSeeding``.
///
/// Counter-based orders are computed per position on demand; PyTorch's orders
/// come from one generator advanced epoch after epoch, so they are replayed
/// from epoch 0 once (draws only, no data loaded) and kept for the epochs the
/// schedule covers.
struct EpochPlan: Sendable {
    let state: LoaderState
    private let torchOrders: [[Int]]
    private let baseSeeds: [UInt64]

    init(_ s: LoaderState) {
        state = s
        var orders: [[Int]] = [], seeds: [UInt64] = []
        let first = s.epoch, end = s.isFinished ? s.epoch : s.endEpoch
        let n = s.datasetCount
        if s.randomness == .torchWorkerSeeding {
            let torchShuffle = s.shuffle == .torchCompatible && n > 0
            var loader = try? TorchDataLoader(count: n, batchSize: s.batchSize, shuffle: torchShuffle,
                                              dropLast: s.dropLast, generator: TorchGenerator(seed: s.seed))
            var unused = TorchGenerator()
            for e in 0..<end {
                guard let epoch = loader?.epoch(defaultGenerator: &unused) else { break }
                if e >= first {
                    seeds.append(epoch.baseSeed)
                    if torchShuffle { orders.append(Self.completed(epoch.batches.flatMap { $0 }, n)) }
                }
            }
        } else if s.shuffle == .torchCompatible && n > 0 {
            var sampler = try? TorchRandomSampler(count: n, generator: TorchGenerator(seed: s.seed))
            var unused = TorchGenerator()
            for e in 0..<end {
                guard let order = sampler?.epoch(defaultGenerator: &unused) else { break }
                if e >= first { orders.append(order) }
            }
        }
        torchOrders = orders
        baseSeeds = seeds
    }

    /// A dropped tail is not part of PyTorch's batches; append it so positions stay total.
    private static func completed(_ prefix: [Int], _ n: Int) -> [Int] {
        guard prefix.count < n else { return prefix }
        let used = Set(prefix)
        return prefix + (0..<n).filter { !used.contains($0) }
    }

    /// The dataset index at `position` of epoch `epoch`.
    func index(epoch: Int, position: Int) -> Int {
        switch state.shuffle {
        case .none: return position
        case .counterBased: return CounterPermutation(count: state.datasetCount, seed: state.seed, epoch: UInt64(epoch))[position]
        case .torchCompatible:
            if state.datasetCount == 0 { return position }
            return torchOrders[epoch - state.epoch][position]
        }
    }

    /// The indices of epoch `epoch` at positions `range`.
    func indices(epoch: Int, _ range: Range<Int>) -> [Int] {
        if state.shuffle == .counterBased {
            let p = CounterPermutation(count: state.datasetCount, seed: state.seed, epoch: UInt64(epoch))
            return range.map { p[$0] }
        }
        return range.map { index(epoch: epoch, position: $0) }
    }

    /// The base seed PyTorch's `iter(loader)` draws for epoch `epoch`.
    func baseSeed(epoch: Int) -> UInt64 { baseSeeds[epoch - state.epoch] }
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
