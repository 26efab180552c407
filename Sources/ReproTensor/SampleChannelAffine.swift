/// A per-sample, per-channel affine map on NHWC activations with an optional ReLU:
/// `y = x · scale[n, c] + shift[n, c]` (two roundings, no fused multiply-add), then negatives
/// clamped to zero when ``relu`` is set (NaN and −0 pass).
///
/// It is a group normalisation's second pass held back
/// (``Tensor/groupNormNHWCAffine(groups:weight:bias:eps:relu:)`` computes it from the
/// statistics): the next convolution applies it while it copies its input into its padded
/// buffer (``PreparedConv2d/forward(nhwc:inputAffine:threads:)``), which spares one read and one
/// write of the whole activation and gives the bits of normalising first.
package struct SampleChannelAffine: Sendable, Equatable {
    /// Samples N.
    package let batch: Int
    /// Channels C.
    package let channels: Int
    /// Multipliers `[N·C]`, sample-major.
    package let scale: [Float]
    /// Addends `[N·C]`, added after the product.
    package let shift: [Float]
    /// Whether negatives are clamped to zero after the affine step.
    package let relu: Bool

    /// The map from its vectors.
    ///
    /// - Throws: ``TensorError/shapeMismatch(op:shapes:reason:)`` when a vector does not hold `batch · channels` values.
    package init(batch: Int, channels: Int, scale: [Float], shift: [Float], relu: Bool) throws(TensorError) {
        guard batch >= 0, channels >= 0, scale.count == batch * channels, shift.count == batch * channels else {
            throw .shapeMismatch(op: "SampleChannelAffine", shapes: [[batch, channels], [scale.count], [shift.count]],
                                 reason: "scale and shift must hold batch × channels values")
        }
        self.batch = batch
        self.channels = channels
        self.scale = scale
        self.shift = shift
        self.relu = relu
    }

    /// Throws unless `shape` is an NHWC shape `[N, H, W, C]` with this map's N and C.
    func check(_ shape: [Int], op: String) throws(TensorError) {
        guard shape.count == 4, shape[0] == batch, shape[3] == channels else {
            throw .shapeMismatch(op: op, shapes: [shape, [batch, channels]],
                                 reason: "the input affine map is for [\(batch), H, W, \(channels)] activations")
        }
    }
}

extension Tensor {
    /// The per-sample, per-channel scale and shift of a group normalisation of this NHWC
    /// activation `[N, H, W, C]` — the statistics pass of ``groupNormNHWC(groups:weight:bias:eps:relu:)``
    /// alone. Applying the result (``applying(_:)``, or a convolution's fused input copy) gives
    /// `groupNormNHWC`'s bits.
    package func groupNormNHWCAffine(
        groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5, relu: Bool = false
    ) throws(TensorError) -> SampleChannelAffine {
        let (x, g, b) = try groupNormOperands("groupNormNHWCAffine", groups: groups, weight: weight, bias: bias)
        let n = shape[0], c = shape[3]
        var scale = [Float](repeating: 0, count: n * c), shift = scale
        guard n * c > 0 else { return try SampleChannelAffine(batch: n, channels: c, scale: scale, shift: shift, relu: relu) }
        scale.withUnsafeMutableBufferPointer { sp in shift.withUnsafeMutableBufferPointer { tp in
            (g ?? []).withUnsafeBufferPointer { gp in (b ?? []).withUnsafeBufferPointer { bp in
                GroupNormKernel.affineNHWC(x.floatBase, batch: n, spatial: shape[1] * shape[2], channels: c, groups: groups,
                                           gamma: g == nil ? nil : gp.baseAddress, beta: b == nil ? nil : bp.baseAddress,
                                           eps: eps, scales: sp.baseAddress!, shifts: tp.baseAddress!,
                                           threads: Runtime.settings.threads)
            }}
        }}
        return try SampleChannelAffine(batch: n, channels: c, scale: scale, shift: shift, relu: relu)
    }

    /// This NHWC activation with `affine` applied (a new tensor).
    package func applying(_ affine: SampleChannelAffine) throws(TensorError) -> Tensor {
        let op = "applyingSampleChannelAffine"
        let x = try nhwcOperand(op)
        try affine.check(shape, op: op)
        let out = try Tensor.uninitialized(shape, op: op)
        guard count > 0 else { return out }
        affine.scale.withUnsafeBufferPointer { sp in affine.shift.withUnsafeBufferPointer { tp in
            GroupNormKernel.applyAffineNHWC(x.floatBase, out.floatBase, batch: shape[0], spatial: shape[1] * shape[2],
                                            channels: shape[3], scales: sp.baseAddress!, shifts: tp.baseAddress!,
                                            relu: affine.relu, threads: Runtime.settings.threads)
        }}
        return out
    }
}
