import Testing
@_spi(Kernels) @testable import ReproTensor

/// The BatchNorm training forward's statistics (float64 sums in raster order per sample and
/// channel, the canonical tree over samples) against a scalar reference of that rule, bit for bit,
/// on the 64-channel register path and the generic remainder; and the fused residual + ReLU
/// against the three operations one after the other.
@Suite struct BatchNormTrainingForwardTests {
    /// Values spread over sixteen binary orders of magnitude, so that float64 sums round and a
    /// different summation order would show in the bits.
    static func spread(_ count: Int, seed: UInt64) -> [Float] {
        let base = seededFloats(count, seed: seed)
        return base.enumerated().map { i, v in v * Float(1 << (i * 7 % 17)) / 256 }
    }

    /// The documented rule, one channel at a time in scalar code.
    static func reference(_ x: [Float], n: Int, s: Int, c: Int, gamma: [Float], beta: [Float], eps: Float)
        -> (stats: BatchNormKernel.Statistics, y: [Float]) {
        func sums(_ mean: [Float]?) -> [Float] {
            var perSample = [Float](repeating: 0, count: n * c)
            for sample in 0..<n {
                for ch in 0..<c {
                    var acc = 0.0
                    for p in 0..<s {
                        let v = Double(x[(sample * s + p) * c + ch])
                        if let mean { let d = v - Double(mean[ch]); acc += d * d } else { acc += v }
                    }
                    perSample[sample * c + ch] = Float(acc)
                }
            }
            return perSample.withUnsafeBufferPointer { SampleGradients.treeSum($0.baseAddress!, samples: n, count: c) }
        }
        let m = Double(n * s)
        let mean = sums(nil).map { Float(Double($0) / m) }
        let variance = sums(mean).map { Float(Double($0) / m) }
        let rstd = variance.map { Float(1 / (Double($0) + Double(eps)).squareRoot()) }
        var y = x
        for i in y.indices {
            let ch = i % c, scale = rstd[ch] * gamma[ch], shift = beta[ch] - mean[ch] * scale
            y[i] = x[i] * scale + shift
        }
        return (BatchNormKernel.Statistics(mean: mean, variance: variance, rstd: rstd, count: n * s), y)
    }

    /// The statistics' bit patterns (NaN compares equal to itself).
    static func bits(_ s: BatchNormKernel.Statistics) -> [[UInt32]] {
        [s.mean.map(\.bitPattern), s.variance.map(\.bitPattern), s.rstd.map(\.bitPattern), [UInt32(s.count)]]
    }

    static func forward(_ x: [Float], n: Int, s: Int, c: Int, gamma: [Float], beta: [Float], residual: [Float]? = nil,
                        relu: Bool = false, threads: Int) throws -> (stats: BatchNormKernel.Statistics, y: [Float]) {
        var stats: BatchNormKernel.Statistics?
        let y = try produce(x.count) { y in
            stats = try withPointers(x) { xp in try withPointers(gamma) { g in try withPointers(beta) { b in
                try withPointers(residual ?? [0]) { r in
                    try BatchNormKernel.trainingForward(xp, y, batch: n, spatial: s, channels: c, gamma: g, beta: b, eps: 1e-5,
                                                        residual: residual == nil ? nil : r, relu: relu, threads: threads)
                }
            } } }
        }
        return (stats!, y)
    }

    /// 64 and 128 channels run the register path only, 24 the scalar one, 150 both (two blocks
    /// and a remainder of 22); threads 1–3, each proven to run.
    @Test(arguments: [(3, 37, 64), (2, 29, 150), (4, 9, 24), (5, 11, 128)])
    func statisticsMatchTheScalarRule(shape: (Int, Int, Int)) throws {
        let (n, s, c) = shape
        let x = Self.spread(n * s * c, seed: UInt64(c))
        let gamma = seededFloats(c, seed: 3), beta = seededFloats(c, seed: 4)
        let want = Self.reference(x, n: n, s: s, c: c, gamma: gamma, beta: beta, eps: 1e-5)
        for t in [1, 2, 3] {
            let got = try onOwnPool(threads: t) {
                try Self.forward(x, n: n, s: s, c: c, gamma: gamma, beta: beta, threads: t)
            }
            #expect(Self.bits(got.stats) == Self.bits(want.stats), "statistics, \(shape), threads \(t)")
            #expect(got.y.map(\.bitPattern) == want.y.map(\.bitPattern), "output, \(shape), threads \(t)")
        }
    }

    /// `relu(bn(x) + r)` in the normalising pass equals normalising, adding and rectifying one
    /// after the other (NaN kept, −0 and exact zeros rectified to +0), for each combination.
    @Test func residualAndReLUFuseWithoutChangingBits() throws {
        let n = 3, s = 23, c = 70
        var x = seededFloats(n * s * c, seed: 21)
        x[5] = .nan
        x[200] = .infinity
        var r = seededFloats(x.count, seed: 22)
        r[77] = .nan
        let gamma = seededFloats(c, seed: 23), beta = seededFloats(c, seed: 24)
        let plain = try Self.forward(x, n: n, s: s, c: c, gamma: gamma, beta: beta, threads: 1)
        // An exact cancellation: the residual is minus the normalised value at a few places.
        for i in stride(from: 3, to: r.count, by: 97) { r[i] = -plain.y[i] }
        func relu(_ v: Float) -> Float { v > 0 ? v : (v.isNaN ? v : 0) }
        for (withResidual, withReLU) in [(false, true), (true, false), (true, true)] {
            var want = plain.y
            if withResidual { for i in want.indices { want[i] = want[i] + r[i] } }
            if withReLU { want = want.map(relu) }
            for t in [1, 2, 3] {
                let got = try onOwnPool(threads: t) {
                    try Self.forward(x, n: n, s: s, c: c, gamma: gamma, beta: beta, residual: withResidual ? r : nil,
                                     relu: withReLU, threads: t)
                }
                #expect(Self.bits(got.stats) == Self.bits(plain.stats))
                #expect(got.y.map(\.bitPattern) == want.map(\.bitPattern), "residual \(withResidual), relu \(withReLU), threads \(t)")
            }
        }
    }
}
