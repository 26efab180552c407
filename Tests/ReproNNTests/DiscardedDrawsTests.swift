import ReproRandom
import ReproTensor
import Testing
@testable import ReproNN

/// `ParameterPlaceholders.discardingConvolutionDraws`: a convolution built inside it moves the
/// generator exactly as a drawn one, holds placeholders, and a builder that forgets to overwrite
/// them is stopped with the parameter's name.
@Suite struct ConvolutionDrawSkippingTests {
    @Test func aSkippedConvolutionMovesTheGeneratorAndIsCaughtIfLeftUninitialised() throws {
        var g = TorchGenerator(seed: 9), reference = g
        var conv = try ParameterPlaceholders.discardingConvolutionDraws { () throws(ModuleError) in
            try Conv2d(inChannels: 4, outChannels: 6, kernelSize: 3, padding: 1, generator: &g)
        }
        _ = try TorchInit.conv2d(inChannels: 4, outChannels: 6, kernelSize: 3, using: &reference)
        #expect(g.serializedState == reference.serializedState)
        #expect(conv.weight.shape == [6, 4, 3, 3] && conv.weight.storageBytes == 4)
        #expect(throws: ModuleError.invalidConfiguration("weight was never initialised (a construction placeholder was left in place)")) {
            try ParameterPlaceholders.requireNoPlaceholders(in: &conv)
        }
        // Outside the scope the constructor draws real values, and the check passes.
        var drawn = try Conv2d(inChannels: 4, outChannels: 6, kernelSize: 3, padding: 1, generator: &g)
        try ParameterPlaceholders.requireNoPlaceholders(in: &drawn)
        #expect(drawn.weight.storageBytes == 6 * 4 * 9 * 4)
    }
}

/// `Tensor.parameter(shape:context:drawing:)`: the stream drawn serially, its Box–Muller blocks
/// dealt to the pool in chunks — the same bits as the serial `normal_` for every thread count,
/// with the threads shown to have run.
@Suite struct PendingNormalParameterTests {
    @Test func blocksOnThePoolGiveTheSerialBits() throws {
        let shape = [2048 * 16 * 3 + 5]  // three chunks of blocks and a tail
        var g = TorchGenerator(seed: 3407)
        var expected = [Float](repeating: 0, count: shape[0])
        try TorchInit.normal(&expected, std: 0.01, using: &g)
        for threads in [1, 2, 3] {
            let pool = ThreadPool()
            var h = TorchGenerator(seed: 3407)
            let t = try Runtime.withSettings(RuntimeSettings(threads: threads)) {
                try Runtime.withThreadPool(pool) {
                    try Tensor.parameter(shape: shape, context: "w", drawing: { (w) throws(TorchRandomError) in
                        try h.drawNormal(w, std: 0.01)
                    })
                }
            }
            #expect(try t.scalars(as: Float.self).map(\.bitPattern) == expected.map(\.bitPattern), "threads \(threads)")
            #expect(h.serializedState == g.serializedState)
            #expect(pool.statistics.serialFallbacks == 0)
            #expect(pool.statistics.largestTeam == (threads == 1 ? 0 : threads), "threads \(threads): \(pool.statistics)")
        }
    }
}
