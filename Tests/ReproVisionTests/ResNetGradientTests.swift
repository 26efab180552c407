import Testing
import ReproNN
import ReproTensor
import ReproVision
import _ReproTestSupport

/// A small torchvision-BasicBlock ResNet in training mode against PyTorch's autograd.
@Suite struct ResNetGradientTests {
    /// Float32 against torch's float32 through 12 convolutions, 12 batch norms and a
    /// cross-entropy: both sum in their own orders, measured worst ≈ 2e-6 of a tensor's max
    /// magnitude; the bound is 1e-4 of each tensor's max magnitude.
    static let tolerance: Float = 1e-4

    @Test func smallResNetMatchesTorch() throws {
        let dict = try TorchGradientFixture.load("small_resnet.safetensors")
        var config = ResNetConfiguration(block: .basic, layers: [1, 1, 1, 1])
        config.planes = [8, 16, 16, 16]
        config.stemChannels = 8
        config.numClasses = 10
        var model = try ResNet(configuration: config, seed: 0)
        let entries = try dict.keys.filter { $0.hasPrefix("model.") }.map { key in (String(key.dropFirst(6)), try dict.tensor(key)) }
        _ = try model.load(stateDict: StateDict(entries), strict: true)
        let images = try TorchGradientFixture.tensor(dict, "input", nhwc: true)
        let targets: [Int64] = try TorchGradientFixture.tensor(dict, "target").scalars()
        let result = try valueAndGradient(of: model, batchSize: 4) { model, scope in
            try model.forward(scope.constant(samplesOf: images), in: scope).crossEntropy(targets: targets.map { Int($0) })
        }
        let loss: [Float] = try TorchGradientFixture.tensor(dict, "loss").scalars()
        #expect(abs(result.loss - loss[0]) <= 1e-5 * abs(loss[0]), "loss \(result.loss) vs \(loss[0])")
        let names = model.parameterSpecs.filter { !$0.isBuffer }.map(\.name)
        #expect(result.gradients.names == names)
        var worst: Float = 0
        for k in names {
            let e = try maxRelativeDifference(result.gradients[k]!.scalars(), TorchGradientFixture.tensor(dict, "grad.\(k)").scalars())
            worst = max(worst, e)
            #expect(e <= Self.tolerance, "\(k): \(e)")
        }
        print("ResNetGradientTests worst relative gradient error \(worst)")
        for (k, v) in result.bufferUpdates where !k.hasSuffix("num_batches_tracked") {
            let e = try maxRelativeDifference(v.scalars(), TorchGradientFixture.tensor(dict, "after.\(k)").scalars())
            #expect(e <= 1e-5, "\(k): \(e)")
        }
        #expect(result.bufferUpdates.count == 3 * 12)   // bn1, two per block, three downsample norms
    }
}
