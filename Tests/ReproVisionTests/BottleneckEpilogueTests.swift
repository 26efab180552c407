import ReproNN
import ReproRandom
import ReproTensor
import ReproVision
import Testing

/// A `Bottleneck` in a pass nobody observes adds its shortcut and applies its final ReLU in
/// `conv3`'s GEMM epilogue; an observed pass runs them separately and reports both outputs.
/// Every stage's output must be the same bits either way.
@Suite struct BottleneckEpilogueTests {
    @Test func unobservedStagesEqualObservedOnes() throws {
        var c = ResNetConfiguration.resnet50
        c.layers = [2, 1, 1, 1]
        c.numClasses = 10
        let model = try ResNet(configuration: c, seed: 3)
        var g = TorchGenerator(seed: 4)
        // 2 × 56 × 72: layer1's conv3 runs a 2·14·18 = 504-row GEMM (several row blocks).
        let x = try Tensor(shape: [2, 56, 72, 3], scalars: try g.rand(count: 2 * 56 * 72 * 3))
        let plain = try model.features(x, in: .root)
        final class Log: @unchecked Sendable { var paths: [String] = [] }
        let log = Log()
        let observed = try model.features(x, in: ModuleScope(observer: { path, _ in log.paths.append(path) }))
        #expect(plain.stages.count == 4 && observed.stages.count == 4)
        for (a, b) in zip(plain.stages, observed.stages) {
            #expect(try a.scalars(as: Float.self).map(\.bitPattern) == b.scalars(as: Float.self).map(\.bitPattern))
        }
        // The observed pass still reports conv3's own output (under bn3) and the block's.
        #expect(log.paths.contains("layer1.0.bn3") && log.paths.contains("layer1.0"))
        // Some outputs are clamped by the block's ReLU, some are not.
        let last = try plain.stages[3].scalars(as: Float.self)
        #expect(last.contains(0) && last.contains { $0 > 0 })
    }
}
