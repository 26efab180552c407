extension Tensor {
    /// Validates an NCHW float input and returns it contiguous.
    func nchwOperand(_ op: String) throws(TensorError) -> Tensor {
        guard rank == 4 else { throw .invalidShape(op: op, shape: shape, reason: "expected [N, C, H, W]") }
        return try floatOperand(op)
    }

    /// 2-D max pooling over `[N, C, H, W]` (−∞ padding; NaN propagates: the window's last NaN, as in
    /// PyTorch's CPU kernel).
    ///
    /// ```swift
    /// let y = try x.maxPool2d(kernel: 3, stride: 2, padding: 1)   // ResNet stem
    /// ```
    public func maxPool2d(kernel: Int, stride: Int, padding: Int) throws(TensorError) -> Tensor {
        let op = "maxPool2d"
        let x = try nchwOperand(op)
        guard kernel > 0, stride > 0, padding >= 0, padding * 2 <= kernel else {
            throw .invalidArgument(op: op, reason: "kernel \(kernel), stride \(stride), padding \(padding) (padding at most half the kernel)")
        }
        let oh = Resampling.pooledSize(shape[2], kernel: kernel, stride: stride, padding: padding)
        let ow = Resampling.pooledSize(shape[3], kernel: kernel, stride: stride, padding: padding)
        guard oh > 0, ow > 0 else { throw .invalidShape(op: op, shape: shape, reason: "input smaller than the window") }
        let out = try Tensor.uninitialized([shape[0], shape[1], oh, ow], op: op)
        Resampling.maxPool2d(x.floatBase, out.floatBase, planes: shape[0] * shape[1], height: shape[2], width: shape[3],
                             kernel: kernel, stride: stride, padding: padding, threads: Runtime.settings.threads)
        return out
    }

    /// Resampling modes of ``upsampled(toHeight:width:mode:)``.
    public enum ResizeMode: Sendable {
        /// PyTorch's legacy `"nearest"`.
        case nearest
        /// `"bilinear"` with `align_corners=False`, no antialiasing.
        case bilinear
    }

    /// Resizes `[N, C, H, W]` to `[N, C, height, width]`.
    ///
    /// ```swift
    /// let up = try t5.upsampled(toHeight: 50, width: 68, mode: .nearest)
    /// ```
    public func upsampled(toHeight height: Int, width: Int, mode: ResizeMode) throws(TensorError) -> Tensor {
        let op = mode == .nearest ? "upsampleNearest" : "upsampleBilinear"
        let x = try nchwOperand(op)
        guard height > 0, width > 0 else { throw .invalidArgument(op: op, reason: "output size \(height)×\(width) must be positive") }
        guard shape[2] > 0, shape[3] > 0 else { throw .invalidShape(op: op, shape: shape, reason: "empty input plane") }
        let out = try Tensor.uninitialized([shape[0], shape[1], height, width], op: op)
        let planes = shape[0] * shape[1], t = Runtime.settings.threads
        switch mode {
        case .nearest:
            Resampling.upsampleNearest(x.floatBase, out.floatBase, planes: planes, height: shape[2], width: shape[3],
                                       outHeight: height, outWidth: width, threads: t)
        case .bilinear:
            Resampling.upsampleBilinear(x.floatBase, out.floatBase, planes: planes, height: shape[2], width: shape[3],
                                        outHeight: height, outWidth: width, threads: t)
        }
        return out
    }

    /// Group normalisation of `[N, C, H, W]` (see ``GroupNormKernel``), optionally fused with ReLU.
    ///
    /// ```swift
    /// let y = try x.groupNorm(groups: 32, weight: g, bias: b, eps: 1e-5, relu: true)
    /// ```
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5, relu: Bool = false) throws(TensorError) -> Tensor {
        let op = "groupNorm"
        guard rank >= 2 else { throw .invalidShape(op: op, shape: shape, reason: "expected [N, C, …]") }
        let c = shape[1]
        guard groups > 0, c % groups == 0 else {
            throw .invalidArgument(op: op, reason: "groups \(groups) must divide channels \(c) (shape \(shape))")
        }
        for p in [weight, bias].compactMap({ $0 }) where p.shape != [c] {
            throw .shapeMismatch(op: op, shapes: [shape, p.shape], reason: "weight and bias must be [\(c)]")
        }
        let x = try floatOperand(op)
        let g: [Float]? = try weight?.scalars(), b: [Float]? = try bias?.scalars()
        let out = try Tensor.uninitialized(shape, op: op)
        let spatial = count / max(shape[0] * c, 1)
        (g ?? []).withUnsafeBufferPointer { gp in (b ?? []).withUnsafeBufferPointer { bp in
            GroupNormKernel.forward(x.floatBase, out.floatBase, batch: shape[0], channels: c, spatial: spatial, groups: groups,
                                    gamma: g == nil ? nil : gp.baseAddress, beta: b == nil ? nil : bp.baseAddress,
                                    eps: eps, relu: relu, threads: Runtime.settings.threads)
        }}
        return out
    }
}
