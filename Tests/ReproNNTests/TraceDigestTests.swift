import Foundation
@testable import ReproNN
import ReproTensor
import Testing
import _ReproTestSupport

/// The `repro-nh-v1` trace digest: fixed vectors computed independently (NumPy and plain Python
/// integers, `scripts/make_trace_digest_vectors.py`), the vector path against the portable one,
/// thread invariance, and detection of every single-bit flip.
@Suite struct TraceDigestTests {
    /// The generator's input pattern: byte i = (i·167 + (i >> 8)·13 + 5) mod 256.
    static func pattern(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 167 &+ ($0 >> 8) &* 13 &+ 5) } }

    static func nh(_ bytes: [UInt8], threads: Int = 1, portable: Bool = false) -> String {
        bytes.withUnsafeBytes { TraceDigest.nhDigest($0, threads: threads, portable: portable) }
    }

    @Test func matchesTheIndependentVectors() throws {
        let doc = try Fixtures.json("trace/nh_vectors.json")
        let algorithm = try doc["algorithm"].string
        let key0 = try doc["key0_first"].array.map { UInt32(try $0.int64) }
        let key1 = try doc["key1_first"].array.map { UInt32(try $0.int64) }
        #expect(algorithm == TraceDigest.nh.rawValue)
        #expect(key0 == Array(TraceDigest.nhKey0.prefix(4)) && key1 == Array(TraceDigest.nhKey1.prefix(4)))
        let vectors = try doc["vectors"].array
        #expect(vectors.count == 12)
        for v in vectors {
            let n = Int(try v["length"].int64), expected = try v["digest"].string
            let bytes: [UInt8]
            if try v["input"].string == "float32" {
                let values = (0..<(n / 4)).map { Float($0) * 0.5 - 1000 }
                bytes = values.withUnsafeBytes { Array($0) }
                // The tensor path hashes the same little-endian element bytes.
                let t = try Tensor(shape: [values.count], scalars: values)
                #expect(TraceDigest.nh.digest(t) == expected)
            } else {
                bytes = Self.pattern(n)
            }
            #expect(Self.nh(bytes) == expected, "length \(n)")
            #expect(Self.nh(bytes, portable: true) == expected, "length \(n), portable path")
        }
    }

    @Test func theKeysDifferAtEveryPosition() {
        // What makes every change confined to one 32-bit word detectable: a word's partner
        // (w + key) can be 0 mod 2^32 for at most one of the two keys.
        #expect(TraceDigest.nhKey0.count == 1024 && TraceDigest.nhKey1.count == 1024)
        #expect(zip(TraceDigest.nhKey0, TraceDigest.nhKey1).allSatisfy { $0 != $1 })
    }

    @Test func vectorPathEqualsPortablePath() {
        var g = SplitMixForTests(seed: 7)
        for n in [4096, 4096 * 5 + 3, 4096 * 70 + 100] {
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            #expect(Self.nh(bytes) == Self.nh(bytes, portable: true), "length \(n)")
        }
    }

    @Test func digestDoesNotDependOnThreads() throws {
        // 200 full chunks + a tail: four work items of 64 chunks, so 2 and 3 threads really split them.
        let n = 4096 * 200 + 36
        let values = (0..<(n / 4)).map { Float($0 % 977) * 0.25 }
        let t = try Tensor(shape: [values.count], scalars: values)
        let reference = Self.nh(values.withUnsafeBytes { Array($0) }, portable: true)
        for threads in [1, 2, 3] {
            var settings = Runtime.settings
            settings.threads = threads
            let pool = ThreadPool()
            let d = Runtime.withSettings(settings) { Runtime.withThreadPool(pool) { TraceDigest.nh.digest(t) } }
            #expect(d == reference, "threads \(threads)")
            let ran = pool.statistics
            #expect(ran.serialFallbacks == 0 && ran.largestTeam == (threads > 1 ? threads : 0), "threads \(threads): \(ran)")
        }
    }

    @Test func everySingleBitFlipChangesTheDigest() {
        // Every bit of one full chunk and of a partial tail chunk (4096 + 100 bytes).
        let base = Self.pattern(4096 + 100)
        let reference = Self.nh(base)
        var seen: Set<String> = [reference]
        var missed = 0
        for byte in base.indices {
            for bit in 0..<8 {
                var flipped = base
                flipped[byte] ^= UInt8(1 << bit)
                if !seen.insert(Self.nh(flipped)).inserted { missed += 1 }
            }
        }
        #expect(missed == 0, "\(missed) flips gave a digest already seen")
        #expect(seen.count == base.count * 8 + 1)
    }

    @Test func lengthIsPartOfTheDigest() {
        // Zero padding cannot make a shorter input equal a longer one.
        #expect(Self.nh([0, 0, 0]) != Self.nh([0, 0, 0, 0]))
        #expect(Self.nh([]) != Self.nh([0]))
    }

    @Test func documentsRecordTheDigestAndRefuseMixedOnes() throws {
        let model = TraceDocument.Model(arch: "x", fingerprint: "f", weightsSHA256: "w")
        let image = TraceDocument.Image(file: "a", inputSHA256: "p", modules: [
            TraceEntry(name: "m", op: "op", shape: [1], dtype: "float32", sha256: String(repeating: "a", count: 64))])
        let fast = TraceDocument(producer: "t", digest: .nh, model: model, images: [image])
        let read = try TraceDocument(json: fast.jsonData())
        #expect(read.digest == .nh && read == fast)
        let slow = TraceDocument(producer: "t", model: model, images: [image])
        #expect(try TraceDocument(json: slow.jsonData()).digest == .sha256)
        // A trace written before the field existed is SHA-256.
        let legacy = String(decoding: slow.jsonData(), as: UTF8.self).replacingOccurrences(of: " \"digest\": \"sha256\",\n", with: "")
        #expect(!legacy.contains("digest"))
        #expect(try TraceDocument(json: Data(legacy.utf8)).digest == .sha256)
        let unknown = String(decoding: slow.jsonData(), as: UTF8.self).replacingOccurrences(of: "\"sha256\",\n", with: "\"md5\",\n")
        #expect(throws: TraceError.self) { try TraceDocument(json: Data(unknown.utf8)) }
        do {
            _ = try TraceComparison.compare(fast, slow)
            Issue.record("traces with different digests were compared")
        } catch {
            guard case let .differentDigests(message) = error else { Issue.record("\(error)"); return }
            #expect(message.contains("repro-nh-v1") && message.contains("sha256"))
        }
        #expect(try TraceComparison.compare(fast, fast).identical)
    }
}
