import ArgumentParser
import Foundation
import Repro

/// `repro train-bench` (hidden): times ResNet-18's forward + backward through the autograd engine
/// and the canonical per-sample weight-gradient reduction against one batched GEMM, for
/// `bench/train_bench.py`. Prints one JSON object.
struct TrainBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-bench",
        abstract: "Benchmark ResNet-18 forward + backward (used by bench/train_bench.py).",
        shouldDisplay: false
    )

    @Option(name: .long, help: "Samples per batch.") var batch = 16
    @Option(name: .long, help: "Image height and width.") var size = 224
    @Option(name: .long, help: "Timed runs (after one warm-up).") var runs = 3
    @Option(name: .long, help: "Seed of torchvision's initialisation.") var seed: Int64 = 0
    @Option(name: .long, help: "Micro-batch sizes, comma-separated (default: the whole batch).") var microBatches: String?
    @Flag(name: .long, help: "Only time the weight-gradient reduction on ResNet-18's convolution shapes.") var reductionOnly = false
    @OptionGroup var threads: ThreadsOption

    func run() throws {
        threads.apply()
        var out: [String: Any] = ["threads": Runtime.threads, "batch": batch, "size": size]
        if !reductionOnly {
            let model = try ResNet(configuration: .resnet18, seed: seed)
            let count = batch * size * size * 3
            let images = try Tensor(shape: [batch, size, size, 3], scalars: (0..<count).map { Float(($0 &* 7919) % 1000) / 1000 - 0.5 })
            let labels = (0..<batch).map { ($0 * 37) % 1000 }
            let split = microBatches?.split(separator: ",").compactMap { Int($0) }
            var times: [Double] = []
            var digest = ""
            for r in 0...runs {
                let start = DispatchTime.now().uptimeNanoseconds
                let result = try valueAndGradient(of: model, batchSize: batch, microBatches: split) { model, scope in
                    try model.forward(scope.constant(samplesOf: images), in: scope).crossEntropy(targets: Array(labels[scope.samples]))
                }
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                if r > 0 { times.append(seconds) }
                digest = result.gradients.digest
            }
            out["forward_backward_s"] = times
            out["gradient_digest"] = digest
        }
        out["reduction"] = try reductionTimes()
        let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// For each distinct convolution of ResNet-18 at this size: the weight gradient as `batch`
    /// per-sample GEMMs (`[K, P] × [P, O]`, K = C·KH·KW, P = OH·OW) reduced with
    /// `SampleTreeSum`, against one batched GEMM over all samples (`[K, N·P] × [N·P, O]`).
    func reductionTimes() throws -> [String: Double] {
        // (C, O, kernel, output side) of ResNet-18's convolutions, by stage.
        let s = size
        let shapes: [(Int, Int, Int, Int)] = [(3, 64, 7, s / 2), (64, 64, 3, s / 4), (64, 128, 3, s / 8), (128, 128, 3, s / 8),
                                              (128, 256, 3, s / 16), (256, 256, 3, s / 16), (256, 512, 3, s / 32), (512, 512, 3, s / 32)]
        var perSample = 0.0, batched = 0.0
        for (c, o, k, side) in shapes {
            let kk = c * k * k, p = side * side
            let cols = try Tensor(shape: [kk, batch * p], scalars: (0..<(kk * batch * p)).map { Float($0 % 13) * 0.01 })
            let dy = try Tensor(shape: [batch * p, o], scalars: (0..<(batch * p * o)).map { Float($0 % 7) * 0.01 })
            var t0 = DispatchTime.now().uptimeNanoseconds
            _ = try cols.matmul(dy)
            batched += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            let colRows: [Float] = try cols.scalars(), dyRows: [Float] = try dy.scalars()
            // Each sample's operands, gathered before the clock starts.
            let operands: [(Tensor, Tensor)] = try (0..<batch).map { n in
                var a = [Float](repeating: 0, count: kk * p)
                for r in 0..<kk { for j in 0..<p { a[r * p + j] = colRows[r * batch * p + n * p + j] } }
                return (try Tensor(shape: [kk, p], scalars: a), try Tensor(shape: [p, o], scalars: Array(dyRows[(n * p * o)..<((n + 1) * p * o)])))
            }
            var tree = SampleTreeSum(count: kk * o)
            t0 = DispatchTime.now().uptimeNanoseconds
            for (a, b) in operands { tree.append(sample: try a.matmul(b).scalars()) }
            _ = tree.total()
            perSample += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        return ["batched_gemm_s": batched, "per_sample_tree_s": perSample]
    }
}
