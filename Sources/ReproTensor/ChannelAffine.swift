/// A per-channel `y = x · scale[c] + shift[c]` (two roundings, no fused
/// multiply-add): an eval-mode batch norm folded once at load time.
///
/// ``frozenBatchNorm(weight:bias:runningMean:runningVariance:eps:)`` computes
/// the scale and shift the way torchvision's `FrozenBatchNorm2d` does, in
/// float32: `scale = γ · rsqrt(σ² + eps)` with `rsqrt(v) = 1 / sqrt(v)` (both
/// IEEE correctly rounded), `shift = β − μ · scale`.
///
/// ```swift
/// let bn = try ChannelAffine.frozenBatchNorm(weight: g, bias: b, runningMean: m, runningVariance: v, eps: 1e-5)
/// let y = try x.applying(bn)
/// ```
public struct ChannelAffine: Sendable, Equatable {
    /// Per-channel multiplier.
    public var scale: [Float]
    /// Per-channel addend (applied after the scale).
    public var shift: [Float]

    /// Creates the affine map from its two vectors.
    ///
    /// - Throws: ``TensorError/shapeMismatch(op:shapes:reason:)`` when the lengths differ.
    public init(scale: [Float], shift: [Float]) throws(TensorError) {
        guard scale.count == shift.count else {
            throw .shapeMismatch(op: "ChannelAffine", shapes: [[scale.count], [shift.count]], reason: "scale and shift lengths differ")
        }
        self.scale = scale
        self.shift = shift
    }

    /// The FrozenBatchNorm2d fold (also used for `BatchNorm2d` in eval mode,
    /// whose PyTorch kernel rounds differently: compare that with a tolerance).
    ///
    /// - Parameters: 1-d float tensors of equal length `C`; `eps` is added to the variance.
    public static func frozenBatchNorm(
        weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor, eps: Float
    ) throws(TensorError) -> ChannelAffine {
        let op = "frozenBatchNorm"
        let parts = [weight, bias, runningMean, runningVariance]
        guard parts.allSatisfy({ $0.rank == 1 && $0.shape == weight.shape }) else {
            throw .shapeMismatch(op: op, shapes: parts.map(\.shape), reason: "weight, bias, running mean and variance must be 1-d of equal length")
        }
        let w: [Float] = try weight.scalars(), b: [Float] = try bias.scalars()
        let m: [Float] = try runningMean.scalars(), v: [Float] = try runningVariance.scalars()
        var scale = [Float](repeating: 0, count: w.count), shift = scale
        for c in 0..<w.count {
            let r = 1 / (v[c] + eps).squareRoot()
            scale[c] = w[c] * r
            shift[c] = b[c] - m[c] * scale[c]
        }
        return try ChannelAffine(scale: scale, shift: shift)
    }
}

extension Tensor {
    /// Applies a per-channel affine map to an `[N, C, …]` tensor.
    ///
    /// ```swift
    /// let y = try x.applying(bn, relu: true)
    /// ```
    public func applying(_ affine: ChannelAffine, relu: Bool = false) throws(TensorError) -> Tensor {
        let op = "batchNorm"
        guard dtype == .float32 else { throw .dtypeMismatch(op: op, expected: .float32, actual: dtype) }
        guard rank >= 2, shape[1] == affine.scale.count else {
            throw .shapeMismatch(op: op, shapes: [shape, [affine.scale.count]], reason: "dimension 1 must equal the channel count")
        }
        let x = contiguous()
        var out = try Tensor.uninitialized(shape, op: op)
        let n = shape[0], c = shape[1], inner = count / max(n * c, 1)
        let src = x.floatBase, dst = out.floatBase
        affine.scale.withUnsafeBufferPointer { s in affine.shift.withUnsafeBufferPointer { t in
            let e = Epilogue(scale: s.baseAddress, shift: t.baseAddress, relu: relu)
            ThreadPool.current.forEachChunk(n * c, threads: Runtime.settings.threads) { nc in
                let ch = nc % c
                for i in 0..<inner { dst[nc * inner + i] = e.apply(src[nc * inner + i], channel: ch) }
            }
        }}
        out.offset = 0
        return out
    }
}
