import Testing
import ReproTensor
@testable import ReproNN

@Suite struct ParameterStoreTests {
    static func floats(_ shape: [Int], _ value: Float = 1) throws -> CheckpointTensor {
        let n = shape.reduce(1, *)
        return try CheckpointTensor(dtype: .float32, shape: shape,
                                    bytes: (0..<n).flatMap { _ in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) })
    }

    static let specs = [ParameterSpec(name: "conv.weight", shape: [2, 1, 1, 1]), ParameterSpec(name: "conv.bias", shape: [2]),
                        ParameterSpec(name: "bn.num_batches_tracked", shape: [], dtype: .int64, isBuffer: true)]

    @Test func exactLoadReplacesEveryValue() throws {
        var store = try ParameterStore(specs: Self.specs)
        let dict = StateDict([("conv.weight", try Self.floats([2, 1, 1, 1], 3)), ("conv.bias", try Self.floats([2], -1)),
                              ("bn.num_batches_tracked", try CheckpointTensor(dtype: .int64, shape: [], bytes: [7, 0, 0, 0, 0, 0, 0, 0]))])
        let report = try store.load(dict)
        #expect(report.isExact && report.loaded == 3)
        #expect(try store["conv.weight"]!.scalars(as: Float.self) == [3, 3])
        #expect(try store["bn.num_batches_tracked"]!.scalars(as: Int64.self) == [7])
    }

    @Test func strictLoadNamesMissingAndUnexpectedKeysAndChangesNothing() throws {
        var store = try ParameterStore(specs: Self.specs)
        let dict = StateDict([("conv.weight", try Self.floats([2, 1, 1, 1], 3)), ("fc.weight", try Self.floats([4]))])
        #expect(throws: ModuleError.incompatibleStateDict(LoadReport(
            missing: ["conv.bias", "bn.num_batches_tracked"], unexpected: ["fc.weight"]))) {
            _ = try store.load(dict)
        }
        #expect(try store["conv.weight"]!.scalars(as: Float.self) == [0, 0], "a failed load must not change values")
    }

    @Test func nonStrictLoadReportsMissingKeys() throws {
        var store = try ParameterStore(specs: Self.specs)
        let report = try store.load(StateDict([("conv.bias", try Self.floats([2], 5))]), strict: false)
        #expect(report.missing == ["conv.weight", "bn.num_batches_tracked"] && report.loaded == 1)
        #expect(try store["conv.bias"]!.scalars(as: Float.self) == [5, 5])
    }

    @Test func shapeMismatchIsAnErrorEvenWhenNotStrict() throws {
        var store = try ParameterStore(specs: Self.specs)
        let dict = StateDict([("conv.weight", try Self.floats([3, 1, 1, 1]))])
        #expect(throws: ModuleError.incompatibleStateDict(LoadReport(
            missing: ["conv.bias", "bn.num_batches_tracked"],
            shapeMismatches: [.init(key: "conv.weight", expected: [2, 1, 1, 1], actual: [3, 1, 1, 1])]))) {
            _ = try store.load(dict, strict: false)
        }
    }

    @Test func float64CheckpointTensorsAreRefusedNotRounded() throws {
        var store = try ParameterStore(specs: Self.specs)
        let dict = StateDict([("conv.bias", try CheckpointTensor(dtype: .float64, shape: [2], bytes: [UInt8](repeating: 0, count: 16)))])
        #expect(throws: ModuleError.unsupportedDType(key: "conv.bias", dtype: "float64")) {
            _ = try store.load(dict, strict: false)
        }
    }

    @Test func ignorableSuffixesAreReportedNotUnexpected() throws {
        var store = try ParameterStore(specs: Array(Self.specs.prefix(2)), ignorableSuffixes: [".num_batches_tracked"])
        let dict = StateDict([("conv.weight", try Self.floats([2, 1, 1, 1])), ("conv.bias", try Self.floats([2])),
                              ("bn.num_batches_tracked", try CheckpointTensor(dtype: .int64, shape: [], bytes: [UInt8](repeating: 0, count: 8)))])
        let report = try store.load(dict)
        #expect(report.ignored == ["bn.num_batches_tracked"] && report.unexpected.isEmpty)
    }

    @Test func duplicateSpecNamesAreRejected() {
        #expect(throws: ModuleError.self) { _ = try ParameterStore(specs: [Self.specs[0], Self.specs[0]]) }
    }
}
