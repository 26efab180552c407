import Testing
@testable import ReproNN

@Suite struct LegacyKeysTests {
    static let t = try! CheckpointTensor(dtype: .float32, shape: [1], bytes: [0, 0, 128, 63])

    @Test func renamesOnlyLegacyModules() {
        let old = StateDict([
            ("head.classification_head.conv.2.weight", Self.t), ("head.classification_head.conv.6.bias", Self.t),
            ("head.classification_head.cls_logits.weight", Self.t), ("head.regression_head.conv.0.weight", Self.t),
            ("backbone.fpn.inner_blocks.1.weight", Self.t), ("backbone.fpn.layer_blocks.2.bias", Self.t),
        ], format: .pytorchZip, moduleVersions: ["head.classification_head": 1])
        let new = old.upgradingLegacyRetinaNetKeys()
        #expect(new.keys == ["head.classification_head.conv.1.0.weight", "head.classification_head.conv.3.0.bias",
                             "head.classification_head.cls_logits.weight", "head.regression_head.conv.0.0.weight",
                             "backbone.fpn.inner_blocks.1.0.weight", "backbone.fpn.layer_blocks.2.0.bias"])
        let current = StateDict([("head.regression_head.conv.0.weight", Self.t)], format: .pytorchZip,
                                moduleVersions: ["head.regression_head": 2, "backbone.fpn": 2])
        #expect(current.upgradingLegacyRetinaNetKeys().keys == ["head.regression_head.conv.0.weight"])
    }
}
