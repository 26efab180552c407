/// Matrix-multiply algorithms of ``Tensor/matmul(_:algorithm:)``.
public enum MatmulAlgorithm: String, Sendable, CaseIterable {
    /// ``GEMM``: each output one FMA chain over k in order — or, for long-K
    /// products with small outputs (``GEMM/isSegmented(m:n:k:)``), fixed
    /// K segments summed in order. Deterministic: the bits depend on the shape only.
    case blocked
    /// K is split into one range per thread and the partial products are added
    /// afterwards: faster for small outputs with a long k, but the bits depend
    /// on the thread count. **Nondeterministic**: refused while
    /// ``Runtime/deterministicAlgorithms`` is on.
    case splitK
}

extension Tensor {
    /// Matrix product of `[m, k]` and `[k, n]` float tensors.
    ///
    /// With ``Runtime/benchmark`` on, the thread split of ``MatmulAlgorithm/blocked``
    /// (rows or columns — identical bits) is chosen by timing and recorded.
    ///
    /// ```swift
    /// let c = try a.matmul(b)
    /// ```
    /// - Throws: ``TensorError/shapeMismatch(op:shapes:reason:)``, or
    ///   ``TensorError/nondeterministicAlgorithm(op:algorithm:reason:)`` for
    ///   ``MatmulAlgorithm/splitK`` in deterministic mode.
    public func matmul(_ other: Tensor, algorithm: MatmulAlgorithm = .blocked) throws(TensorError) -> Tensor {
        let op = "matmul"
        guard rank == 2, other.rank == 2, shape[1] == other.shape[0] else {
            throw .shapeMismatch(op: op, shapes: [shape, other.shape], reason: "expected [m, k] and [k, n]")
        }
        let a = try floatOperand(op), b = try other.floatOperand(op)
        let m = shape[0], k = shape[1], n = other.shape[1]
        let out = try Tensor(zeros: [m, n])
        let s = Runtime.settings
        let A = GEMM.Operand(a.floatBase, rowStride: k), B = GEMM.Operand(b.floatBase, rowStride: n)
        switch algorithm {
        case .blocked:
            guard m > 0, n > 0 else { return out }
            // GEMM packs both operands into the thread pool's reused workspace.
            let run = { (split: GEMM.Split) in
                GEMM.multiply(m: m, n: n, k: k, a: A, b: B, c: out.floatBase, ldc: n, threads: s.threads, split: split)
            }
            if s.benchmark && s.threads > 1 {
                _ = Autotuner.choose(key: "matmul \(m)x\(k)x\(n) threads \(s.threads)", candidates: [GEMM.Split.rows, .columns], run: run)
            } else {
                run(.automatic)
            }
        case .splitK:
            try Nondeterminism.check(op: op, algorithm: "splitK", reason: "partial sums are split by thread count")
            guard m > 0, n > 0 else { return out }
            let parts = max(1, min(s.threads, k))
            let partial = UnsafeMutablePointer<Float>.allocate(capacity: max(parts * m * n, 1))
            defer { partial.deallocate() }
            ThreadPool.current.run(participants: parts) { p in
                let k0 = p * k / parts, k1 = (p + 1) * k / parts
                // One plain chain per range (never segmented), as many ranges as threads.
                GEMM.Driver(m: m, n: n, k: k1 - k0, a: .init(A.base + k0, rowStride: k), b: .unpacked(.init(B.base + k0 * n, rowStride: n)),
                            c: partial + p * m * n, ldc: n, epilogue: .none, epilogueAxis: .columns, threads: 1, split: .automatic).run()
            }
            let c = out.floatBase
            for p in 0..<parts { for i in 0..<(m * n) { c[i] += partial[p * m * n + i] } }
        }
        return out
    }
}
