import Foundation
import ReproRandom
import ReproTensor
import Testing
import _ReproTestSupport
@testable import ReproNN

/// float16/bfloat16 widening, training-checkpoint wrappers, key prefixes, the safetensors writer
/// and the match count of a refused load.
@Suite struct CheckpointConversionTests {
    static func load(_ name: String) throws -> StateDict {
        try StateDict(bytes: [UInt8](Fixtures.data("checkpoints/\(name)")))
    }

    /// Every float16 pattern widens to the value Swift's own `Float16` has (exact: no rounding
    /// exists), NaNs keep sign and payload and come back quiet.
    @Test func float16WideningIsExactForAllPatterns() {
        var wrong: [UInt16] = []   // one expectation at the end: 65536 of them would dominate the run time
        for bits in 0...UInt16.max {
            let got = HalfPrecision.float(float16Bits: bits)
            #if arch(x86_64) || arch(arm64)
            let reference = Float(Float16(bitPattern: bits))
            let quiet = (UInt32(bits & 0x8000) << 16) | 0x7FC0_0000 | (UInt32(bits & 0x3FF) << 13)
            if reference.isNaN ? got.bitPattern != quiet : got.bitPattern != reference.bitPattern { wrong.append(bits) }
            #endif
        }
        #expect(wrong.isEmpty, "float16 patterns widened wrongly: \(wrong.prefix(8).map { String($0, radix: 16) })")
        // Hand-checked corners: subnormals, the largest finite value, infinities.
        #expect(HalfPrecision.float(float16Bits: 0x0001) == 0x1p-24)
        #expect(HalfPrecision.float(float16Bits: 0x8001) == -0x1p-24)
        #expect(HalfPrecision.float(float16Bits: 0x03FF) == 1023 * 0x1p-24)
        #expect(HalfPrecision.float(float16Bits: 0x7BFF) == 65504)
        #expect(HalfPrecision.float(float16Bits: 0x7C00) == .infinity)
        #expect(HalfPrecision.float(float16Bits: 0xFC00) == -.infinity)
        #expect(HalfPrecision.float(float16Bits: 0x8000).bitPattern == 0x8000_0000)
    }

    /// bfloat16 is a float32's upper half: every pattern, NaNs included, keeps every bit.
    @Test func bfloat16WideningKeepsEveryBit() {
        let wrong = (0...UInt16.max).filter { HalfPrecision.float(bfloat16Bits: $0).bitPattern != UInt32($0) << 16 }
        #expect(wrong.isEmpty, "bfloat16 patterns widened wrongly: \(wrong.prefix(8))")
    }

    /// The widened values equal PyTorch's `.float()` bit for bit (subnormals, infinities, quiet and
    /// signalling NaNs), read from a safetensors file PyTorch wrote.
    @Test func halfPrecisionTensorsMatchTorch() throws {
        let dict = try Self.load("half_precision.safetensors")
        let expected = try Fixtures.json("checkpoints/half_precision.expected.json")
        for name in ["f16", "bf16"] {
            let want = try expected["float32_bits"][name].array.map { UInt32(try $0.uint64) }
            let t = try dict.tensor(name)
            #expect(t.dtype == (name == "f16" ? .float16 : .bfloat16))
            #expect(try t.floats(name: name).map(\.bitPattern) == want, "\(name)")
            // Loading into a tensor widens the same way.
            let tensor = try Tensor(checkpoint: t, name: name)
            #expect(tensor.dtype == .float32)
            #expect(try tensor.scalars(as: Float.self).map(\.bitPattern) == want)
        }
        // float64 would need rounding: still refused.
        let f64 = try CheckpointTensor(dtype: .float64, shape: [1], bytes: [0, 0, 0, 0, 0, 0, 0xF0, 0x3F])
        #expect(throws: ModuleError.unsupportedDType(key: "d", dtype: "float64")) { _ = try Tensor(checkpoint: f64, name: "d") }
    }

    /// `{"state_dict": …}` and `{"model": …}` training checkpoints are unwrapped (and say so);
    /// a pickle with no tensor dict is refused with a sentence naming what it holds.
    @Test func trainingCheckpointsAreUnwrapped() throws {
        let plain = try Self.load("small.pth")
        for (file, key) in [("wrapped_state_dict.pth", "state_dict"), ("wrapped_model.pth", "model")] {
            let dict = try Self.load(file)
            #expect(dict.wrapperKey == key, "\(file)")
            #expect(dict.keys == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"])
            // Same recipe as small.pth (torch.manual_seed(0)): the same conv weights.
            #expect(try dict.tensor("0.weight").bytes == plain.tensor("0.weight").bytes)
            #expect(dict.moduleVersions["1"] == 2)
        }
        #expect(try Self.load("small.pth").wrapperKey == nil)
        do {
            _ = try StateDict(bytes: [UInt8](Fixtures.data("checkpoints/not_a_state_dict.pth")))
            Issue.record("a dict without tensors was accepted")
        } catch {
            guard case CheckpointError.invalidPickle(_, let reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(reason.contains("not a state dict") && reason.contains("epoch") && reason.contains("\"state_dict\""))
        }
    }

    /// A shared prefix is found and stripped (module versions too); a collision is refused.
    @Test func prefixesAreFoundAndStripped() throws {
        let t = try CheckpointTensor(dtype: .float32, shape: [1], bytes: [0, 0, 128, 63])
        let dict = StateDict([("module.a.weight", t), ("module.b.bias", t)], moduleVersions: ["module.a": 2, "module": 1])
        #expect(dict.sharedKeyPrefix == "module.")
        let stripped = try dict.strippingPrefix("module.")
        #expect(stripped.keys == ["a.weight", "b.bias"])
        #expect(stripped.moduleVersions == ["a": 2, "": 1])
        #expect(stripped.sharedKeyPrefix == nil)
        #expect(StateDict([("a.x", t), ("b.y", t)]).sharedKeyPrefix == nil)
        #expect(StateDict([("weight", t)]).sharedKeyPrefix == nil)
        let colliding = StateDict([("module.a", t), ("a", t)])
        #expect(throws: CheckpointError.self) { _ = try colliding.strippingPrefix("module.") }
        #expect(dict.dtypeCounts == ["float32": 2])
    }

    /// The writer round-trips every tensor bit for bit, gives the same bytes every time, and
    /// replaces the file atomically (no temporary file is left behind).
    @Test func safetensorsWriterRoundTrips() throws {
        let source = try Self.load("small.safetensors")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("repro-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("out.safetensors").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        try source.writeSafetensors(to: path)
        let back = try StateDict(contentsOf: path)
        #expect(back.keys == source.keys)
        for key in source.keys { #expect(back[key] == source[key], "\(key)") }
        #expect(try source.safetensorsBytes() == Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.safetensors"])
        let header = try source.safetensorsBytes()
        let n = Int(header[0]) | Int(header[1]) << 8
        #expect(n % 8 == 0)
    }

    /// A strict load that fails still says how many entries matched (before: "loaded 0 tensors").
    @Test func refusedLoadReportsMatches() throws {
        var g = TorchGenerator(seed: 0)
        var model = try Conv2d(inChannels: 3, outChannels: 4, kernelSize: 3, generator: &g)
        let full = try StateDict(module: model)
        #expect(full.count == 2)
        let partial = StateDict([(full.keys[0], try full.tensor(full.keys[0]))])
        let refused = Result { () throws(ModuleError) in try model.load(stateDict: partial, strict: true) }
        guard case .failure(.incompatibleStateDict(let report)) = refused else {
            Issue.record("a partial checkpoint loaded strictly: \(refused)")
            return
        }
        #expect(report.matched == 1 && report.loaded == 0 && report.missing == [full.keys[1]])
        #expect(report.description.hasPrefix("1 of 2 expected tensors matched; nothing was loaded"))
        let loaded = try model.load(stateDict: full, strict: true)
        #expect(loaded.matched == 2 && loaded.loaded == 2)
    }
}
