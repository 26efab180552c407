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
