import Testing
import _ReproTestSupport
@testable import ReproRandom

/// `Tests/Fixtures/rng/torch_extra.json` (made by
/// `scripts/make_torch_extra_vectors.py` with torch 2.15.0, both CPU
/// capabilities): behaviour the shared vectors leave out.
@Suite struct TorchExtraVectorTests {
    static let seeds = ["0", "42", "3407"]

    @Test(arguments: seeds)
    func capabilityIndependent(seedKey: String) throws {
        let v = try Fixtures.json("rng/torch_extra.json")["capability_independent"][seedKey]
        let s = UInt64(seedKey)!
        var checked = 0
        for dtype in TorchDType.allCases where dtype != .int64 {
            let from: Int64 = dtype == .bool ? 0 : 3
            var g = TorchGenerator(seed: s)
            try g.randomValues(count: 6, from: from, to: nil, dtype: dtype).asInts
                .expectEqual(v["random__from\(from)_toNone_\(dtype.rawValue)_x6"], "\(seedKey) \(dtype)")
            checked += 1
        }
        var g = TorchGenerator(seed: s)
        try g.randomValues(count: 6, from: -100, to: 100, dtype: .int16).asInts
            .expectEqual(v["random__m100_100_int16_x6"], "int16 bounds")
        var unused = TorchGenerator()
        var r = try TorchRandomSampler(count: 7, numSamples: 40, replacement: true, generator: TorchGenerator(seed: s))
        try r.epoch(defaultGenerator: &unused).map(Int64.init).asInts
            .expectEqual(v["RandomSampler_range7_replacement_n40"], "replacement")
        var r2 = try TorchRandomSampler(count: 5, numSamples: 12, generator: TorchGenerator(seed: s))
        try r2.epoch(defaultGenerator: &unused).map(Int64.init).asInts
            .expectEqual(v["RandomSampler_range5_numsamples12"], "num_samples")
        var def = TorchGenerator(seed: s)
        var sub = TorchSubsetRandomSampler(indices: Array(stride(from: 100, to: 200, by: 10)))
        try sub.epoch(defaultGenerator: &def).map(Int64.init).asInts
            .expectEqual(v["SubsetRandomSampler_nogen_100to190"], "subset")
        g = TorchGenerator(seed: s)
        try TorchValues.ints(g.bernoulli(count: 16, probability: 0.3).map { Int64($0) })
            .expectEqual(v["bernoulli__scalar0.3_f64_x16"], "bernoulli scalar")
        checked += 5
        #expect(checked == v.keys.count)
    }

    @Test(arguments: TorchGenerator.Capability.allCases)
    func capabilityDependent(capability: TorchGenerator.Capability) throws {
        let section = try Fixtures.json("rng/torch_extra.json")["capability_dependent"][capability == .avx2 ? "AVX2" : "DEFAULT"]
        for seedKey in Self.seeds {
            let v = try section[seedKey]
            #expect(v.keys.count == 6)
            let s = UInt64(seedKey)!
            let ctx = "\(capability) \(seedKey)"
            func expectDigest(_ values: [Float], _ d: JSON, _ what: String) throws {
                #expect(values.count == Int(try d["count"].int64))
                try TorchValues.f32(Array(values.prefix(8))).expectEqual(d["first8"], "\(ctx) \(what)")
                #expect(sha256HexLittleEndian(values.map(\.bitPattern)) == (try d["sha256_f32le"].string), "\(ctx) \(what)")
            }
            var g = TorchGenerator(seed: s, capability: capability)
            var w = [Float](repeating: 0, count: 64 * 3 * 49)
            try TorchInit.kaimingNormal(&w, shape: [64, 3, 7, 7], mode: .fanOut, nonlinearity: .relu, using: &g)
            try expectDigest(w, v["kaiming_normal_64x3x7x7_fanout_relu"], "kaiming_normal")

            g = TorchGenerator(seed: s, capability: capability)
            var x = [Float](repeating: 0, count: 15)
            try TorchInit.xavierUniform(&x, shape: [3, 5], using: &g)
            try TorchValues.f32(x).expectEqual(v["xavier_uniform_3x5"], "\(ctx) xavier_uniform")

            g = TorchGenerator(seed: s, capability: capability)
            var y = [Float](repeating: 0, count: 320)
            try TorchInit.xavierNormal(&y, shape: [16, 4, 5], gain: TorchInit.calculateGain(.tanh), using: &g)
            try TorchValues.f32(y).expectEqual(v["xavier_normal_16x4x5_tanh"], "\(ctx) xavier_normal")

            g = TorchGenerator(seed: s, capability: capability)
            var k = [Float](repeating: 0, count: 2400)
            try TorchInit.kaimingUniform(&k, shape: [40, 60], a: 5.5843648958137475, using: &g)
            try expectDigest(k, v["kaiming_uniform_40x60_slope5.5843648958137475"], "kaiming_uniform slope")

            g = TorchGenerator(seed: s, capability: capability)
            let c = try TorchInit.conv2d(inChannels: 4, outChannels: 6, kernelSize: (1, 3), groups: 2, using: &g)
            try TorchValues.f32(c.weight).expectEqual(v["conv2d_4_6_1x3_groups2"]["weight"], "\(ctx) grouped conv weight")
            try TorchValues.f32(c.bias ?? []).expectEqual(v["conv2d_4_6_1x3_groups2"]["bias"], "\(ctx) grouped conv bias")

            g = TorchGenerator(seed: s, capability: capability)
            try TorchValues.f64(g.normal(count: 32, mean: 0.5, std: 0.3, contiguous: false, as: Double.self))
                .expectEqual(v["noncontiguous_normal_f64_mean0.5_std0.3"], "\(ctx) noncontiguous f64")
        }
    }
}
