import Foundation
import Testing
import _ReproDigest
import _ReproTestSupport
import ReproNN

/// Export → PyTorch of TRAINED weights: `repro train --arch A --steps 2 --image-size 32
/// --batch-size 4 --optimizer sgd --schedule constant --no-val --export A.pth` (SGD lr 0.1, momentum 0.9) writes, bit for bit, the file that
/// `scripts/check_torch_export.py --arch A --trained-steps 2` loaded in PyTorch
/// (`torch.load(weights_only=True)`, strict `load_state_dict` into torchvision's `resnet18(num_classes=10)`
/// or cnn-small's PyTorch definition, torchvision's key order and dtypes, `num_batches_tracked`
/// int64 = 2, `torch.save` of the loaded dict giving the same bytes) and recorded as
/// `Tests/Fixtures/export/train_A_steps2.json`. The same weights exported as safetensors, and
/// both files read back, give the same tensors bit for bit.
@Suite struct TrainExportTests {
    static func sha256(_ bytes: [UInt8]) -> String {
        var h = SHA256()
        h.update(bytes)
        return h.finalize().hex
    }

    @Test(arguments: ["resnet18", "cnn-small"])
    func trainedExportMatchesWhatPyTorchLoaded(arch: String) throws {
        let dir = try makeTemporaryFolder("train-export-\(arch)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pth = dir.path + "/\(arch).pth", safetensors = dir.path + "/\(arch).safetensors"
        let options = ["--arch", arch, "--image-size", "32", "--batch-size", "4", "--optimizer", "sgd", "--schedule", "constant",
                       "--no-val", "--no-progress"]
        let trained = try runRepro(["train", "--steps", "2", "--export", pth] + options)
        #expect(trained.status == 0, "\(trained.stderr)")
        // The same weights as safetensors: loaded strictly, no step taken, exported again.
        let converted = try runRepro(["train", "--steps", "0", "--weights", pth, "--export", safetensors] + options)
        #expect(converted.status == 0, "\(converted.stderr)")

        let reference = try Fixtures.json("export/train_\(arch)_steps2.json")
        #expect(try reference["arch"].string == arch && reference["trained_steps"].int64 == 2 && reference["num_classes"].int64 == 10)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: pth)))
        #expect(bytes.count == Int(try reference["file_bytes"].int64))
        #expect(Self.sha256(bytes) == (try reference["file_sha256"].string), "the .pth differs from the one PyTorch loaded")

        let fromTorchFile = try StateDict(contentsOf: pth)
        let fromSafetensors = try StateDict(contentsOf: safetensors)
        let tensors = try reference["tensors"].array
        #expect(fromTorchFile.keys == (try tensors.map { try $0["name"].string }), "torchvision's key order")
        #expect(fromSafetensors.keys == fromTorchFile.keys)
        var batchCounters = 0
        for entry in tensors {
            let name = try entry["name"].string
            let t = try #require(fromTorchFile[name])
            #expect(t.dtype.rawValue == (try entry["dtype"].string), "\(name)")
            #expect(t.shape == (try entry["shape"].array.map { Int(try $0.int64) }), "\(name)")
            #expect(Self.sha256(t.bytes) == (try entry["sha256"].string), "\(name)")
            #expect(fromSafetensors[name] == t, "\(name): the safetensors export reads back other bits")
            if name.hasSuffix("num_batches_tracked") {
                batchCounters += 1
                #expect(t.dtype.rawValue == "int64" && t.bytes == [2, 0, 0, 0, 0, 0, 0, 0], "\(name)")
            }
        }
        #expect(batchCounters == (arch == "resnet18" ? 20 : 0))
    }
}
