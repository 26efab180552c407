import Foundation
import Testing
import ReproRandom
import _ReproTestSupport
@testable import ReproData

private func intList(_ j: JSON) throws -> [Int] { try j.array.map { Int(try $0.int64) } }

/// `Sampler`, `SequentialSampler`, `RandomSampler`, `BatchSampler`, and
/// `DistributedSampler` as a sampler; loaders driven by an explicit sampler.
@Suite struct SamplerTests {
    /// Torch mode equals `list(RandomSampler(range(n), generator=manual_seed(s)))` epoch after
    /// epoch (vectors of PyTorch 2.15), read in any epoch order and at any positions.
    @Test func randomSamplerMatchesTorch() throws {
        let root = try Fixtures.json("rng/torch_data.json")["per_seed"]
        for key in root.keys {
            let s = RandomSampler(count: 25, seed: try JSON(key).uint64, algorithm: .torchCompatible)
            let e1 = try root[key]["RandomSampler_range25_gen_epoch1"].ints.map { Int($0) }
            let e2 = try root[key]["RandomSampler_range25_gen_epoch2"].ints.map { Int($0) }
            #expect(s.indices(epoch: 1) == e2, "seed \(key)")  // out of order first: replays from epoch 0
            #expect(s.indices(epoch: 0) == e1, "seed \(key)")
            #expect(s.indices(epoch: 1, positions: 7..<19) == Array(e2[7..<19]))
        }
        for c in try Fixtures.json("data/torch_distributed.json")["random_sampler_epochs"].array {
            let n = Int(try c["count"].int64)
            let s = RandomSampler(count: n, seed: try c["seed"].uint64, algorithm: .torchCompatible)
            let epochs = try c["epochs"].array.map(intList)
            for e in [3, 0, 1, 2, 3] { #expect(s.indices(epoch: e) == epochs[e], "n \(n) epoch \(e)") }
        }
    }

    /// Counter-based: a true permutation per epoch, a pure function of (seed, epoch), any position alone.
    @Test(arguments: [0, 1, 7, 64, 1000])
    func counterBasedIsAPermutation(_ n: Int) {
        let s = RandomSampler(count: n, seed: 3407)
        for e in 0..<3 {
            let order = s.indices(epoch: e)
            #expect(order.sorted() == Array(0..<n), "n \(n) epoch \(e)")
            #expect(order == Array(CounterPermutation(count: n, seed: 3407, epoch: UInt64(e))))
            #expect(order == RandomSampler(count: n, seed: 3407).indices(epoch: e))
            for p in stride(from: 0, to: n, by: Swift.max(1, n / 5)) {
                #expect(s.indices(epoch: e, positions: p..<Swift.min(n, p + 3)) == Array(order[p..<Swift.min(n, p + 3)]))
            }
        }
        if n > 7 {
            #expect(s.indices(epoch: 0) != s.indices(epoch: 1))
            #expect(s.indices(epoch: 0) != RandomSampler(count: n, seed: 3408).indices(epoch: 0))
        }
        #expect(SequentialSampler(count: n).indices(epoch: 5) == Array(0..<n))
    }

    @Test func batchSamplerWithAndWithoutDropLast() throws {
        let keep = try BatchSampler(SequentialSampler(count: 10), batchSize: 4, dropLast: false)
        #expect(keep.batches(epoch: 0) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        let drop = try BatchSampler(SequentialSampler(count: 10), batchSize: 4, dropLast: true)
        #expect(drop.batches(epoch: 0) == [[0, 1, 2, 3], [4, 5, 6, 7]])
        #expect(drop.batch(epoch: 0, position: 2) == [] && keep.batch(epoch: 0, position: -1) == [])
        let even = try BatchSampler(SequentialSampler(count: 8), batchSize: 4, dropLast: true)
        #expect(even.batchesPerEpoch == 2)
        // Over a random sampler: batches concatenate to the epoch order; any batch computed alone.
        let r = RandomSampler(count: 23, seed: 5)
        let b = try BatchSampler(r, batchSize: 5, dropLast: false)
        #expect(b.batches(epoch: 2).flatMap { $0 } == r.indices(epoch: 2))
        #expect(b.batch(epoch: 2, position: 4) == Array(r.indices(epoch: 2)[20..<23]))
        #expect(throws: DataLoaderError.self) { try BatchSampler(r, batchSize: 0, dropLast: false) }
    }

    /// As a `Sampler`, a distributed shard at any positions equals PyTorch's shard (vectors).
    @Test func distributedSamplerAsSampler() throws {
        for c in try Fixtures.json("data/torch_distributed.json")["distributed"].array {
            let n = Int(try c["count"].int64), w = Int(try c["world_size"].int64)
            let seed = try c["seed"].uint64, epoch = Int(try c["epoch"].int64), drop = try c["drop_last"].bool
            let want = try c["shards"].array.map(intList)
            for r in 0..<w {
                let s = try DistributedSampler(count: n, worldSize: w, rank: r, shuffle: .torchCompatible, seed: seed, dropLast: drop)
                #expect(s.count == want[r].count)
                #expect(s.indices(epoch: epoch) == want[r], "n \(n) w \(w) rank \(r)")
                if s.count > 2 { #expect(s.indices(epoch: epoch, positions: 1..<3) == Array(want[r][1..<3])) }
            }
        }
    }

    static func loader(_ sampler: some Sampler, workers: Int, epochs: Int = 2, count: Int = 23)
        throws -> DataLoader<SlowDataset, [Float], [UInt32]> {
        try DataLoader(dataset: SlowDataset(count: count), sampler: sampler, batchSize: 4, seed: 3407, workers: workers,
                       epochs: epochs, transform: augment, collate: flatten)
    }

    /// A loader given `RandomSampler(seed)` is the loader shuffled by the same seed, batch for batch.
    @Test func explicitSamplerIsTheSameCodePath() throws {
        let implicit = try run(DataLoader(dataset: SlowDataset(count: 23), batchSize: 4, seed: 3407, workers: 2, epochs: 2,
                                          transform: augment, collate: flatten))
        for w in [0, 3] {
            let explicit = try run(Self.loader(RandomSampler(count: 23, seed: 3407), workers: w))
            #expect(explicit.map(\.value) == implicit.map(\.value), "workers \(w)")
            #expect(explicit.map(\.indices) == implicit.map(\.indices))
        }
    }

    /// Shards of a distributed run: disjoint, resumable with another worker count, state checked.
    @Test func distributedLoaderResumes() throws {
        let shards = try (0..<3).map { r in
            try run(Self.loader(DistributedSampler(count: 23, worldSize: 3, rank: r, seed: 11, dropLast: true), workers: 2))
        }
        for e in 0..<2 {
            let all = shards.flatMap { $0.filter { $0.epoch == e }.flatMap(\.indices) }
            #expect(all.count == 21 && Set(all).count == 21, "epoch \(e)")
        }
        let sampler = try DistributedSampler(count: 23, worldSize: 3, rank: 1, seed: 11, dropLast: true)
        let full = shards[1]
        for cut in [0, 1, full.count / 2, full.count - 1] {
            let rest = try run(Self.loader(sampler, workers: 0).resumed(from: full[cut].stateAfter, workers: 4))
            #expect(rest.map(\.value) == full[(cut + 1)...].map(\.value), "cut \(cut)")
        }
        // A state made with another sampler (or none) is refused.
        let other = try DistributedSampler(count: 23, worldSize: 3, rank: 2, seed: 11, dropLast: true)
        #expect(throws: DataLoaderError.self) { try Self.loader(other, workers: 0).resumed(from: full[0].stateAfter) }
    }

    /// An index outside the dataset fails its batch with that index.
    @Test func outOfRangeIndexIsReported() throws {
        let results = Array(try Self.loader(SequentialSampler(count: 30), workers: 2, epochs: 1, count: 25))
        guard case .failure(.sampleFailed(let index, _, _))? = results.last else {
            Issue.record("no failure for index 25"); return
        }
        #expect(index == 25 && results.count == 7)
    }
}
