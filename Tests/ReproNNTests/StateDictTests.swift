import Foundation
import Testing
import _ReproTestSupport
@testable import ReproNN

@Suite struct StateDictTests {
    static func load(_ name: String) throws -> StateDict {
        try StateDict(bytes: [UInt8](Fixtures.data("checkpoints/\(name)")))
    }

    /// Every tensor of the zip, legacy and safetensors files equals what torch wrote, bit for bit.
    @Test(arguments: ["small.pth", "small_legacy.pth", "small.safetensors"])
    func readsEveryFormat(_ file: String) throws {
        let expected = try Fixtures.json("checkpoints/small.expected.json")
        let dict = try Self.load(file)
        let keys = try expected["keys"].array.map { try $0.string }
        if file.hasSuffix(".pth") {
            #expect(dict.keys == keys)  // pickles keep the state dict's order
            #expect(dict.moduleVersions["1"] == 2 && dict.moduleVersions[""] == 1)
        } else {
            #expect(Set(dict.keys) == Set(keys))
        }
        for key in keys {
            let want = try expected["tensors"][key]
            let t = try dict.tensor(key)
            #expect(t.shape == (try want["shape"].array.map { Int(try $0.int64) }), "\(file) \(key)")
            switch try want["dtype"].string {
            case "float32":
                let bits = try want["bits"].array.map { UInt32(try $0.uint64) }
                #expect(try t.floats().map(\.bitPattern) == bits, "\(file) \(key)")
            case "float16":
                let bits = try want["bits"].array.map { UInt16(try $0.uint64) }
                #expect(t.dtype == .float16)
                let got = stride(from: 0, to: t.bytes.count, by: 2).map { UInt16(t.bytes[$0]) | UInt16(t.bytes[$0 + 1]) << 8 }
                #expect(got == bits)
            case "int64":
                #expect(try t.integers() == (try want["values"].array.map { try $0.int64 }), "\(file) \(key)")
            default:
                Issue.record("unexpected dtype in fixture for \(key)")
            }
        }
    }

    @Test func refusesForbiddenGlobals() throws {
        #expect(throws: CheckpointError.forbiddenGlobal(module: "posix", name: "system")) {
            try Self.load("evil_os_system.pth")
        }
        #expect(throws: CheckpointError.forbiddenGlobal(module: "__builtin__", name: "eval")) {
            try Self.load("evil_builtins_eval.pth")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/repro-pwned"))
    }

    @Test func refusesBrokenFiles() throws {
        #expect(throws: CheckpointError.self) { try Self.load("truncated.pth") }
        do {
            _ = try Self.load("short_storage.pth")
            Issue.record("short storage accepted")
        } catch {
            guard case .invalidTensor(let name, _)? = error as? CheckpointError else { Issue.record("wrong error \(error)"); return }
            #expect(name == "0.weight")
        }
        do {
            _ = try Self.load("bad_offsets.safetensors")
            Issue.record("bad offsets accepted")
        } catch {
            guard case .invalidTensor("w", _)? = error as? CheckpointError else { Issue.record("wrong error \(error)"); return }
        }
        #expect(throws: CheckpointError.self) { try StateDict(bytes: Array("hello world, not a checkpoint".utf8)) }
        #expect(throws: CheckpointError.self) { try StateDict(bytes: []) }
    }

    /// Cutting a valid file at every length never crashes: each prefix either fails with a
    /// typed error or (for the full file) loads.
    @Test func everyPrefixFailsCleanly() throws {
        for file in ["small.pth", "small_legacy.pth", "small.safetensors"] {
            let bytes = [UInt8](try Fixtures.data("checkpoints/\(file)"))
            for n in stride(from: 0, to: bytes.count, by: 7) {
                #expect(throws: CheckpointError.self, "\(file) cut at \(n)") { try StateDict(bytes: Array(bytes[..<n])) }
            }
        }
    }

    /// Reads `trials` copies of `bytes`, each with one byte at a seeded position
    /// XORed with a nonzero value: (position, flipped bytes, outcome).
    static func singleByteFlips(of bytes: [UInt8], seed: UInt64, trials: Int = 2000)
        -> [(index: Int, bytes: [UInt8], result: Result<StateDict, CheckpointError>)] {
        var g = SplitMixForTests(seed: seed)
        return (0..<trials).map { _ in
            var b = bytes
            let i = Int(g.next() % UInt64(b.count))
            b[i] ^= UInt8(truncatingIfNeeded: g.next() | 1)
            do throws(CheckpointError) { return (i, b, .success(try StateDict(bytes: b))) } catch { return (i, b, .failure(error)) }
        }
    }

    /// Flipping single bytes of a legacy `.pth` ends in the outcome the flipped region allows:
    ///
    /// - the 4 bytes the format is detected by: `unknownFormat`;
    /// - the five pickles (magic, protocol, system info, state dict, storage keys): a
    ///   reader error (`unknownFormat`, `truncated`, `invalidPickle`, `forbiddenGlobal`,
    ///   `invalidTensor`, `missingEntry`, `unsupportedByteOrder`, `tooLarge`), or a
    ///   state dict of well-formed tensors when the flip lands in, say, a key's text;
    /// - a storage's 8-byte element count: `truncated` or `invalidTensor` (the storages
    ///   after it are framed wrongly);
    /// - a storage's elements: the same keys, dtypes and shapes; exactly the tensors whose
    ///   view covers the flipped element differ from the original, each in one byte.
    ///
    /// Never a zip-only error (`corruptArchive`, `unsupportedCompression`), a caller's
    /// error (`missingKey`, `wrongDType`) or `unreadable`.
    @Test func corruptedLegacyFileEndsInTheExpectedOutcome() throws {
        let bytes = [UInt8](try Fixtures.data("checkpoints/small_legacy.pth"))
        let reference = try StateDict(bytes: bytes)
        let layout = try LegacyLayout(bytes)
        var tally: [String: Int] = [:]
        for (i, _, result) in Self.singleByteFlips(of: bytes, seed: 1) {
            let what = "byte \(i) flipped"
            let region = layout.region(of: i)
            tally["\(region.name) \(result.outcomeName)", default: 0] += 1
            switch (region, result) {
            case (.signature, .failure(.unknownFormat)):
                break
            case (.pickles, .failure(.unknownFormat)), (.pickles, .failure(.truncated)), (.pickles, .failure(.invalidPickle)),
                 (.pickles, .failure(.forbiddenGlobal)), (.pickles, .failure(.invalidTensor)), (.pickles, .failure(.missingEntry)),
                 (.pickles, .failure(.unsupportedByteOrder)), (.pickles, .failure(.tooLarge)):
                break
            case (.pickles, .success(let dict)):
                // A flipped key may collide with another one; nothing adds a tensor.
                #expect(dict.count <= reference.count, "\(what)")
            case (.elementCount, .failure(.truncated)), (.elementCount, .failure(.invalidTensor)):
                break
            case (.elements(let storage, let element), .success(let dict)):
                #expect(dict.keys == reference.keys, "\(what)")
                var differing: Set<String> = []
                for key in reference.keys {
                    let want = try reference.tensor(key), got = try dict.tensor(key)
                    #expect(got.dtype == want.dtype && got.shape == want.shape, "\(what): \(key)")
                    let diff = zip(got.bytes, want.bytes).filter { $0 != $1 }.count
                    if diff > 0 {
                        differing.insert(key)
                        #expect(diff == 1, "\(what): \(key) differs in \(diff) bytes")
                    }
                }
                let covering = Set(reference.keys.filter { layout.views[$0].map { $0.storage.key == storage && LegacyLayout.elements(of: $0).contains(element) } ?? false })
                #expect(differing == covering, "\(what): element \(element) of storage \(storage)")
                tally[covering.isEmpty ? "elements uncovered" : "elements covered", default: 0] += 1
            default:
                Issue.record("\(what) (\(region.name)): unexpected \(result)")
            }
        }
        // Every region was hit, and the pickles both failed and (key text) succeeded.
        for name in ["signature unknownFormat", "elementCount truncated", "elements covered", "elements uncovered"] {
            #expect(tally[name, default: 0] > 0, "\(name) never happened: \(tally)")
        }
        #expect(tally.keys.filter { $0.hasPrefix("pickles ") }.count >= 3, "\(tally)")
    }

    /// Flipping single bytes of a PyTorch zip `.pth` (stored entries, no CRC check)
    /// ends in the outcome the flipped region allows:
    ///
    /// - a storage entry's bytes: the same state dict except that exactly the tensors
    ///   whose view covers the flipped element differ, each in one byte;
    /// - `byteorder`: `unsupportedByteOrder` naming the flipped text;
    /// - `data.pkl`: a pickle error (`truncated`, `invalidPickle`, `forbiddenGlobal`,
    ///   `invalidTensor`, `missingEntry`, `tooLarge`) or a state dict of no more tensors;
    /// - another entry's bytes (`version`, `.format_version`, …): the original state dict;
    /// - the container (local headers, central directory, ZIP64 records): `unknownFormat`
    ///   for the first 4 bytes, otherwise a container or pickle error, or a state dict
    ///   with the original keys, dtypes and shapes (a flipped timestamp or CRC is ignored).
    @Test func corruptedZipFileEndsInTheExpectedOutcome() throws {
        let bytes = [UInt8](try Fixtures.data("checkpoints/small.pth"))
        let reference = try StateDict(bytes: bytes)
        let archive = try ZipReader(bytes)
        var entryOf: [Int: (name: String, start: Int)] = [:]
        for e in archive.entries {
            let h = e.localHeaderOffset
            let start = h + 30 + Int(bytes[h + 26]) + Int(bytes[h + 27]) << 8 + Int(bytes[h + 28]) + Int(bytes[h + 29]) << 8
            for k in start..<(start + e.size) { entryOf[k] = (e.name, start) }
        }
        guard let pkl = archive.entries.first(where: { $0.name.hasSuffix("/data.pkl") }) else { Issue.record("no data.pkl"); return }
        let prefix = String(pkl.name.dropLast("data.pkl".count))
        var u = Unpickler(try archive.data(pkl.name).array[...])
        guard case .dict(let root) = try u.load() else { Issue.record("no dict"); return }
        var views: [String: Unpickler.TensorRef] = [:]
        for (k, v) in zip(root.keys, root.values) {
            if case .string(let name) = k, case .tensor(let t) = v { views[name] = t }
        }
        func sameShapes(_ d: StateDict) throws -> Bool {
            try d.keys == reference.keys && reference.keys.allSatisfy {
                let a = try d.tensor($0), b = try reference.tensor($0)
                return a.dtype == b.dtype && a.shape == b.shape
            }
        }
        var tally: [String: Int] = [:]
        for (i, b, result) in Self.singleByteFlips(of: bytes, seed: 2) {
            let what = "byte \(i) flipped"
            let entry = entryOf[i]
            let region: String
            switch entry?.name {
            case nil: region = "container"
            case pkl.name?: region = "pickle"
            case (prefix + "byteorder")?: region = "byteorder"
            case let name? where name.hasPrefix(prefix + "data/"): region = "storage"
            default: region = "other"
            }
            tally["\(region) \(result.outcomeName)", default: 0] += 1
            switch (region, result) {
            case ("storage", .success(let dict)):
                guard let entry else { continue }
                let key = String(entry.name.dropFirst((prefix + "data/").count))
                let element = (i - entry.start) / (views.values.first { $0.storage.key == key }?.storage.dtype.byteCount ?? 1)
                var differing: Set<String> = []
                for name in reference.keys {
                    let diff = zip(try dict.tensor(name).bytes, try reference.tensor(name).bytes).filter { $0 != $1 }.count
                    if diff > 0 { differing.insert(name); #expect(diff == 1, "\(what): \(name)") }
                }
                let covering = Set(reference.keys.filter { views[$0].map { $0.storage.key == key && LegacyLayout.elements(of: $0).contains(element) } ?? false })
                #expect(try sameShapes(dict) && differing == covering, "\(what): storage \(key) element \(element)")
            case ("byteorder", .failure(.unsupportedByteOrder(let text))):
                #expect(text == String(decoding: try ZipReader(b).data(prefix + "byteorder"), as: UTF8.self), "\(what)")
            case ("pickle", .failure(.truncated)), ("pickle", .failure(.invalidPickle)), ("pickle", .failure(.forbiddenGlobal)),
                 ("pickle", .failure(.invalidTensor)), ("pickle", .failure(.missingEntry)), ("pickle", .failure(.tooLarge)):
                break
            case ("pickle", .success(let dict)):
                #expect(dict.count <= reference.count, "\(what)")
            case ("other", .success(let dict)):
                #expect(try sameShapes(dict) && reference.keys.allSatisfy { try dict.tensor($0) == reference.tensor($0) }, "\(what)")
            case ("container", .failure(.unknownFormat)):
                #expect(i < 4, "\(what)")
            case ("container", .failure(.corruptArchive)), ("container", .failure(.truncated)), ("container", .failure(.missingEntry)),
                 ("container", .failure(.unsupportedCompression)), ("container", .failure(.invalidPickle)),
                 ("container", .failure(.invalidTensor)), ("container", .failure(.unsupportedByteOrder)):
                break
            case ("container", .success(let dict)):
                #expect(try sameShapes(dict), "\(what)")
            default:
                Issue.record("\(what) (\(region)): unexpected \(result)")
            }
        }
        for name in ["storage dict", "byteorder unsupportedByteOrder", "pickle invalidPickle", "container corruptArchive", "container dict"] {
            #expect(tally[name, default: 0] > 0, "\(name) never happened: \(tally)")
        }
    }
}

/// Where each byte of a legacy `.pth` belongs: the detection bytes, the five
/// pickles, and then per storage an 8-byte element count and the elements.
struct LegacyLayout {
    enum Region: Equatable {
        case signature, pickles, elementCount, elements(storage: String, element: Int)
        var name: String {
            switch self {
            case .signature: "signature"
            case .pickles: "pickles"
            case .elementCount: "elementCount"
            case .elements: "elements"
            }
        }
    }

    var picklesEnd = 0
    var storages: [(key: String, count: Range<Int>, elements: Range<Int>)] = []
    /// The view each tensor of the state dict is.
    var views: [String: Unpickler.TensorRef] = [:]
    var byteCounts: [String: Int] = [:]

    /// The storage elements a view reads.
    static func elements(of view: Unpickler.TensorRef) -> Set<Int> {
        var out: Set<Int> = [view.offset]
        for (d, s) in zip(view.shape, view.strides) {
            out = Set(out.flatMap { base in (0..<d).map { base + $0 * s } })
        }
        return out
    }

    init(_ bytes: [UInt8]) throws {
        var u = Unpickler(bytes[...])
        var values: [Unpickler.Value] = []
        for _ in 0..<5 {
            values.append(try u.load())
            u = Unpickler(bytes[u.pos...])
        }
        picklesEnd = u.pos
        guard case .dict(let root) = values[3], case .list(let keyList) = values[4] else {
            throw CheckpointError.invalidPickle(offset: 0, reason: "fixture layout")
        }
        var dtypes: [String: CheckpointDType] = [:]
        for (k, v) in zip(root.keys, root.values) {
            guard case .string(let name) = k, case .tensor(let t) = v else { continue }
            views[name] = t
            dtypes[t.storage.key] = t.storage.dtype
            byteCounts[t.storage.key] = t.storage.dtype.byteCount
        }
        var p = picklesEnd
        for item in keyList.items {
            guard case .string(let key) = item, let dtype = dtypes[key] else { continue }
            let n = (0..<8).reduce(0) { $0 | Int(bytes[p + $1]) << (8 * $1) }
            storages.append((key, p..<(p + 8), (p + 8)..<(p + 8 + n * dtype.byteCount)))
            p += 8 + n * dtype.byteCount
        }
        guard p == bytes.count else { throw CheckpointError.truncated("fixture layout ends at \(p) of \(bytes.count)") }
    }

    func region(of i: Int) -> Region {
        if i < 4 { return .signature }
        if i < picklesEnd { return .pickles }
        for s in storages {
            if s.count.contains(i) { return .elementCount }
            if s.elements.contains(i) {
                return .elements(storage: s.key, element: (i - s.elements.lowerBound) / (byteCounts[s.key] ?? 1))
            }
        }
        return .pickles  // unreachable for the fixture: the layout covers the whole file
    }
}

extension Result<StateDict, CheckpointError> {
    /// "dict", or the error's case name (for the outcome tally).
    var outcomeName: String {
        switch self {
        case .success: "dict"
        case .failure(let e):
            switch e {
            case .unreadable: "unreadable"
            case .unwritable: "unwritable"
            case .unknownFormat: "unknownFormat"
            case .truncated: "truncated"
            case .corruptArchive: "corruptArchive"
            case .unsupportedCompression: "unsupportedCompression"
            case .missingEntry: "missingEntry"
            case .invalidPickle: "invalidPickle"
            case .forbiddenGlobal: "forbiddenGlobal"
            case .invalidTensor: "invalidTensor"
            case .invalidHeader: "invalidHeader"
            case .wrongDType: "wrongDType"
            case .missingKey: "missingKey"
            case .unsupportedByteOrder: "unsupportedByteOrder"
            case .tooLarge: "tooLarge"
            }
        }
    }
}

/// Tiny deterministic generator for corruption tests.
struct SplitMixForTests {
    var s: UInt64
    init(seed: UInt64) { s = seed }
    mutating func next() -> UInt64 {
        s &+= 0x9e37_79b9_7f4a_7c15
        var z = s
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
