import Foundation
import Testing
import ReproNN
import ReproRandom
import ReproTensor
import ReproVision

/// Building a RetinaNet straight from a checkpoint (`RetinaNet.loading`): no random
/// initialisation, strict keys, the same bits as building from a seed and then loading, and the
/// memory the loaded model holds.
@Suite struct RetinaNetCheckpointConstructionTests {
    /// The model's state dict as a safetensors file (written by this test: header JSON, then the
    /// tensors' bytes in key order), so that loading goes through the memory-mapped reader.
    static func safetensorsFile(_ model: RetinaNet, name: String, dropping dropped: Set<String> = []) throws -> String {
        let values = model.stateDict
        var header: [String] = []
        var data: [UInt8] = []
        for spec in model.parameterSpecs where !dropped.contains(spec.name) {
            let t = try #require(values[spec.name])
            let bytes: [UInt8]
            switch t.dtype {
            case .float32: bytes = try t.scalars(as: Float.self).flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
            case .int64: bytes = try t.scalars(as: Int64.self).flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }
            default: throw ModuleError.invalidConfiguration("unexpected dtype \(t.dtype)")
            }
            header.append("\"\(spec.name)\":{\"dtype\":\"\(t.dtype == .float32 ? "F32" : "I64")\",\"shape\":\(t.shape),\"data_offsets\":[\(data.count),\(data.count + bytes.count)]}")
            data += bytes
        }
        var json = Array("{\(header.joined(separator: ","))}".utf8)
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        let file = withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init) + json + data
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("repro-\(getpid())-\(name).safetensors").path
        try Data(file).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A mini v2 model with every parameter random (a seed other than the one compared against).
    static func source() throws -> RetinaNet { try RetinaNet(configuration: .mini, seed: 1234) }

    static func image() throws -> Tensor {
        var g = TorchGenerator(seed: 5)
        return try Tensor(shape: [1, 3, 150, 190], scalars: try g.rand(count: 3 * 150 * 190))
    }

    /// Same parameters, same detections, bit for bit, as seed-then-load (the seeded model's own
    /// random values are all overwritten).
    @Test func loadingWithoutInitialisationEqualsSeedThenLoad() throws {
        let path = try Self.safetensorsFile(try Self.source(), name: "construct")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dict = try StateDict(contentsOf: path)
        #expect(dict.isMemoryMapped)
        var c = RetinaNetConfiguration.mini
        c.scoreThreshold = 0   // random weights score low: keep every candidate, so there is something to compare
        let (direct, report) = try RetinaNet.loading(dict, configuration: c)
        #expect(report.isExact && report.loaded == direct.parameterSpecs.count)
        var seeded = try RetinaNet(configuration: c, seed: 7)
        _ = try seeded.load(stateDict: dict)
        let a = direct.stateDict, b = seeded.stateDict
        #expect(a.count == b.count)
        for (key, t) in a { #expect(t.bitsHash == b[key]?.bitsHash, "\(key)") }
        let x = try Self.image()
        let got = try direct.detect(x), want = try seeded.detect(x)
        #expect(want[0].count == c.detectionsPerImage)
        #expect(got == want)
    }

    /// A key the checkpoint lacks is an error naming it (never a placeholder left at zero).
    @Test func missingKeyIsRefused() throws {
        let missing = "head.classification_head.cls_logits.weight"
        let path = try Self.safetensorsFile(try Self.source(), name: "missing", dropping: [missing])
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try RetinaNet.loading(try StateDict(contentsOf: path), configuration: .mini)
            Issue.record("a checkpoint without \(missing) loaded")
        } catch RetinaNetError.module(.incompatibleStateDict(let report)) {
            #expect(report.missing == [missing] && report.unexpected.isEmpty)
        }
    }

    /// The memory test: after loading, the model holds every state-dict tensor exactly once (no
    /// placeholder, no second raw copy) and at most one prepared form per convolution. Bound:
    /// prepared forms ≤ 1.0 × the tensor bytes, so the model's whole footprint ≤ 2 × its tensors —
    /// Winograd layers keep nothing (their 3×3 weights are transformed per call into the thread
    /// pool's workspace), every other convolution one packed copy (output channels rounded up to
    /// 16), plus biases and folded norms. Before, Winograd F(4×4, 3×3) kept 36 transformed values
    /// per 9 weights (bound 4.5×); before that the direct packing and a `[Float]` copy were kept
    /// beside the transform (6× on Winograd layers), and loading into a seeded model held the
    /// seeded tensors too.
    @Test func loadedModelHoldsEachWeightOnce() throws {
        let path = try Self.safetensorsFile(try Self.source(), name: "memory")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dict = try StateDict(contentsOf: path)
        let (model, _) = try RetinaNet.loading(dict, configuration: .mini)
        let tensorBytes = model.parameterSpecs.reduce(0) { $0 + $1.shape.reduce(1, *) * ($1.dtype == .int64 ? 8 : 4) }
        let fileTensorBytes = dict.keys.reduce(0) { $0 + (dict[$1]?.elementCount ?? 0) * (dict[$1]?.dtype.byteCount ?? 0) }
        #expect(fileTensorBytes == tensorBytes)
        let resident = model.residentBytes
        #expect(resident.tensors == tensorBytes, "tensor storages \(resident.tensors) vs \(tensorBytes) state-dict bytes")
        #expect(resident.prepared > 0, "the direct and pointwise convolutions are prepared")
        #expect(Double(resident.prepared) <= 1.0 * Double(tensorBytes),
                "prepared \(resident.prepared) = \(Double(resident.prepared) / Double(tensorBytes))× the tensors")
        // A seeded model is accounted the same way (its tensors are its own random values).
        let seeded = try RetinaNet(configuration: .mini, seed: 7).residentBytes
        #expect(seeded.tensors == tensorBytes && seeded.prepared == resident.prepared)
    }
}
