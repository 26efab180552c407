import ReproTensor

/// The norm ``clipGradientNorm(_:max:normType:errorIfNonfinite:arithmetic:)`` measures.
public enum GradientNormType: String, Codable, Sendable, CaseIterable {
    /// The Euclidean norm (`norm_type=2`).
    case two
    /// The largest absolute value (`norm_type=inf`).
    case infinity
}

/// Rescales gradients so that their total norm is at most `max`, as PyTorch's
/// `torch.nn.utils.clip_grad_norm_` does, and returns the total norm (before clipping).
///
/// The total norm is the norm of the per-gradient norms, in gradient order. Each 2-norm is
/// computed in one fixed order, the one torch's CPU `vector_norm` kernel uses for a contiguous
/// float32 tensor at every thread count: eight running sums `s[j] += x²` over blocks of eight
/// elements (each square rounded, then the sum), the eight sums added left to right, then the
/// `n mod 8` remaining elements added one at a time (on the vectorised kernel set the first four
/// of them as rounded squares when there are at least four, the others fused; unfused on
/// `DEFAULT`), and a correctly rounded square root. So the total equals torch's bit for bit
/// (checked against torch 2.13 on both kernel sets) and never depends on threads. The infinity
/// norm is the largest absolute value (NaN if any element is NaN).
///
/// The clip coefficient is computed as torch does: `c = (1 / (total + f(1e-6))) · f(max)` (torch
/// evaluates `max / tensor` as a reciprocal, then a product), clamped to at most 1, and every
/// gradient is multiplied by it, even when `c = 1`. `nil` gradients are skipped; with none,
/// the total is 0.
///
/// ```swift
/// var grads: [Tensor?] = [try Tensor(shape: [2], scalars: [Float(3), 4]), nil]
/// let total = try clipGradientNorm(&grads, max: 1)   // 5.0; grads[0] ≈ [0.6, 0.8]
/// ```
///
/// - Parameters:
///   - errorIfNonfinite: when `true`, a NaN or infinite total throws
///     ``OptimizerError/nonFiniteNorm(_:)`` and nothing changes; when `false` torch's arithmetic
///     runs on (an infinite total gives `c = 0`, a NaN total NaN gradients).
///   - arithmetic: the torch kernel set whose tail rounding is reproduced.
/// - Throws: ``OptimizerError/notFloat32(parameter:)`` (the name is the gradient's index),
///   ``OptimizerError/invalidHyperparameter(_:)`` for a NaN `max`.
@discardableResult
public func clipGradientNorm(
    _ gradients: inout [Tensor?], max maxNorm: Double, normType: GradientNormType = .two,
    errorIfNonfinite: Bool = false, arithmetic: TorchArithmetic = .fused
) throws(OptimizerError) -> Float {
    guard !maxNorm.isNaN else { throw .invalidHyperparameter("max_norm is NaN") }
    var norms: [Float] = []
    for (i, g) in gradients.enumerated() {
        guard let g else { continue }
        guard g.dtype == .float32 else { throw .notFloat32(parameter: "gradient \(i)") }
        let values = (try? g.scalars(as: Float.self)) ?? []
        norms.append(GradientNorm.norm(values, normType, arithmetic))
    }
    if norms.isEmpty { return 0 }
    let total = GradientNorm.norm(norms, normType, arithmetic)
    if errorIfNonfinite && !total.isFinite { throw .nonFiniteNorm(total) }
    let reciprocal = 1 / (total + Float(1e-6))
    var coefficient = reciprocal * Float(maxNorm)
    if coefficient > 1 { coefficient = 1 }  // clamp(max=1): NaN stays NaN
    for i in gradients.indices where gradients[i] != nil {
        var g = gradients[i]!.contiguous()
        OptimKernels.mutable(&g) { b in
            for j in 0..<b.count { b[j] = b[j] * coefficient }
        }
        gradients[i] = g
    }
    return total
}

/// Clamps every gradient element to `[-value, value]`, as `torch.nn.utils.clip_grad_value_`
/// (`clamp_(min=-value, max=value)`: NaN stays NaN).
///
/// ```swift
/// var grads: [Tensor?] = [try Tensor(shape: [3], scalars: [Float(-3), 0.5, 9])]
/// try clipGradientValue(&grads, 1)   // [-1, 0.5, 1]
/// ```
///
/// - Throws: ``OptimizerError/invalidHyperparameter(_:)`` for a NaN or negative value,
///   ``OptimizerError/notFloat32(parameter:)``.
public func clipGradientValue(_ gradients: inout [Tensor?], _ value: Double) throws(OptimizerError) {
    guard value >= 0 else { throw .invalidHyperparameter("clip value must be a non-negative number, got \(value)") }
    for (i, g) in gradients.enumerated() where g != nil && g!.dtype != .float32 {
        throw .notFloat32(parameter: "gradient \(i)")
    }
    let hi = Float(value), lo = Float(-value)
    for i in gradients.indices where gradients[i] != nil {
        var g = gradients[i]!.contiguous()
        OptimKernels.mutable(&g) { b in
            for j in 0..<b.count where !b[j].isNaN { b[j] = b[j] < lo ? lo : (b[j] > hi ? hi : b[j]) }
        }
        gradients[i] = g
    }
}

/// The per-tensor norms of gradient clipping.
enum GradientNorm {
    /// The norm of `x` in torch's CPU kernel order (see ``clipGradientNorm(_:max:normType:errorIfNonfinite:arithmetic:)``).
    static func norm(_ x: [Float], _ type: GradientNormType, _ arithmetic: TorchArithmetic) -> Float {
        switch type {
        case .infinity:
            var m: Float = 0
            for v in x {
                if v.isNaN { return .nan }
                m = Swift.max(m, abs(v))
            }
            return m
        case .two:
            switch arithmetic {
            case .fused: return twoNorm(FusedMultiplyAdd.self, x)
            case .unfused: return twoNorm(UnfusedMultiplyAdd.self, x)
            }
        }
    }

    /// Eight lanes of rounded squares, lanes summed left to right, the tail added one by one.
    static func twoNorm<A: MultiplyAdd>(_: A.Type, _ x: [Float]) -> Float {
        let n = x.count, body = n - n % 8
        var lanes = [Float](repeating: 0, count: 8)
        var i = 0
        while i < body {
            for j in 0..<8 { lanes[j] = lanes[j] + x[i + j] * x[i + j] }
            i += 8
        }
        var s = lanes[0]
        for j in 1..<8 { s = s + lanes[j] }
        let tail = n - body
        for k in 0..<tail {
            let v = x[body + k]
            s = (tail >= 4 && k < 4) ? s + v * v : A.madd(v, v, s)
        }
        return s.squareRoot()
    }
}
