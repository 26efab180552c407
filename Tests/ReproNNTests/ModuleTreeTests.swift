import ReproRandom
import ReproTensor
import Testing
@testable import ReproNN

/// A small composite for the walk: `features` (Sequential conv → BN → ReLU), `norm` (frozen), `fc`.
struct TinyNet: Layer {
    var features: Sequential
    var frozen: FrozenBatchNorm2d
    var fc: Linear

    init(generator g: inout TorchGenerator) throws {
        features = Sequential([try Conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, bias: false, generator: &g),
                               try BatchNorm2d(numFeatures: 3), ReLU()])
        frozen = try FrozenBatchNorm2d(numFeatures: 3)
        fc = try Linear(inFeatures: 3, outFeatures: 2, generator: &g)
        try prepare(in: .root)
    }

    mutating func walk<V: ModuleVisitor>(_ walker: inout ModuleWalker<V>) throws(ModuleError) {
        try walker.child("features", &features)
        try walker.child("frozen", &frozen)
        try walker.child("fc", &fc)
    }

    mutating func prepare(in scope: ModuleScope) throws(ModuleError) {
        try features.prepare(in: scope.child("features"))
        try frozen.prepare(in: scope.child("frozen"))
        try fc.prepare(in: scope.child("fc"))
    }

    func forward(_ input: Tensor, in scope: ModuleScope) throws(ModuleError) -> Tensor {
        let f = try frozen.forward(features.forward(input, in: scope.child("features")), in: scope.child("frozen"))
        let pooled = try AdaptiveAvgPool2d().forward(f, in: scope.child("pool"))
        let flat = try scope.run { () throws(TensorError) in try pooled.reshaped([pooled.shape[0], pooled.shape[3]]) }
        return try fc.forward(flat, in: scope.child("fc"))
    }
}

@Suite struct ModuleTreeTests {
    static func floats(_ shape: [Int], _ value: Float = 1) throws -> CheckpointTensor {
        let n = shape.reduce(1, *)
        return try CheckpointTensor(dtype: .float32, shape: shape,
                                    bytes: (0..<n).flatMap { _ in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) })
    }

    static func int64(_ v: Int64) throws -> CheckpointTensor {
        try CheckpointTensor(dtype: .int64, shape: [], bytes: withUnsafeBytes(of: v.littleEndian, Array.init))
    }

    static func model() throws -> TinyNet {
        var g = TorchGenerator(seed: 0)
        return try TinyNet(generator: &g)
    }

    /// The complete state dict of TinyNet, every float `value`.
    static func fullDict(_ value: Float = 2, dropping: Set<String> = [], extra: [(String, CheckpointTensor)] = []) throws -> StateDict {
        let entries = try model().parameterSpecs.filter { !dropping.contains($0.name) }.map { s in
            (s.name, s.dtype == .int64 ? try int64(7) : try floats(s.shape, value))
        }
        return StateDict(entries + extra)
    }

    @Test func walkYieldsStateDictOrderNamesAndKinds() throws {
        let specs = try Self.model().parameterSpecs
        #expect(specs.map(\.name) == [
            "features.0.weight",
            "features.1.weight", "features.1.bias", "features.1.running_mean", "features.1.running_var", "features.1.num_batches_tracked",
            "frozen.weight", "frozen.bias", "frozen.running_mean", "frozen.running_var",
            "fc.weight", "fc.bias",
        ])
        #expect(specs.map(\.isBuffer) == [false, false, false, true, true, true, true, true, true, true, false, false])
        #expect(specs[5].dtype == .int64 && specs[5].shape == [])
        #expect(try Self.model().parameterCount == 2 * 3 * 9 + 3 + 3 + 3 * 2 + 2)
    }

    @Test func constructionDrawsMatchTorchInitInOrder() throws {
        // Conv2d(2, 3, 3, bias=False) then Linear(3, 2): weight, then weight and bias, from one generator.
        var g = TorchGenerator(seed: 0)
        let conv = try TorchInit.conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, bias: false, using: &g)
        let fc = try TorchInit.linear(inFeatures: 3, outFeatures: 2, using: &g)
        let values = try Self.model().stateDict
        #expect(try values["features.0.weight"]?.scalars(as: Float.self).map(\.bitPattern) == conv.weight.map(\.bitPattern))
        #expect(try values["fc.weight"]?.scalars(as: Float.self).map(\.bitPattern) == fc.weight.map(\.bitPattern))
        #expect(try values["fc.bias"]?.scalars(as: Float.self).map(\.bitPattern) == fc.bias?.map(\.bitPattern))
    }

    @Test func exactLoadReplacesEveryValueAndIgnoresFrozenCounters() throws {
        var m = try Self.model()
        let report = try m.load(stateDict: Self.fullDict(extra: [("frozen.num_batches_tracked", try Self.int64(3))]))
        #expect(report.isExact && report.loaded == 12)
        #expect(report.ignored == ["frozen.num_batches_tracked"])
        #expect(try m.stateDict["fc.bias"]?.scalars(as: Float.self) == [2, 2])
        #expect(try m.stateDict["features.1.num_batches_tracked"]?.scalars(as: Int64.self) == [7])
    }

    @Test func strictLoadNamesMissingAndUnexpectedKeysAndChangesNothing() throws {
        var m = try Self.model()
        let before = m.stateDict
        let dict = try Self.fullDict(dropping: ["fc.bias"], extra: [("fc.extra", try Self.floats([4]))])
        #expect(throws: ModuleError.incompatibleStateDict(LoadReport(missing: ["fc.bias"], unexpected: ["fc.extra"], matched: 11))) {
            _ = try m.load(stateDict: dict)
        }
        for (k, v) in before {
            #expect(m.stateDict[k]?.bitsHash == v.bitsHash, "\(k) changed by a failed load")
        }
    }

    @Test func nonStrictLoadKeepsMissingValues() throws {
        var m = try Self.model()
        let oldBias = try #require(m.stateDict["fc.bias"])
        let report = try m.load(stateDict: Self.fullDict(dropping: ["fc.bias"]), strict: false)
        #expect(report.missing == ["fc.bias"] && report.loaded == 11)
        #expect(m.stateDict["fc.bias"]?.bitsHash == oldBias.bitsHash)
        #expect(try m.stateDict["fc.weight"]?.scalars(as: Float.self) == [Float](repeating: 2, count: 6))
    }

    @Test func shapeMismatchIsAnErrorEvenWhenNotStrictAndNothingChanges() throws {
        var m = try Self.model()
        let before = try #require(m.stateDict["fc.weight"]).bitsHash
        let full = try Self.fullDict()
        let wide = try Self.floats([3, 3])
        let entries = full.keys.compactMap { k in full[k].map { (k, k == "fc.weight" ? wide : $0) } }
        #expect(throws: ModuleError.incompatibleStateDict(LoadReport(
            shapeMismatches: [.init(key: "fc.weight", expected: [2, 3], actual: [3, 3])], matched: 11))) {
            _ = try m.load(stateDict: StateDict(entries), strict: false)
        }
        #expect(m.stateDict["fc.weight"]?.bitsHash == before)
    }

    @Test func float64TensorsAreRefusedAndFloatCountersConverted() throws {
        var m = try Self.model()
        let f64 = StateDict([("fc.bias", try CheckpointTensor(dtype: .float64, shape: [2], bytes: [UInt8](repeating: 0, count: 16)))])
        #expect(throws: ModuleError.unsupportedDType(key: "fc.bias", dtype: "float64")) { _ = try m.load(stateDict: f64, strict: false) }
        let counter = StateDict([("features.1.num_batches_tracked", try CheckpointTensor(dtype: .float32, shape: [],
                                                                                          bytes: withUnsafeBytes(of: Float(5).bitPattern.littleEndian, Array.init)))])
        _ = try m.load(stateDict: counter, strict: false)
        #expect(try m.stateDict["features.1.num_batches_tracked"]?.scalars(as: Int64.self) == [5])
    }

    @Test func fusedSequentialEqualsTheLayersRunOneByOne() throws {
        var g = TorchGenerator(seed: 3)
        var conv = try Conv2d(inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1, generator: &g)
        var bn = try BatchNorm2d(numFeatures: 3)
        bn.runningMean = try Tensor(shape: [3], scalars: [Float(0.1), -0.2, 0.3])
        bn.runningVar = try Tensor(shape: [3], scalars: [Float(0.5), 1.5, 2])
        var fused = Sequential([conv, bn, ReLU()])
        try fused.prepare(in: .root)
        try conv.prepare(in: .root)
        try bn.prepare(in: .root)
        let x = try Tensor(shape: [1, 4, 5, 2], scalars: try g.rand(count: 40))
        let oneByOne = try ReLU()(bn(conv(x)))
        let y = try fused(x)
        // Folding computes x·(γ/σ) + shift inside the convolution's epilogue: the same two roundings
        // after the same accumulation, so the bits agree here (ReLU of a value is exact).
        let a: [Float] = try y.scalars(), b: [Float] = try oneByOne.scalars()
        #expect(a.count == 60)
        for i in a.indices { #expect(abs(a[i] - b[i]) <= 1e-6 * max(1, abs(b[i])), "element \(i)") }
    }

    @Test func hookSeesEveryModuleOutputInOrder() throws {
        let m = try Self.model()
        final class Log: @unchecked Sendable { var paths: [String] = [] }
        let log = Log()
        let x = try Tensor(shape: [1, 3, 3, 2], scalars: [Float](repeating: 0.5, count: 18))
        let y = try m.forward(x, in: ModuleScope(observer: { path, _ in log.paths.append(path) }))
        #expect(y.shape == [1, 2])
        #expect(log.paths == ["features.2", "features", "frozen", "pool", "fc"])
    }

    @Test func failuresNameTheModulePath() throws {
        let m = try Self.model()
        let wrongChannels = try Tensor(shape: [1, 3, 3, 5], scalars: [Float](repeating: 0, count: 45))
        do {
            _ = try m.forward(wrongChannels, in: .root)
            Issue.record("a 5-channel input ran through a 2-channel convolution")
        } catch {
            guard case .layer(let path, _) = error else { Issue.record("expected a layer error, got \(error)"); return }
            #expect(path == "features.0")
            #expect(error.description.hasPrefix("features.0: "))
        }
        var conv = try Conv2d(weight: try Tensor(zeros: [2, 2, 1, 1]))
        #expect(throws: ModuleError.notPrepared(path: "")) { _ = try conv(wrongChannels) }
        try conv.prepare(in: ModuleScope(path: "stem"))
        #expect(throws: ModuleError.self) { _ = try conv.forward(wrongChannels, in: ModuleScope(path: "stem")) }
    }

    @Test func invalidLayerArgumentsAreTypedErrors() {
        var g = TorchGenerator(seed: 0)
        #expect(throws: ModuleError.self) { _ = try Conv2d(inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2, generator: &g) }
        #expect(throws: ModuleError.self) { _ = try Conv2d(weight: try Tensor(zeros: [2, 2])) }
        #expect(throws: ModuleError.self) { _ = try GroupNorm(numGroups: 3, numChannels: 8) }
        #expect(throws: ModuleError.self) { _ = try BatchNorm2d(numFeatures: 0) }
        #expect(throws: ModuleError.self) { _ = try Linear(inFeatures: -1, outFeatures: 2, generator: &g) }
    }
}
