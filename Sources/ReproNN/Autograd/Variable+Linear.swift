@_spi(Kernels) import ReproTensor

/// Row-major `[rows, cols]` product helper over ``Tensor/matmul(_:algorithm:)`` (deterministic:
/// the bits depend on the shape only, never on threads). Every call in the autograd engine has a
/// per-sample shape, so a micro-batch split never changes a product's shape.
func gemm(_ a: [Float], _ m: Int, _ k: Int, _ b: [Float], _ n: Int, _ op: String) throws(AutogradError) -> [Float] {
    if m == 0 || n == 0 { return [] }
    if k == 0 { return [Float](repeating: 0, count: m * n) }
    return try AutogradError.wrap(op) { () throws(TensorError) in
        try Tensor(shape: [m, k], scalars: a).matmul(Tensor(shape: [k, n], scalars: b)).scalars()
    }
}

/// `[r, c] → [c, r]`.
func transposed(_ a: [Float], _ r: Int, _ c: Int) -> [Float] {
    var out = [Float](repeating: 0, count: a.count)
    a.withUnsafeBufferPointer { s in out.withUnsafeMutableBufferPointer { d in
        for i in 0..<r { for j in 0..<c { d[j * r + i] = s[i * c + j] } }
    } }
    return out
}

extension Variable {
    /// `nn.Linear`: `[n, in] → [n, out]`, `y = x · Wᵀ + b` (one GEMM row per sample).
    ///
    /// Backward: `dx = dy · W`; per sample `dW = dyᵀ · x` (an outer product) and `db = dy`.
    public func linear(weight: Variable, bias: Variable?) throws(AutogradError) -> Variable {
        guard shape.count == 2, weight.shape.count == 2, weight.shape[1] == shape[1],
              bias.map({ $0.shape == [weight.shape[0]] }) ?? true else {
            throw .invalidOperation(op: "linear", reason: "input \(shape), weight \(weight.shape), bias \(bias?.shape ?? [])")
        }
        let n = shape[0], fin = shape[1], fout = weight.shape[0]
        let wT = transposed(weight.data, fout, fin)
        var y = [Float](repeating: 0, count: n * fout)
        for s in 0..<n {
            let row = try gemm(Array(data[(s * fin)..<((s + 1) * fin)]), 1, fin, wT, fout, "linear")
            for o in 0..<fout { y[s * fout + o] = bias.map { row[o] + $0.data[o] } ?? row[o] }
        }
        let x = data, w = weight.data
        let out = tape.record([n, fout], y, rule: { [id] (t: GradientTape, g: [Float]) throws(AutogradError) in
            var dx = [Float](repeating: 0, count: n * fin)
            for s in 0..<n {
                let row = try gemm(Array(g[(s * fout)..<((s + 1) * fout)]), 1, fout, w, fin, "linear backward")
                for i in 0..<fin { dx[s * fin + i] = row[i] }
            }
            t.accumulate(id, dx)
            if weight.parameterKey != nil {
                let threads = Runtime.settings.threads
                // One product per element: threads take fixed blocks of 16 rows once the sample's
                // outer product reaches 1 MiB.
                let rowBlocks = (fout + 15) / 16, team = fout * fin * 4 >= ParallelMemory.minimumParallelBytes ? threads : 1
                t.accumulatePerSample(weight, count: fout * fin, threads: threads) { s, dw in
                    g.withUnsafeBufferPointer { g in x.withUnsafeBufferPointer { x in
                        ThreadPool.current.forEachChunk(rowBlocks, threads: team) { b in
                            for o in (b * 16)..<min(b * 16 + 16, fout) {
                                let go = g[s * fout + o]
                                for i in 0..<fin { dw[o * fin + i] = go * x[s * fin + i] }
                            }
                        }
                    } }
                }
            }
            if let bias { t.accumulatePerSample(bias, g) }
        })
        tape.consume(weight, by: out.id)
        if let bias { tape.consume(bias, by: out.id) }
        return out
    }
}
