import Foundation
import Testing
import ReproTensor
import _ReproTestSupport
@testable import ReproNN

@Suite struct OptimClippingTests {
    static let cases: [(String, TorchArithmetic)] = ["l2_clipped", "l2_unclipped", "inf_clipped"].flatMap { n in
        TorchArithmetic.allCases.map { (n, $0) }
    }

    /// `clip_grad_norm_`: the total norm equals torch's bit for bit (same per-tensor order, same
    /// norm of norms), and so does every clipped gradient.
    @Test(arguments: cases)
    func matchesTorch(_ name: String, _ arithmetic: TorchArithmetic) throws {
        let fx = try OptimFixture.load()
        let c = try fx.meta["clip_cases"].array.first { (try? $0["name"].string) == name }!
        var grads: [Tensor?] = try fx.names.map { try fx.tensor("clip.gradient.\($0)") }
        let total = try clipGradientNorm(&grads, max: try double(c["max_norm"]),
                                         normType: try c["norm_type"].string == "inf" ? .infinity : .two, arithmetic: arithmetic)
        let prefix = "\(arithmetic.rawValue).clip.\(name)"
        #expect(total.bitPattern == (try bits(fx.tensor("\(prefix).total"))[0]), "\(prefix) total \(total)")
        for (n, g) in zip(fx.names, grads) {
            #expect(try bits(g!) == bits(fx.tensor("\(prefix).grad.\(n)")), "\(prefix) \(n)")
        }
    }

    /// The 2-norm order matters: a plain left-to-right sum of squares differs from torch's in
    /// the last bit for some lengths, and the kernel sets differ on the tail.
    @Test func normOrderIsTorchs() throws {
        var differsFromNaive = false, kernelSetsDiffer = false
        for n in 1...200 {
            let x = (0..<n).map { Float(sin(Double($0) * 1.7 + 0.3)) * 3.1 }
            var naive: Float = 0
            for v in x { naive = naive + v * v }
            let fused = GradientNorm.norm(x, .two, .fused), unfused = GradientNorm.norm(x, .two, .unfused)
            differsFromNaive = differsFromNaive || naive.squareRoot() != unfused
            kernelSetsDiffer = kernelSetsDiffer || fused != unfused
        }
        #expect(differsFromNaive && kernelSetsDiffer)
    }

    @Test func nonFiniteAndEdgeCases() throws {
        var grads: [Tensor?] = [try Tensor(shape: [2], scalars: [Float(1), .infinity]), nil]
        #expect(throws: OptimizerError.nonFiniteNorm(.infinity)) { try clipGradientNorm(&grads, max: 1, errorIfNonfinite: true) }
        #expect(try grads[0]!.scalars(as: Float.self) == [1, .infinity])
        // torch: an infinite total gives a zero coefficient (finite entries become 0, inf·0 = NaN)
        let total = try clipGradientNorm(&grads, max: 1)
        #expect(total == .infinity)
        let v = try grads[0]!.scalars(as: Float.self)
        #expect(v[0] == 0 && v[1].isNaN)
        var none: [Tensor?] = [nil]
        #expect(try clipGradientNorm(&none, max: 1) == 0)
        var ints: [Tensor?] = [try Tensor(zeros: [2], dtype: .int64)]
        #expect(throws: OptimizerError.notFloat32(parameter: "gradient 0")) { try clipGradientNorm(&ints, max: 1) }
    }

    /// `clip_grad_value_`: a clamp to `[-v, v]`, NaN kept.
    @Test func clipsValues() throws {
        var grads: [Tensor?] = [try Tensor(shape: [4], scalars: [Float(-3), 0.5, 9, .nan]), nil]
        try clipGradientValue(&grads, 1)
        let v = try grads[0]!.scalars(as: Float.self)
        #expect(Array(v[0..<3]) == [-1, 0.5, 1] && v[3].isNaN && grads[1] == nil)
        #expect(throws: OptimizerError.self) { try clipGradientValue(&grads, -1) }
    }
}
