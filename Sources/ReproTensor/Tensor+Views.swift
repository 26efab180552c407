extension Tensor {
    /// The same elements with a new shape (a view when contiguous, else a copy).
    /// One dimension may be `-1` (inferred).
    ///
    /// ```swift
    /// let m = try t.reshaped([2, -1])
    /// ```
    /// - Throws: ``TensorError/shapeMismatch(op:shapes:reason:)`` when the element counts differ.
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        var s = newShape
        let inferred = s.indices.filter { s[$0] == -1 }
        guard inferred.count <= 1 else {
            throw .invalidShape(op: "reshape", shape: newShape, reason: "more than one -1")
        }
        if let i = inferred.first {
            let known = s.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
            guard known > 0, count % known == 0 else {
                throw .shapeMismatch(op: "reshape", shapes: [shape, newShape], reason: "cannot infer -1")
            }
            s[i] = count / known
        }
        let n = try Tensor.checkedCount(s, dtype: dtype, op: "reshape")
        guard n == count else {
            throw .shapeMismatch(op: "reshape", shapes: [shape, newShape], reason: "\(count) elements vs \(n)")
        }
        let base = isContiguous ? self : contiguousCopy()
        return Tensor(storage: base.storage, dtype: dtype, shape: s, strides: Tensor.contiguousStrides(s), offset: base.offset)
    }

    /// A view with the dimensions reordered: result dimension `i` is `self`'s dimension `order[i]`.
    ///
    /// ```swift
    /// let nhwc = try nchw.permuted([0, 2, 3, 1])
    /// ```
    public func permuted(_ order: [Int]) throws(TensorError) -> Tensor {
        guard order.count == rank, Set(order) == Set(0..<rank) else {
            throw .invalidArgument(op: "permute", reason: "order \(order) is not a permutation of 0..<\(rank) for shape \(shape)")
        }
        return Tensor(storage: storage, dtype: dtype, shape: order.map { shape[$0] },
                      strides: order.map { strides[$0] }, offset: offset)
    }

    /// A view of `range` along `dim` (step 1).
    ///
    /// ```swift
    /// let firstTwo = try t.sliced(dim: 0, range: 0..<2)
    /// ```
    public func sliced(dim: Int, range: Range<Int>) throws(TensorError) -> Tensor {
        guard dim >= 0 && dim < rank else {
            throw .invalidArgument(op: "slice", reason: "dim \(dim) out of range for shape \(shape)")
        }
        guard range.lowerBound >= 0 && range.upperBound <= shape[dim] else {
            throw .invalidArgument(op: "slice", reason: "range \(range) out of bounds for dim \(dim) of shape \(shape)")
        }
        var s = shape
        s[dim] = range.count
        return Tensor(storage: storage, dtype: dtype, shape: s, strides: strides,
                      offset: offset + range.lowerBound * strides[dim])
    }

    /// `self` if already contiguous, otherwise a row-major copy.
    ///
    /// ```swift
    /// let c = try t.permuted([1, 0]).contiguous()
    /// ```
    public func contiguous() -> Tensor { isContiguous ? self : contiguousCopy() }

    /// A fresh row-major copy with its own storage.
    func contiguousCopy() -> Tensor {
        let out = Tensor(storage: TensorStorage(byteCount: count * dtype.byteCount, zeroed: false), dtype: dtype, shape: shape)
        let es = dtype.byteCount
        let dst = out.storage.base
        let src = storage.base
        guard count > 0 else { return out }
        if rank == 0 {
            dst.copyMemory(from: src.advanced(by: offset * es), byteCount: es)
            return out
        }
        // Copy innermost rows; walk the outer index like an odometer.
        let inner = shape[rank - 1], innerStride = strides[rank - 1]
        var idx = [Int](repeating: 0, count: rank)
        var written = 0
        while written < count {
            var pos = offset
            for d in 0..<(rank - 1) { pos += idx[d] * strides[d] }
            if innerStride == 1 {
                dst.advanced(by: written * es).copyMemory(from: src.advanced(by: pos * es), byteCount: inner * es)
            } else {
                for i in 0..<inner {
                    dst.advanced(by: (written + i) * es).copyMemory(from: src.advanced(by: (pos + i * innerStride) * es), byteCount: es)
                }
            }
            written += inner
            var d = rank - 2
            while d >= 0 {
                idx[d] += 1
                if idx[d] < shape[d] { break }
                idx[d] = 0
                d -= 1
            }
        }
        return out
    }
}
