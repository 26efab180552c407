import Foundation
@_spi(Kernels) import ReproTensor
import ReproNN
import Testing
import _ReproDigest

/// The trace recorder's SHA-256 path: digests hashed in batches over the pool, two messages per
/// thread, equal the plain SHA-256 of each output's bytes at the moment it was reported; a repeated
/// output reuses its digest only while its bytes cannot have changed; and the tensors writer
/// streams a valid safetensors file.
@Suite struct TraceRecorderTests {
    /// The portable SHA-256 of a tensor's element bytes, row-major (the reference).
    static func reference(_ t: Tensor) -> String {
        let c = t.contiguous()
        var h = SHA256(implementation: .portable)
        switch c.dtype {
        case .float32: (try? c.scalars(as: Float.self))!.withUnsafeBytes { h.update($0) }
        case .float64: (try? c.scalars(as: Double.self))!.withUnsafeBytes { h.update($0) }
        case .int64: (try? c.scalars(as: Int64.self))!.withUnsafeBytes { h.update($0) }
        case .uint8: (try? c.scalars(as: UInt8.self))!.withUnsafeBytes { h.update($0) }
        }
        return h.finalize().hex
    }

    static func floats(_ n: Int, seed: UInt32) -> [Float] {
        var x = seed | 1
        return (0..<n).map { _ in
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            return Float(Int32(bitPattern: x)) / 65536
        }
    }

    /// Outputs of every length class (0, 1, 13, 14, 16 and 15/16/17 blocks' worth of floats, up to
    /// ~1 MB), four dtypes and a strided view.
    static func outputs() throws -> [Tensor] {
        var out: [Tensor] = []
        for (i, n) in [0, 1, 13, 14, 16, 240, 256, 272, 1000, 4099, 65_536, 262_139, 30, 31, 32, 33].enumerated() {
            out.append(try Tensor(shape: [n], scalars: floats(n, seed: UInt32(i + 1))))
        }
        out.append(try Tensor(shape: [3, 5], scalars: (0..<15).map(Double.init)))
        out.append(try Tensor(shape: [7], scalars: (0..<7).map { Int64($0) * -3 }))
        out.append(try Tensor(shape: [61], scalars: (0..<61).map { UInt8($0 * 7 % 256) }))
        out.append(try Tensor(shape: [40, 30], scalars: floats(1200, seed: 99)).permuted([1, 0]))
        return out
    }

    @Test(arguments: [1, 2, 3])
    func batchedDigestsEqualPlainSHA256(threads: Int) throws {
        let outputs = try Self.outputs()
        var settings = Runtime.settings
        settings.threads = threads
        let pool = ThreadPool()
        // Batches of 256 KiB: several flushes, pairs of unequal lengths, one odd message per thread.
        let recorder = TraceRecorder(hashingBatchBytes: 256 << 10)
        Runtime.withSettings(settings) {
            Runtime.withThreadPool(pool) {
                for (i, t) in outputs.enumerated() { recorder.record(path: "m\(i)", output: t, operation: "op") }
            }
        }
        let trace = Runtime.withSettings(settings) { Runtime.withThreadPool(pool) { recorder.finish() } }
        #expect(trace.entries.map(\.name) == outputs.indices.map { "m\($0)" })
        for (e, t) in zip(trace.entries, outputs) {
            #expect(e.sha256 == Self.reference(t), "\(e.name) \(t.shape) \(t.dtype)")
        }
        #expect(recorder.statistics.hashedEntries == outputs.count && recorder.statistics.reusedEntries == 0)
        if threads > 1 {
            #expect(pool.statistics.largestTeam == threads, "hashing ran on \(threads) threads: \(pool.statistics)")
        }
    }

    @Test func aRepeatedUnchangedOutputReusesItsDigest() throws {
        let y = try Tensor(shape: [4, 100], scalars: Self.floats(400, seed: 7))
        let recorder = TraceRecorder()
        recorder.record(path: "seq.2", output: y, operation: "ReLU")
        recorder.record(path: "seq", output: y, operation: "Sequential")
        // The same storage but another view is not the same output.
        recorder.record(path: "view", output: try y.reshaped([400]), operation: "Flatten")
        let e = recorder.finish().entries
        #expect(e.map(\.sha256) == [Self.reference(y), Self.reference(y), Self.reference(y)])
        let s = recorder.statistics
        #expect(s.reusedEntries == 1 && s.reusedBytes == 1600 && s.hashedEntries == 2 && s.hashedBytes == 3200)
    }

    /// The fast digest reuses a repeated unchanged output's digest too (it holds only the latest
    /// output), and hashes an output changed in place anew.
    @Test func theFastDigestReusesARepeatedUnchangedOutput() throws {
        var y = try Tensor(shape: [4, 1000], scalars: Self.floats(4000, seed: 9))
        let recorder = TraceRecorder(digest: .nh)
        recorder.record(path: "seq.2", output: y, operation: "ReLU")
        recorder.record(path: "seq", output: y, operation: "Sequential")
        recorder.record(path: "view", output: try y.reshaped([4000]), operation: "Flatten")
        let first = TraceDigest.nh.digest(y)
        try y.withUnsafeMutableBufferPointer(as: Float.self) { $0[3999] = 42 }
        recorder.record(path: "changed", output: y, operation: "in place")
        let e = recorder.finish().entries
        #expect(e.map(\.sha256) == [first, first, first, TraceDigest.nh.digest(y)] && first != TraceDigest.nh.digest(y))
        let s = recorder.statistics
        #expect(s.reusedEntries == 1 && s.reusedBytes == 16000 && s.hashedEntries == 3 && s.hashedBytes == 48000)
    }

    /// The case reuse must never get wrong: an output changed in place after it was recorded (a
    /// residual add, an in-place norm) and recorded again. Its first entry keeps the digest of the
    /// bytes it had when reported, although hashing happens later, and the second entry is hashed anew.
    @Test func anOutputChangedInPlaceIsHashedAgain() throws {
        let original = Self.floats(1000, seed: 3)
        var y = try Tensor(shape: [1000], scalars: original)
        let before = Self.reference(y)
        let recorder = TraceRecorder()
        recorder.record(path: "block.bn3", output: y, operation: "BatchNorm2d")
        try y.add(try Tensor(shape: [1000], scalars: [Float](repeating: 1, count: 1000)), relu: true)
        recorder.record(path: "block.relu", output: y, operation: "ReLU")
        try y.withUnsafeMutableBufferPointer(as: Float.self) { $0[999] = 42 }
        recorder.record(path: "block", output: y, operation: "Bottleneck")
        let e = recorder.finish().entries
        let afterAdd = Self.reference(try Tensor(shape: [1000], scalars: original.map { max($0 + 1, 0) }))
        #expect(e[0].sha256 == before)
        #expect(e[1].sha256 == afterAdd && afterAdd != before)
        #expect(e[2].sha256 == Self.reference(y) && e[2].sha256 != afterAdd)
        #expect(recorder.statistics.reusedEntries == 0 && recorder.statistics.hashedEntries == 3)
    }

    /// Reuse after a batch was hashed (the earlier digest is known) and across `finish()` (never).
    @Test func reuseAcrossBatchesAndImages() throws {
        let y = try Tensor(shape: [300], scalars: Self.floats(300, seed: 11))
        let recorder = TraceRecorder(hashingBatchBytes: 64)  // every output flushes at once
        recorder.record(path: "a", output: y, operation: "op")
        recorder.record(path: "b", output: y, operation: "op")
        #expect(recorder.finish().entries.map(\.sha256) == [Self.reference(y), Self.reference(y)])
        recorder.record(path: "a", output: y, operation: "op")
        #expect(recorder.finish().entries.map(\.sha256) == [Self.reference(y)])
        #expect(recorder.statistics.reusedEntries == 1 && recorder.statistics.hashedEntries == 2)
    }

    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trace-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The streamed file reads back (our reader) with every key, dtype, shape and byte; a header
    /// that outgrows its reserved region is moved in front of a copy of the data.
    @Test(arguments: [1 << 20, 64])
    func streamedTensorsReadBack(reserved: Int) throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("t.safetensors").path
        let outputs = try Self.outputs()
        let writer = try TraceTensorWriter(path: path, reservedHeaderBytes: reserved)
        let recorder = TraceRecorder(streamingTensorsTo: writer)
        for (i, t) in outputs.enumerated() { recorder.record(path: "m\(i)", output: t, operation: "op") }
        let first = recorder.finish()
        recorder.record(path: "m0", output: outputs[5], operation: "op")
        let second = recorder.finish()
        #expect(first.tensors == nil && first.entries.count == outputs.count && second.entries.count == 1)
        #expect(!FileManager.default.fileExists(atPath: path), "nothing at the destination before commit")
        try writer.commit()
        let back = try StateDict(contentsOf: path)
        #expect(back.keys.count == outputs.count + 1)
        for (i, t) in outputs.enumerated() {
            let k = try back.tensor(TraceDocument.tensorKey(image: 0, entry: i))
            #expect(k.shape == t.shape)
            var h = SHA256(implementation: .portable)
            h.update(k.bytes)
            #expect(h.finalize().hex == Self.reference(t), "entry \(i)")
        }
        #expect(try back.tensor(TraceDocument.tensorKey(image: 1, entry: 0)).shape == outputs[5].shape)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(leftovers == ["t.safetensors"], "no temporary file left: \(leftovers)")
    }

    /// An uncommitted writer leaves the destination as it was and removes its temporary file; an
    /// unwritable folder is a typed error naming the path.
    @Test func uncommittedWriterTouchesNothing() throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("t.safetensors").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        do {
            let writer = try TraceTensorWriter(path: path)
            writer.append(try Tensor(shape: [2], scalars: [Float]([1, 2])), entry: 0)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data("old".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["t.safetensors"])
        let missing = folder.appendingPathComponent("no/such/folder/t.safetensors").path
        #expect { _ = try TraceTensorWriter(path: missing) } throws: { error in
            guard case let .unwritable(p, _) = error as? TraceError else { return false }
            return p == missing
        }
    }
}
