import ReproRandom
import ReproTensor
import Testing
@testable import ReproNN

/// ``Sequential``'s held-back group norm + ReLU (applied by the next convolution while it pads its
/// input) gives the bits of the plain pass, and observers still see every output.
@Suite struct DeferredNormalizationTests {
    /// A RetinaNet-head-like tower: blocks `[Conv2d 3×3, GroupNorm, ReLU]` nested in a sequence,
    /// and the output convolution after it.
    static func tower(channels c: Int, blocks: Int, seed: UInt64) throws -> (Sequential, Conv2d) {
        var g = TorchGenerator(seed: seed)
        var list: [any Layer] = []
        for _ in 0..<blocks {
            var norm = try GroupNorm(numGroups: 4, numChannels: c)
            // Non-trivial γ, β so the affine step is exercised.
            norm.weight = try Tensor(shape: [c], scalars: (0..<c).map { (i: Int) -> Float in 0.5 + Float(i) / Float(c) })
            norm.bias = try Tensor(shape: [c], scalars: (0..<c).map { (i: Int) -> Float in Float(i % 5) / 10 - 0.2 })
            list.append(Sequential([try Conv2d(inChannels: c, outChannels: c, kernelSize: 3, padding: 1, generator: &g), norm, ReLU()]))
        }
        let output = try Conv2d(inChannels: c, outChannels: 7, kernelSize: 3, padding: 1, generator: &g)
        return (Sequential(list), output)
    }

    static func bits(_ t: Tensor) throws -> [UInt32] { try t.scalars(as: Float.self).map { (v: Float) in v.bitPattern } }

    @Test func deferredTowerEqualsPlainPassAndObserversSeeEveryOutput() throws {
        var (tower, output) = try Self.tower(channels: 12, blocks: 3, seed: 4)
        try tower.prepare(in: .root)
        let head = try output.prepared(in: .root)
        let values: [Float] = (0..<(2 * 9 * 11 * 12)).map { (i: Int) -> Float in Float((i * 37) % 101) / 25 - 2 }
        let x = try Tensor(shape: [2, 9, 11, 12], scalars: values)

        // Plain: every block normalises in place, the output convolution takes a materialised input.
        final class Seen { var outputs: [String: [UInt32]] = [:] }
        let log = Seen()
        let observed = ModuleScope(observer: { path, t in log.outputs[path] = try? Self.bits(t) })
        let plainTower = try tower.forward(x, in: observed)
        let plain = try head.run(plainTower, in: .root)

        // Unobserved: the last block's normalisation is handed to the output convolution.
        let deferred = try tower.forwardDeferringNormalization(x, in: .root)
        let pending = try #require(deferred.pending)
        #expect(pending.relu && pending.batch == 2 && pending.channels == 12)
        #expect(try Self.bits(deferred.raw.applying(pending)) ==
                Self.bits(plainTower))
        let fused = try head.run(deferred.raw, inputAffine: deferred.pending, in: .root)
        #expect(try Self.bits(fused) == Self.bits(plain))
        // `forward` unobserved applies the held-back step itself: the same tensor.
        #expect(try Self.bits(tower.forward(x, in: .root)) == Self.bits(plainTower))

        // The observer saw each block's conv and fused norm + ReLU, and the sequences' outputs.
        for b in 0..<3 {
            #expect(log.outputs["\(b).0"] != nil && log.outputs["\(b).2"] != nil && log.outputs["\(b)"] != nil, "block \(b)")
        }
        #expect(try log.outputs[""] == Self.bits(plainTower))
        // An incoming held-back step is applied by the first block's convolution.
        let again = try tower.forwardDeferringNormalization(deferred.raw, pending: pending, in: .root)
        let reference = try tower.forwardDeferringNormalization(plainTower, in: .root)
        #expect(try Self.bits(again.raw) == Self.bits(reference.raw))
        #expect(again.pending == reference.pending)
    }

    /// The tower over several levels at once (each Winograd convolution once over all of them, as
    /// RetinaNet's head runs its pyramid) gives every level the bits of the single-level pass, held-back
    /// normalisations included; an observed scope runs the levels one by one and sees every output.
    @Test func towerOverLevelsEqualsOneLevelAtATime() throws {
        var (tower, output) = try Self.tower(channels: 24, blocks: 3, seed: 9)
        try tower.prepare(in: .root)
        let head = try output.prepared(in: .root)
        // 24 channels: the tower's convolutions are Winograd by the shape rule (one call over all
        // levels); the 7-channel output convolution is direct (level by level).
        #expect(PreparedConv2d.defaultAlgorithm(weightShape: [24, 24, 3, 3], stride: (1, 1), dilation: (1, 1), groups: 1) == .winograd)
        #expect(head.algorithm == .direct)
        let shapes = [[2, 17, 21, 24], [2, 9, 11, 24], [2, 5, 6, 24], [2, 3, 3, 24], [2, 2, 1, 24]]
        let levels = try shapes.enumerated().map { i, s in
            try Tensor(shape: s, scalars: (0..<s.reduce(1, *)).map { (j: Int) -> Float in Float((j * 31 + i * 7) % 97) / 24 - 2 })
        }
        let single = try levels.map { try tower.forwardDeferringNormalization($0, in: .root) }
        let together = try tower.forwardDeferringNormalization(levels: levels, in: .root)
        #expect(together.count == levels.count)
        for (i, (a, b)) in zip(single, together).enumerated() {
            #expect(try Self.bits(a.raw) == Self.bits(b.raw), "level \(i)")
            #expect(a.pending != nil && a.pending == b.pending, "level \(i)")
        }
        let outputs = try head.run(levels: together.map(\.raw), inputAffines: together.map(\.pending), in: .root)
        for (i, (a, y)) in zip(single, outputs).enumerated() {
            #expect(try Self.bits(head.run(a.raw, inputAffine: a.pending, in: .root)) == Self.bits(y), "level \(i)")
        }
        // Observed: level by level, every block's output reported for every level.
        final class Seen { var paths: [String] = [] }
        let log = Seen()
        let observed = ModuleScope(observer: { path, _ in log.paths.append(path) })
        let seen = try tower.forwardDeferringNormalization(levels: levels, in: observed)
        for (i, (a, b)) in zip(single, seen).enumerated() {
            let pending = try #require(a.pending)
            #expect(try Self.bits(a.raw.applying(pending)) == Self.bits(b.raw), "level \(i)")
            #expect(b.pending == nil, "level \(i)")
        }
        #expect(log.paths.filter { $0 == "" }.count == levels.count)
        #expect(log.paths.filter { $0 == "2.2" }.count == levels.count)
        #expect(throws: ModuleError.self) { try tower.forwardDeferringNormalization(levels: levels, pending: [nil], in: .root) }
    }

    /// Reporting to one scope per level (a ``LevelReports``' collecting scopes) keeps the all-levels
    /// path: raw outputs and held-back steps as unobserved, and each level's reports — replayed —
    /// are the single-level observed pass's (paths, bits, order), the norm's recorded out of place.
    @Test func towerOverLevelsReportsEveryLevelThroughLevelScopes() throws {
        var (tower, _) = try Self.tower(channels: 24, blocks: 3, seed: 11)
        try tower.prepare(in: .root)
        let shapes = [[1, 13, 9, 24], [1, 7, 5, 24], [1, 4, 3, 24], [1, 2, 2, 24], [1, 1, 1, 24]]
        let levels = try shapes.enumerated().map { i, s in
            try Tensor(shape: s, scalars: (0..<s.reduce(1, *)).map { (j: Int) -> Float in Float((j * 29 + i * 5) % 89) / 22 - 2 })
        }
        final class Seen { var outputs: [(String, [UInt32])] = [] }
        let expected = Seen(), replayed = Seen()
        let reference = ModuleScope(observer: { path, t in expected.outputs.append((path, (try? Self.bits(t)) ?? [])) })
        for x in levels { _ = try tower.forward(x, in: reference.child("tower")) }

        let scope = ModuleScope(observer: { path, t in replayed.outputs.append((path, (try? Self.bits(t)) ?? [])) }).child("tower")
        let reports = LevelReports(levels: levels.count, of: scope)
        let results = try tower.forwardDeferringNormalization(
            levels: levels, in: scope, levelScopes: levels.indices.map { reports.scope(scope, level: $0) })
        #expect(replayed.outputs.isEmpty, "nothing reported before the replay")
        #expect(levels.indices.allSatisfy { reports.count(level: $0) == 3 * 3 + 1 })
        for i in levels.indices { reports.replay(level: i) }
        #expect(reports.count(level: 0) == 0)
        #expect(replayed.outputs.map(\.0) == expected.outputs.map(\.0))
        #expect(replayed.outputs.map(\.1) == expected.outputs.map(\.1))
        let unobserved = try tower.forwardDeferringNormalization(levels: levels, in: .root)
        for (i, (a, b)) in zip(unobserved, results).enumerated() {
            #expect(try Self.bits(a.raw) == Self.bits(b.raw) && a.pending == b.pending, "level \(i)")
            let shown = try #require(b.shown), pending = try #require(a.pending)
            #expect(try Self.bits(shown) == Self.bits(a.raw.applying(pending)), "level \(i)")
        }
    }
}
