import Testing
import ReproNN
import ReproTensor

/// The tape's gradient adds (an activation used twice, a parameter used by two layers) and the
/// linear layer's per-sample `dW` run over fixed chunks on the pool: the gradients are the same
/// bits for every thread count, with the threads proven to have run.
@Suite struct TapeThreadingTests {
    /// Runs `body` with `threads` threads on a pool of its own; the largest team it formed and
    /// the number of jobs that fell back to the caller.
    static func onThreads<R>(_ threads: Int, _ body: () throws -> R) throws -> (R, Int, Int) {
        let pool = ThreadPool()
        let r = try Runtime.withSettings(RuntimeSettings(threads: threads)) { try Runtime.withThreadPool(pool) { try body() } }
        return (r, pool.statistics.largestTeam, pool.statistics.serialFallbacks)
    }

    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int32(truncatingIfNeeded: state >> 32)) / Float(Int32.max)
        }
    }

    /// Four samples: a watched input of 40,000 features used twice (its gradient is the sum of
    /// two 160,000-float contributions: five add chunks); a 600 × 512 weight (a 1.2 MB outer
    /// product per sample) used by two linear layers, so its per-sample contributions are
    /// added on the tape before the tree.
    static func gradients() throws -> [String: [UInt32]] {
        let n = 4, wide = 40_000, fin = 512, fout = 600
        let tape = GradientTape(samples: 0..<n)
        let big = try tape.watched(Tensor(shape: [n, wide], scalars: values(n * wide, seed: 1)))
        let x1 = try tape.constant(Tensor(shape: [n, fin], scalars: values(n * fin, seed: 2)))
        let x2 = try tape.constant(Tensor(shape: [n, fin], scalars: values(n * fin, seed: 3)))
        let w = try tape.parameter("w", Tensor(shape: [fout, fin], scalars: values(fout * fin, seed: 4)))
        let b = try tape.parameter("b", Tensor(shape: [fout], scalars: values(fout, seed: 5)))
        let y = try x1.linear(weight: w, bias: b) + x2.linear(weight: w, bias: nil).squared()
        let u = try big.relu() + big.squared()
        let loss = try y.sum() + u.sum()
        try tape.backward(from: loss)
        var out: [String: [UInt32]] = [:]
        for key in ["w", "b"] { out[key] = try tape.gradient(ofParameter: key)!.scalars(as: Float.self).map(\.bitPattern) }
        out["input"] = try tape.gradient(of: big)!.scalars(as: Float.self).map(\.bitPattern)
        return out
    }

    @Test func gradientsAreInvariantToThreads() throws {
        let (one, _, _) = try Self.onThreads(1) { try Self.gradients() }
        #expect(one["w"]?.count == 600 * 512 && one["input"]?.count == 4 * 40_000)
        for t in [2, 3] {
            let (got, team, fallbacks) = try Self.onThreads(t) { try Self.gradients() }
            #expect(team == t, "threads \(t) ran on \(team)")
            #expect(fallbacks == 0)
            for key in ["w", "b", "input"] { #expect(got[key] == one[key], "\(key), threads \(t)") }
        }
    }

    /// The linear weight gradient against plain loops: per sample `dW = g ⊗ x` (here `g = 1`
    /// for every output), the four samples summed as the canonical tree `(s0 + s1) + (s2 + s3)`.
    @Test func linearWeightGradientMatchesPlainLoops() throws {
        let n = 4, fin = 512, fout = 600
        let xs = Self.values(n * fin, seed: 7)
        let (got, team, _) = try Self.onThreads(2) { () throws -> [Float] in
            let tape = GradientTape(samples: 0..<n)
            let x = try tape.constant(Tensor(shape: [n, fin], scalars: xs))
            let w = try tape.parameter("w", Tensor(shape: [fout, fin], scalars: Self.values(fout * fin, seed: 8)))
            try tape.backward(from: x.linear(weight: w, bias: nil).sum())
            return try tape.gradient(ofParameter: "w")!.scalars(as: Float.self)
        }
        #expect(team == 2)
        var expected = [Float](repeating: 0, count: fout * fin)
        for o in 0..<fout {
            for i in 0..<fin {
                let s = (0..<n).map { xs[$0 * fin + i] }   // g = 1: the product is x itself
                expected[o * fin + i] = (s[0] + s[1]) + (s[2] + s[3])
            }
        }
        #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
    }
}
