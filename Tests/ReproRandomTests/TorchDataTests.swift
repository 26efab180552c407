import Testing
import _ReproTestSupport
@testable import ReproRandom

/// Every vector of `torch_data.json`.
@Suite struct TorchDataTests {
    @Test(arguments: TorchFixtures.seedKeys)
    func perSeed(seedKey: String) throws {
        let v = try TorchFixtures.data()["per_seed"][seedKey]
        let s = TorchFixtures.seed(seedKey)
        var unusedDefault = TorchGenerator(seed: 12345)
        let untouched = unusedDefault

        // RandomSampler with its own generator: epoch 2 is the third permutation.
        var smp = try TorchRandomSampler(count: 25, generator: TorchGenerator(seed: s))
        let e1 = smp.epoch(defaultGenerator: &unusedDefault)
        let e2 = smp.epoch(defaultGenerator: &unusedDefault)
        #expect(e1.map(Int64.init) == (try v["RandomSampler_range25_gen_epoch1"].ints))
        #expect(e2.map(Int64.init) == (try v["RandomSampler_range25_gen_epoch2"].ints))
        var g3 = TorchGenerator(seed: s)
        for _ in 0..<4 { _ = try g3.randperm(25) }
        #expect(smp.generator == g3, "each epoch advances the generator by two randperm(25)")
        #expect(unusedDefault == untouched, "a sampler with a generator never touches the default")

        // RandomSampler without a generator: derived seed from the default generator.
        let nogen = try v["RandomSampler_range25_nogen_after_manual_seed"]
        var def = TorchGenerator(seed: s)
        var plain = try TorchRandomSampler(count: 25)
        #expect(plain.epoch(defaultGenerator: &def).map(Int64.init) == (try nogen["order"].ints))
        var probe = TorchGenerator(seed: s)
        #expect(UInt64(probe.randomInt64()) == (try nogen["derived_seed"].uint64))
        #expect(def == probe, "one epoch draws exactly one random64 from the default generator")

        // DataLoader(range(25), batch_size=4, shuffle=True) after torch.manual_seed(s).
        let dl = try v["DataLoader_range25_bs4_shuffle"]
        def = TorchGenerator(seed: s)
        var loader = try TorchDataLoader(count: 25, batchSize: 4, shuffle: true)
        let epoch = loader.epoch(defaultGenerator: &def)
        #expect(epoch.baseSeed == (try dl["base_seed"].uint64))
        let batches = try dl["batches"].array.map { try $0.array.map { Int(try $0.int64) } }
        #expect(epoch.batches == batches)
        probe = TorchGenerator(seed: s)
        _ = probe.randomInt64()
        #expect(UInt64(probe.randomInt64()) == (try dl["sampler_seed"].uint64))
        #expect(def == probe, "base seed and sampler seed: two random64 per epoch")

        // DataLoader with its own generator.
        let dlg = try v["DataLoader_range25_bs4_shuffle_generator"]
        def = untouched
        var gl = try TorchDataLoader(count: 25, batchSize: 4, shuffle: true, generator: TorchGenerator(seed: s))
        let ge = gl.epoch(defaultGenerator: &def)
        #expect(ge.baseSeed == (try dlg["base_seed"].uint64))
        #expect(ge.batches.flatMap { $0 }.map(Int64.init) == (try dlg["order"].ints))
        #expect(ge.batches.map(\.count) == [4, 4, 4, 4, 4, 4, 1])
        #expect(def == untouched)

        // Worker seeds of that loader.
        let workers = try v["workers_for_generator_loader"].array
        #expect(workers.count == 2)
        for w in workers {
            let id = Int(try w["worker_id"].int64)
            let ws = try ge.workerSeed(workerID: id)
            #expect(ws.seed == (try w["seed"].uint64))
            var tg = ws.torchGenerator
            #expect(tg.initialSeed == ws.seed)
            try TorchValues.f32(tg.rand(count: 1)).expectEqual(w["torch_rand_1_first"], "worker \(id) torch.rand")
            #expect(ws.numPySeedSequenceEntropy == [
                UInt32(id), UInt32(truncatingIfNeeded: ws.baseSeed), UInt32(ws.baseSeed >> 32), 0,
            ])
            #expect(ws.numPySeedWords.map(UInt64.init) == (try w["numpy_seed_words"].uints), "worker \(id) numpy words")
            var np = ws.numPyRandomState
            #expect(np.randomSample().bitPattern == (try w["numpy_random_sample_first"].f64Bits[0]), "worker \(id) numpy")
            var wpy = ws.pythonRandom
            #expect(wpy.random().bitPattern == (try w["python_random_first"].f64Bits[0]), "worker \(id) python")
            // CPython random.seed(B + w): init_by_array over the 32-bit words of the seed.
            let key = [UInt32(truncatingIfNeeded: ws.seed), UInt32(truncatingIfNeeded: ws.seed >> 32)]
            var py = MT19937(key: key.last == 0 ? [key[0]] : key)
            let a = Double(py.next32() >> 5), b = Double(py.next32() >> 6)
            let first = (a * 67_108_864 + b) * 0x1p-53
            #expect(first.bitPattern == (try w["python_random_first"].f64Bits[0]), "worker \(id) python seed")
        }
    }

    /// The live two-worker loader: base seed after torch.manual_seed(42), each
    /// worker's seed and first torch.rand(1).
    @Test func liveTwoWorkerCheck() throws {
        let v = try TorchFixtures.data()["live_two_worker_check"]
        var def = TorchGenerator(seed: 42)
        var loader = try TorchDataLoader(count: 4, batchSize: nil)
        let e = loader.epoch(defaultGenerator: &def)
        #expect(e.baseSeed == (try v["base_seed"].uint64))
        #expect(e.batches == [[0], [1], [2], [3]])
        for row in try v["rows"].array {
            let id = Int(try row[1].int64)
            let ws = try e.workerSeed(workerID: id)
            #expect(ws.seed == (try row[3].uint64))
            #expect(ws.torchGenerator.initialSeed == (try row[4].uint64))
        }
        // The first item each worker produces (rows 0 and 1) starts from a fresh torch generator.
        for row in try v["rows"].array.prefix(2) {
            var g = try e.workerSeed(workerID: Int(try row[1].int64)).torchGenerator
            #expect(try g.rand(count: 1)[0].bitPattern == UInt32(try row[7].uint64))
        }
    }

    @Test func sequentialAndBatchSamplers() throws {
        let d = try TorchFixtures.data()
        #expect(try TorchSequentialSampler(count: 7).indices().map(Int64.init) == (try d["SequentialSampler_range7"].ints))
        let b = try d["BatchSampler_seq10_bs3"]
        let idx = try TorchSequentialSampler(count: 10).indices()
        let want = { (k: String) throws -> [[Int]] in try b[k].array.map { try $0.array.map { Int(try $0.int64) } } }
        #expect(try TorchBatchSampler.batches(of: idx, batchSize: 3, dropLast: false) == want("drop_last_false"))
        #expect(try TorchBatchSampler.batches(of: idx, batchSize: 3, dropLast: true) == want("drop_last_true"))
        #expect(try TorchBatchSampler.batches(of: [], batchSize: 3, dropLast: false) == [])
        #expect(throws: TorchRandomError.invalidArgument(name: "batch_size", value: 0)) {
            try TorchBatchSampler.batches(of: idx, batchSize: 0, dropLast: false)
        }
    }

    @Test func subsetAndReplacementSamplers() throws {
        // SubsetRandomSampler without a generator permutes with the default generator directly.
        var def = TorchGenerator(seed: 42)
        var sub = TorchSubsetRandomSampler(indices: Array(stride(from: 100, to: 200, by: 10)))
        let order = sub.epoch(defaultGenerator: &def)
        var ref = TorchGenerator(seed: 42)
        #expect(order == (try ref.randperm(10)).map { 100 + 10 * Int($0) })
        #expect(def == ref)
        // With replacement: randint(0, n, 32) per chunk, then the remainder.
        var smp = try TorchRandomSampler(count: 7, numSamples: 40, replacement: true, generator: TorchGenerator(seed: 1))
        var unused = TorchGenerator()
        let drawn = smp.epoch(defaultGenerator: &unused)
        var g = TorchGenerator(seed: 1)
        let want = try g.randint(high: 7, count: 32) + g.randint(high: 7, count: 8)
        #expect(drawn.map(Int64.init) == want)
        // num_samples larger than n without replacement: full permutations, then a prefix.
        var big = try TorchRandomSampler(count: 5, numSamples: 12, generator: TorchGenerator(seed: 3))
        let o = big.epoch(defaultGenerator: &unused)
        var h = TorchGenerator(seed: 3)
        let w = try h.randperm(5) + h.randperm(5) + h.randperm(5).prefix(2)
        #expect(o.map(Int64.init) == w)
    }

    @Test func badArgumentsAreRefused() throws {
        #expect(throws: TorchRandomError.self) { try TorchRandomSampler(count: 0) }
        #expect(throws: TorchRandomError.self) { try TorchRandomSampler(count: 5, numSamples: 0) }
        #expect(throws: TorchRandomError.self) { try TorchDataLoader(count: 5, batchSize: 0) }
        #expect(throws: TorchRandomError.self) { try TorchDataLoader(count: -1) }
        #expect(throws: TorchRandomError.self) { try TorchSequentialSampler(count: -1) }
        #expect(throws: TorchRandomError.self) { try TorchWorkerSeed(baseSeed: 1 << 63, workerID: 0) }
        #expect(throws: TorchRandomError.self) { try TorchWorkerSeed(baseSeed: 5, workerID: -1) }
    }
}
