import Testing
import ReproNN
import ReproTensor
import _ReproTestSupport

/// Every backward rule against PyTorch's autograd (fixtures from scripts/make_autograd_fixtures.py)
/// and against central finite differences.
@Suite struct AutogradOpsTests {
    /// Float32 against torch's float32: both sum in their own orders, so the gradients agree to a
    /// few ulps of the largest magnitude, not bit for bit. 2e-5 of the tensor's max magnitude.
    static let torchTolerance: Float = 2e-5

    typealias Op = (GradientTape, Variable, [String: Variable]) throws -> Variable

    /// Runs `op` on fixture case `name` with loss `Σ w·y` and compares every gradient to torch's.
    func check(_ name: String, params: [String] = [], _ op: Op) throws {
        let dict = try AutogradFixture.load("ops.safetensors")
        let x = try AutogradFixture.tensor(dict, "\(name).x")
        let tape = GradientTape(samples: 0..<x.shape[0])
        let xv = try tape.watched(x)
        var pv: [String: Variable] = [:]
        for p in params { pv[p] = try tape.parameter(p, AutogradFixture.tensor(dict, "\(name).\(p)", nhwc: false)) }
        let y = try op(tape, xv, pv)
        let w = try tape.constant(AutogradFixture.tensor(dict, "\(name).w"))
        #expect(y.shape == w.shape, "\(name): output shape")
        try tape.backward(from: (y * w).sum())
        let dx = try #require(tape.gradient(of: xv))
        let ex = try AutogradFixture.tensor(dict, "\(name).grad.x")
        let e = try AutogradFixture.relativeError(dx, ex)
        #expect(e <= Self.torchTolerance, "\(name): input gradient off by \(e)")
        for p in params {
            let g = try #require(tape.gradient(ofParameter: p))
            let e = try AutogradFixture.relativeError(g, AutogradFixture.tensor(dict, "\(name).grad.\(p)", nhwc: false))
            #expect(e <= Self.torchTolerance, "\(name): \(p) gradient off by \(e)")
        }
    }

    @Test func linear() throws {
        try check("linear", params: ["weight", "bias"]) { _, x, p in try x.linear(weight: p["weight"]!, bias: p["bias"]!) }
    }

    @Test func convolution() throws {
        try check("conv", params: ["weight", "bias"]) { _, x, p in
            try x.conv2d(weight: p["weight"]!, bias: p["bias"]!, stride: (2, 2), padding: (1, 1))
        }
        try check("convdil", params: ["weight"]) { _, x, p in
            try x.conv2d(weight: p["weight"]!, bias: nil, padding: (2, 2), dilation: (2, 2), groups: 2)
        }
    }

    @Test func pooling() throws {
        try check("maxpool") { _, x, _ in try x.maxPool2d(kernel: 3, stride: 2, padding: 1) }
        try check("avgpool") { _, x, _ in try x.adaptiveAvgPool2d(outputHeight: 3, outputWidth: 2) }
        try check("upsample") { _, x, _ in try x.upsampledNearest(height: 6, width: 8) }
    }

    /// The tape's max pool runs the training kernel: on windows holding several NaNs of distinct
    /// payloads it copies PyTorch's choice (the last NaN) bit for bit, and each output's gradient
    /// lands on torch's index (`Tests/Fixtures/gradkernels/maxpool_nan.json`).
    @Test func maxPoolKeepsPyTorchsNaN() throws {
        let cases = try Fixtures.json("gradkernels/maxpool_nan.json")["cases"].array
        #expect(!cases.isEmpty)
        for (i, c) in cases.enumerated() {
            func int(_ key: String) throws -> Int { Int(try c[key].int64) }
            func words(_ key: String) throws -> [UInt32] { try c[key].array.map { UInt32(try $0.uint64) } }
            let (n, ch, h, w) = (try int("batch"), try int("channels"), try int("height"), try int("width"))
            let tape = GradientTape(samples: 0..<n)
            let x = try tape.watched(Tensor(shape: [n, h, w, ch], scalars: try words("x").map(Float.init(bitPattern:))))
            let y = try x.maxPool2d(kernel: try int("kernel"), stride: try int("stride"), padding: try int("padding"))
            #expect(y.data.map(\.bitPattern) == (try words("y")), "case \(i): outputs")
            // Small integer weights: every gradient sum is exact, so it is pinned whatever the order.
            let weights = (0..<y.count).map { Float($0 % 5 - 2) }
            try tape.backward(from: (y * tape.constant(Tensor(shape: y.shape, scalars: weights))).sum())
            var want = [Float](repeating: 0, count: x.count)
            let plane = y.shape[1] * y.shape[2]
            for (o, index) in try c["indices"].array.enumerated() {
                let at = ((o / (plane * ch)) * h * w + Int(try index.int64)) * ch + o % ch
                want[at] += weights[o]
            }
            let dx: [Float] = try #require(tape.gradient(of: x)).scalars()
            #expect(dx.map(\.bitPattern) == want.map(\.bitPattern), "case \(i): gradient")
        }
    }

    @Test func normalization() throws {
        try check("bntrain", params: ["weight", "bias"]) { _, x, p in
            try x.batchNormTraining(weight: p["weight"]!, bias: p["bias"]!, eps: 1e-5).output
        }
        try check("bneval", params: ["weight", "bias"]) { _, x, p in
            try x.batchNormEvaluation(weight: p["weight"]!, bias: p["bias"]!, runningMean: [0.1, -0.2, 0.3],
                                      runningVariance: [0.5, 1.5, 2.0], eps: 1e-5)
        }
        try check("groupnorm", params: ["weight", "bias"]) { _, x, p in
            try x.groupNorm(groups: 2, weight: p["weight"]!, bias: p["bias"]!, eps: 1e-5)
        }
    }

    @Test func elementwise() throws {
        try check("logsoftmax") { _, x, _ in x.logSoftmax() }
        try check("softmax") { _, x, _ in x.softmax() }
        try check("sigmoid") { _, x, _ in x.sigmoid() }
        try check("exp") { _, x, _ in x.exp() }
        try check("log") { _, x, _ in x.log() }
        try check("relu") { _, x, _ in x.relu() }
    }

    // MARK: finite differences

    /// Central differences of `Σ_s loss_s` in float32 with step `h` on every input element and
    /// parameter element, against the analytic gradient. Float32 rounding of the loss (~1e-7
    /// relative) divided by `2h` and the `h²` truncation bound the error: the tolerance is
    /// 1e-2 of the gradient's max magnitude (plus 1e-3 absolute).
    func finiteDifferences(_ shape: [Int], params: [String: [Int]] = [:], h: Float = 1e-2, seed: UInt64 = 7,
                           _ op: @escaping Op) throws {
        var state = seed
        func values(_ n: Int) -> [Float] {
            (0..<n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
            }
        }
        var inputs: [String: [Float]] = ["x": values(shape.reduce(1, *))]
        for (k, s) in params.sorted(by: { $0.key < $1.key }) { inputs[k] = values(s.reduce(1, *)) }
        var shapes = params
        shapes["x"] = shape
        var outShape: [Int] = []
        let weights = values(4096)
        func run(_ v: [String: [Float]]) throws -> (loss: Float, grads: [String: [Float]]) {
            let tape = GradientTape(samples: 0..<shape[0])
            let x = try tape.watched(Tensor(shape: shape, scalars: v["x"]!))
            var pv: [String: Variable] = [:]
            for k in params.keys { pv[k] = try tape.parameter(k, Tensor(shape: shapes[k]!, scalars: v[k]!)) }
            let y = try op(tape, x, pv)
            outShape = y.shape
            let w = try tape.constant(Tensor(shape: y.shape, scalars: Array(weights.prefix(y.count))))
            let loss = try (y * w).sum()
            try tape.backward(from: loss)
            var grads: [String: [Float]] = ["x": try tape.gradient(of: x)!.scalars()]
            for k in params.keys { grads[k] = try tape.gradient(ofParameter: k)!.scalars() }
            return (loss.data.reduce(0, +), grads)
        }
        let analytic = try run(inputs).grads
        #expect(outShape.reduce(1, *) <= weights.count)
        for (k, a) in analytic.sorted(by: { $0.key < $1.key }) {
            let scale = a.map { abs($0) }.max() ?? 0
            for i in a.indices {
                var plus = inputs, minus = inputs
                plus[k]![i] += h
                minus[k]![i] -= h
                let numeric = (try run(plus).loss - run(minus).loss) / (2 * h)
                #expect(abs(numeric - a[i]) <= 1e-2 * scale + 1e-3, "\(k)[\(i)]: analytic \(a[i]), numeric \(numeric)")
            }
        }
    }

    @Test func finiteDifferencesOfLayers() throws {
        try finiteDifferences([2, 5], params: ["w": [3, 5], "b": [3]]) { _, x, p in try x.linear(weight: p["w"]!, bias: p["b"]!) }
        try finiteDifferences([2, 5, 4, 4], params: ["w": [6, 2, 3, 3], "b": [6]]) { _, x, p in
            try x.conv2d(weight: p["w"]!, bias: p["b"]!, stride: (2, 1), padding: (1, 1), groups: 2)
        }
        try finiteDifferences([3, 3, 2, 4], params: ["g": [4], "b": [4]], h: 1e-2) { _, x, p in
            try x.batchNormTraining(weight: p["g"]!, bias: p["b"]!, eps: 1e-5).output
        }
        try finiteDifferences([2, 3, 2, 4], params: ["g": [4], "b": [4]]) { _, x, p in
            try x.groupNorm(groups: 2, weight: p["g"]!, bias: p["b"]!, eps: 1e-5)
        }
        try finiteDifferences([2, 5, 4, 3], params: ["c": [3]]) { _, x, p in try (x * p["c"]!) + p["c"]! }
    }

    @Test func finiteDifferencesOfShapesAndReductions() throws {
        try finiteDifferences([2, 7]) { _, x, _ in x.logSoftmax() }
        try finiteDifferences([2, 7]) { _, x, _ in x.softmax() }
        try finiteDifferences([2, 7]) { _, x, _ in x.sigmoid().exp() }
        try finiteDifferences([2, 7]) { _, x, _ in x.squared().mean() }
        try finiteDifferences([2, 5, 3, 2]) { _, x, _ in try x.adaptiveAvgPool2d(outputHeight: 2, outputWidth: 2) }
        try finiteDifferences([2, 2, 3, 2]) { _, x, _ in try x.upsampledNearest(height: 4, width: 6) }
        try finiteDifferences([2, 4, 4, 2], h: 1e-3) { _, x, _ in try x.maxPool2d(kernel: 2, stride: 2, padding: 0) }
        try finiteDifferences([2, 3, 4]) { _, x, _ in
            let a = try x.sliced(axis: 2, range: 1..<3), b = try x.permuted([0, 2, 1]).reshaped([2, 12])
            return try Variable.concatenated([a.flattened(), b], axis: 1)
        }
    }
}
