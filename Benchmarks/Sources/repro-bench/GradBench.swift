import Foundation
@_spi(Kernels) import ReproTensor

/// `--only wgrad`: the convolution weight gradient of ResNet-18 shapes (224×224, batch 16) as
/// Repro computes it — the sample-tree product (per sample one FMA chain over K = OH·OW, reduced
/// by the canonical sample tree inside the GEMM) — against one batched GEMM over all samples
/// (K = N·OH·OW, im2col of the whole batch included), whose sum order depends on the batch, and
/// against the unfused path (one GEMM per sample written out, then the tree adds; same bits).
/// Prints `wgrad <shape> <threads> <tree seconds> <batched seconds> <ratio> <unfused seconds>
/// <unfused ratio>` (best wall clock of `reps`), then `cpu` and the same three as process CPU
/// seconds (smallest of `reps`; steadier on a loaded machine) and the two ratios.
enum GradBench {
    /// (name, C, H, O, k, stride, pad) with W = H.
    static let shapes: [(String, Int, Int, Int, Int, Int, Int)] = [
        ("conv1_7x7_3-64_224", 3, 224, 64, 7, 2, 3),
        ("layer1_3x3_64-64_56", 64, 56, 64, 3, 1, 1),
        ("layer2_3x3_128-128_28", 128, 28, 128, 3, 1, 1),
        ("layer3_3x3_256-256_14", 256, 14, 256, 3, 1, 1),
        ("layer4_3x3_512-512_7", 512, 7, 512, 3, 1, 1),
        ("layer2_1x1_64-128_56_s2", 64, 56, 128, 1, 2, 0),
    ]

    static func run(threads: [Int], reps: Int, batch: Int = 16) {
        for (name, c, h, o, k, s, p) in shapes {
            let g = try! ConvGeometry(batch: batch, inChannels: c, height: h, width: h, outChannels: o,
                                      kernelHeight: k, kernelWidth: k, stride: (s, s), padding: (p, p))
            let plane = g.outHeight * g.outWidth, width = k * k * c
            let x = alignedBuffer(seeded(batch * h * h * c, seed: 1))
            let dy = alignedBuffer(seeded(batch * plane * o, seed: 2))
            let cols = alignedBuffer([Float](repeating: 0, count: batch * plane * width))
            let dw = alignedBuffer([Float](repeating: 0, count: o * width))
            defer { x.deallocate(); dy.deallocate(); cols.deallocate(); dw.deallocate() }
            for t in threads {
                let perSample = time(reps: reps) {
                    let sum = Conv2dBackward.weightGradientSum(g, input: x.baseAddress!, outputGradient: dy.baseAddress!,
                                                               firstSample: 0, threads: t)
                    _ = sum.total()
                }
                let batched = time(reps: reps) {
                    Conv2dBackward.batchedWeightGradient(g, input: x.baseAddress!, outputGradient: dy.baseAddress!,
                                                         columns: cols.baseAddress!, into: dw.baseAddress!, threads: t)
                }
                // The per-sample path the fused product replaced (same bits): one GEMM per sample
                // written out, then the tree adds.
                let unfused = time(reps: reps) {
                    let sum = Conv2dBackward.unfusedWeightGradientSum(g, input: x.baseAddress!, outputGradient: dy.baseAddress!,
                                                                      firstSample: 0, threads: t)
                    _ = sum.total()
                }
                print(String(format: "wgrad %@ %d %.5f %.5f %.3f %.5f %.3f cpu %.5f %.5f %.5f %.3f %.3f", name, t,
                             perSample.best, batched.best, perSample.best / batched.best, unfused.best, unfused.best / batched.best,
                             perSample.cpu, batched.cpu, unfused.cpu, perSample.cpu / batched.cpu, unfused.cpu / batched.cpu))
            }
        }
    }
}
