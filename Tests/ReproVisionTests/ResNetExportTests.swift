import Foundation
import Testing
import _ReproDigest
import _ReproTestSupport
import ReproNN
import ReproTensor
import ReproVision

/// Export → PyTorch: the `.pth` of a seeded ResNet-18 that `scripts/check_torch_export.py` loaded
/// in torchvision (strict `load_state_dict`, every tensor equal to torchvision's seeded init, and
/// `torch.save` of it giving the same bytes) has the per-tensor hashes and the file hash that
/// script recorded. Set `REPRO_EXPORT_PATH` to also write the export there (to regenerate).
@Suite struct ResNetExportTests {
    /// A module's parameters and buffers in `state_dict()` order as checkpoint tensors.
    static func orderedStateDict(_ model: some Module) throws -> StateDict {
        let values = model.stateDict
        return StateDict(try model.parameterSpecs.map { spec in
            let t = try #require(values[spec.name])
            switch t.dtype {
            case .float32:
                return (spec.name, try CheckpointTensor(dtype: .float32, shape: t.shape,
                                                        bytes: try t.scalars(as: Float.self).flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }))
            case .int64:
                return (spec.name, try CheckpointTensor(dtype: .int64, shape: t.shape,
                                                        bytes: try t.scalars(as: Int64.self).flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }))
            default:
                throw FixtureError.malformed("\(spec.name): unexpected dtype \(t.dtype)")
            }
        })
    }

    @Test func seededResNet18ExportMatchesTorchvision() throws {
        // Written before the fixture is read, so that a missing fixture can be regenerated.
        var configuration = ResNetConfiguration.resnet18
        configuration.numClasses = 10
        let model = try ResNet(configuration: configuration, seed: 0)
        let dict = try Self.orderedStateDict(model)
        let bytes = try dict.torchSaveBytes()
        if let path = ProcessInfo.processInfo.environment["REPRO_EXPORT_PATH"] {
            try dict.writeTorchSave(to: path)
        }
        let reference = try Fixtures.json("export/resnet18_seed0_k10.json")
        #expect(try reference["num_classes"].int64 == 10 && reference["seed"].int64 == 0)

        let tensors = try reference["tensors"].array
        #expect(dict.keys == (try tensors.map { try $0["name"].string }))
        for entry in tensors {
            let name = try entry["name"].string
            let t = try #require(dict[name])
            #expect(t.dtype.rawValue == (try entry["dtype"].string), "\(name)")
            #expect(t.shape == (try entry["shape"].array.map { Int(try $0.int64) }), "\(name)")
            var h = SHA256()
            h.update(t.bytes)
            #expect(h.finalize().hex == (try entry["sha256"].string), "\(name)")
        }
        // The whole file: SHA-256 of the bytes `torchSaveBytes()` returns (= the file written).
        var h = SHA256()
        h.update(bytes)
        #expect(bytes.count == Int(try reference["file_bytes"].int64))
        #expect(h.finalize().hex == (try reference["file_sha256"].string))
        // Read back bit for bit.
        let back = try StateDict(bytes: bytes)
        #expect(back.keys == dict.keys)
        for key in dict.keys where back[key] != dict[key] { Issue.record("\(key) differs after reading back") }
    }
}
