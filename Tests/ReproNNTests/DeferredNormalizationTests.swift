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
}
