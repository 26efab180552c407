import Foundation
import ReproNN
import ReproTensor
import ReproVision
import Testing

/// `CheckpointDiagnosis` (what `repro doctor --weights` prints) on checkpoints generated here from
/// the small `mini` architecture: complete, `module.`-prefixed, a 2-class head, backbone-only,
/// float16, a classification ResNet's names, and non-finite values.
@Suite struct CheckpointDiagnosisTests {
    static let config = RetinaNetConfiguration.mini
    /// A complete checkpoint of the mini architecture (seed 5).
    static let complete: StateDict = {
        do { return try StateDict(module: RetinaNet(configuration: config, seed: 5)) } catch { fatalError("\(error)") }
    }()

    static func entries(_ dict: StateDict, _ keep: (String) -> Bool = { _ in true },
                        rename: (String) -> String = { $0 }) -> [(String, CheckpointTensor)] {
        dict.keys.filter(keep).map { (rename($0), dict[$0]!) }
    }

    @Test func completeCheckpoint() throws {
        let d = try CheckpointDiagnosis(stateDict: Self.complete, configuration: Self.config)
        #expect(d.verdict == .complete)
        #expect(d.entries == Self.complete.count && d.matched == d.expectedCount && d.matched == d.entries)
        #expect(d.missing.isEmpty && d.unexpected.isEmpty && d.mismatched.isEmpty && d.random.isEmpty)
        #expect(d.prefix == nil && d.wrapperKey == nil && !d.classificationBackbone && d.nonfinite.isEmpty)
        #expect(d.dtypes["float32"] != nil)
    }

    @Test func dataParallelPrefixIsFoundAndStrippingCompletesIt() throws {
        let prefixed = StateDict(Self.entries(Self.complete, rename: { "module." + $0 }))
        let d = try CheckpointDiagnosis(stateDict: prefixed, configuration: Self.config)
        #expect(d.verdict == .seedDependent && d.matched == 0)
        #expect(d.unexpected.count == prefixed.count)
        #expect(d.prefix == "module.")
        #expect(d.verdictAfterStripping == .complete && d.matchedAfterStripping == d.expectedCount)
        // Every conv weight is random; constant-initialised buffers (running_var = 1…) are not counted.
        #expect(d.random.contains("backbone.body.conv1.weight"))
        #expect(!d.random.contains { $0.hasSuffix("running_var") || $0.hasSuffix("num_batches_tracked") })
        #expect(d.random.count < d.missing.count)
    }

    /// A head fine-tuned for 2 classes against the 91-class architecture: the classification
    /// logits do not fit and stay random; against `numClasses = 2` it is complete.
    @Test func twoClassHead() throws {
        var two = Self.config
        two.numClasses = 2
        let finetuned = try StateDict(module: RetinaNet(configuration: two, seed: 7))
        let d = try CheckpointDiagnosis(stateDict: finetuned, configuration: Self.config)
        #expect(d.verdict == .seedDependent)
        #expect(d.mismatched.map(\.name) == ["head.classification_head.cls_logits.weight", "head.classification_head.cls_logits.bias"])
        #expect(d.mismatched.first?.expected.first == 9 * 91 && d.mismatched.first?.found.first == 9 * 2)
        #expect(d.random == ["head.classification_head.cls_logits.weight"], "the bias is a constant prior, not random")
        #expect(d.matched == d.expectedCount - 2)
        #expect(try CheckpointDiagnosis(stateDict: finetuned, configuration: two).verdict == .complete)
    }

    @Test func backboneOnlyCheckpointLeavesFPNAndHeadRandom() throws {
        let body = StateDict(Self.entries(Self.complete, { $0.hasPrefix("backbone.body.") }))
        let d = try CheckpointDiagnosis(stateDict: body, configuration: Self.config)
        #expect(d.verdict == .seedDependent && d.matched == body.count && d.unexpected.isEmpty)
        #expect(d.random.allSatisfy { $0.hasPrefix("backbone.fpn.") || $0.hasPrefix("head.") })
        #expect(d.random.contains("backbone.fpn.inner_blocks.0.0.weight") && d.random.contains("head.regression_head.bbox_reg.weight"))
        #expect(d.prefix == nil, "stripping backbone. would match less, not more")
        #expect(!d.classificationBackbone)
    }

    @Test func classificationResNetNamesAreRecognised() throws {
        let names = StateDict(Self.entries(Self.complete, { $0.hasPrefix("backbone.body.") },
                                           rename: { String($0.dropFirst("backbone.body.".count)) }))
        let d = try CheckpointDiagnosis(stateDict: names, configuration: Self.config)
        #expect(d.classificationBackbone && d.matched == 0 && d.verdict == .seedDependent)
    }

    @Test func float16CheckpointIsCompleteAndReported() throws {
        // Every float32 tensor narrowed to float16 by truncating the low mantissa bits of values that fit
        // (the diagnosis cares about names, shapes and dtypes, not about the rounding).
        let half = try StateDict(Self.complete.keys.map { key in
            let t = Self.complete[key]!
            guard t.dtype == .float32 else { return (key, t) }
            var bytes: [UInt8] = []
            for v in try t.floats() {
                let h = Float16(v).bitPattern
                bytes += [UInt8(h & 0xFF), UInt8(h >> 8)]
            }
            return (key, try CheckpointTensor(dtype: .float16, shape: t.shape, bytes: bytes))
        })
        let d = try CheckpointDiagnosis(stateDict: half, configuration: Self.config)
        #expect(d.verdict == .complete)
        #expect(d.dtypes["float16"] == Self.complete.keys.filter { Self.complete[$0]!.dtype == .float32 }.count)
        // …and it loads: the model's weights are the widened values.
        var model = try RetinaNet(configuration: Self.config, seed: 0)
        let report = try model.load(stateDict: half)
        #expect(report.loaded == half.count)
        let w = try model.stateDict["backbone.body.conv1.weight"]!.scalars(as: Float.self)
        let h = try half.tensor("backbone.body.conv1.weight").floats()
        #expect(w.map(\.bitPattern) == h.map(\.bitPattern))
    }

    @Test func nonFiniteValuesAreNamed() throws {
        var entries = Self.entries(Self.complete)
        let i = try #require(entries.firstIndex { $0.0 == "backbone.fpn.layer_blocks.1.0.bias" })
        var bytes = entries[i].1.bytes
        bytes.replaceSubrange(0..<4, with: [0, 0, 0xC0, 0x7F])  // NaN
        entries[i].1 = try CheckpointTensor(dtype: .float32, shape: entries[i].1.shape, bytes: bytes)
        let d = try CheckpointDiagnosis(stateDict: StateDict(entries), configuration: Self.config)
        #expect(d.nonfinite == ["backbone.fpn.layer_blocks.1.0.bias"])
        #expect(d.verdict == .complete)
    }
}
