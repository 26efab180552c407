import Testing
import ReproNN
import ReproTensor
import ReproVision

/// Checkpoints that do not fit the model are typed errors naming the keys.
@Suite struct RetinaNetLoadingTests {
    /// A state dict shaped like `configuration`, all zeros (only keys and shapes matter here).
    static func zeros(_ c: RetinaNetConfiguration, rename: (String) -> String = { $0 }) throws -> StateDict {
        StateDict(try RetinaNet(configuration: c, seed: 0).parameterSpecs.map { s in
            let bytes = [UInt8](repeating: 0, count: s.shape.reduce(1, *) * (s.dtype == .int64 ? 8 : 4))
            return (rename(s.name), try CheckpointTensor(dtype: s.dtype == .int64 ? .int64 : .float32, shape: s.shape, bytes: bytes))
        })
    }

    @Test func matchingStateDictLoadsExactly() throws {
        var model = try RetinaNet(configuration: .miniV1, seed: 0)
        let report = try model.load(stateDict: Self.zeros(.miniV1))
        #expect(report.isExact && report.loaded == model.parameterSpecs.count)
    }

    @Test func wrongModelsStateDictNamesTheKeys() throws {
        var model = try RetinaNet(configuration: .mini, seed: 0)
        do {
            _ = try model.load(stateDict: Self.zeros(.miniV1))
            Issue.record("a v1 state dict loaded into a v2 model")
        } catch let ModuleError.incompatibleStateDict(report) {
            // v1 has no num_batches_tracked and no GroupNorm; it has tower biases; P6 input width differs.
            #expect(report.missing.contains("backbone.body.bn1.num_batches_tracked"))
            #expect(report.missing.contains("head.classification_head.conv.0.1.weight"))
            #expect(report.unexpected.contains("head.classification_head.conv.0.0.bias"))
            #expect(report.shapeMismatches.contains { $0.key == "backbone.fpn.extra_blocks.p6.weight" && $0.expected == [64, 512, 3, 3] && $0.actual == [64, 64, 3, 3] })
            #expect(String(describing: ModuleError.incompatibleStateDict(report)).contains("num_batches_tracked"))
        }
    }

    @Test func fullSizeCheckpointIntoMiniIsAShapeError() throws {
        var model = try RetinaNet(configuration: .mini, seed: 0)
        var full = RetinaNetConfiguration.v2
        full.planes = [16, 32, 64, 128]   // same keys as mini except block counts and widths of FPN/head
        full.blocks = [2, 2, 2, 2]
        do {
            _ = try model.load(stateDict: Self.zeros(full))
            Issue.record("mismatched shapes loaded")
        } catch let ModuleError.incompatibleStateDict(report) {
            #expect(report.missing.isEmpty && report.unexpected.isEmpty)
            #expect(report.shapeMismatches.contains { $0.key == "head.classification_head.cls_logits.weight" && $0.actual == [819, 256, 3, 3] })
        }
    }

    @Test func legacyV1KeyNamesAreUpgraded() throws {
        // Old Sequential names: conv.{2i}.* and inner_blocks.{i}.* (torchvision renames them on load).
        let legacy = try Self.zeros(.miniV1) { key in
            var k = key
            for i in 0..<4 { k = k.replacingOccurrences(of: ".conv.\(i).0.", with: ".conv.\(2 * i).") }
            for i in 0..<3 {
                k = k.replacingOccurrences(of: "inner_blocks.\(i).0.", with: "inner_blocks.\(i).")
                k = k.replacingOccurrences(of: "layer_blocks.\(i).0.", with: "layer_blocks.\(i).")
            }
            return k
        }
        var model = try RetinaNet(configuration: .miniV1, seed: 0)
        #expect(try model.load(stateDict: legacy).isExact)
    }

    @Test func invalidConfigurationsAreTypedErrors() {
        var c = RetinaNetConfiguration.mini
        c.headGroups = 7
        #expect(throws: RetinaNetError.self) { _ = try RetinaNet(configuration: c, seed: 0) }
        c = .mini
        c.blocks = [2, 2]
        #expect(throws: RetinaNetError.self) { _ = try RetinaNet(configuration: c, seed: 0) }
    }
}
