import ArgumentParser
import Foundation
import Repro

/// `repro train-bench` (hidden): times ResNet-18's forward and backward through the autograd
/// engine (a ``GradientTape`` over the whole batch, BatchNorm in training mode), one optimizer
/// step (SGD with momentum and AdamW over every parameter, with those gradients), and the
/// canonical per-sample weight-gradient reduction against one batched GEMM, for
/// `bench/train_bench.py`. Reports resident memory (after the forward and the process peak).
/// Prints one JSON object.
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
    @Flag(name: .long, help: "Only time the weight-gradient reduction on ResNet-18's convolution shapes.") var reductionOnly = false
    @Flag(name: .long, help: "Skip the weight-gradient reduction benchmark.") var noReduction = false
    @OptionGroup var threads: ThreadsOption

    func run() throws {
        threads.apply()
        var out: [String: Any] = ["threads": Runtime.threads, "batch": batch, "size": size]
        if !reductionOnly {
            let model = try ResNet(configuration: .resnet18, seed: seed)
            let count = batch * size * size * 3
            let images = try Tensor(shape: [batch, size, size, 3], scalars: (0..<count).map { Float(($0 &* 7919) % 1000) / 1000 - 0.5 })
            let labels = (0..<batch).map { ($0 * 37) % 1000 }
            var forward: [Double] = [], backward: [Double] = [], rssAfterForward = 0.0
            var gradients: [String: Tensor] = [:]
            for r in 0...runs {
                let tape = GradientTape(samples: 0..<batch)
                let scope = TrainingScope(tape: tape)
                var t0 = DispatchTime.now().uptimeNanoseconds
                let loss = try model.forward(scope.constant(samplesOf: images), in: scope).crossEntropy(targets: labels)
                let f = Self.seconds(since: t0)
                rssAfterForward = max(rssAfterForward, Self.memoryMiB("VmRSS"))
                t0 = DispatchTime.now().uptimeNanoseconds
                try tape.backward(from: loss, seed: 1 / Float(batch))
                var grads: [String: Tensor] = [:]
                for spec in model.parameterSpecs where !spec.isBuffer { grads[spec.name] = tape.gradient(ofParameter: spec.name) }
                let b = Self.seconds(since: t0)
                if r > 0 { forward.append(f); backward.append(b) }
                gradients = grads
            }
            out["forward_s"] = forward
            out["backward_s"] = backward
            out["forward_backward_s"] = zip(forward, backward).map { $0 + $1 }
            out["rss_after_forward_mib"] = rssAfterForward
            out["peak_rss_forward_backward_mib"] = Self.memoryMiB("VmHWM")
            out["sgd_step_s"] = try optimizerTimes(SGD(model: model, options: .init(learningRate: 0.01, momentum: 0.9)),
                                                   model: model, gradients: gradients)
            out["adamw_step_s"] = try optimizerTimes(Adam(model: model, options: .adamW(learningRate: 1e-3, weightDecay: 0.01)),
                                                     model: model, gradients: gradients)
        }
        if !noReduction { out["reduction"] = try reductionTimes() }
        out["peak_rss_mib"] = Self.memoryMiB("VmHWM")
        let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Seconds since `start` (a `DispatchTime` uptime in nanoseconds).
    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// A `/proc/self/status` memory line (`VmRSS`, `VmHWM`) in MiB; 0 where the file is missing.
    static func memoryMiB(_ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kib = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kib / 1024
        }
        return 0
    }

    /// One warm-up step then `runs` timed steps of `optimizer` over the model's parameter tensors
    /// (the update alone: no model re-preparation), with the same gradients each step.
    func optimizerTimes<O: Optimizer>(_ optimizer: O, model: ResNet, gradients: [String: Tensor]) throws -> [Double] {
        var optimizer = optimizer
        let values = model.stateDict
        var parameters = optimizer.parameters.map { values[$0.name]! }
        let grads = optimizer.parameters.map { gradients[$0.name] }
        var times: [Double] = []
        for r in 0...runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try optimizer.step(&parameters, gradients: grads)
            if r > 0 { times.append(Self.seconds(since: t0)) }
        }
        return times
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
