import ArgumentParser
import Foundation
import Repro
@_spi(Kernels) import ReproTensor

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
    @Flag(name: .long, help: "Skip the optimizer steps and the reduction (forward + backward only): for profiling.") var noOptimizer = false
    @Flag(name: .long, help: "Also time the inference forward (folded norms) on the same batch.") var inference = false
    @OptionGroup var threads: ThreadsOption

    func run() throws {
        threads.apply()
        MemoryPolicy.keepFreedBlocksForReuse()
        var out: [String: Any] = ["threads": Runtime.threads, "batch": batch, "size": size]
        if !reductionOnly {
            let model = try ResNet(configuration: .resnet18, seed: seed)
            let count = batch * size * size * 3
            let images = try Tensor(shape: [batch, size, size, 3], scalars: (0..<count).map { Float(($0 &* 7919) % 1000) / 1000 - 0.5 })
            let labels = (0..<batch).map { ($0 * 37) % 1000 }
            var forward: [Double] = [], backward: [Double] = [], rssAfterForward = 0.0
            var forwardCPU: [Double] = [], backwardCPU: [Double] = []
            var gradients: [String: Tensor] = [:]
            for r in 0...runs {
                let tape = GradientTape(samples: 0..<batch)
                let scope = TrainingScope(tape: tape)
                var t0 = DispatchTime.now().uptimeNanoseconds
                var c0 = Self.processCPUSeconds()
                let loss = try model.forward(scope.constant(samplesOf: images), in: scope).crossEntropy(targets: labels)
                let f = Self.seconds(since: t0), fc = Self.processCPUSeconds() - c0
                if r > 0 { forwardCPU.append(fc) }
                rssAfterForward = max(rssAfterForward, Self.memoryMiB("VmRSS"))
                t0 = DispatchTime.now().uptimeNanoseconds
                c0 = Self.processCPUSeconds()
                try tape.backward(from: loss, seed: 1 / Float(batch))
                var grads: [String: Tensor] = [:]
                for spec in model.parameterSpecs where !spec.isBuffer { grads[spec.name] = tape.gradient(ofParameter: spec.name) }
                let b = Self.seconds(since: t0)
                if r > 0 { forward.append(f); backward.append(b); backwardCPU.append(Self.processCPUSeconds() - c0) }
                gradients = grads
            }
            out["forward_s"] = forward
            out["forward_cpu_s"] = forwardCPU
            out["backward_cpu_s"] = backwardCPU
            if inference {
                out["inference_forward_s"] = try (0...runs).map { _ in
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try model.forward(images, in: ModuleScope())
                    return Self.seconds(since: t0)
                }.dropFirst().map { $0 }
            }
            out["backward_s"] = backward
            out["forward_backward_s"] = zip(forward, backward).map { $0 + $1 }
            out["rss_after_forward_mib"] = rssAfterForward
            out["peak_rss_forward_backward_mib"] = Self.memoryMiB("VmHWM")
            if noOptimizer {
                out["peak_rss_mib"] = Self.memoryMiB("VmHWM")
                let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
                print(String(decoding: data, as: UTF8.self))
                return
            }
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

    /// The shortest of `runs` timings of `body`, in seconds.
    static func best(of runs: Int, _ body: () -> Void) -> Double {
        (0..<runs).map { _ in
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            return seconds(since: t0)
        }.min() ?? 0
    }

    /// CPU seconds this process has used, all threads (`CLOCK_PROCESS_CPUTIME_ID`): less
    /// sensitive than wall time to other processes on a loaded machine.
    static func processCPUSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    /// Seconds since `start` (a `DispatchTime` uptime in nanoseconds).
    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// A `/proc/self/status` memory line (`VmRSS`, `VmHWM`) in MiB; 0 where the file is missing.
    static func memoryMiB(_ field: String) -> Double {
        Double(ProcessMemory.statusKilobytes(field) ?? 0) / 1024
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

    /// For each distinct convolution of ResNet-18 at this size: the weight gradient of the batch
    /// reduced by the canonical sample tree (`Conv2dBackward.weightGradientSum`, the sample-tree
    /// GEMM; im2col included), against one batched GEMM over all samples (im2col of the batch,
    /// then `[O, N·P] × [N·P, K]`), whose sum order depends on the batch, and against the unfused
    /// path it replaced (a GEMM per sample written out, then the tree adds; the same bits).
    func reductionTimes() throws -> [String: Double] {
        // (C, O, kernel, stride, input side) of ResNet-18's 3×3/7×7 convolutions, by stage.
        let s = size
        let shapes: [(Int, Int, Int, Int, Int)] = [(3, 64, 7, 2, s), (64, 64, 3, 1, s / 4), (64, 128, 3, 2, s / 4),
                                                   (128, 128, 3, 1, s / 8), (128, 256, 3, 2, s / 8), (256, 256, 3, 1, s / 16),
                                                   (256, 512, 3, 2, s / 16), (512, 512, 3, 1, s / 32)]
        var tree = 0.0, batched = 0.0, unfused = 0.0, perShape: [String: Double] = [:]
        let threads = Runtime.threads
        for (c, o, k, stride, side) in shapes {
            let g = try ConvGeometry(batch: batch, inChannels: c, height: side, width: side, outChannels: o,
                                     kernelHeight: k, kernelWidth: k, stride: (stride, stride), padding: (k / 2, k / 2))
            let plane = g.outHeight * g.outWidth, width = c * k * k
            let x = (0..<(batch * side * side * c)).map { Float($0 % 13) * 0.01 }
            let dy = (0..<(batch * plane * o)).map { Float($0 % 7) * 0.01 }
            var cols = [Float](repeating: 0, count: batch * plane * width), dw = [Float](repeating: 0, count: o * width)
            x.withUnsafeBufferPointer { x in dy.withUnsafeBufferPointer { dy in
                let xp = x.baseAddress!, dp = dy.baseAddress!
                batched += Self.best(of: 2) {
                    cols.withUnsafeMutableBufferPointer { cols in dw.withUnsafeMutableBufferPointer { dw in
                        Conv2dBackward.batchedWeightGradient(g, input: xp, outputGradient: dp, columns: cols.baseAddress!,
                                                             into: dw.baseAddress!, threads: threads)
                    } }
                }
                let ruled = Self.best(of: 2) {
                    _ = Conv2dBackward.weightGradientSum(g, input: xp, outputGradient: dp, firstSample: 0, threads: threads).total()
                }
                tree += ruled
                let name = "\(c)x\(o)_k\(k)_s\(stride)_\(side)"
                perShape[name + "_tree_s"] = ruled
                if Conv2dBackward.weightGradientPath(g) == .winograd {
                    // The same tree by the GEMM path, for the Winograd rule's comparison.
                    perShape[name + "_tree_gemm_s"] = Self.best(of: 2) {
                        _ = Conv2dBackward.weightGradientSum(g, input: xp, outputGradient: dp, firstSample: 0, threads: threads,
                                                             path: .gemm).total()
                    }
                } else if k == 3 && stride == 1 {
                    perShape[name + "_tree_winograd_s"] = Self.best(of: 2) {
                        _ = Conv2dBackward.weightGradientSum(g, input: xp, outputGradient: dp, firstSample: 0, threads: threads,
                                                             path: .winograd).total()
                    }
                }
                unfused += Self.best(of: 2) {
                    _ = Conv2dBackward.unfusedWeightGradientSum(g, input: xp, outputGradient: dp, firstSample: 0, threads: threads).total()
                }
            } }
        }
        return ["batched_gemm_s": batched, "per_sample_tree_s": tree, "unfused_tree_s": unfused].merging(perShape) { a, _ in a }
    }
}
