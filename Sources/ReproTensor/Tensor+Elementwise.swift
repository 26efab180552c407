extension Tensor {
    /// Elements per work chunk of the element-wise operations (the unit the
    /// thread pool hands out; results never depend on it or on the thread count).
    static let elementwiseChunk = 1 << 16

    /// Checks the dtype is float32 and returns a contiguous copy-free view.
    func floatOperand(_ op: String) throws(TensorError) -> Tensor {
        guard dtype == .float32 else { throw .dtypeMismatch(op: op, expected: .float32, actual: dtype) }
        return contiguous()
    }

    /// Applies an 8-lane function to every element (inlined so `f` is specialised into the loop).
    @inline(__always)
    func mapFloats(_ op: String, _ f: (SIMD8<Float>) -> SIMD8<Float>) throws(TensorError) -> Tensor {
        let x = try floatOperand(op)
        let out = try Tensor.uninitialized(shape, op: op)
        let n = count, src = x.floatBase, dst = out.floatBase
        let chunk = Tensor.elementwiseChunk
        ThreadPool.current.forEachChunk((n + chunk - 1) / chunk, threads: Runtime.settings.threads) { c in
            let lo = c * chunk
            ElementaryFunctions.map(src + lo, dst + lo, min(chunk, n - lo), f)
        }
        return out
    }

    /// `max(x, 0)` element-wise (NaN and −0 pass through).
    ///
    /// ```swift
    /// let y = try x.relu()
    /// ```
    public func relu() throws(TensorError) -> Tensor {
        try mapFloats("relu") { v in var y = v; y.replace(with: 0, where: v .< 0); return y }
    }

    /// eˣ element-wise with ``ElementaryFunctions/exp(_:)-(Float)`` (≤ 1 ulp, no libm).
    ///
    /// ```swift
    /// let y = try x.exp()
    /// ```
    public func exp() throws(TensorError) -> Tensor { try mapFloats("exp") { ElementaryFunctions.exp($0) } }

    /// Natural logarithm element-wise (≤ 1 ulp, no libm).
    ///
    /// ```swift
    /// let y = try x.log()
    /// ```
    public func log() throws(TensorError) -> Tensor { try mapFloats("log") { ElementaryFunctions.log($0) } }

    /// Logistic sigmoid element-wise (≤ 2.5 ulp, no libm).
    ///
    /// ```swift
    /// let p = try logits.sigmoid()
    /// ```
    public func sigmoid() throws(TensorError) -> Tensor { try mapFloats("sigmoid") { ElementaryFunctions.sigmoid($0) } }

    /// Element-wise sum of two float tensors of the same shape.
    ///
    /// ```swift
    /// let s = try a.adding(b)
    /// ```
    /// - Throws: ``TensorError/shapeMismatch(op:shapes:reason:)`` when shapes differ.
    public func adding(_ other: Tensor, relu: Bool = false) throws(TensorError) -> Tensor {
        guard shape == other.shape else {
            throw .shapeMismatch(op: "add", shapes: [shape, other.shape], reason: "element-wise add needs equal shapes")
        }
        let a = try floatOperand("add"), b = try other.floatOperand("add")
        let out = try Tensor.uninitialized(shape, op: "add")
        let n = count, pa = a.floatBase, pb = b.floatBase, dst = out.floatBase
        let chunk = Tensor.elementwiseChunk
        ThreadPool.current.forEachChunk((n + chunk - 1) / chunk, threads: Runtime.settings.threads) { c in
            for i in (c * chunk)..<min((c + 1) * chunk, n) {
                var v = pa[i] + pb[i]
                if relu && v < 0 { v = 0 }
                dst[i] = v
            }
        }
        return out
    }
}
