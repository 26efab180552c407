/// Channels-last (`[N, H, W, C]`) operations for networks that keep their
/// activations NHWC between ``PreparedConv2d/forward(nhwc:threads:)`` calls. Each
/// gives the same bits as its NCHW counterpart after permuting (tested), at
/// any thread count. Element-wise operations (``adding(_:relu:)``,
/// ``relu()``) are layout-agnostic and need no NHWC version.
///
/// ```swift
/// let x = try image.nhwcFromNCHW()                          // [1, H, W, 3]
/// let y = try stem.forward(nhwc: x, threads: 2).maxPool2dNHWC(kernel: 3, stride: 2, padding: 1)
/// ```
extension Tensor {
    /// Validates an NHWC float input and returns it contiguous.
    /// The checked operands of an NHWC group normalisation: the contiguous float input and γ, β as arrays.
    func groupNormOperands(
        _ op: String, groups: Int, weight: Tensor?, bias: Tensor?
    ) throws(TensorError) -> (x: Tensor, gamma: [Float]?, beta: [Float]?) {
        let x = try nhwcOperand(op)
        let c = shape[3]
        guard groups > 0, c % groups == 0 else {
            throw .invalidArgument(op: op, reason: "groups \(groups) must divide channels \(c) (shape \(shape))")
        }
        for p in [weight, bias].compactMap({ $0 }) where p.shape != [c] {
            throw .shapeMismatch(op: op, shapes: [shape, p.shape], reason: "weight and bias must be [\(c)]")
        }
        return (x, try weight?.scalars(), try bias?.scalars())
    }

    func nhwcOperand(_ op: String) throws(TensorError) -> Tensor {
        guard rank == 4 else { throw .invalidShape(op: op, shape: shape, reason: "expected [N, H, W, C]") }
        return try floatOperand(op)
    }

    /// `[N, C, H, W] → [N, H, W, C]` (a copy; exact).
    ///
    /// ```swift
    /// let nhwc = try canvas.nhwcFromNCHW()
    /// ```
    public func nhwcFromNCHW() throws(TensorError) -> Tensor {
        let op = "nhwcFromNCHW"
        let x = try nchwOperand(op)
        let out = try Tensor.uninitialized([shape[0], shape[2], shape[3], shape[1]], op: op)
        Layout.nchwToNHWC(x.floatBase, out.floatBase, n: shape[0], c: shape[1], hw: shape[2] * shape[3],
                          threads: Runtime.settings.threads)
        return out
    }

    /// `[N, H, W, C] → [N, C, H, W]` (a copy; exact).
    ///
    /// ```swift
    /// let nchw = try p3.nchwFromNHWC()
    /// ```
    public func nchwFromNHWC() throws(TensorError) -> Tensor {
        let op = "nchwFromNHWC"
        let x = try nhwcOperand(op)
        let out = try Tensor.uninitialized([shape[0], shape[3], shape[1], shape[2]], op: op)
        Layout.nhwcToNCHW(x.floatBase, out.floatBase, n: shape[0], c: shape[3], hw: shape[1] * shape[2],
                          threads: Runtime.settings.threads)
        return out
    }

    /// 2-D max pooling over `[N, H, W, C]` (−∞ padding; NaN propagates: the window's last NaN, as in
    /// PyTorch's CPU kernel); the NHWC form of
    /// ``maxPool2d(kernel:stride:padding:)``, identical bits.
    ///
    /// ```swift
    /// let y = try x.maxPool2dNHWC(kernel: 3, stride: 2, padding: 1)   // ResNet stem
    /// ```
    public func maxPool2dNHWC(kernel: Int, stride: Int, padding: Int) throws(TensorError) -> Tensor {
        let op = "maxPool2dNHWC"
        let x = try nhwcOperand(op)
        guard kernel > 0, stride > 0, padding >= 0, padding * 2 <= kernel else {
            throw .invalidArgument(op: op, reason: "kernel \(kernel), stride \(stride), padding \(padding) (padding at most half the kernel)")
        }
        let oh = Resampling.pooledSize(shape[1], kernel: kernel, stride: stride, padding: padding)
        let ow = Resampling.pooledSize(shape[2], kernel: kernel, stride: stride, padding: padding)
        guard oh > 0, ow > 0 else { throw .invalidShape(op: op, shape: shape, reason: "input smaller than the window") }
        let out = try Tensor.uninitialized([shape[0], oh, ow, shape[3]], op: op)
        Resampling.maxPool2dNHWC(x.floatBase, out.floatBase, batch: shape[0], height: shape[1], width: shape[2],
                                 channels: shape[3], kernel: kernel, stride: stride, padding: padding,
                                 threads: Runtime.settings.threads)
        return out
    }

    /// Nearest-neighbour resize (PyTorch's legacy `"nearest"`) of `[N, H, W, C]` to `[N, height, width, C]`;
    /// the NHWC form of ``upsampled(toHeight:width:mode:)`` with `.nearest`, identical bits.
    ///
    /// ```swift
    /// let up = try t5.upsampledNearestNHWC(toHeight: 50, width: 68)
    /// ```
    public func upsampledNearestNHWC(toHeight height: Int, width: Int) throws(TensorError) -> Tensor {
        let op = "upsampleNearestNHWC"
        let x = try nhwcOperand(op)
        guard height > 0, width > 0 else { throw .invalidArgument(op: op, reason: "output size \(height)×\(width) must be positive") }
        guard shape[1] > 0, shape[2] > 0 else { throw .invalidShape(op: op, shape: shape, reason: "empty input plane") }
        let out = try Tensor.uninitialized([shape[0], height, width, shape[3]], op: op)
        Resampling.upsampleNearestNHWC(x.floatBase, out.floatBase, batch: shape[0], height: shape[1], width: shape[2],
                                       channels: shape[3], outHeight: height, outWidth: width,
                                       threads: Runtime.settings.threads)
        return out
    }

    /// Group normalisation of `[N, H, W, C]` (see ``GroupNormKernel/forwardNHWC(_:_:batch:spatial:channels:groups:gamma:beta:eps:relu:threads:)``),
    /// optionally fused with ReLU; the NHWC form of ``groupNorm(groups:weight:bias:eps:relu:)`` with the same
    /// statistics order, hence identical bits.
    ///
    /// ```swift
    /// let y = try x.groupNormNHWC(groups: 32, weight: g, bias: b, eps: 1e-5, relu: true)
    /// ```
    public func groupNormNHWC(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5, relu: Bool = false) throws(TensorError) -> Tensor {
        let op = "groupNormNHWC"
        let (x, g, b) = try groupNormOperands(op, groups: groups, weight: weight, bias: bias)
        let c = shape[3]
        let out = try Tensor.uninitialized(shape, op: op)
        (g ?? []).withUnsafeBufferPointer { gp in (b ?? []).withUnsafeBufferPointer { bp in
            GroupNormKernel.forwardNHWC(x.floatBase, out.floatBase, batch: shape[0], spatial: shape[1] * shape[2], channels: c,
                                        groups: groups, gamma: g == nil ? nil : gp.baseAddress,
                                        beta: b == nil ? nil : bp.baseAddress, eps: eps, relu: relu,
                                        threads: Runtime.settings.threads)
        }}
        return out
    }
}
