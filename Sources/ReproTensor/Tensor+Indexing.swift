extension Tensor {
    /// Sorts each row along the last dimension in the total order of ``Sorting``
    /// (value descending, then index ascending). Returns values and `Int64` indices.
    ///
    /// ```swift
    /// let (v, i) = try scores.sortedDescending()
    /// ```
    public func sortedDescending() throws(TensorError) -> (values: Tensor, indices: Tensor) {
        try topK(rank == 0 ? 1 : shape[rank - 1], op: "sort")
    }

    /// The `k` first elements of each row (last dimension) in the total order of
    /// ``Sorting``, with their `Int64` indices.
    ///
    /// ```swift
    /// let (scores, idx) = try levelScores.topK(1000)
    /// ```
    /// - Throws: ``TensorError/invalidArgument(op:reason:)`` when `k` is negative or above the row length.
    public func topK(_ k: Int) throws(TensorError) -> (values: Tensor, indices: Tensor) {
        try topK(k, op: "topk")
    }

    private func topK(_ k: Int, op: String) throws(TensorError) -> (values: Tensor, indices: Tensor) {
        let x = try floatOperand(op)
        guard rank >= 1 else { throw .invalidShape(op: op, shape: shape, reason: "needs at least one dimension") }
        let n = shape[rank - 1]
        guard k >= 0 && k <= n else { throw .invalidArgument(op: op, reason: "k = \(k) outside 0…\(n) for shape \(shape)") }
        guard n < 1 << 32 else { throw .invalidShape(op: op, shape: shape, reason: "rows longer than 2³² elements") }
        var outShape = shape
        outShape[rank - 1] = k
        let values = try Tensor.uninitialized(outShape, op: op)
        let indices = try Tensor.uninitialized(outShape, dtype: .int64, op: op)
        let rows = n == 0 ? 0 : count / n
        let src = x.floatBase, vp = values.floatBase
        let ip = indices.rawBase.assumingMemoryBound(to: Int64.self)
        ThreadPool.current.forEachChunk(rows, threads: Runtime.settings.threads) { r in
            let row = UnsafeBufferPointer(start: src + r * n, count: n)
            let order = k == n ? Sorting.order(row) : Sorting.topK(row, k: k)
            for (j, i) in order.enumerated() {
                vp[r * k + j] = row[i]
                ip[r * k + j] = Int64(i)
            }
        }
        return (values, indices)
    }

    /// Joins tensors along `dim`; all other dimensions and the dtype must match.
    ///
    /// ```swift
    /// let all = try Tensor.concatenate([a, b, c], along: 1)
    /// ```
    public static func concatenate(_ tensors: [Tensor], along dim: Int) throws(TensorError) -> Tensor {
        let op = "concat"
        guard let first = tensors.first else { throw .invalidArgument(op: op, reason: "no tensors given") }
        guard dim >= 0 && dim < first.rank else {
            throw .invalidArgument(op: op, reason: "dim \(dim) out of range for shape \(first.shape)")
        }
        for t in tensors {
            var a = t.shape, b = first.shape
            guard a.count == b.count, t.dtype == first.dtype else {
                throw .shapeMismatch(op: op, shapes: tensors.map(\.shape), reason: "ranks or dtypes differ")
            }
            a[dim] = 0
            b[dim] = 0
            guard a == b else {
                throw .shapeMismatch(op: op, shapes: tensors.map(\.shape), reason: "sizes differ outside dim \(dim)")
            }
        }
        var outShape = first.shape
        outShape[dim] = tensors.reduce(0) { $0 + $1.shape[dim] }
        let out = try Tensor.uninitialized(outShape, dtype: first.dtype, op: op)
        let es = first.dtype.byteCount
        let outer = first.shape[..<dim].reduce(1, *), inner = first.shape[(dim + 1)...].reduce(1, *)
        var start = 0
        for t in tensors {
            let c = t.contiguous(), span = t.shape[dim] * inner
            for o in 0..<outer {
                (out.rawBase + (o * outShape[dim] * inner + start) * es)
                    .copyMemory(from: c.rawBase + o * span * es, byteCount: span * es)
            }
            start += span
        }
        return out
    }

    /// Rows `indices` of dimension `dim` (like `torch.index_select`).
    ///
    /// ```swift
    /// let kept = try boxes.indexSelect(dim: 0, indices: [4, 0, 2])
    /// ```
    public func indexSelect(dim: Int, indices: [Int]) throws(TensorError) -> Tensor {
        let op = "indexSelect"
        guard dim >= 0 && dim < rank else { throw .invalidArgument(op: op, reason: "dim \(dim) out of range for shape \(shape)") }
        if let bad = indices.first(where: { $0 < 0 || $0 >= shape[dim] }) {
            throw .invalidArgument(op: op, reason: "index \(bad) out of range 0..<\(shape[dim]) for shape \(shape)")
        }
        let parts = try indices.map { i throws(TensorError) in try sliced(dim: dim, range: i..<(i + 1)) }
        if parts.isEmpty {
            var s = shape
            s[dim] = 0
            return try Tensor(zeros: s, dtype: dtype)
        }
        return try Tensor.concatenate(parts, along: dim)
    }

    /// `torch.gather`: `out[i…] = self[i… with dimension dim replaced by index[i…]]`.
    /// `index` is an `Int64` tensor of the same rank whose sizes do not exceed `self`'s
    /// outside `dim`; the result has `index`'s shape.
    ///
    /// ```swift
    /// let picked = try scores.gather(dim: 1, index: labels)
    /// ```
    public func gather(dim: Int, index: Tensor) throws(TensorError) -> Tensor {
        let op = "gather"
        guard index.dtype == .int64 else { throw .dtypeMismatch(op: op, expected: .int64, actual: index.dtype) }
        guard index.rank == rank, dim >= 0, dim < rank else {
            throw .shapeMismatch(op: op, shapes: [shape, index.shape], reason: "ranks differ or dim \(dim) out of range")
        }
        for d in 0..<rank where d != dim && index.shape[d] > shape[d] {
            throw .shapeMismatch(op: op, shapes: [shape, index.shape], reason: "index larger than input in dim \(d)")
        }
        let idx: [Int64] = try index.scalars()
        let out = try Tensor.uninitialized(index.shape, dtype: dtype, op: op)
        let es = dtype.byteCount
        let istr = Tensor.contiguousStrides(index.shape)
        for (flat, v) in idx.enumerated() {
            guard v >= 0 && Int(v) < shape[dim] else {
                throw .invalidArgument(op: op, reason: "index \(v) out of range 0..<\(shape[dim]) in dim \(dim) of \(shape)")
            }
            var pos = offset, rem = flat
            for d in 0..<rank {
                let coord = rem / max(istr[d], 1)
                rem -= coord * istr[d]
                pos += (d == dim ? Int(v) : coord) * strides[d]
            }
            (out.rawBase + flat * es).copyMemory(from: storage.base + pos * es, byteCount: es)
        }
        return out
    }
}
