import Foundation
import Testing
import _ReproDigest
import _ReproTestSupport
import ReproTensor
@testable import ReproNN

/// ``StateDict/fileSHA256()``: the SHA-256 of the bytes a state dict was parsed from, equal to an
/// independent SHA-256 of the file in every access mode, also while a model loads from the same
/// mapping on another thread (what `repro detect` does).
@Suite struct CheckpointFileDigestTests {
    /// The portable (never SHA-NI) SHA-256 of a file read through Foundation: independent of the
    /// mapping and of the accelerated code path `fileSHA256()` takes where the CPU has one.
    static func independentSHA256(_ path: String) throws -> String {
        var h = SHA256(implementation: .portable)
        h.update([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        return h.finalize().hex
    }

    /// A `.pth` of about 3.3 MB (more than three 1 MiB hashing steps, a tail that is not a whole
    /// page), its floats a counter pattern.
    static func writeLargeCheckpoint(_ path: String, shift: UInt32 = 0) throws {
        func floats(_ n: Int, _ salt: UInt32) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(4 * n)
            for i in 0..<n {
                let bits: UInt32 = 0x3c00_0000 | ((UInt32(i) &* 2_654_435_761 &+ salt) & 0x00ff_ffff)
                withUnsafeBytes(of: bits.littleEndian) { bytes += $0 }
            }
            return bytes
        }
        let dict = StateDict([
            ("conv.weight", try CheckpointTensor(dtype: .float32, shape: [64, 64, 3, 3], bytes: floats(64 * 64 * 9, shift))),
            ("fc.weight", try CheckpointTensor(dtype: .float32, shape: [777, 1001], bytes: floats(777 * 1001, 7 &+ shift))),
            ("fc.bias", try CheckpointTensor(dtype: .float32, shape: [777], bytes: floats(777, 11))),
        ])
        try dict.writeTorchSave(to: path)
    }

    @Test(arguments: ["small.pth", "small_legacy.pth", "small.safetensors"])
    func digestEqualsAnIndependentSHA256InEveryAccessMode(_ file: String) throws {
        let path = Fixtures.url("checkpoints/\(file)").path
        let want = try Self.independentSHA256(path)
        #expect(try StateDict(contentsOf: path).fileSHA256() == want)
        #expect(try StateDict(contentsOf: path, access: .read).fileSHA256() == want)
        #expect(try StateDict(bytes: [UInt8](Fixtures.data("checkpoints/\(file)"))).fileSHA256() == want)
    }

    /// A file of several hashing steps hashes to the independent digest, twice (the first pass
    /// gave its pages back; the second reads them again) and while another thread copies every
    /// tensor out of the same mapping and releases its pages, as loading does. The tensors read
    /// meanwhile have the bits of a plain read.
    @Test func largeMappedFileHashesCorrectlyWhileTensorsAreConverted() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("repro-digest-\(getpid()).pth").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.writeLargeCheckpoint(path)
        let want = try Self.independentSHA256(path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 3 << 20 && size % 4096 != 0, "\(size) bytes")
        let dict = try StateDict(contentsOf: path)
        #expect(dict.isMemoryMapped)
        #expect(dict.fileSHA256() == want)
        #expect(dict.fileSHA256() == want, "hashing again after the pages were given back")

        let reference = try StateDict(contentsOf: path, access: .read)
        for _ in 0..<3 {
            let fresh = try StateDict(contentsOf: path)
            let digest = DigestBox()
            Thread.detachNewThread { digest.set(fresh.fileSHA256()) }
            for key in fresh.keys {
                let t = try fresh.tensor(key)
                let converted = try Tensor(checkpoint: t, name: key)
                t.releaseResidentPages()
                #expect(try converted.scalars(as: Float.self).map(\.bitPattern)
                        == (try reference.tensor(key).floats().map(\.bitPattern)), "\(key)")
            }
            #expect(digest.wait() == want)
        }
    }

    /// A file rewritten on disk with other values: a state dict read afterwards hashes to the new
    /// file's digest, which differs from the old one; the one read before still names the bytes it
    /// parsed when the file was replaced (rename), not the new file.
    @Test func replacedFileIsDetected() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repro-digest-replace-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/w.pth", other = dir + "/w2.pth"
        try Self.writeLargeCheckpoint(path)
        let before = try StateDict(contentsOf: path)
        let old = try Self.independentSHA256(path)
        try Self.writeLargeCheckpoint(other, shift: 1)
        #expect(rename(other, path) == 0, "rename: \(errno)")
        let new = try Self.independentSHA256(path)
        #expect(new != old)
        #expect(try StateDict(contentsOf: path).fileSHA256() == new)
        #expect(before.fileSHA256() == old, "the bytes parsed, not the path read again")
    }

    /// A digest handed over from another thread.
    final class DigestBox: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private var value: String?

        func set(_ v: String?) {
            value = v
            done.signal()
        }

        func wait() -> String? {
            done.wait()
            return value
        }
    }

    /// Only a state dict parsed from bytes has a file digest.
    @Test func assembledStateDictsHaveNoFileDigest() throws {
        let dict = try StateDict(contentsOf: Fixtures.url("checkpoints/small.safetensors").path)
        #expect(dict.fileSHA256() != nil)
        #expect(try dict.strippingPrefix("x.").fileSHA256() == nil)
        #expect(StateDict(dict.keys.map { ($0, dict[$0]!) }).fileSHA256() == nil)
    }
}
