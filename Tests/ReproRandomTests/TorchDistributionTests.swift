import Testing
import _ReproTestSupport
@testable import ReproRandom

/// Every vector of `torch_cpu.json`, bit for bit, for all seeds.
@Suite struct TorchDistributionTests {
    /// `capability_independent.per_seed`: chains follow the recipes exactly.
    @Test(arguments: TorchFixtures.seedKeys)
    func capabilityIndependent(seedKey: String) throws {
        let v = try TorchFixtures.cpu()["capability_independent"]["per_seed"][seedKey]
        let s = TorchFixtures.seed(seedKey)
        var checked: Set<String> = ["mt_raw32_first20", "initial_seed"]  // TorchGeneratorTests
        func check(_ key: String, _ got: TorchValues) throws {
            try got.expectEqual(v[key], "seed \(seedKey) \(key)")
            checked.insert(key)
        }

        var g = TorchGenerator(seed: s)
        try check("rand_7", .f32(g.rand(count: 7)))
        try check("rand_40_after_rand_7", .f32(g.rand(count: 40)))
        try check("rand_5_f64_after_rand_40", .f64(g.rand(count: 5, as: Double.self)))

        g = TorchGenerator(seed: s)
        let chain = try v["randn_7_then_randn_1_then_rand_1"]
        try TorchValues.f32(g.randn(count: 7)).expectEqual(chain["randn_7"], "seed \(seedKey) randn_7")
        #expect(g.cachedNormal != nil)
        let before = g.engine
        try TorchValues.f32(g.randn(count: 1)).expectEqual(chain["randn_1_from_cache"], "seed \(seedKey) cache")
        #expect(g.engine == before, "a cached normal draws nothing")
        try TorchValues.f32(g.rand(count: 1)).expectEqual(chain["rand_1"], "seed \(seedKey) rand_1")
        checked.insert("randn_7_then_randn_1_then_rand_1")

        g = TorchGenerator(seed: s)
        try check("randint_0_10_x20", g.randint(low: 0, high: 10, count: 20).asInts)
        try check("randint_0_2p40_x5", g.randint(low: 0, high: 1 << 40, count: 5).asInts)
        try check("randint_0_2p28m1_x3", g.randint(low: 0, high: (1 << 28) - 1, count: 3).asInts)
        try check("randint_0_2p28_x3", g.randint(low: 0, high: 1 << 28, count: 3).asInts)
        try check("randint_m10_10_x6", g.randint(low: -10, high: 10, count: 6).asInts)

        g = TorchGenerator(seed: s)
        try check("randperm_10", g.randperm(10).asInts)
        try check("randperm_100_after_10", g.randperm(100).asInts)
        let p5000 = try g.randperm(5000)
        try expectPermutationDigest(p5000, v["randperm_5000_after_100"], "seed \(seedKey) randperm_5000_after_100")
        checked.insert("randperm_5000_after_100")

        g = TorchGenerator(seed: s)
        try check("bernoulli_full32_0.3_f32", .ints(g.bernoulli(probabilities: [Float](repeating: 0.3, count: 32)).map { Int64($0) }))
        try check("bernoulli__scalar0.3_x32_after", .ints(g.bernoulli(count: 32, probability: 0.3).map { Int64($0) }))
        try check("bernoulli__f64tensor0.3_x8_after", .ints(g.bernoulli(probabilities: [Double](repeating: 0.3, count: 8)).map { Int64($0) }))

        g = TorchGenerator(seed: s)
        try check("int64_scalar_random_", g.randomValues(count: 1, dtype: .int64).asInts)
        try check("int32_random_x3_after", g.randomValues(count: 3, dtype: .int32).asInts)
        g = TorchGenerator(seed: s)
        #expect(g.randomInt64() == (try v["int64_scalar_random_"].ints[0]))

        let byDType = try v["random__no_args_x4_by_dtype"]
        #expect(Set(byDType.keys) == Set(TorchDType.allCases.filter { $0 != .int32 && $0 != .int64 }.map(\.rawValue)))
        for name in byDType.keys {
            var h = TorchGenerator(seed: s)
            try h.randomValues(count: 4, dtype: TorchDType(rawValue: name)!).asInts
                .expectEqual(byDType[name], "seed \(seedKey) random_ \(name)")
        }
        checked.insert("random__no_args_x4_by_dtype")

        g = TorchGenerator(seed: s)
        try check("random__from5_toNone_int64_x4", g.randomValues(count: 4, from: 5, to: nil).asInts)
        g = TorchGenerator(seed: s)
        try check("random__5_means_to5_int64_x4", g.randomValues(count: 4, from: 0, to: 5).asInts)

        let fresh = try v["fresh_seed_each"]
        g = TorchGenerator(seed: s)
        try TorchValues.f32(g.rand(count: 40)).expectEqual(fresh["rand_40"], "fresh rand_40")
        g = TorchGenerator(seed: s)
        try TorchValues.f64(g.rand(count: 5, as: Double.self)).expectEqual(fresh["rand_5_f64"], "fresh rand_5_f64")
        g = TorchGenerator(seed: s)
        try g.randint(high: 1 << 40, count: 5).asInts.expectEqual(fresh["randint_0_2p40_x5"], "fresh randint")
        g = TorchGenerator(seed: s)
        try g.randperm(100).asInts.expectEqual(fresh["randperm_100"], "fresh randperm_100")
        g = TorchGenerator(seed: s)
        try expectPermutationDigest(g.randperm(5000), fresh["randperm_5000"], "fresh randperm_5000")
        #expect(fresh.keys.count == 5)
        checked.insert("fresh_seed_each")

        #expect(Set(v.keys) == checked, "every vector of seed \(seedKey) is checked")
    }

    func expectPermutationDigest(_ p: [Int64], _ v: JSON, _ context: String) throws {
        #expect(p.prefix(20).map { $0 } == (try v["first20"].array.map { try $0.int64 }), "\(context)")
        var bytes: [UInt8] = []
        for x in p { withUnsafeBytes(of: x.littleEndian) { bytes += $0 } }
        #expect(sha256Hex(bytes) == (try v["sha256_int64le"].string), "\(context)")
    }

    /// The non-contiguous `normal_` takes the scalar path and fills memory order.
    @Test func noncontiguousNormal() throws {
        let v = try TorchFixtures.cpu()["capability_independent"]["noncontiguous_normal_"]
        for cap in TorchGenerator.Capability.allCases {
            var g = TorchGenerator(seed: 3, capability: cap)
            try TorchValues.f32(g.normal(count: 32, mean: 0, std: 1, contiguous: false))
                .expectEqual(v["storage_order_values"], "noncontiguous \(cap)")
            var h = TorchGenerator(seed: 3, capability: cap)
            #expect(try h.normal(count: 32, mean: 0, std: 1).map(\.bitPattern) != (try v["storage_order_values"].f32Bits))
        }
    }

    /// Computes one `capability_dependent` per-seed key.
    static func dependent(_ key: String, seed: UInt64, _ cap: TorchGenerator.Capability, _ v: JSON) throws {
        var g = TorchGenerator(seed: seed, capability: cap)
        let ctx = "\(cap) seed \(seed) \(key)"
        switch key {
        case "randn_7": try TorchValues.f32(g.randn(count: 7)).expectEqual(v, ctx)
        case "randn_17": try TorchValues.f32(g.randn(count: 17)).expectEqual(v, ctx)
        case "randn_40": try TorchValues.f32(g.randn(count: 40)).expectEqual(v, ctx)
        case "randn_20_f64": try TorchValues.f64(g.randn(count: 20, as: Double.self)).expectEqual(v, ctx)
        case "normal_32_mean0.5_std2": try TorchValues.f32(g.normal(count: 32, mean: 0.5, std: 2)).expectEqual(v, ctx)
        case "normal_5_mean0.5_std2": try TorchValues.f32(g.normal(count: 5, mean: 0.5, std: 2)).expectEqual(v, ctx)
        case "normal_32_mean0.5_std0.3": try TorchValues.f32(g.normal(count: 32, mean: 0.5, std: 0.3)).expectEqual(v, ctx)
        case "normal_5_mean0.5_std0.3": try TorchValues.f32(g.normal(count: 5, mean: 0.5, std: 0.3)).expectEqual(v, ctx)
        case "normal_5_f64_mean0.5_std0.3":
            try TorchValues.f64(g.normal(count: 5, mean: 0.5, std: 0.3, as: Double.self)).expectEqual(v, ctx)
        case "normal_32_f64_mean0.5_std0.3":
            try TorchValues.f64(g.normal(count: 32, mean: 0.5, std: 0.3, as: Double.self)).expectEqual(v, ctx)
        case "uniform_16_m0.3_0.7": try TorchValues.f32(g.uniform(count: 16, from: -0.3, to: 0.7)).expectEqual(v, ctx)
        case "uniform_16_m0.37_0.81": try TorchValues.f32(g.uniform(count: 16, from: -0.37, to: 0.81)).expectEqual(v, ctx)
        case "uniform_40_m0.37_0.81": try TorchValues.f32(g.uniform(count: 40, from: -0.37, to: 0.81)).expectEqual(v, ctx)
        case "uniform_40_1000000_1000000.5":
            let u = try g.uniform(count: 40, from: 1_000_000, to: 1_000_000.5)
            try TorchValues.f32(u).expectEqual(v, ctx)
            let fired = try v["guard_fired_at"].array.map { Int(try $0.int64) }
            for i in fired { #expect(u[i] == 1_000_000, "\(ctx) guard at \(i)") }
        case "uniform_8_f64_2.5_3.75":
            try TorchValues.f64(g.uniform(count: 8, from: 2.5, to: 3.75, as: Double.self)).expectEqual(v, ctx)
        case "init_normal_4x16_std0.01":
            var w = [Float](repeating: 0, count: 64)
            try TorchInit.normal(&w, std: 0.01, using: &g)
            try TorchValues.f32(w).expectEqual(v, ctx)
        case "conv2d_3_8_3":
            let p = try TorchInit.conv2d(inChannels: 3, outChannels: 8, kernelSize: 3, using: &g)
            #expect(p.weightShape == (try v["weight_shape"].array.map { Int(try $0.int64) }))
            try TorchValues.f32(p.weight).expectEqual(v["weight"], ctx + " weight")
            try TorchValues.f32(p.bias ?? []).expectEqual(v["bias"], ctx + " bias")
            let wb = try TorchInit.kaimingUniformBound(shape: p.weightShape, a: 5.0.squareRoot())
            #expect(wb == Double(try v["weight_bound_f64"].string)!)
            #expect(1 / 27.0.squareRoot() == Double(try v["bias_bound_f64"].string)!)
        case "linear_5_3":
            let p = try TorchInit.linear(inFeatures: 5, outFeatures: 3, using: &g)
            #expect(p.weightShape == (try v["weight_shape"].array.map { Int(try $0.int64) }))
            try TorchValues.f32(p.weight).expectEqual(v["weight"], ctx + " weight")
            try TorchValues.f32(p.bias ?? []).expectEqual(v["bias"], ctx + " bias")
        default:
            Issue.record("unknown capability-dependent vector \(key)")
        }
    }

    /// `capability_dependent.{AVX2, DEFAULT}.per_seed`; DEFAULT lists only the
    /// keys that differ, every other key must equal the AVX2 vector.
    @Test(arguments: TorchGenerator.Capability.allCases)
    func capabilityDependent(capability: TorchGenerator.Capability) throws {
        let sections = try TorchFixtures.cpu()["capability_dependent"]
        let avx2 = try sections["AVX2"]["per_seed"]
        let own = try sections[capability == .avx2 ? "AVX2" : "DEFAULT"]["per_seed"]
        #expect(avx2.keys == TorchFixtures.seedKeys.sorted())
        var count = 0
        for seedKey in TorchFixtures.seedKeys {
            let keys = try avx2[seedKey].keys
            #expect(keys.count == 18)
            for key in keys {
                let vector = try own[seedKey].has(key) ? own[seedKey][key] : avx2[seedKey][key]
                try Self.dependent(key, seed: TorchFixtures.seed(seedKey), capability, vector)
                count += 1
            }
            for key in try own[seedKey].keys { #expect(keys.contains(key)) }
        }
        #expect(count == 108)
    }

    /// `digests`: SHA-256 of `randn(65536)` and of the kaiming-bound
    /// `uniform_(±0.19245008972987523)` of 65536 values, seed 0, per capability.
    @Test(arguments: TorchGenerator.Capability.allCases)
    func digests(capability: TorchGenerator.Capability) throws {
        let d = try TorchFixtures.cpu()["capability_dependent"][capability == .avx2 ? "AVX2" : "DEFAULT"]["digests"]
        func hash(_ v: [Float]) -> String {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(v.count * 4)
            for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes += $0 } }
            return sha256Hex(bytes)
        }
        var g = TorchGenerator(seed: 0, capability: capability)
        #expect(hash(try g.randn(count: 65536)) == (try d["randn_65536_seed0_sha256_f32le"].string))
        g = TorchGenerator(seed: 0, capability: capability)
        let bound = 0.19245008972987523
        #expect(try TorchInit.kaimingUniformBound(shape: [8, 3, 3, 3], a: 5.0.squareRoot()) == bound)
        #expect(hash(try g.uniform(count: 65536, from: -bound, to: bound))
            == (try d["uniform_65536_pm0.19245008972987523_seed0_sha256_f32le"].string))
    }
}
