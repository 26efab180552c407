import Foundation
import Testing
import _ReproTestSupport
import ReproTensor
@testable import ReproNN

/// Reading a checkpoint file by memory mapping: the same tensors as reading its bytes, views of
/// the file instead of copies, and typed errors (never a crash) for short files.
@Suite struct CheckpointMappingTests {
    static func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("repro-mmap-\(getpid())-\(name)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Mapped, read and in-memory reads of every format give equal tensors; only the mapped
    /// read is a view of a mapping, and its contiguous tensors are views (no copy).
    @Test(arguments: ["small.pth", "small_legacy.pth", "small.safetensors"])
    func mappedReadEqualsReadingTheBytes(_ file: String) throws {
        let path = Fixtures.url("checkpoints/\(file)").path
        let fromBytes = try StateDict(bytes: [UInt8](Fixtures.data("checkpoints/\(file)")))
        let mapped = try StateDict(contentsOf: path)
        let read = try StateDict(contentsOf: path, access: .read)
        #expect(mapped.isMemoryMapped && !read.isMemoryMapped && !fromBytes.isMemoryMapped)
        #expect(mapped.keys == fromBytes.keys && read.keys == fromBytes.keys)
        for key in fromBytes.keys {
            let want = try fromBytes.tensor(key)
            #expect(try mapped.tensor(key) == want, "\(file) \(key)")
            #expect(try read.tensor(key) == want, "\(file) \(key)")
        }
        // A tensor stored contiguously is a view of the mapping; only the fixture's strided view
        // (a transposed tensor in the .pth files) is materialised as a copy of its own.
        let views = mapped.keys.filter { mapped[$0]!.storage.buffer.isMapped }
        #expect(views.count == mapped.count - (file.hasSuffix(".pth") ? 1 : 0), "\(file): \(views.count) of \(mapped.count)")
    }

    /// A float32 tensor converts with one copy and the same bits as `floats()`; releasing the
    /// mapped pages afterwards (what loading does) leaves every value readable and unchanged.
    @Test func conversionCopiesOnceAndReleasedPagesReadBackUnchanged() throws {
        let dict = try StateDict(contentsOf: Fixtures.url("checkpoints/small.safetensors").path)
        for key in dict.keys {
            let t = try dict.tensor(key)
            guard t.dtype == .float32 else { continue }
            let before = try t.floats().map(\.bitPattern)
            let tensor = try Tensor(checkpoint: t, name: key)
            #expect(try tensor.scalars(as: Float.self).map(\.bitPattern) == before, "\(key)")
            t.releaseResidentPages()
            #expect(try t.floats().map(\.bitPattern) == before, "\(key) after release")
        }
    }

    /// Every prefix of a real zip `.pth` and safetensors file, written to disk and mapped, is a
    /// typed error (or, for a cut inside bytes no tensor needs, a readable dict) — never a crash
    /// or a read past the end of the mapping.
    @Test(arguments: ["small.pth", "small.safetensors", "small_legacy.pth"])
    func truncatedFilesAreTypedErrors(_ file: String) throws {
        let bytes = [UInt8](try Fixtures.data("checkpoints/\(file)"))
        var cuts = Set(stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)))
        cuts.formUnion([1, 8, 9, 30, bytes.count - 22, bytes.count - 1])
        var refused = 0
        for cut in cuts.sorted() where cut >= 0 && cut < bytes.count {
            let path = try Self.temporaryFile("\(file)-\(cut)", Array(bytes[..<cut]))
            defer { try? FileManager.default.removeItem(atPath: path) }
            for access in [StateDict.FileAccess.memoryMapped, .read] {
                do {
                    let dict = try StateDict(contentsOf: path, access: access)
                    for key in dict.keys { _ = dict[key]?.bytes }
                } catch {
                    refused += 1
                }
            }
        }
        #expect(refused >= 2 * (cuts.count - 2), "\(file): \(refused) refusals for \(cuts.count) cuts")
    }

    /// An empty file, a directory and a missing file are typed errors in both access modes.
    @Test func unreadableAndEmptyFiles() throws {
        let empty = try Self.temporaryFile("empty", [])
        defer { try? FileManager.default.removeItem(atPath: empty) }
        for access in [StateDict.FileAccess.memoryMapped, .read] {
            #expect(throws: CheckpointError.unknownFormat("first bytes [] match no known checkpoint format")) {
                try StateDict(contentsOf: empty, access: access)
            }
            #expect(throws: CheckpointError.unreadable(path: "/", reason: "is a directory")) {
                try StateDict(contentsOf: "/", access: access)
            }
            #expect(throws: CheckpointError.unreadable(path: "/nonexistent/x.pth", reason: "No such file or directory")) {
                try StateDict(contentsOf: "/nonexistent/x.pth", access: access)
            }
        }
    }
}
