// package-benchmark suite: `swift package benchmark` (in Benchmarks/).
// Throughput is reported per operation; divide 2·m·n·k (or 2·MACs) by the
// wall-clock time for GFLOP/s (repro-bench prints those directly).
import Benchmark
import ReproTensor

/// Deterministic inputs from a 64-bit LCG.
func lcgFloats(_ n: Int, seed: UInt64) -> [Float] {
    var s = seed
    return (0..<n).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(s >> 40) * 0x1p-23 - 1
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .mallocCountTotal],
                                           maxDuration: .seconds(3), maxIterations: 20)
    for threads in [1, 2] {
        for size in [512, 1024] {
            Benchmark("sgemm \(size)³ threads \(threads)") { benchmark in
                let a = try Tensor(shape: [size, size], scalars: lcgFloats(size * size, seed: 1))
                let b = try Tensor(shape: [size, size], scalars: lcgFloats(size * size, seed: 2))
                try Runtime.withSettings(RuntimeSettings(threads: threads)) {
                    benchmark.startMeasurement()
                    for _ in benchmark.scaledIterations { blackHole(try a.matmul(b)) }
                    benchmark.stopMeasurement()
                }
            }
        }
        Benchmark("conv3x3 256→256 100×136 threads \(threads)") { benchmark in
            let x = try Tensor(shape: [1, 256, 100, 136], scalars: lcgFloats(256 * 100 * 136, seed: 3))
            let w = try Tensor(shape: [256, 256, 3, 3], scalars: lcgFloats(256 * 256 * 9, seed: 4))
            let conv = try PreparedConv2d(weight: w, padding: (1, 1))
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try conv.forward(x, threads: threads)) }
            benchmark.stopMeasurement()
        }
        Benchmark("conv1x1 1024→256 50×68 threads \(threads)") { benchmark in
            let x = try Tensor(shape: [1, 1024, 50, 68], scalars: lcgFloats(1024 * 50 * 68, seed: 5))
            let w = try Tensor(shape: [256, 1024, 1, 1], scalars: lcgFloats(256 * 1024, seed: 6))
            let conv = try PreparedConv2d(weight: w)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(try conv.forward(x, threads: threads)) }
            benchmark.stopMeasurement()
        }
    }
    Benchmark("sigmoid 1M") { benchmark in
        let x = try Tensor(shape: [1 << 20], scalars: lcgFloats(1 << 20, seed: 7))
        for _ in benchmark.scaledIterations { blackHole(try x.sigmoid()) }
    }
}
