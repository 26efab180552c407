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

    /// Flipping single bytes of the pickle never crashes (errors or a different valid dict).
    @Test func corruptedPickleNeverCrashes() throws {
        let bytes = [UInt8](try Fixtures.data("checkpoints/small_legacy.pth"))
        var g = SplitMixForTests(seed: 1)
        for _ in 0..<2000 {
            var b = bytes
            let i = Int(g.next() % UInt64(b.count))
            b[i] ^= UInt8(truncatingIfNeeded: g.next() | 1)
            _ = try? StateDict(bytes: b)
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
