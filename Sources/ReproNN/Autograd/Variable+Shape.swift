import ReproTensor

extension Variable {
    /// Samples in this activation (its first axis).
    public var sampleCount: Int { shape.first ?? 0 }

    /// The same values under `newShape`, which must keep the sample axis (`newShape[0] == n`).
    public func reshaped(_ newShape: [Int]) throws(AutogradError) -> Variable {
        guard newShape.first == shape.first, newShape.allSatisfy({ $0 >= 0 }), newShape.reduce(1, *) == count else {
            throw .invalidOperation(op: "reshape", reason: "cannot reshape \(shape) to \(newShape) keeping the sample axis")
        }
        return tape.record(newShape, data, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in t.accumulate(id, g) })
    }

    /// `[n, …] → [n, rest]` (PyTorch's `flatten(1)`).
    public func flattened() throws(AutogradError) -> Variable {
        try reshaped([sampleCount, sampleCount == 0 ? 0 : count / sampleCount])
    }

    /// Axes reordered (`order[0]` must be 0: the sample axis stays first).
    public func permuted(_ order: [Int]) throws(AutogradError) -> Variable {
        guard order.count == shape.count, order.first == 0, Set(order) == Set(0..<shape.count) else {
            throw .invalidOperation(op: "permute", reason: "order \(order) is not a permutation of \(shape.count) axes keeping axis 0 first")
        }
        let newShape = order.map { shape[$0] }
        let map = Self.permutationMap(shape, order)
        var y = [Float](repeating: 0, count: count)
        for i in y.indices { y[i] = data[map[i]] }
        return tape.record(newShape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = [Float](repeating: 0, count: g.count)
            for i in g.indices { dx[map[i]] = g[i] }
            t.accumulate(id, dx)
        })
    }

    /// For each output index (row-major in the permuted shape), the input index it reads.
    static func permutationMap(_ shape: [Int], _ order: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for a in stride(from: shape.count - 2, through: 0, by: -1) { strides[a] = strides[a + 1] * shape[a + 1] }
        let newShape = order.map { shape[$0] }, newStrides = order.map { strides[$0] }
        let total = shape.reduce(1, *)
        var map = [Int](repeating: 0, count: total)
        var index = [Int](repeating: 0, count: shape.count)
        for i in 0..<total {
            var src = 0
            for a in 0..<index.count { src += index[a] * newStrides[a] }
            map[i] = src
            var a = index.count - 1
            while a >= 0 { index[a] += 1; if index[a] < newShape[a] { break }; index[a] = 0; a -= 1 }
        }
        return map
    }

    /// `range` of axis `axis` (≥ 1).
    public func sliced(axis: Int, range: Range<Int>) throws(AutogradError) -> Variable {
        guard axis >= 1, axis < shape.count, range.lowerBound >= 0, range.upperBound <= shape[axis] else {
            throw .invalidOperation(op: "slice", reason: "range \(range) of axis \(axis) out of \(shape)")
        }
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *), len = shape[axis]
        var newShape = shape
        newShape[axis] = range.count
        var y = [Float]()
        y.reserveCapacity(outer * range.count * inner)
        for o in 0..<outer { y += data[((o * len + range.lowerBound) * inner)..<((o * len + range.upperBound) * inner)] }
        let total = count
        return tape.record(newShape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = [Float](repeating: 0, count: total)
            for o in 0..<outer {
                for j in 0..<(range.count * inner) { dx[(o * len + range.lowerBound) * inner + j] = g[o * range.count * inner + j] }
            }
            t.accumulate(id, dx)
        })
    }

    /// Joins activations along axis `axis` (≥ 1); the other axes must agree.
    public static func concatenated(_ parts: [Variable], axis: Int) throws(AutogradError) -> Variable {
        guard let first = parts.first, axis >= 1, axis < first.shape.count else {
            throw .invalidOperation(op: "concatenate", reason: "need at least one part and an axis ≥ 1 within its rank")
        }
        for p in parts {
            try first.requireSameTape(p, "concatenate")
            var a = p.shape, b = first.shape
            guard a.count == b.count else { throw .invalidOperation(op: "concatenate", reason: "ranks of \(p.shape) and \(first.shape) differ") }
            a[axis] = 0; b[axis] = 0
            guard a == b else { throw .invalidOperation(op: "concatenate", reason: "shapes \(p.shape) and \(first.shape) differ off axis \(axis)") }
        }
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        let lens = parts.map { $0.shape[axis] }, total = lens.reduce(0, +)
        var newShape = first.shape
        newShape[axis] = total
        var y = [Float]()
        y.reserveCapacity(outer * total * inner)
        for o in 0..<outer { for (p, l) in zip(parts, lens) { y += p.data[(o * l * inner)..<((o + 1) * l * inner)] } }
        let ids = parts.map(\.id)
        return first.tape.record(newShape, y, rule: { (t: GradientTape, g: [Float]) throws(AutogradError) in
            var offset = 0
            for (k, l) in lens.enumerated() {
                var dx = [Float](repeating: 0, count: outer * l * inner)
                for o in 0..<outer {
                    for j in 0..<(l * inner) { dx[o * l * inner + j] = g[(o * total + offset) * inner + j] }
                }
                t.accumulate(ids[k], dx)
                offset += l
            }
        })
    }

    /// Per-sample sum of every element, in row-major order: `[n, …] → [n]`.
    public func sum() -> Variable {
        let n = sampleCount, m = n == 0 ? 0 : count / n
        var y = [Float](repeating: 0, count: n)
        for s in 0..<n { var acc: Float = 0; for j in 0..<m { acc += data[s * m + j] }; y[s] = acc }
        return tape.record([n], y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = [Float](repeating: 0, count: n * m)
            for s in 0..<n { for j in 0..<m { dx[s * m + j] = g[s] } }
            t.accumulate(id, dx)
        })
    }

    /// Per-sample mean: the sum divided by the element count; backward `g / count`.
    public func mean() -> Variable {
        let n = sampleCount, m = Float(n == 0 ? 1 : count / n)
        let s = sum()
        var y = s.data
        for i in y.indices { y[i] = y[i] / m }
        return tape.record([n], y, rule: { [id = s.id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            t.accumulate(id, g.map { $0 / m })
        })
    }

    /// Log-softmax over the last axis: `x − max − log Σ e^{x − max}` (sum in order, Repro's exp/log);
    /// backward `g − softmax · Σ g`.
    public func logSoftmax() -> Variable {
        let c = shape.last ?? 1, rows = count / Swift.max(c, 1)
        var y = data
        for r in 0..<rows {
            let mx = rowMaximum(r, c)
            var s: Float = 0
            for j in 0..<c { s += ElementaryFunctions.exp(data[r * c + j] - mx) }
            let l = ElementaryFunctions.log(s)
            for j in 0..<c { y[r * c + j] = data[r * c + j] - mx - l }
        }
        return tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = g
            for r in 0..<rows {
                var s: Float = 0
                for j in 0..<c { s += g[r * c + j] }
                for j in 0..<c { dx[r * c + j] = g[r * c + j] - ElementaryFunctions.exp(y[r * c + j]) * s }
            }
            t.accumulate(id, dx)
        })
    }

    /// The largest value of row `r` (rows of `c` values), −∞ for an empty row.
    private func rowMaximum(_ r: Int, _ c: Int) -> Float {
        var mx = -Float.infinity
        for j in 0..<c { mx = Swift.max(mx, data[r * c + j]) }
        return mx
    }

    /// Softmax over the last axis; backward `y · (g − Σ g·y)`.
    public func softmax() -> Variable {
        let c = shape.last ?? 1, rows = count / Swift.max(c, 1)
        var y = data
        for r in 0..<rows {
            let mx = rowMaximum(r, c)
            var s: Float = 0
            for j in 0..<c { let e = ElementaryFunctions.exp(data[r * c + j] - mx); y[r * c + j] = e; s += e }
            for j in 0..<c { y[r * c + j] = y[r * c + j] / s }
        }
        return tape.record(shape, y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = g
            for r in 0..<rows {
                var s: Float = 0
                for j in 0..<c { s += g[r * c + j] * y[r * c + j] }
                for j in 0..<c { dx[r * c + j] = y[r * c + j] * (g[r * c + j] - s) }
            }
            t.accumulate(id, dx)
        })
    }

    /// `x[i, targets[i]]` of a `[n, C]` activation: `[n]` (the pick of a negative log-likelihood).
    public func picking(_ targets: [Int]) throws(AutogradError) -> Variable {
        guard shape.count == 2, targets.count == shape[0], targets.allSatisfy({ $0 >= 0 && $0 < shape[1] }) else {
            throw .invalidOperation(op: "pick", reason: "need [n, C] values and n targets in 0..<C (shape \(shape), \(targets.count) targets)")
        }
        let c = shape[1]
        let y = targets.enumerated().map { data[$0.offset * c + $0.element] }
        let total = count
        return tape.record([targets.count], y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = [Float](repeating: 0, count: total)
            for (i, k) in targets.enumerated() { dx[i * c + k] = g[i] }
            t.accumulate(id, dx)
        })
    }
}
