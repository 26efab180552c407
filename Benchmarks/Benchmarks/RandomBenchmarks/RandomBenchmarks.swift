import Benchmark
import Repro

/// Throughput of filling 10 M floats, single thread (issue 2's speed target).
let benchmarks: @Sendable () -> Void = {
    let count = 10_000_000
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 30
    )

    Benchmark("Philox4x32 uniform 10M") { benchmark in
        var buffer = [Float](repeating: 0, count: count)
        var g = Philox4x32(seed: 42)
        for _ in benchmark.scaledIterations {
            buffer.withUnsafeMutableBufferPointer { g.fillUniform($0) }
            blackHole(buffer[count - 1])
        }
    }

    Benchmark("TorchGenerator rand 10M") { benchmark in
        var buffer = [Float](repeating: 0, count: count)
        var g = TorchGenerator(seed: UInt64(42))
        for _ in benchmark.scaledIterations {
            buffer.withUnsafeMutableBufferPointer { try? g.fillUniform($0) }
            blackHole(buffer[count - 1])
        }
    }

    Benchmark("TorchGenerator randn 10M") { benchmark in
        var buffer = [Float](repeating: 0, count: count)
        var g = TorchGenerator(seed: UInt64(42))
        for _ in benchmark.scaledIterations {
            buffer.withUnsafeMutableBufferPointer { try? g.fillNormal($0) }
            blackHole(buffer[count - 1])
        }
    }

    Benchmark("MT19937 raw 10M words") { benchmark in
        var g = MT19937(seed: 42)
        for _ in benchmark.scaledIterations {
            var acc: UInt32 = 0
            for _ in 0..<count { acc ^= g.next32() }
            blackHole(acc)
        }
    }
}
