import Foundation
import Testing
@testable import ReproRandom

/// `drawNormal` + `PendingNormalBlocks`: the stream drawn serially, the Box–Muller blocks finished
/// in any order, split or thread, give `fillNormal`'s bits and leave the generator where it does.
@Suite struct PendingNormalTests {
    /// Sizes: below one block (scalar path), one block, a whole number of blocks, a tail, and a
    /// size spanning many of the 2048-block chunks the parameter builder deals out.
    static let sizes = [7, 16, 160, 161, 1_000, 2048 * 16 * 3 + 5]

    static func reference(_ n: Int, seed: UInt64, capability: TorchGenerator.Capability, std: Double) throws
        -> ([UInt32], TorchGenerator) {
        var g = TorchGenerator(seed: seed, capability: capability)
        var out = [Float](repeating: 0, count: n)
        try out.withUnsafeMutableBufferPointer { (b) throws(TorchRandomError) in try g.fillNormal(b, mean: 0.25, std: std) }
        return (out.map(\.bitPattern), g)
    }

    @Test(arguments: [TorchGenerator.Capability.avx2, .generic])
    func blocksInAnyOrderGiveTheSerialFill(capability: TorchGenerator.Capability) throws {
        for n in Self.sizes {
            let (expected, after) = try Self.reference(n, seed: 3407, capability: capability, std: 0.7)
            var g = TorchGenerator(seed: 3407, capability: capability)
            var out = [Float](repeating: .nan, count: n)
            try out.withUnsafeMutableBufferPointer { (b) throws(TorchRandomError) in
                guard let pending = try g.drawNormal(b, mean: 0.25, std: 0.7) else {
                    #expect(n < 16, "n \(n): nothing pending")
                    return
                }
                #expect(pending.blocks == n / 16)
                // Backwards, three blocks at a time, then the tail.
                var hi = pending.blocks
                while hi > 0 {
                    let lo = max(0, hi - 3)
                    pending.transform(blocks: lo..<hi)
                    hi = lo
                }
                pending.finish()
            }
            #expect(out.map(\.bitPattern) == expected, "n \(n), \(capability)")
            // The generator continues exactly as after fillNormal.
            var a = after
            #expect(g.serializedState == a.serializedState, "n \(n)")
            #expect(g.random() == a.random())
        }
    }

    @Test func blocksFinishedOnTwoThreadsGiveTheSerialFill() throws {
        let n = 2048 * 16 * 3 + 5
        let (expected, _) = try Self.reference(n, seed: 11, capability: .avx2, std: 0.01)
        var g = TorchGenerator(seed: 11)
        let out = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
        defer { out.deallocate() }
        let pending = try #require(try g.drawNormal(out, mean: 0.25, std: 0.01))
        // The second half on a thread of its own (so two threads surely ran), the first here.
        let half = pending.blocks / 2
        let done = DispatchSemaphore(value: 0)
        final class IDs: @unchecked Sendable { var worker: pthread_t? }
        let ids = IDs()
        let worker = Thread {
            ids.worker = pthread_self()
            pending.transform(blocks: half..<pending.blocks)
            done.signal()
        }
        worker.start()
        pending.transform(blocks: 0..<half)
        done.wait()
        pending.finish()
        #expect(try pthread_equal(#require(ids.worker), pthread_self()) == 0)
        #expect(out.map(\.bitPattern) == expected)
    }

    @Test func aNegativeDeviationDrawsNothing() throws {
        var g = TorchGenerator(seed: 5), untouched = g
        var out = [Float](repeating: 0, count: 64)
        #expect(throws: TorchRandomError.invalidStandardDeviation(-1)) {
            try out.withUnsafeMutableBufferPointer { (b) throws(TorchRandomError) in _ = try g.drawNormal(b, std: -1) }
        }
        #expect(g.serializedState == untouched.serializedState)
        #expect(g.random() == untouched.random())
    }

    @Test func kaimingNormalDrawnInTwoStepsMatches() throws {
        let shape = [64, 32, 3, 3]
        let n = shape.reduce(1, *)
        var g = TorchGenerator(seed: 1), h = g
        var expected = [Float](repeating: 0, count: n), out = expected
        try TorchInit.kaimingNormal(&expected, shape: shape, mode: .fanOut, nonlinearity: .relu, using: &g)
        try out.withUnsafeMutableBufferPointer { (b) throws(TorchRandomError) in
            let pending = try TorchInit.drawKaimingNormal(b, shape: shape, mode: .fanOut, nonlinearity: .relu, using: &h)
            pending?.transform(blocks: 0..<(pending?.blocks ?? 0))
            pending?.finish()
        }
        #expect(out.map(\.bitPattern) == expected.map(\.bitPattern))
        #expect(g.serializedState == h.serializedState)
        #expect(throws: TorchRandomError.self) {
            try out.withUnsafeMutableBufferPointer { (b) throws(TorchRandomError) in
                _ = try TorchInit.drawKaimingNormal(b, shape: [3, 3], using: &h)
            }
        }
    }
}
