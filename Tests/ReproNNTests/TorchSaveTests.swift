import Foundation
import Testing
import _ReproTestSupport
@testable import ReproNN
import _ReproDigest

/// The `.pth` writer: the bytes `torch.save` writes, read back bit for bit, written atomically.
@Suite struct TorchSaveTests {
    private static func floats(_ v: [Float]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
    private static func longs(_ v: [Int64]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }

    /// The state dict of `scripts/make_torch_save_fixture.py`.
    static func small() throws -> StateDict {
        StateDict([
            ("conv.weight", try CheckpointTensor(dtype: .float32, shape: [2, 3, 2, 2], bytes: floats((0..<24).map { Float($0) * 0.5 - 3 }))),
            ("bn.running_mean", try CheckpointTensor(dtype: .float32, shape: [3], bytes: floats([0.25, -1.5, 3]))),
            ("bn.num_batches_tracked", try CheckpointTensor(dtype: .int64, shape: [], bytes: longs([7]))),
            ("fc.weight", try CheckpointTensor(dtype: .float32, shape: [3, 2], bytes: floats((0..<6).map { Float($0) / 3 }))),
            ("steps", try CheckpointTensor(dtype: .int64, shape: [4], bytes: longs([-5, 300, 70000, 1 << 40]))),
            ("empty", try CheckpointTensor(dtype: .float32, shape: [0, 4], bytes: [])),
        ])
    }

    /// `torch`'s bytes with the 20 digits PyTorch draws at random in `.data/serialization_id`
    /// replaced by `ours`' digits, and that entry's CRC-32 (data descriptor and central
    /// directory) updated to match.
    static func adoptingSerialDigits(of ours: [UInt8], in torch: [UInt8]) throws -> [UInt8] {
        func digitsOffset(_ bytes: [UInt8]) throws -> Int {
            let name = Array("archive/.data/serialization_id".utf8)
            guard bytes.count > name.count,
                  let at = (0...(bytes.count - name.count)).first(where: { bytes[$0..<($0 + name.count)].elementsEqual(name) }),
                  at + name.count + 4 <= bytes.count else { throw FixtureError.missing("serialization_id entry") }
            // Local header: name, "FB", 2-byte padding length, padding, then 40 digits.
            let padding = Int(bytes[at + name.count + 2]) | Int(bytes[at + name.count + 3]) << 8
            let digits = at + name.count + 4 + padding
            guard digits + 40 <= bytes.count else { throw FixtureError.malformed("serialization_id runs past the end") }
            return digits
        }
        let o = try digitsOffset(ours), t = try digitsOffset(torch)
        let crc = { (b: ArraySlice<UInt8>) in withUnsafeBytes(of: Array(b).withUnsafeBufferPointer { CRC32.checksum($0) }.littleEndian, Array.init) }
        let oldCRC = crc(torch[t..<(t + 40)])
        var out = torch
        out.replaceSubrange(t..<(t + 20), with: ours[o..<(o + 20)])
        let newCRC = crc(out[t..<(t + 40)])
        var replaced = 0
        var i = t + 40
        while i + 4 <= out.count {
            if out[i..<(i + 4)].elementsEqual(oldCRC) { out.replaceSubrange(i..<(i + 4), with: newCRC); replaced += 1; i += 4 } else { i += 1 }
        }
        guard replaced == 2 else { throw FixtureError.malformed("expected the id's CRC twice after it, found \(replaced)") }
        return out
    }

    @Test func writesTheBytesTorchSaveWrites() throws {
        let torch = [UInt8](try Fixtures.data("export/torch_small.pth"))
        let ours = try Self.small().torchSaveBytes()
        #expect(ours.count == torch.count)
        if try Self.adoptingSerialDigits(of: ours, in: torch) != ours {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("repro-torch_small-ours.pth").path
            try? Data(ours).write(to: URL(fileURLWithPath: path))
            Issue.record("bytes differ from torch.save's (apart from its random digits); ours are in \(path)")
        }
        // Only PyTorch's random digits differ (the CRC half of the id is PyTorch's).
        #expect(ours != torch)
    }

    @Test func readsItsOwnExportBackBitForBit() throws {
        let dict = try Self.small()
        let back = try StateDict(bytes: try dict.torchSaveBytes())
        #expect(back.format == .pytorchZip)
        #expect(back.keys == dict.keys)
        for key in dict.keys { #expect(back[key] == dict[key], "\(key)") }
        // The same dict always gives the same bytes.
        #expect(try dict.torchSaveBytes() == (try back.torchSaveBytes()))
    }

    @Test func everyDTypeRoundTrips() throws {
        let entries = try CheckpointDType.allCases.enumerated().map { n, dtype in
            (dtype.rawValue, try CheckpointTensor(dtype: dtype, shape: [2], bytes: (0..<(2 * dtype.byteCount)).map { UInt8(($0 * 37 + n) & 0x7f) }))
        }
        let dict = StateDict(entries)
        let back = try StateDict(bytes: try dict.torchSaveBytes())
        for (key, t) in entries { #expect(back[key] == t, "\(key)") }
    }

    @Test func manyEntriesUseLongMemoIndices() throws {
        // 1100 entries: memo slots beyond 255 (LONG_BINPUT/LONG_BINGET) and two SETITEMS batches.
        let entries = try (0..<1100).map { i in
            ("layer\(i).weight", try CheckpointTensor(dtype: .float32, shape: [1, i % 3 + 1], bytes: Self.floats((0...(i % 3)).map { Float(i) + Float($0) })))
        }
        let back = try StateDict(bytes: try StateDict(entries).torchSaveBytes())
        #expect(back.keys == entries.map(\.0))
        for (key, t) in entries where back[key] != t { Issue.record("\(key) differs") }
    }

    @Test func writesAtomically() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("repro-torchsave-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.pth").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let dict = try Self.small()
        try dict.writeTorchSave(to: path)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == (try dict.torchSaveBytes()))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.pth"])

        // A folder that does not exist: a typed error naming the path, nothing written.
        let missing = folder.appendingPathComponent("no/such/dir/model.pth").path
        #expect {
            try dict.writeTorchSave(to: missing)
        } throws: { error in
            guard case .unwritable(let p, _) = error as? CheckpointError else { return false }
            return p == missing
        }
        // The target is a folder: rename fails, the temporary file is removed, the folder stays.
        let sub = folder.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub.appendingPathComponent("x"), withIntermediateDirectories: true)
        #expect(throws: CheckpointError.self) { try dict.writeTorchSave(to: sub.path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["model.pth", "sub"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: sub.path) == ["x"])
    }
}
