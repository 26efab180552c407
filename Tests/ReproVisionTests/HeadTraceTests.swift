import ReproNN
import ReproRandom
import ReproTensor
import Testing
@testable import ReproVision

/// A traced (observed) RetinaNet head runs the plain pass's fast path — every convolution once
/// over all levels, each group norm + ReLU applied by the next convolution — and still reports
/// every module output of every level, in torchvision's level-by-level order, with the digests of
/// the level-by-level unfused pass.
@Suite struct HeadTraceTests {
    /// Gives every group norm non-trivial γ, β (the affine step must matter).
    struct NormValues: ModuleVisitor {
        var k = 0
        mutating func visit(_ key: String, _ tensor: inout Tensor, _ info: ParameterInfo) throws(ModuleError) {
            guard info.layer == .groupNorm else { return }
            k += 1
            let n = tensor.count, k = self.k
            let v = (0..<n).map { (i: Int) -> Float in
                info.name == "weight" ? 0.5 + Float((i * 7 + k) % 11) / 10 : Float((i * 5 + k) % 9) / 20 - 0.2
            }
            tensor = try .parameter(shape: tensor.shape, v)
        }
    }

    static func head(groups: Int?) throws -> RetinaNetHead {
        var g = TorchGenerator(seed: 5)
        var head = try RetinaNetHead(channels: 16, anchors: 3, numClasses: 5, groups: groups, priorBias: -1, generator: &g)
        _ = try head.visit(with: NormValues())
        try head.prepare(in: .root)
        return head
    }

    /// Five levels of a two-image batch, halving in size (the last 1×1).
    static func levels() throws -> [Tensor] {
        var x: UInt32 = 12345
        return try [(9, 13), (5, 7), (3, 4), (2, 2), (1, 1)].map { (h, w) in
            let n = 2 * h * w * 16
            let v = (0..<n).map { _ -> Float in
                x ^= x << 13; x ^= x >> 17; x ^= x << 5
                return Float(Int32(bitPattern: x)) / Float(Int32.max) * 2
            }
            return try Tensor(shape: [2, h, w, 16], scalars: v)
        }
    }

    static func bits(_ t: Tensor) throws -> [UInt32] { try t.contiguous().scalars(as: Float.self).map(\.bitPattern) }

    /// The reference: each level through each branch on its own, observed (the unfused, out-of-place
    /// level-by-level pass), in torchvision's order.
    static func reference(_ head: RetinaNetHead, _ levels: [Tensor], _ scope: ModuleScope) throws -> (cls: Tensor, reg: Tensor) {
        let s = scope.child("head")
        var cls: [Tensor] = [], reg: [Tensor] = []
        for p in levels {
            cls.append(try head.classificationHead.forward(p, in: s.child(HeadNames.classificationHead)))
            reg.append(try head.regressionHead.forward(p, in: s.child(HeadNames.regressionHead)))
        }
        return (try Tensor.concatenate(cls, along: 1), try Tensor.concatenate(reg, along: 1))
    }

    @Test(arguments: [4, nil] as [Int?])
    func tracedHeadEqualsLevelByLevelReference(groups: Int?) throws {
        let head = try Self.head(groups: groups), levels = try Self.levels()
        let expected = TraceRecorder(keepingTensors: true)
        let ref = try Self.reference(head, levels, expected.scope())
        let reference = expected.finish()

        let recorder = TraceRecorder(keepingTensors: true)
        let traced = try head.forward(levels, in: recorder.scope().child("head"))
        let trace = recorder.finish()
        let plain = try head.forward(levels, in: ModuleScope.root.child("head"))
        #expect(try Self.bits(traced.cls) == Self.bits(plain.cls) && Self.bits(traced.reg) == Self.bits(plain.reg))
        #expect(try Self.bits(traced.cls) == Self.bits(ref.cls) && Self.bits(traced.reg) == Self.bits(ref.reg))

        // Per level and branch: 4 blocks × (conv[, norm + ReLU], block) + tower + output convolution.
        let perBranch = groups == nil ? 4 * 2 + 2 : 4 * 3 + 2
        #expect(trace.entries.count == 5 * 2 * perBranch)
        #expect(trace.entries.map(\.name) == reference.entries.map(\.name))
        #expect(trace.entries.map(\.shape) == reference.entries.map(\.shape))
        #expect(trace.entries.map(\.dtype) == reference.entries.map(\.dtype))
        #expect(trace.entries.map(\.sha256) == reference.entries.map(\.sha256))
        #expect(trace.entries.prefix(perBranch).allSatisfy { $0.name.hasPrefix("head.classification_head.") })
        #expect(trace.entries[perBranch..<(2 * perBranch)].allSatisfy { $0.name.hasPrefix("head.regression_head.") })
        // Without group norms each block's convolution runs with its ReLU fused, reported under the
        // ReLU's name (as in the untraced reference).
        #expect(trace.entries[0].name == (groups == nil ? "head.classification_head.conv.0.1" : "head.classification_head.conv.0.0"))
        let kept = try #require(trace.tensors), keptReference = try #require(reference.tensors)
        for (a, b) in zip(kept, keptReference) { #expect(try Self.bits(a) == Self.bits(b)) }

        // The operations say what ran: convolutions over all levels in one call, norms held back.
        for (e, r) in zip(trace.entries, reference.entries) {
            if r.op.hasPrefix("Conv2d") {
                #expect(e.op == r.op + " [5 levels in one call]", "\(e.name)")
            } else if r.op.hasPrefix("GroupNorm") {
                #expect(e.op.hasPrefix("GroupNorm(4, 16) + ReLU (fused; held back") && e.op.hasSuffix("recorded out of place)"))
            } else {
                #expect(e.op == r.op, "\(e.name)")
            }
        }
    }

    /// A plain observer sees the same paths and bits, in the same order; the fast digest reuses the
    /// digest of each sequence's output (the same view as its last step's) and equals the reference.
    @Test func plainObserversAndTheFastDigest() throws {
        let head = try Self.head(groups: 4), levels = try Self.levels()
        final class Log: @unchecked Sendable { var outputs: [(String, [UInt32])] = [] }
        let (a, b) = (Log(), Log())
        _ = try Self.reference(head, levels, ModuleScope(observer: { p, t in a.outputs.append((p, try! Self.bits(t))) }))
        _ = try head.forward(levels, in: ModuleScope(observer: { p, t in b.outputs.append((p, try! Self.bits(t))) }).child("head"))
        #expect(a.outputs.count == 140)
        #expect(a.outputs.map(\.0) == b.outputs.map(\.0))
        #expect(a.outputs.map(\.1) == b.outputs.map(\.1))

        let nhReference = TraceRecorder(digest: .nh)
        _ = try Self.reference(head, levels, nhReference.scope())
        let nh = TraceRecorder(digest: .nh)
        _ = try head.forward(levels, in: nh.scope().child("head"))
        #expect(nh.finish().entries == nhReference.finish().entries.map { e in
            var e = e
            if e.op.hasPrefix("Conv2d") { e.op += " [5 levels in one call]" }
            if e.op.hasPrefix("GroupNorm") { e.op = "GroupNorm(4, 16) + ReLU (fused; held back for the next convolution, recorded out of place)" }
            return e
        })
        // Per level and branch, 4 blocks and the tower end with their last step's output.
        #expect(nh.statistics.reusedEntries == 5 * 2 * 5 && nh.statistics.hashedEntries == 140 - 50)
    }

    /// Recording on several threads: the same entries, and the pool really ran teams.
    @Test func tracedHeadDoesNotDependOnThreads() throws {
        let head = try Self.head(groups: 4), levels = try Self.levels()
        let one = TraceRecorder()
        var settings = Runtime.settings
        settings.threads = 1
        _ = try Runtime.withSettings(settings) { try head.forward(levels, in: one.scope().child("head")) }
        let reference = one.finish().entries
        settings.threads = 3
        let pool = ThreadPool(), three = TraceRecorder()
        let entries = try Runtime.withSettings(settings) {
            try Runtime.withThreadPool(pool) {
                _ = try head.forward(levels, in: three.scope().child("head"))
                return three.finish().entries
            }
        }
        #expect(entries == reference)
        #expect(pool.statistics.serialFallbacks == 0 && pool.statistics.largestTeam == 3, "\(pool.statistics)")
    }
}
