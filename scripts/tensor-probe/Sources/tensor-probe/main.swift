// Runs every ReproTensor kernel on seeded inputs and prints one SHA-256 over
// all outputs (and, with --verbose, one hash per operation). Inputs come from
// a fixed 64-bit LCG: no system randomness.
import Foundation
@_spi(Kernels) import ReproTensor

var state: UInt64 = 0x5EED
@MainActor func floats(_ n: Int, scale: Float = 1) -> [Float] {
    (0..<n).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return (Float(state >> 40) * 0x1p-23 - 1) * scale
    }
}
@MainActor func tensor(_ shape: [Int], scale: Float = 1) throws -> Tensor {
    try Tensor(shape: shape, scalars: floats(shape.reduce(1, *), scale: scale))
}

let verbose = CommandLine.arguments.contains("--verbose")
// The kernel path of this run (AVX-512 tiles, or the compiled Swift kernels; REPRO_ISA can force the latter).
print("kernel-isa \(Runtime.kernelISA.rawValue)")
var results: [(String, Tensor)] = []
@MainActor func record(_ name: String, _ t: Tensor) { results.append((name, t)) }

do {
    Runtime.threads = 2
    Runtime.deterministicAlgorithms = true
    do {
        let a = try tensor([67, 300]), b = try tensor([300, 91])
        record("matmul", try a.matmul(b))
        // Long K, small output: summed in fixed 4096-deep K segments (GEMM.isSegmented).
        let al = try tensor([5, 17000], scale: 0.1), bl = try tensor([17000, 19], scale: 0.1)
        record("matmul-segmented", try al.matmul(bl))
        let x = try tensor([2, 16, 13, 15])
        let bn = try ChannelAffine.frozenBatchNorm(
            weight: try tensor([24]), bias: try tensor([24]), runningMean: try tensor([24]),
            runningVariance: try Tensor(shape: [24], scalars: floats(24).map { $0 * $0 + 0.1 }), eps: 1e-5)
        record("conv3x3", try PreparedConv2d(weight: try tensor([24, 16, 3, 3]), bias: try tensor([24]), padding: (1, 1),
                                     normalization: bn, relu: true)(x))
        // 3×3 stride 1 with ≥ 32 channels: Winograd F(4×4, 3×3) by the shape rule; F(2×2, 3×3) and
        // F(6×6, 3×3) forced.
        let xw = try tensor([2, 40, 11, 13])
        let w3 = try tensor([36, 40, 3, 3], scale: 0.2), b3 = try tensor([36])
        record("conv3x3-winograd", try PreparedConv2d(weight: w3, bias: b3, padding: (1, 1), relu: true)(xw))
        record("conv3x3-winograd-nhwc", try PreparedConv2d(weight: w3, bias: b3, padding: (1, 1))
            .forward(nhwc: try xw.permuted([0, 2, 3, 1]).contiguous(), threads: 2))
        record("conv3x3-winogradF2x3", try PreparedConv2d(weight: w3, padding: (0, 0), algorithm: .winogradF2x3)(xw))
        record("conv3x3-winogradF6x3", try PreparedConv2d(weight: w3, bias: b3, padding: (1, 1), relu: true,
                                                         algorithm: .winogradF6x3)(xw))
        record("conv3x3s2", try PreparedConv2d(weight: try tensor([24, 16, 3, 3]), stride: (2, 2), padding: (1, 1))(x))
        // ≥ 64 input channels, one group: the implicit-GEMM form of the direct convolution.
        let xg = try tensor([2, 70, 9, 11]), wg = try tensor([20, 70, 3, 3], scale: 0.2)
        record("conv3x3s2-implicit-gemm", try PreparedConv2d(weight: wg, bias: try tensor([20]), stride: (2, 2), padding: (1, 1))(xg))
        record("conv3x3s2-implicit-gemm-nhwc", try PreparedConv2d(weight: wg, stride: (2, 2), padding: (1, 1), relu: true)
            .forward(nhwc: try xg.permuted([0, 2, 3, 1]).contiguous(), threads: 2))
        record("conv1x1", try PreparedConv2d(weight: try tensor([24, 16, 1, 1]), bias: try tensor([24]))(x))
        record("conv-grouped-dilated", try PreparedConv2d(weight: try tensor([24, 4, 3, 3]), padding: (2, 2), dilation: (2, 2), groups: 4)(x))
        let img = try tensor([1, 3, 40, 44])
        record("conv7x7s2", try PreparedConv2d(weight: try tensor([16, 3, 7, 7]), stride: (2, 2), padding: (3, 3), relu: true)(img))
        record("maxpool", try x.maxPool2d(kernel: 3, stride: 2, padding: 1))
        record("nearest", try x.upsampled(toHeight: 26, width: 31, mode: .nearest))
        record("bilinear", try x.upsampled(toHeight: 20, width: 11, mode: .bilinear))
        record("groupnorm", try x.groupNorm(groups: 4, weight: try tensor([16]), bias: try tensor([16]), relu: true))
        record("batchnorm", try x.applying(try ChannelAffine(scale: floats(16), shift: floats(16))))
        let big = try tensor([5000], scale: 60)
        record("relu", try big.relu())
        record("add", try big.adding(try tensor([5000])))
        record("exp", try big.exp())
        record("log", try big.log())
        record("sigmoid", try big.sigmoid())
        let topk = try big.topK(100)
        record("topk-values", topk.values)
        record("topk-indices", topk.indices)
        record("sort", try big.sortedDescending().indices)
        record("concat", try Tensor.concatenate([x, x], along: 1))
    }
} catch {
    print("error: \(error)")
    exit(1)
}

var all = ""
for (name, t) in results {
    if verbose { print("\(name) \(t.bitsHash)") }
    all += t.bitsHash
}
let combined = try! Tensor(shape: [all.utf8.count], scalars: Array(all.utf8)).bitsHash
print("probe \(combined)")

// ReproRandom and ReproImage (RandomProbe.swift, ImageProbe.swift).
do {
    try printRandomAndImageHashes(verbose: verbose)
} catch {
    print("error: \(error)")
    exit(1)
}
