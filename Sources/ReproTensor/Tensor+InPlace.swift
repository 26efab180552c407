/// In-place forms of element-wise and normalisation operations, for networks that own their
/// activations: they write into the tensor's storage when it is uniquely referenced (copy-on-write
/// otherwise), saving an allocation and its page faults per call. Bits equal the out-of-place forms.
///
/// ```swift
/// var y = try conv3.forward(nhwc: h, threads: 2)
/// try y.add(identity, relu: true)          // y = relu(y + identity)
/// ```
extension Tensor {
    /// `self = self + other` (optionally followed by ReLU), like ``adding(_:relu:)``.
    ///
    /// ```swift
    /// try y.add(shortcut, relu: true)
    /// ```
    /// - Throws: ``TensorError/shapeMismatch(op:shapes:reason:)`` when shapes differ.
    public mutating func add(_ other: Tensor, relu: Bool = false) throws(TensorError) {
        guard shape == other.shape else {
            throw .shapeMismatch(op: "add", shapes: [shape, other.shape], reason: "element-wise add needs equal shapes")
        }
        guard dtype == .float32 else { throw .dtypeMismatch(op: "add", expected: .float32, actual: dtype) }
        let b = try other.floatOperand("add")
        makeUniqueContiguous()
        let n = count, pa = floatBase, pb = b.floatBase
        let chunk = Tensor.elementwiseChunk
        ThreadPool.current.forEachChunk((n + chunk - 1) / chunk, threads: Runtime.settings.threads) { c in
            for i in (c * chunk)..<min((c + 1) * chunk, n) {
                var v = pa[i] + pb[i]
                if relu && v < 0 { v = 0 }
                pa[i] = v
            }
        }
    }

    /// Group normalisation of `[N, H, W, C]` in place; same bits as
    /// ``groupNormNHWC(groups:weight:bias:eps:relu:)``.
    ///
    /// ```swift
    /// try h.formGroupNormNHWC(groups: 32, weight: g, bias: b, relu: true)
    /// ```
    public mutating func formGroupNormNHWC(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float = 1e-5, relu: Bool = false) throws(TensorError) {
        let op = "groupNormNHWC"
        guard dtype == .float32 else { throw .dtypeMismatch(op: op, expected: .float32, actual: dtype) }
        guard rank == 4 else { throw .invalidShape(op: op, shape: shape, reason: "expected [N, H, W, C]") }
        let c = shape[3]
        guard groups > 0, c % groups == 0 else {
            throw .invalidArgument(op: op, reason: "groups \(groups) must divide channels \(c) (shape \(shape))")
        }
        for p in [weight, bias].compactMap({ $0 }) where p.shape != [c] {
            throw .shapeMismatch(op: op, shapes: [shape, p.shape], reason: "weight and bias must be [\(c)]")
        }
        let g: [Float]? = try weight?.scalars(), b: [Float]? = try bias?.scalars()
        makeUniqueContiguous()
        let base = floatBase, n = shape[0], spatial = shape[1] * shape[2]
        (g ?? []).withUnsafeBufferPointer { gp in (b ?? []).withUnsafeBufferPointer { bp in
            GroupNormKernel.forwardNHWC(base, base, batch: n, spatial: spatial, channels: c, groups: groups,
                                        gamma: g == nil ? nil : gp.baseAddress, beta: b == nil ? nil : bp.baseAddress,
                                        eps: eps, relu: relu, threads: Runtime.settings.threads)
        }}
    }
}
