import Testing
import ReproRandom
import _ReproTestSupport
@testable import ReproData

private func intList(_ j: JSON) throws -> [Int] { try j.array.map { Int(try $0.int64) } }

/// `ShuffleMode.torchCompatible` and `AugmentationRandomness.torchWorkerSeeding` against PyTorch 2.15.
@Suite struct TorchCompatibilityTests {
    /// Epochs 0 and 1 equal `list(RandomSampler(range(25), generator=manual_seed(s)))` called once and twice.
    @Test func randomSamplerEpochsMatchTorch() throws {
        let root = try Fixtures.json("rng/torch_data.json")["per_seed"]
        for key in root.keys {
            let seed = try JSON(key).uint64
            let loader = try DataLoader(dataset: InMemoryDataset(Array(0..<25)), batchSize: 4, shuffle: .torchCompatible,
                                        seed: seed, epochs: 2, collate: { $0 })
            let e1 = try root[key]["RandomSampler_range25_gen_epoch1"].ints.map { Int($0) }
            let e2 = try root[key]["RandomSampler_range25_gen_epoch2"].ints.map { Int($0) }
            #expect(loader.order(epoch: 0) == e1, "seed \(key)")
            #expect(loader.order(epoch: 1) == e2, "seed \(key)")
            let batches = try loader.map { try $0.get() }
            #expect(batches.flatMap(\.value) == e1 + e2)
        }
    }

    /// Four epochs of several sizes, from vectors made by scripts/make_torch_data_vectors.py.
    @Test func multiEpochOrdersMatchTorch() throws {
        for c in try Fixtures.json("data/torch_distributed.json")["random_sampler_epochs"].array {
            let n = Int(try c["count"].int64), seed = try c["seed"].uint64
            let epochs = try c["epochs"].array.map(intList)
            let loader = try DataLoader(dataset: InMemoryDataset(Array(0..<n)), batchSize: 3, shuffle: .torchCompatible,
                                        seed: seed, epochs: 4, collate: { $0 })
            for (e, want) in epochs.enumerated() { #expect(loader.order(epoch: e) == want, "n \(n) seed \(seed) epoch \(e)") }
            // Resuming at epoch 2 (a fresh plan that replays the generator) gives the same order.
            var state = loader.start
            state.epoch = 2
            let rest = try loader.resumed(from: state, workers: 2).map { try $0.get().value }.flatMap { $0 }
            #expect(rest == epochs[2] + epochs[3])
        }
    }

    /// `DistributedSampler(shuffle=True, seed, drop_last).set_epoch(e)` shards of every rank.
    @Test func distributedSamplerMatchesTorch() throws {
        for c in try Fixtures.json("data/torch_distributed.json")["distributed"].array {
            let n = Int(try c["count"].int64), w = Int(try c["world_size"].int64)
            let seed = try c["seed"].uint64, epoch = Int(try c["epoch"].int64), drop = try c["drop_last"].bool
            let want = try c["shards"].array.map(intList)
            for r in 0..<w {
                var s = try DistributedSampler(count: n, worldSize: w, rank: r, shuffle: .torchCompatible, seed: seed, dropLast: drop)
                s.setEpoch(epoch)
                #expect(s.indices == want[r], "n \(n) w \(w) rank \(r)")
            }
        }
    }

    /// Under torchWorkerSeeding, the order and base seed are those of
    /// `DataLoader(range(25), batch_size=4, shuffle=True, generator=manual_seed(s))`,
    /// and batch k's samples draw in order from worker (k % W)'s `manual_seed(B + w)` stream.
    @Test(arguments: [1, 2, 3])
    func torchWorkerSeedingFollowsPyTorch(workers: Int) throws {
        let root = try Fixtures.json("rng/torch_data.json")["per_seed"]["0"]["DataLoader_range25_bs4_shuffle_generator"]
        let base = try root["base_seed"].uint64
        let order = try root["order"].ints.map { Int($0) }
        let loader = try DataLoader(
            dataset: InMemoryDataset(Array(0..<25)), batchSize: 4, shuffle: .torchCompatible, seed: 0,
            randomness: .torchWorkerSeeding, workers: workers,
            transform: { (i: Int, g: inout SampleGenerator) in [UInt64(i), g.next()] }, collate: { $0 })
        let batches = try loader.map { try $0.get() }
        #expect(batches.flatMap(\.indices) == order)
        // Expected draws: one stream per worker, continued across that worker's batches.
        var streams = try (0..<workers).map { try TorchWorkerSeed(baseSeed: base, workerID: $0).torchGenerator }
        for b in batches {
            for item in b.value {
                #expect(item[1] == streams[b.position % workers].random64())
            }
        }
    }

    /// Worker-count dependence is enforced on resume; epoch boundaries resume exactly.
    @Test func torchWorkerSeedingResume() throws {
        let loader = try DataLoader(
            dataset: InMemoryDataset(Array(0..<10)), batchSize: 3, shuffle: .torchCompatible, seed: 5,
            randomness: .torchWorkerSeeding, workers: 2, epochs: 3,
            transform: { (i: Int, g: inout SampleGenerator) in g.next() }, collate: { $0 })
        let all = try loader.map { try $0.get() }
        #expect(throws: DataLoaderError.self) { try loader.resumed(from: all[0].stateAfter) }
        #expect(throws: DataLoaderError.self) { try loader.resumed(from: all[3].stateAfter, workers: 3) }
        let rest = try loader.resumed(from: all[3].stateAfter, workers: 2).map { try $0.get().value }
        #expect(rest == all[4...].map(\.value))
        // workers 0 is one stream, like workers 1.
        let w0 = try DataLoader(
            dataset: InMemoryDataset(Array(0..<10)), batchSize: 3, shuffle: .torchCompatible, seed: 5,
            randomness: .torchWorkerSeeding, workers: 0, epochs: 1,
            transform: { (i: Int, g: inout SampleGenerator) in g.next() }, collate: { $0 })
        let w1 = try w0.resumed(from: w0.start, workers: 1)
        #expect(try w0.map { try $0.get().value } == w1.map { try $0.get().value })
    }

    /// A transform can draw with torch's own APIs from the worker stream (as torchvision does).
    @Test func withTorchGeneratorAdvancesTheStream() throws {
        var t = SampleGenerator(TorchGenerator(seed: 3))
        var reference = TorchGenerator(seed: 3)
        let u = try t.withTorchGenerator { try $0.rand(count: 2) }
        #expect(u == (try reference.rand(count: 2)))
        #expect(t.next() == reference.random64())
        var p = SampleGenerator(SampleRandomness.generator(seed: 1, epoch: 0, index: 0))
        #expect(p.withTorchGenerator { $0.random64() } == nil)
    }
}

/// Torch-ordered loading with per-sample randomness is still worker-count independent and resumable.
@Suite struct TorchOrderWorkerTests {
    @Test func identicalAcrossWorkersAndResume() throws {
        func make(_ w: Int) throws -> DataLoader<SlowDataset, [Float], [UInt32]> {
            try DataLoader(dataset: SlowDataset(count: 23), batchSize: 4, shuffle: .torchCompatible, seed: 3407,
                           workers: w, epochs: 2, transform: augment, collate: flatten)
        }
        let base = try run(make(0))
        for w in [1, 4] { #expect(try run(make(w)).map(\.value) == base.map(\.value)) }
        for k in [2, 5, 6, 9] {
            let rest = try run(make(1).resumed(from: base[k].stateAfter, workers: 3))
            #expect(rest.map(\.value) == base[(k + 1)...].map(\.value), "resume after batch \(k)")
        }
    }
}
