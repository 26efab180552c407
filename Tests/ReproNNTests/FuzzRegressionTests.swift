import Foundation
import Testing
import _ReproTestSupport
@testable import ReproNN

/// Inputs found by fuzzing the checkpoint reader (scripts/fuzz_checkpoint.sh)
/// or while writing its fuzz target; each one crashed, leaked or could
/// allocate without bound before its fix. Reproducers the fuzzer wrote are in
/// Tests/Fixtures/checkpoints/fuzz/.
@Suite struct CheckpointFuzzRegressionTests {
    /// Runs a pickle stream through the unpickler and the state-dict builder,
    /// supplying every storage with the byte count it declares (as the fuzz
    /// target's "pickle" mode does).
    static func readPickle(_ bytes: [UInt8]) throws(CheckpointError) -> StateDict {
        var u = Unpickler(bytes[...])
        let root = try u.load()
        return try StateDict.build(root, format: .pytorchZip) { (s) throws(CheckpointError) -> ArraySlice<UInt8> in
            let (n, o) = s.elementCount.multipliedReportingOverflow(by: s.dtype.byteCount)
            guard !o, n <= 1 << 20 else { throw .tooLarge("test storage cap") }
            return [UInt8](repeating: 0, count: n)[...]
        }
    }

    static func expectInvalidPickle(_ bytes: [UInt8], containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try readPickle(bytes)
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch {
            guard case .invalidPickle(_, let reason) = error else {
                Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(reason.contains(text), "\(reason)", sourceLocation: sourceLocation)
        }
    }

    /// libFuzzer (LeakSanitizer): a dict set as a key and value of itself made a
    /// reference cycle that was never freed when a later opcode failed.
    /// Containers now live in arenas while the stream runs.
    @Test func selfReferencingDictFromTheFuzzer() throws {
        let bytes = [UInt8](try Fixtures.data("checkpoints/fuzz/pickle-self-referencing-dict.pkl"))
        #expect(throws: CheckpointError.invalidPickle(offset: 18, reason: "opcode 0xa is not allowed in a state dict")) {
            try Self.readPickle(bytes)
        }
    }

    /// The same cycle completed with STOP, for a dict and a list: refused as
    /// recursive instead of leaking (or recursing without end when walked).
    @Test func recursiveContainersAreRefused() {
        // EMPTY_DICT DUP DUP SETITEM STOP: d[d] = d.
        Self.expectInvalidPickle([0x7d, 0x32, 0x32, 0x73, 0x2e], containing: "recursive")
        // EMPTY_LIST DUP APPEND STOP: l.append(l).
        Self.expectInvalidPickle([0x5d, 0x32, 0x61, 0x2e], containing: "recursive")
    }

    /// A million nested one-tuples was a million-deep Swift value whose
    /// destruction overflowed the stack; nesting is now capped.
    @Test func deepNestingIsRefused() {
        let bytes: [UInt8] = [0x4e] + [UInt8](repeating: 0x85, count: 1_000_000) + [0x2e]
        Self.expectInvalidPickle(bytes, containing: "nested deeper than \(Unpickler.maxDepth)")
        // At the limit it still loads.
        let ok: [UInt8] = [0x4e] + [UInt8](repeating: 0x85, count: Unpickler.maxDepth) + [0x2e]
        var u = Unpickler(ok[...])
        #expect((try? u.load()) != nil)
    }

    /// A tuple of itself doubled 64 times shares storage while parsing but
    /// would be 2^64 values once copied out: refused by the value budget.
    @Test func exponentialSharingIsRefused() {
        // NONE, then 64 x (DUP TUPLE2): t = (t, t).
        let bytes: [UInt8] = [0x4e] + [[UInt8]](repeating: [0x32, 0x86], count: 64).flatMap { $0 } + [0x2e]
        #expect(Unpickler.objectBudget(forBytes: bytes.count) == 1024 + 8 * 130)
        #expect(throws: CheckpointError.tooLarge("the pickle expands to more than 2064 values")) {
            try Self.readPickle(bytes)
        }
    }

    /// libFuzzer (timeout): 1 KB of memoised OrderedDicts and tuples shared
    /// many ways expanded to millions of values (10 s under ASan; two similar
    /// inputs took 9 s). The budget now grows with the stream (8 values per
    /// byte), so it stops at 9,248 values (19 ms under ASan).
    @Test func sharedDictsFromTheFuzzerStopAtTheBudget() throws {
        let bytes = [UInt8](try Fixtures.data("checkpoints/fuzz/pickle-shared-expansion.pkl"))
        #expect(bytes.count == 1028)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(throws: CheckpointError.tooLarge("the pickle expands to more than 9248 values")) { try Self.readPickle(bytes) }
        #expect(clock.now - start < .seconds(1))
    }

    /// SETITEM of a key already present replaces its value in place (found while
    /// writing the fuzz target: the search for it was linear in the dict's size,
    /// quadratic over a stream of distinct keys; it is now a hash lookup).
    @Test func repeatedKeysReplaceTheirValue() throws {
        // EMPTY_DICT, then 200,000 x (SHORT_BINUNICODE "k" NONE SETITEM), STOP.
        var bytes: [UInt8] = [0x7d]
        for i in 0..<200_000 {
            let key = Array("k\(i % 1000)".utf8)
            bytes += [0x8c, UInt8(key.count)] + key + [0x4e, 0x73]
        }
        bytes.append(0x2e)
        var u = Unpickler(bytes[...])
        guard case .dict(let d) = try u.load() else { Issue.record("not a dict"); return }
        #expect(d.keys.count == 1000)
        guard case .string("k0") = d.keys[0], case .string("k999") = d.keys[999] else { Issue.record("key order"); return }
    }

    /// A storage of 2^62 float elements: `numel × 4` overflowed (a trap).
    @Test func storageSizeOverflowIsATypedError() {
        let bytes = PickleBuilder.stateDict(numel: 1 << 62, shape: [1], strides: [1])
        var u = Unpickler(bytes[...])
        let root: Unpickler.Value
        do { root = try u.load() } catch { Issue.record("unexpected \(error)"); return }
        do {
            _ = try StateDict.build(root, format: .pytorchZip) { (_) throws(CheckpointError) -> ArraySlice<UInt8> in [] }
            Issue.record("accepted")
        } catch {
            guard case .invalidTensor("w", _) = error else { Issue.record("unexpected \(error)"); return }
        }
    }

    /// A stride-0 view of one element with 2^40 elements: allocated 4 TiB before
    /// any check. Views may expand their storage only up to 64 MiB.
    @Test func expandingViewIsRefusedBeforeAllocating() throws {
        let huge = PickleBuilder.stateDict(numel: 1, shape: [1 << 40], strides: [0])
        #expect(throws: CheckpointError.tooLarge("tensor w: a view of shape [1099511627776] needs 4398046511104 bytes from a 4-byte storage")) {
            try Self.readPickle(huge)
        }
        // Shape overflow: 2^62 x 4 bytes.
        let overflow = PickleBuilder.stateDict(numel: 1, shape: [1 << 62], strides: [0])
        #expect(throws: CheckpointError.self) { try Self.readPickle(overflow) }
        // A small broadcast view still loads, every element the storage's one value.
        let small = PickleBuilder.stateDict(numel: 1, shape: [3, 2], strides: [0, 0])
        let t = try Self.readPickle(small).tensor("w")
        #expect(t.shape == [3, 2] && t.bytes.count == 24)
    }
}

/// Writes the pickle of `OrderedDict(w=<float tensor view>)` as torch.save does.
enum PickleBuilder {
    static func string(_ s: String) -> [UInt8] {
        let b = Array(s.utf8)
        return [0x58] + (0..<4).map { UInt8(truncatingIfNeeded: b.count >> (8 * $0)) } + b
    }

    static func int(_ v: Int) -> [UInt8] {
        [0x8a, 8] + (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }

    static func global(_ module: String, _ name: String) -> [UInt8] {
        [0x63] + Array("\(module)\n\(name)\n".utf8)
    }

    static func tuple(_ items: [Int]) -> [UInt8] { [0x28] + items.flatMap(int) + [0x74] }

    static func stateDict(numel: Int, shape: [Int], strides: [Int]) -> [UInt8] {
        var b: [UInt8] = [0x80, 0x02]
        b += global("collections", "OrderedDict") + [0x29, 0x52]       // OrderedDict()
        b += string("w")
        b += global("torch._utils", "_rebuild_tensor_v2") + [0x28]     // callable, MARK
        b += [0x28] + string("storage") + global("torch", "FloatStorage") + string("0") + string("cpu") + int(numel) + [0x74, 0x51]
        b += int(0) + tuple(shape) + tuple(strides) + [0x89, 0x4e]     // offset, size, stride, False, None
        b += [0x74, 0x52, 0x73, 0x2e]                                   // TUPLE REDUCE SETITEM STOP
        return b
    }
}
