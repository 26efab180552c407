import Foundation
import ReproImage
import ReproNN
import ReproRandom
import ReproTensor
import ReproVision
import Testing
import _ReproTestSupport

/// The model trees against torchvision: state-dict order, shapes, dtypes and the seeded
/// initialisation bit for bit; legacy names; failures naming the stage and module; the hook.
@Suite struct ModelTreeTests {
    /// `resnetXX(num_classes=50)` after `torch.manual_seed(0)`: every tensor in order, bit for bit,
    /// and the generator continues exactly as torch's (the `torch.rand` drawn afterwards).
    @Test(arguments: ["resnet18", "resnet50"])
    func resNetWalkAndInitialisationMatchTorchvision(name: String) throws {
        let fixture = try Fixtures.json("models/resnet_state_dicts.json")[name]
        var c = name == "resnet18" ? ResNetConfiguration.resnet18 : .resnet50
        c.numClasses = 50
        var g = TorchGenerator(seed: 0)
        let model = try ResNet(configuration: c, generator: &g)
        let specs = model.parameterSpecs, values = model.stateDict
        let expected = try fixture["state_dict"].array
        #expect(specs.map(\.name) == (try expected.map { try $0["key"].string }), "state_dict() order")
        var mismatched: [String] = []
        for (spec, e) in zip(specs, expected) {
            #expect(spec.shape == (try e["shape"].array.map { Int(try $0.int64) }), "\(spec.name) shape")
            #expect(spec.dtype.description == (try e["dtype"].string), "\(spec.name) dtype")
            let t = try #require(values[spec.name])
            if try RetinaNetFixtureModels.rawSHA256(t) != e["sha256"].string { mismatched.append(spec.name) }
        }
        #expect(mismatched.isEmpty, "\(mismatched.count) tensors differ from torchvision's init, first: \(mismatched.prefix(5))")
        let x = try g.rand(count: 3 * 224 * 224)
        #expect(sha256Hex(x.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }) == (try fixture["rand_after_sha256"].string))
    }

    /// The RetinaNet walk gives the fixture's `state_dict()` list (torchvision's order, shapes, dtypes).
    @Test(arguments: [RetinaNetFixtureModels.mini, RetinaNetFixtureModels.miniV1])
    func retinaNetWalkMatchesTorchvisionOrder(variant: RetinaNetFixtureModels.Variant) throws {
        let expected = try Fixtures.json(variant.directory + "/config.json")["state_dict"].array
        let specs = try RetinaNet(configuration: variant.configuration, seed: 0).parameterSpecs
        #expect(specs.map(\.name) == (try expected.map { try $0["key"].string }))
        #expect(specs.map(\.shape) == (try expected.map { try $0["shape"].array.map { Int(try $0.int64) } }))
        #expect(specs.map(\.dtype.description) == (try expected.map { try $0["dtype"].string }))
    }

    @Test func normEpsilonRule() throws {
        // Seeded models: torchvision's weights=None (BatchNorm2d, eps 1e-5) for both layouts.
        #expect(RetinaNetConfiguration.v2.normEpsilon == 1e-5 && RetinaNetConfiguration.v1.normEpsilon == 1e-5)
        // The official COCO v1 file is recognised by the SHA-256 prefix its torch hub name carries.
        #expect(RetinaNetConfiguration.isOfficialCOCOV1Checkpoint(sha256: "EEACB38B" + String(repeating: "0", count: 56)))
        #expect(!RetinaNetConfiguration.isOfficialCOCOV1Checkpoint(sha256: "eeacb38c" + String(repeating: "0", count: 56)))
        var c = RetinaNetConfiguration.miniV1
        c.normEpsilon = 1e-5
        let block = try RetinaNet(configuration: c, seed: 0).backbone.body.stages[0][0]
        guard case .bottleneck(let b) = block, case .frozen(let bn1) = b.bn1, case .frozen(let bn3) = b.bn3 else {
            Issue.record("the v1 body should hold frozen norms")
            return
        }
        #expect(bn1.eps == 1e-5 && bn3.eps == 1e-5)
        c.normEpsilon = -1
        #expect(throws: RetinaNetError.self) { _ = try RetinaNet(configuration: c, seed: 0) }
    }

    @Test func legacyKeyTableRenamesOnlyLegacyModules() throws {
        let t = try CheckpointTensor(dtype: .float32, shape: [1], bytes: [0, 0, 128, 63])
        let old = StateDict([
            ("head.classification_head.conv.2.weight", t), ("head.classification_head.conv.6.bias", t),
            ("head.classification_head.cls_logits.weight", t), ("head.regression_head.conv.0.weight", t),
            ("backbone.fpn.inner_blocks.1.weight", t), ("backbone.fpn.layer_blocks.2.bias", t),
        ], format: .pytorchZip, moduleVersions: ["head.classification_head": 1])
        #expect(old.upgradingLegacyRetinaNetKeys().keys == [
            "head.classification_head.conv.1.0.weight", "head.classification_head.conv.3.0.bias",
            "head.classification_head.cls_logits.weight", "head.regression_head.conv.0.0.weight",
            "backbone.fpn.inner_blocks.1.0.weight", "backbone.fpn.layer_blocks.2.0.bias"])
        let current = StateDict([("head.regression_head.conv.0.weight", t)], format: .pytorchZip,
                                moduleVersions: ["head.regression_head": 2, "backbone.fpn": 2])
        #expect(current.upgradingLegacyRetinaNetKeys().keys == ["head.regression_head.conv.0.weight"])
    }

    /// Replaces one tensor through the walk (any shape: the visitor is trusted).
    struct Replace: ModuleVisitor {
        let key: String, tensor: Tensor
        mutating func visit(_ k: String, _ t: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
            if k == key { t = tensor }
        }
    }

    @Test func aFailingLayerNamesStageAndModulePath() throws {
        var model = try RetinaNet(configuration: .mini, seed: 0)
        _ = try model.visit(with: Replace(key: "head.classification_head.conv.2.0.weight", tensor: try Tensor(zeros: [64, 32, 3, 3])))
        try model.prepare(in: .root)
        let image = try Tensor(shape: [3, 40, 60], scalars: [Float](repeating: 0.5, count: 7200))
        do {
            _ = try model.detect(image)
            Issue.record("a 64-channel level ran through a 32-channel convolution")
        } catch {
            guard case .stage("head", .layer(let path, _)) = error else { Issue.record("unexpected error \(error)"); return }
            #expect(path == "head.classification_head.conv.2.0")
            #expect(error.description.hasPrefix("RetinaNet head: head.classification_head.conv.2.0: "))
        }
        var body = try RetinaNet(configuration: .miniV1, seed: 0)
        _ = try body.visit(with: Replace(key: "backbone.body.layer2.0.conv2.weight", tensor: try Tensor(zeros: [32, 16, 3, 3])))
        try body.prepare(in: .root)
        #expect {
            _ = try body.detect(image)
        } throws: { e in
            guard let e = e as? RetinaNetError, case .stage("body", .layer(let path, _)) = e else { return false }
            return path == "backbone.body.layer2.0.conv2"
        }
    }

    @Test func detectionOnATensorEqualsDetectionOnTheImage() throws {
        let model = try RetinaNetFixtureModels.model(RetinaNetFixtureModels.mini)
        let image = try Image(contentsOfFile: Fixtures.url("retinanet/images/img1_synthetic_300x120.png").path).rgb()
        let x = try Tensor(shape: [3, image.height, image.width], scalars: image.chwUnitFloats())
        let fromImage = RetinaNetInvarianceTests.bits(try model.detect([image])[0])
        #expect(!fromImage.isEmpty)
        #expect(RetinaNetInvarianceTests.bits(try model.detect(x)[0]) == fromImage)
        let batch = try Tensor.concatenate([x.reshaped([1] + x.shape), x.reshaped([1] + x.shape)], along: 0)
        let both = try model.detect(batch)
        #expect(both.count == 2 && RetinaNetInvarianceTests.bits(both[1]) == fromImage)
        #expect(throws: RetinaNetError.self) { _ = try model.detect(try Tensor(zeros: [2, 40, 40])) }
    }

    @Test func hookReportsModulePathsInForwardOrder() throws {
        let model = try RetinaNet(configuration: .mini, seed: 0)
        final class Log: @unchecked Sendable { var paths: [String] = [] }
        let log = Log()
        _ = try model.detect(try Tensor(zeros: [3, 64, 64]), observer: { path, _ in log.paths.append(path) })
        let p = log.paths
        for expected in ["backbone.body.bn1", "backbone.body.maxpool", "backbone.body.layer1.0.bn3", "backbone.body.layer1.0",
                         "backbone.body.layer2.0.downsample", "backbone.body.layer4", "backbone.fpn.inner_blocks.2",
                         "backbone.fpn.extra_blocks.p7", "head.classification_head.conv.3.2", "head.regression_head.bbox_reg"] {
            #expect(p.contains(expected), "\(expected) not reported")
        }
        let first = try #require(p.firstIndex(of: "backbone.body.layer4")), fpn = try #require(p.firstIndex(of: "backbone.fpn.inner_blocks.2"))
        #expect(first < fpn)
    }

    @Test func classificationOnAnImageAndOnTensors() throws {
        var c = ResNetConfiguration.resnet18
        c.numClasses = 7
        let model = try ResNet(configuration: c, seed: 1)
        let image = try Image(contentsOfFile: Fixtures.url("retinanet/images/img1_synthetic_300x120.png").path)
        let logits = try model.classify(image)
        #expect(logits.shape == [1, 7])
        let x = try Tensor(shape: [3, 32, 48], scalars: [Float](repeating: 0.25, count: 3 * 32 * 48))
        let single: [Float] = try model.classify(x).scalars()
        let batched: [Float] = try model.classify(try Tensor.concatenate([x.reshaped([1, 3, 32, 48]), x.reshaped([1, 3, 32, 48])], along: 0)).scalars()
        #expect(batched.map(\.bitPattern) == (single + single).map(\.bitPattern))
        #expect(throws: ResNetError.self) { _ = try model.classify(try Tensor(zeros: [1, 4, 8, 8])) }
        var body = model
        body.fc = nil
        #expect(throws: ResNetError.self) { _ = try body.classify(x) }
    }
}
