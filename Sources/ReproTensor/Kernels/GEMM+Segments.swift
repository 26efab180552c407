/// Segmented products: long-K multiplies with small outputs are summed in
/// fixed segments of K.
///
/// When C is small and K long, splitting C between threads makes every thread
/// stream the whole of the other operand from memory. For shapes that meet
/// ``GEMM/isSegmented(m:n:k:)`` (a rule on the shape alone), K is cut instead
/// into segments of ``GEMM/segmentLength`` (the last one shorter):
///
/// ```text
/// partial[s][i, j] = FMA chain over p in s·L ..< min((s+1)·L, k), from 0
/// C[i, j] = epilogue(((partial[0] + partial[1]) + partial[2]) + …)
/// ```
///
/// Segments are independent work items the threads claim as they go;
/// their partial products go to the ``ThreadPool`` workspace and are added
/// left to right, in segment order, then the epilogue is applied once. The
/// bits depend on the shape only — not on the thread count.
extension GEMM {
    /// Depth of one segment of a segmented product (the last one may be shorter).
    @_spi(Kernels) public static let segmentLength = 4096
    /// Smallest K for which a product is segmented.
    @_spi(Kernels) public static let segmentMinDepth = 16384
    /// Largest number of outputs `m·n` for which a product is segmented.
    @_spi(Kernels) public static let segmentMaxOutputs = 1 << 16

    /// Whether ``multiply(m:n:k:a:b:c:ldc:epilogue:epilogueAxis:threads:split:)``
    /// sums `m × k · k × n` in segments: `k ≥ segmentMinDepth` and
    /// `m·n ≤ segmentMaxOutputs`. A rule on the shape alone.
    ///
    /// ```swift
    /// GEMM.isSegmented(m: 64, n: 64, k: 65536)   // true
    /// ```
    @_spi(Kernels) public static func isSegmented(m: Int, n: Int, k: Int) -> Bool {
        k >= segmentMinDepth && m > 0 && n > 0 && m * n <= segmentMaxOutputs
    }

    /// Floats of single-thread scratch one segment's ``Driver`` needs at most.
    static func segmentScratchFloats(m: Int, n: Int) -> Int {
        let mPadded = (m + mr - 1) / mr * mr, nPadded = (n + nr - 1) / nr * nr
        return (mPadded + nPadded) * segmentLength + (mc + nc) * ks + mc * nc + 16
    }

    /// Runs a segmented product (the shape must satisfy ``isSegmented(m:n:k:)``).
    /// `packedDepth` is the full depth of a prepacked B.
    static func segmentedMultiply(
        m: Int, n: Int, k: Int, a: Operand, b: BSource, packedDepth: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue, epilogueAxis: EpilogueAxis, threads: Int
    ) {
        let segments = (k + segmentLength - 1) / segmentLength
        let outputs = m * n
        let parts = min(max(threads, 1), segments)
        let partialFloats = (segments * outputs + 15) / 16 * 16
        let perThread = segmentScratchFloats(m: m, n: n)
        let total = partialFloats + parts * perThread
        ThreadPool.current.withWorkspace(bytes: total * 4) { raw in
            let partial = raw.bindMemory(to: Float.self, capacity: total)
            // Each segment's chain is computed whole by whoever claims it (the participant only
            // picks the scratch), so the split never changes a bit.
            ThreadPool.current.forEachClaimedChunk(segments, threads: parts) { s, p in
                let scratch = UnsafeMutableRawPointer(partial + partialFloats + p * perThread)
                let k0 = s * segmentLength, kw = min(segmentLength, k - k0)
                let aSeg = Operand(a.base + k0 * a.colStride, rowStride: a.rowStride, colStride: a.colStride)
                let bSeg: BSource
                switch b {
                case .unpacked(let o): bSeg = .unpacked(Operand(o.base + k0 * o.rowStride, rowStride: o.rowStride, colStride: o.colStride))
                case .packed(let base): bSeg = .packed(base + k0 * nr)
                }
                var d = Driver(m: m, n: n, k: kw, a: aSeg, b: bSeg, c: partial + s * outputs, ldc: n,
                               epilogue: .none, epilogueAxis: .columns, threads: 1, split: .automatic)
                d.packedDepth = packedDepth
                d.scratch = (scratch, perThread * 4)
                d.run()
            }
            let byRow = epilogueAxis == .rows
            ThreadPool.current.forEachChunk(m, threads: threads) { i in
                for j in 0..<n {
                    var acc = partial[i * n + j]
                    for s in 1..<segments { acc += partial[s * outputs + i * n + j] }
                    c[i * ldc + j] = epilogue.apply(acc, channel: byRow ? i : j)
                }
            }
        }
    }

    /// The scalar reference of a segmented product: per segment one FMA chain
    /// from 0, the partials added left to right, then the epilogue.
    static func segmentedReference(
        m: Int, n: Int, k: Int, a: Operand, b: Operand,
        c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue, epilogueAxis: EpilogueAxis
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for k0 in stride(from: 0, to: k, by: segmentLength) {
                    var acc: Float = 0
                    for p in k0..<min(k0 + segmentLength, k) { acc = acc.addingProduct(a[i, p], b[p, j]) }
                    sum = k0 == 0 ? acc : sum + acc
                }
                c[i * ldc + j] = epilogue.apply(sum, channel: epilogueAxis == .rows ? i : j)
            }
        }
    }
}
