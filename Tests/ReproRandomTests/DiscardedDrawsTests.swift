import Testing
import _ReproTestSupport
@testable import ReproRandom

/// Skipping draws whose values nobody sees: `MT19937.discard(_:)` and
/// `TorchInit.discardConv2d` must leave the generator exactly where the real draws would.
@Suite struct DiscardedDrawsTests {
    /// `discard(n)` equals `n` calls of `next32()`, across twist boundaries and from any position.
    @Test(arguments: [0, 1, 622, 623, 624, 625, 1247, 1248, 1249, 10_000])
    func discardEqualsDrawing(count: Int) {
        for start in [0, 1, 300, 623] {
            var drawn = MT19937(seed: 2024), skipped = drawn
            for _ in 0..<start { _ = drawn.next32(); _ = skipped.next32() }
            for _ in 0..<count { _ = drawn.next32() }
            skipped.discard(count)
            #expect(skipped.serializedState == drawn.serializedState, "start \(start), count \(count)")
            #expect((0..<700).map { _ in skipped.next32() } == (0..<700).map { _ in drawn.next32() })
        }
    }

    /// A skipped `nn.Conv2d` default initialisation moves the generator as the drawn one does
    /// (weight and bias, grouped or not), and refuses the same input with the same error.
    @Test func discardedConvolutionMovesTheGeneratorLikeTheDrawnOne() throws {
        let cases: [(c: Int, o: Int, k: Int, groups: Int, bias: Bool)] = [
            (3, 8, 3, 1, true), (256, 256, 3, 1, false), (64, 32, 1, 1, true), (6, 9, 5, 3, true), (1, 1, 1, 1, false),
        ]
        for (i, t) in cases.enumerated() {
            var drawn = TorchGenerator(seed: Int64(i) + 5), skipped = drawn
            _ = try drawn.rand(count: 3)   // start mid-block
            _ = try skipped.rand(count: 3)
            let p = try TorchInit.conv2d(inChannels: t.c, outChannels: t.o, kernelSize: t.k, groups: t.groups, bias: t.bias, using: &drawn)
            let shape = try TorchInit.discardConv2d(inChannels: t.c, outChannels: t.o, kernelSize: t.k, groups: t.groups,
                                                    bias: t.bias, using: &skipped)
            #expect(shape == p.weightShape)
            #expect(skipped.serializedState == drawn.serializedState, "case \(i)")
            #expect(try skipped.randn(count: 40).map(\.bitPattern) == (try drawn.randn(count: 40).map(\.bitPattern)))
        }
        for (c, o, k, groups) in [(0, 8, 3, 1), (3, 8, 0, 1), (4, 6, 3, 4), (6, 4, 3, 4)] {
            var a = TorchGenerator(seed: 1), b = a
            let drawnError = #expect(throws: TorchRandomError.self) {
                try TorchInit.conv2d(inChannels: c, outChannels: o, kernelSize: k, groups: groups, using: &a)
            }
            let skippedError = #expect(throws: TorchRandomError.self) {
                try TorchInit.discardConv2d(inChannels: c, outChannels: o, kernelSize: k, groups: groups, using: &b)
            }
            #expect(drawnError == skippedError, "(\(c), \(o), \(k), groups \(groups))")
            #expect(a.serializedState == b.serializedState)
        }
    }
}
