import Testing
import ReproNN
import ReproRandom
import ReproTensor
import _ReproTestSupport

/// Freezing, groups, modes and the typed errors of the autograd API.
@Suite struct AutogradAPITests {
    @Test func frozenParametersHaveNoGradientAndTheRestIsUnchanged() throws {
        let model = try SmallCNN(batchNorm: false)
        let batch = try SmallCNN.batch()
        var selection = GradientSelection()
        selection.freeze(prefix: "features")
        selection.thaw(prefix: "features.3")
        let all = try model.gradients(batch, microBatches: [8], options: GradientOptions(mode: .evaluation))
        let some = try model.gradients(batch, microBatches: [8], options: GradientOptions(mode: .evaluation, selection: selection))
        #expect(some.gradients.names == ["features.3.weight", "features.4.weight", "features.4.bias", "fc.weight", "fc.bias"]
            .filter { selection.requiresGradient($0) })
        #expect(some.gradients["features.0.weight"] == nil)
        for k in some.gradients.names { #expect(some.gradients[k]!.bitsHash == all.gradients[k]!.bitsHash, "\(k)") }
        #expect(some.loss.bitPattern == all.loss.bitPattern)
    }

    /// The rules capture variables, which reference their tape; the backward pass drops each rule
    /// once it ran (freeing the activations it kept), so nothing keeps the tape alive afterwards.
    @Test func backwardReleasesTheTapeAndWhatItKept() throws {
        weak var released: GradientTape?
        var gradient: Tensor?
        do {
            let tape = GradientTape(samples: 0..<2)
            released = tape
            let x = try tape.constant(Tensor(shape: [2, 5, 5, 3], scalars: (0..<150).map { Float($0 % 7) - 3 }))
            let w = try tape.parameter("weight", Tensor(shape: [4, 3, 3, 3], scalars: (0..<108).map { Float($0 % 5) / 4 - 0.5 }))
            let b = try tape.parameter("bias", Tensor(shape: [4], scalars: [0.1, -0.2, 0.3, 0]))
            let y = try x.conv2d(weight: w, bias: b, padding: (1, 1)).relu().maxPool2d(kernel: 2, stride: 2, padding: 0)
            try tape.backward(from: y.sum())
            gradient = tape.gradient(ofParameter: "weight")
        }
        #expect(gradient != nil)
        #expect(released == nil, "the tape and the activations its rules kept must be freed after backward")
    }

    @Test func torchvisionTrainableBackboneLayers() {
        let s = GradientSelection.torchvisionBackbone(prefix: "backbone.body", trainableLayers: 3)
        #expect(s.requiresGradient("backbone.body.layer4.0.conv1.weight"))
        #expect(s.requiresGradient("backbone.body.layer2.1.bn2.bias"))
        #expect(!s.requiresGradient("backbone.body.layer1.0.conv1.weight"))
        #expect(!s.requiresGradient("backbone.body.conv1.weight") && !s.requiresGradient("backbone.body.bn1.weight"))
        #expect(s.requiresGradient("backbone.fpn.inner_blocks.0.0.weight") && s.requiresGradient("head.cls_logits.weight"))
        let all = GradientSelection.torchvisionBackbone(prefix: "backbone.body", trainableLayers: 5)
        #expect(all.requiresGradient("backbone.body.bn1.weight"))
        #expect(!GradientSelection.torchvisionBackbone(prefix: "", trainableLayers: 0).requiresGradient("layer4.0.conv1.weight"))
        #expect(GradientSelection.torchvisionBackbone(prefix: "", trainableLayers: 0).requiresGradient("fc.weight") == false)
    }

    @Test func parameterGroupsByLongestPrefix() {
        var groups = ParameterGroups(defaultGroup: "base")
        groups.assign(prefix: "features", to: "backbone")
        groups.assign(prefix: "features.3", to: "late")
        #expect(groups.group(of: "features.0.weight") == "backbone")
        #expect(groups.group(of: "features.3.weight") == "late")
        #expect(groups.group(of: "features.30.weight") == "backbone")
        #expect(groups.group(of: "fc.bias") == "base")
        let parts = groups.partition(["features.0.weight", "fc.weight", "features.3.weight", "features.1.bias"])
        #expect(parts.map(\.group) == ["backbone", "base", "late"])
        #expect(parts[0].keys == ["features.0.weight", "features.1.bias"])
    }

    @Test func lossMustBePerSample() throws {
        let model = try SmallCNN(batchNorm: false)
        let batch = try SmallCNN.batch()
        #expect(throws: AutogradError.lossNotPerSample(shape: [8, 5], samples: 8)) {
            _ = try valueAndGradient(of: model, batchSize: 8) { model, scope in
                try model.forward(scope.constant(samplesOf: batch.images), in: scope)
            }
        }
    }

    @Test func nonFiniteLossNamesTheSample() throws {
        let model = try SmallCNN(batchNorm: false)
        var batch = try SmallCNN.batch()
        try batch.images.withUnsafeMutableBufferPointer(as: Float.self) { $0[5 * 16 * 16 * 3 + 7] = .nan }
        #expect(throws: AutogradError.self) { _ = try model.gradients(batch, microBatches: [4, 4]) }
        do {
            _ = try model.gradients(batch, microBatches: [4, 4])
        } catch let e as AutogradError {
            guard case .nonFiniteLoss(let sample, _) = e else { Issue.record("unexpected \(e)"); return }
            #expect(sample == 5)
        }
    }

    @Test func nonFiniteGradientNamesTheParameter() throws {
        // Each sample's loss and gradient are finite (3e38); their sum over the batch overflows.
        var g = TorchGenerator(seed: 1)
        var fc = try Linear(inFeatures: 2, outFeatures: 1, generator: &g)
        fc.weight = try Tensor(shape: [1, 2], scalars: [Float(1), 1])
        try fc.prepare(in: .root)
        let x = try Tensor(shape: [2, 2], scalars: [Float(3e38), 0, 3e38, 0])
        #expect(throws: AutogradError.nonFiniteGradient(parameter: "weight")) {
            _ = try valueAndGradient(of: fc, batchSize: 2, options: GradientOptions(reduction: .sum)) { m, scope in
                try m.forward(scope.constant(samplesOf: x), in: scope).sum()
            }
        }
    }

    @Test func accumulatorRefusesGapsAndIncompleteBatches() throws {
        let model = try SmallCNN(batchNorm: false)
        let batch = try SmallCNN.batch()
        let body: (SmallCNN, TrainingScope) throws -> Variable = { model, scope in
            try model.forward(scope.constant(samplesOf: batch.images), in: scope).crossEntropy(targets: Array(batch.labels[scope.samples]))
        }
        var acc = GradientAccumulator(globalBatchSize: 8)
        try acc.accumulate(model, samples: 0..<3, body)
        #expect(throws: AutogradError.samplesOutOfOrder(expected: 3, found: 4..<8, globalBatchSize: 8)) {
            try acc.accumulate(model, samples: 4..<8, body)
        }
        #expect(throws: AutogradError.samplesOutOfOrder(expected: 3, found: 3..<3, globalBatchSize: 8)) { _ = try acc.finish() }
        #expect(throws: AutogradError.self) {
            _ = try valueAndGradient(of: model, batchSize: 8, microBatches: [3, 3], body)
        }
        #expect(throws: AutogradError.tensor(context: "input",
                                              .invalidShape(op: "samples", shape: [8, 16, 16, 3], reason: "the global batch has no samples 0..<9"))) {
            _ = try valueAndGradient(of: model, batchSize: 9, body)
        }
    }

    @Test func bufferUpdatesApplyToTheModel() throws {
        let model = try SmallCNN(batchNorm: true)
        let r = try model.gradients(try SmallCNN.batch(), microBatches: [8])
        let updated = try model.replacing(buffers: r.bufferUpdates)
        #expect(updated.stateDict["features.1.running_mean"]!.bitsHash == r.bufferUpdates["features.1.running_mean"]!.bitsHash)
        #expect(updated.stateDict["features.1.running_mean"]!.bitsHash != model.stateDict["features.1.running_mean"]!.bitsHash)
        #expect(throws: ModuleError.self) { _ = try model.replacing(buffers: ["features.1.running_mean": try Tensor(zeros: [3])]) }
    }
}
