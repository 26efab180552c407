import ReproRandom
@_spi(Kernels) import ReproTensor
import Testing
import _ReproTestSupport
@testable import ReproNN

@Suite struct DropoutTorchTests {
    /// torch's CPU `F.dropout` after `manual_seed`, bit for bit (outputs and the generator's
    /// position afterwards), for sizes 1, 7, 16, 17, 1000 and a 4-d tensor, p ∈ {0, .1, .5, .9, 1}.
    @Test func matchesTorchBitForBit() throws {
        let cases = try Fixtures.json("losses/dropout.json")["cases"].array
        #expect(cases.count == 30)
        for c in cases {
            let shape = try c["shape"].array.map { Int(try $0.int64) }
            let p = try #require((try c["p"]).raw as? Double)
            let x = try Tensor(shape: shape, scalars: try c["input"].f32Bits.map(Float.init(bitPattern:)))
            var g = TorchGenerator(seed: try c["seed"].uint64)
            let (y, noise) = try TorchDropout.forward(x, p: p, generator: &g)
            #expect(try bits(y) == c["output"].f32Bits, "shape \(shape) p \(p)")
            #expect(try g.rand(count: 3).map(\.bitPattern) == c["rand_after"].f32Bits, "draws consumed, shape \(shape) p \(p)")
            // Backward multiplies by the same noise.
            let ones = try Tensor(repeating: Float(1), shape: shape)
            #expect(try noise.backward(ones).scalars(as: Float.self) == noise.values)
        }
    }

    @Test func edgeCasesAndEvalMode() throws {
        var g = TorchGenerator(seed: 3)
        let x = try Tensor(shape: [3], scalars: [Float(-2), .infinity, 5])
        let before = g
        #expect(try bits(TorchDropout.forward(x, p: 0, generator: &g).output) == bits(x))
        let dropped: [Float] = try TorchDropout.forward(x, p: 1, generator: &g).output.scalars()
        #expect(dropped[0].bitPattern == (-0.0 as Float).bitPattern && dropped[1].isNaN && dropped[2].bitPattern == 0, "\(dropped)")
        #expect(try bits(TorchDropout.forward(x, p: 0.5, training: false, generator: &g).output) == bits(x))
        #expect(g == before, "p = 0, p = 1 and eval mode draw nothing")
        #expect(throws: DropoutError.invalidProbability(1.5)) { try TorchDropout.forward(x, p: 1.5, generator: &g) }
        #expect(throws: DropoutError.invalidProbability(-0.1)) { try TorchDropout.forward(x, p: -0.1, generator: &g) }
        let noise = try TorchDropout.noise(shape: [3], p: 0.5, generator: &g)
        #expect(throws: DropoutError.shapeMismatch(expected: [3], found: [2])) { try noise.forward(Tensor(zeros: [2])) }
    }
}

@Suite struct CounterDropoutTests {
    let dropout = CounterDropout(seed: 42, modulePath: "features.3.dropout")

    /// The noise of sample i is the same in a batch of 8, in micro-batches of 1 and 3 + 3 + 2,
    /// and with 1, 2 or 3 threads (each run on a pool of its own that really used that many).
    @Test func maskIsIndependentOfSplitAndThreads() throws {
        let shape = [8, 3, 40]   // 120 elements per sample: a partial Philox block at the end
        let whole = try dropout.noise(shape: shape, p: 0.3, step: 11)
        for split in [[1, 1, 1, 1, 1, 1, 1, 1], [3, 3, 2], [5, 3]] {
            var joined = [Float](), start = 0
            for n in split {
                joined += try dropout.noise(shape: [n, 3, 40], p: 0.3, step: 11, startIndex: start).values
                start += n
            }
            #expect(joined.map(\.bitPattern) == whole.values.map(\.bitPattern), "split \(split)")
        }
        for t in [1, 2, 3] {
            let pool = ThreadPool()
            var settings = Runtime.settings
            settings.threads = t
            let n = try Runtime.withSettings(settings) { try Runtime.withThreadPool(pool) { try dropout.noise(shape: shape, p: 0.3, step: 11) } }
            #expect(n == whole, "threads \(t)")
            let s = pool.statistics
            #expect(s.serialFallbacks == 0 && s.largestTeam == (t == 1 ? 0 : t), "threads \(t): \(s)")
        }
    }

    @Test func maskIsAPureFunctionOfItsArguments() throws {
        let noise = try dropout.noise(shape: [4, 9], p: 0.5, step: 2, startIndex: 6)
        for s in 0..<4 {
            for e in 0..<9 {
                let kept = try dropout.keeps(step: 2, sample: 6 + s, element: e, p: 0.5)
                #expect(noise.values[s * 9 + e] == (kept ? 2 : 0))
            }
        }
        let base = try dropout.noise(shape: [4, 64], p: 0.5, step: 2).values
        #expect(try dropout.noise(shape: [4, 64], p: 0.5, step: 3).values != base)
        #expect(try CounterDropout(seed: 42, modulePath: "features.4.dropout").noise(shape: [4, 64], p: 0.5, step: 2).values != base)
        #expect(try CounterDropout(seed: 43, modulePath: "features.3.dropout").noise(shape: [4, 64], p: 0.5, step: 2).values != base)
        // The definition is pinned: key words and the first 32 keep decisions of sample 0, step 0.
        #expect(dropout.key0 != 0 || dropout.key1 != 0)
        let pinned = try (0..<32).map { try dropout.keeps(step: 0, sample: 0, element: $0, p: 0.5) ? "1" : "0" }.joined()
        #expect(pinned == CounterDropoutTests.pinnedKeeps, "got \(pinned)")
    }

    static let pinnedKeeps = "11101110000101111010010010111101"

    /// Kept fraction ≈ 1 − p (binomial: 6 standard deviations) and torch's scale and values.
    @Test func keepRateScaleAndEdgeCases() throws {
        for p in [0.1, 0.5, 0.9] {
            let n = try dropout.noise(shape: [10, 10_000], p: p, step: 0)
            let kept = Double(n.keptCount), total = 100_000.0
            let sd = (total * p * (1 - p)).squareRoot()
            #expect(abs(kept - total * (1 - p)) <= 6 * sd, "p \(p): kept \(kept)")
            #expect(Set(n.values.map(\.bitPattern)) == [0, (1 / Float(1 - p)).bitPattern])
        }
        let x = try Tensor(shape: [2, 2], scalars: [Float(-1), .infinity, 3, .nan])
        let all = try dropout.forward(x, p: 1, step: 0)
        let dropped: [Float] = try all.output.scalars()
        #expect(dropped[0].bitPattern == (-0.0 as Float).bitPattern && dropped[1].isNaN && dropped[2].bitPattern == 0 && dropped[3].isNaN,
                "\(dropped)")
        #expect(try bits(dropout.forward(x, p: 0, step: 0).output) == bits(x))
        #expect(try bits(dropout.forward(x, p: 0.5, step: 0, training: false).output) == bits(x))
        #expect(throws: DropoutError.invalidProbability(2)) { try dropout.noise(shape: [2], p: 2, step: 0) }
        #expect(throws: DropoutError.self) { try dropout.noise(shape: [2, 2], p: 0.5, step: 0, startIndex: (1 << 32) - 1) }
        #expect(throws: DropoutError.self) { try dropout.keeps(step: 0, sample: -1, element: 0, p: 0.5) }
        // Backward is g · noise.
        let (_, noise) = try dropout.forward(x, p: 0.5, step: 9)
        let g = try Tensor(shape: [2, 2], scalars: [Float(1), 2, 3, 4])
        #expect(try noise.backward(g).scalars(as: Float.self) == zip([Float(1), 2, 3, 4], noise.values).map { $0 * $1 })
    }
}
