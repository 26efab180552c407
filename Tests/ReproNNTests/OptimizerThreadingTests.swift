import Testing
import ReproNN
import ReproTensor

/// The optimizer steps run over fixed chunks of 32,768 elements on the pool's threads: the
/// parameters and states are the same bits for every thread count (threads proven to run), and
/// the non-finite check still names the first bad element.
@Suite struct OptimizerThreadingTests {
    /// Runs `body` with `threads` threads on a pool of its own; the largest team it formed.
    static func onThreads<R>(_ threads: Int, _ body: () throws -> R) throws -> (R, Int) {
        let pool = ThreadPool()
        let r = try Runtime.withSettings(RuntimeSettings(threads: threads)) { try Runtime.withThreadPool(pool) { try body() } }
        return (r, pool.statistics.largestTeam)
    }

    /// A deterministic vector with mixed signs and magnitudes.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max) * 2
        }
    }

    /// Four chunks and a tail (100,003 elements) beside a 7-element tensor.
    static let shapes: [(String, [Int])] = [("big", [100_003]), ("small", [7])]

    /// Parameter and state bits after three steps.
    static func run<O: Optimizer>(_ make: () throws -> O) throws -> [[UInt32]] {
        var opt = try make()
        var params = try shapes.enumerated().map { i, s in try Tensor(shape: s.1, scalars: values(s.1[0], seed: UInt64(i + 1))) }
        for step in 0..<3 {
            let grads = try shapes.enumerated().map { i, s in
                try Tensor(shape: s.1, scalars: values(s.1[0], seed: UInt64(10 * step + i + 5)))
            }
            try opt.step(&params, gradients: grads)
        }
        return try (params + opt.savedState().map(\.tensor).filter { $0.dtype == .float32 }).map {
            try $0.contiguous().scalars(as: Float.self).map(\.bitPattern)
        }
    }

    static let optimizers: [(String, @Sendable () throws -> [[UInt32]])] = [
        ("sgd momentum wd", { try run { try SGD(parameters: shapes, options: .init(learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4)) } }),
        ("sgd nesterov unfused", { try run { try SGD(parameters: shapes, options: .init(learningRate: 0.1, momentum: 0.9, nesterov: true),
                                                     arithmetic: .unfused) } }),
        ("adamw amsgrad", { try run { try Adam(parameters: shapes, options: .adamW(learningRate: 1e-3, amsgrad: true)) } }),
        ("adam coupled maximize", { try run { try Adam(parameters: shapes, options: .init(weightDecay: 0.01, maximize: true)) } }),
    ]

    @Test func stepsAreInvariantToThreads() throws {
        for (label, bits) in Self.optimizers {
            let (one, _) = try Self.onThreads(1) { try bits() }
            for t in [2, 3] {
                let (got, team) = try Self.onThreads(t) { try bits() }
                #expect(team == t, "\(label): threads \(t) ran on \(team)")
                #expect(got == one, "\(label): threads \(t)")
            }
        }
    }

    /// The first NaN or infinity is named whatever chunk finds it first.
    @Test func firstNonFiniteElementIsNamedOnEveryThreadCount() throws {
        for bad in [[70_000, 90_000, 99_999], [5, 40_000], [100_002]] {
            var g = Self.values(100_003, seed: 9)
            for (k, i) in bad.enumerated() { g[i] = k % 2 == 0 ? .nan : -.infinity }
            for t in [1, 3] {
                var opt = try SGD(parameters: [("big", [100_003])], options: .init(learningRate: 0.1))
                var p = [try Tensor(shape: [100_003], scalars: Self.values(100_003, seed: 1))]
                let gradient = try Tensor(shape: [100_003], scalars: g)
                let (_, team) = try Self.onThreads(t) {
                    #expect(throws: OptimizerError.nonFiniteGradient(parameter: "big", step: 1, index: bad[0]), "threads \(t)") {
                        try opt.step(&p, gradients: [gradient])
                    }
                }
                #expect(team == (t == 1 ? 0 : t))
            }
        }
    }
}
