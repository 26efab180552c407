import Testing
import _ReproTestSupport
@testable import ReproRandom

/// `torch.nn.init` arithmetic. The layer vectors (`conv2d_3_8_3`, `linear_5_3`,
/// `init_normal_4x16_std0.01`) are checked in ``TorchDistributionTests``; the
/// expected doubles here were computed with CPython's `math` exactly as
/// `torch/nn/init.py` writes the formulas.
@Suite struct TorchInitTests {
    @Test func gainTable() throws {
        for nl in [TorchInit.Nonlinearity.linear, .conv1d, .conv2d, .conv3d, .convTranspose1d,
                   .convTranspose2d, .convTranspose3d, .sigmoid] {
            #expect(try TorchInit.calculateGain(nl) == 1)
        }
        #expect(try TorchInit.calculateGain(.tanh) == 1.6666666666666667)
        #expect(try TorchInit.calculateGain(.relu) == 1.4142135623730951)
        #expect(try TorchInit.calculateGain(.selu) == 0.75)
        #expect(try TorchInit.calculateGain(.leakyRelu) == 1.4141428569978354)
        #expect(try TorchInit.calculateGain(.leakyRelu, param: 5.0.squareRoot()) == 0.5773502691896257)
        // Python squares the slope with libm pow; here x*x would give 0.24927995368954659.
        let slope = Double(sign: .plus, exponent: 2, significand: Double("0x1.65663c051cd4ep+0")!)
        #expect(slope == 5.5843648958137475)
        #expect(try TorchInit.calculateGain(.leakyRelu, param: slope) == 0.2492799536895466)
        #expect(throws: TorchRandomError.self) { try TorchInit.calculateGain(.leakyRelu, param: .nan) }
    }

    @Test func fansAndBounds() throws {
        #expect(try TorchInit.fans(shape: [8, 3, 3, 3]) == (27, 72))
        #expect(try TorchInit.fans(shape: [3, 5]) == (5, 3))
        #expect(throws: TorchRandomError.fanNeedsTwoDimensions(shape: [5])) { try TorchInit.fans(shape: [5]) }
        #expect(try TorchInit.kaimingUniformBound(shape: [8, 3, 3, 3], a: 5.0.squareRoot()) == 0.19245008972987523)
        #expect(try TorchInit.kaimingUniformBound(shape: [64, 3, 7, 7], mode: .fanOut, nonlinearity: .relu)
            == 0.043740888263985325)
    }

    /// Each init is exactly one uniform_/normal_ call with the bound torch computes.
    @Test func fillsUseTheExactBounds() throws {
        var g = TorchGenerator(seed: 3407), ref = g
        var w = [Float](repeating: 0, count: 64 * 3 * 49)
        try TorchInit.kaimingNormal(&w, shape: [64, 3, 7, 7], mode: .fanOut, nonlinearity: .relu, using: &g)
        #expect(w == (try ref.normal(count: w.count, mean: 0, std: 0.02525381361380527)))
        #expect(g == ref)

        var x = [Float](repeating: 0, count: 15)
        try TorchInit.xavierUniform(&x, shape: [3, 5], using: &g)
        #expect(x == (try ref.uniform(count: 15, from: -0.8660254037844386, to: 0.8660254037844386)))

        var y = [Float](repeating: 0, count: 320)
        try TorchInit.xavierNormal(&y, shape: [16, 4, 5], gain: TorchInit.calculateGain(.tanh), using: &g)
        #expect(y == (try ref.normal(count: 320, mean: 0, std: 0.23570226039551584)))

        var z = [Float](repeating: 0, count: 216)
        try TorchInit.kaimingUniform(&z, shape: [8, 3, 3, 3], a: 5.0.squareRoot(), using: &g)
        #expect(z == (try ref.uniform(count: 216, from: -0.19245008972987523, to: 0.19245008972987523)))

        var u = [Float](repeating: 0, count: 10)
        try TorchInit.uniform(&u, from: -2, to: 3, using: &g)
        #expect(u == (try ref.uniform(count: 10, from: -2, to: 3)))
        #expect(g == ref)
    }

    @Test func constantsDrawNothing() throws {
        var g = TorchGenerator(seed: 1)
        var v = [Float](repeating: 7, count: 5)
        TorchInit.zeros(&v); #expect(v == [0, 0, 0, 0, 0])
        TorchInit.ones(&v); #expect(v == [1, 1, 1, 1, 1])
        TorchInit.constant(&v, 0.5); #expect(v == [0.5, 0.5, 0.5, 0.5, 0.5])
        var empty: [Float] = []
        try TorchInit.kaimingUniform(&empty, shape: [0, 3], using: &g)
        #expect(g == TorchGenerator(seed: 1))
    }

    @Test func layersDrawWeightThenBias() throws {
        var g = TorchGenerator(seed: 0), ref = g
        let p = try TorchInit.linear(inFeatures: 4, outFeatures: 2, bias: false, using: &g)
        #expect(p.bias == nil && p.weightShape == [2, 4])
        let lb = try TorchInit.kaimingUniformBound(shape: [2, 4], a: 5.0.squareRoot())
        #expect(p.weight == (try ref.uniform(count: 8, from: -lb, to: lb)))
        #expect(g == ref, "no bias, no bias draws")
        // Grouped conv: weight [out, in/groups, kh, kw], fan_in = in/groups * kh * kw.
        var h = TorchGenerator(seed: 5), href = h
        let c = try TorchInit.conv2d(inChannels: 4, outChannels: 6, kernelSize: (1, 3), groups: 2, using: &h)
        #expect(c.weightShape == [6, 2, 1, 3])
        let wb = try TorchInit.kaimingUniformBound(shape: [6, 2, 1, 3], a: 5.0.squareRoot())
        #expect(c.weight == (try href.uniform(count: 36, from: -wb, to: wb)))
        #expect(c.bias == (try href.uniform(count: 6, from: -1 / 6.0.squareRoot(), to: 1 / 6.0.squareRoot())))
        #expect(throws: TorchRandomError.self) {
            try TorchInit.conv2d(inChannels: 3, outChannels: 6, kernelSize: 3, groups: 2, using: &h)
        }
        #expect(throws: TorchRandomError.self) {
            try TorchInit.conv2d(inChannels: 3, outChannels: 6, kernelSize: 0, using: &h)
        }
    }

    @Test func badShapesAreRefused() throws {
        var g = TorchGenerator(seed: 0)
        var w = [Float](repeating: 0, count: 6)
        #expect(throws: TorchRandomError.shapeMismatch(shape: [2, 4], count: 6)) {
            try TorchInit.kaimingUniform(&w, shape: [2, 4], using: &g)
        }
        #expect(throws: TorchRandomError.self) { try TorchInit.xavierUniform(&w, shape: [6], using: &g) }
        #expect(throws: TorchRandomError.self) { try TorchInit.normal(&w, std: -1, using: &g) }
        #expect(g == TorchGenerator(seed: 0), "refused calls draw nothing")
    }
}

extension TorchInitTests {
    @Test func overflowingShapesAreRefused() throws {
        var g = TorchGenerator(seed: 0)
        #expect(throws: TorchRandomError.self) { try TorchInit.fans(shape: [2, Int.max / 2, 3]) }
        #expect(throws: TorchRandomError.self) { try TorchInit.fans(shape: [2, -1]) }
        #expect(throws: TorchRandomError.self) {
            try TorchInit.defaultLayer(weightShape: [Int.max / 2, 1, 4], using: &g)
        }
        #expect(throws: TorchRandomError.self) { try TorchInit.linear(inFeatures: -1, outFeatures: 2, using: &g) }
        // Linear(0, 3): empty weight, bias from uniform_(0, 0) (Python int 0, so
        // +0.0 — checked with torch 2.15): three draws, three +0.0.
        var h = TorchGenerator(seed: 0), ref = h
        let p = try TorchInit.linear(inFeatures: 0, outFeatures: 3, using: &h)
        #expect(p.weight.isEmpty && p.bias?.map(\.bitPattern) == [0, 0, 0])
        _ = ref.random(); _ = ref.random(); _ = ref.random()
        #expect(h == ref)
        #expect(g == TorchGenerator(seed: 0))
    }
}
