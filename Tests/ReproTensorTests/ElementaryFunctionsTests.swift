import Foundation
import Testing
@testable import ReproTensor

@Suite struct ElementaryFunctionsTests {
    /// Error in units of the float32 ulp at the exact (double) result.
    func ulps(_ got: Float, _ exact: Double) -> Double {
        if exact.isInfinite || got.isInfinite { return Double(got) == exact ? 0 : .infinity }
        let e = Float(exact)
        let ulp = Double(max(abs(e), Float.leastNormalMagnitude).ulp)
        return abs(Double(got) - exact) / ulp
    }

    /// Inputs spread over [lo, hi] plus seeded jitter.
    func inputs(_ lo: Float, _ hi: Float, count: Int, seed: UInt64) -> [Float] {
        let u = seededFloats(count, seed: seed)
        return u.enumerated().map { i, r in lo + (hi - lo) * (Float(i) + (r + 1) / 2) / Float(count) }
    }

    @Test func expWithinOneUlp() {
        var worst = 0.0
        for x in inputs(-87.3, 88.7, count: 300_000, seed: 1) + inputs(-1, 1, count: 50_000, seed: 2) {
            worst = max(worst, ulps(ElementaryFunctions.exp(x), Foundation.exp(Double(x))))
        }
        #expect(worst <= 1.0, "exp max error \(worst) ulp")
        #expect(ElementaryFunctions.exp(Float(0)) == 1)
        #expect(ElementaryFunctions.exp(Float(89)) == .infinity)
        #expect(ElementaryFunctions.exp(Float(-104)) == 0)
        #expect(ElementaryFunctions.exp(Float.nan).isNaN)
        #expect(ElementaryFunctions.exp(-Float.infinity) == 0)
        // Subnormal results: within one ulp of the smallest normal.
        for x in inputs(-103, -87.4, count: 10_000, seed: 3) {
            #expect(abs(Double(ElementaryFunctions.exp(x)) - Foundation.exp(Double(x))) <= Double(Float.leastNormalMagnitude.ulp))
        }
    }

    @Test func logWithinOneUlp() {
        var worst = 0.0
        let xs = inputs(1e-30, 10, count: 150_000, seed: 4) + inputs(0.5, 2, count: 150_000, seed: 5)
            + inputs(10, 3e38, count: 50_000, seed: 6) + [1e-40, 1e-45, Float.leastNormalMagnitude]
        for x in xs { worst = max(worst, ulps(ElementaryFunctions.log(x), Foundation.log(Double(x)))) }
        #expect(worst <= 1.0, "log max error \(worst) ulp")
        #expect(ElementaryFunctions.log(Float(1)) == 0)
        #expect(ElementaryFunctions.log(Float(0)) == -.infinity)
        #expect(ElementaryFunctions.log(Float(-1)).isNaN)
        #expect(ElementaryFunctions.log(Float.infinity) == .infinity)
    }

    @Test func log1pWithinTwoAndAHalfUlp() {
        var worst = 0.0
        let xs = inputs(-0.999, 1, count: 150_000, seed: 9) + inputs(-1e-3, 1e-3, count: 50_000, seed: 10)
            + inputs(1, 1e6, count: 50_000, seed: 11) + inputs(-1e-30, 1e-30, count: 1_000, seed: 12) + [1e-40, -1e-40, 3e38]
        for x in xs { worst = max(worst, ulps(ElementaryFunctions.log1p(x), Foundation.log1p(Double(x)))) }
        #expect(worst <= 2.5, "log1p max error \(worst) ulp")
        #expect(ElementaryFunctions.log1p(Float(0)) == 0)
        #expect(ElementaryFunctions.log1p(Float(-0.0)).sign == .minus)
        #expect(ElementaryFunctions.log1p(Float(-1)) == -.infinity)
        #expect(ElementaryFunctions.log1p(Float(-2)).isNaN)
        #expect(ElementaryFunctions.log1p(Float.infinity) == .infinity)
        #expect(ElementaryFunctions.log1p(Float.nan).isNaN)
    }

    @Test func sigmoidWithinTwoAndAHalfUlp() {
        var worst = 0.0
        for x in inputs(-80, 30, count: 200_000, seed: 7) {
            worst = max(worst, ulps(ElementaryFunctions.sigmoid(x), 1 / (1 + Foundation.exp(-Double(x)))))
        }
        #expect(worst <= 2.5, "sigmoid max error \(worst) ulp")
        #expect(ElementaryFunctions.sigmoid(Float(0)) == 0.5)
        #expect(ElementaryFunctions.sigmoid(Float(200)) == 1)
        #expect(ElementaryFunctions.sigmoid(Float(-200)) == 0)
    }

    @Test func vectorLanesEqualScalar() {
        let xs = seededFloats(1024, seed: 8, scale: 50)
        for i in stride(from: 0, to: xs.count, by: 8) {
            let v = SIMD8<Float>(xs[i..<(i + 8)])
            let e = ElementaryFunctions.exp(v), l = ElementaryFunctions.log(SIMD8<Float>(xs[i..<(i + 8)].map { abs($0) })), s = ElementaryFunctions.sigmoid(v)
            for j in 0..<8 {
                #expect(e[j].bitPattern == ElementaryFunctions.exp(xs[i + j]).bitPattern)
                #expect(l[j].bitPattern == ElementaryFunctions.log(abs(xs[i + j])).bitPattern)
                #expect(s[j].bitPattern == ElementaryFunctions.sigmoid(xs[i + j]).bitPattern)
                #expect(ElementaryFunctions.log1p(v)[j].bitPattern == ElementaryFunctions.log1p(xs[i + j]).bitPattern)
            }
        }
    }
}
