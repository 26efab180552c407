/// Single-precision matrix multiply `C = epilogue(A · B)` with a fixed
/// accumulation order.
///
/// Every output is exactly one fused multiply-add chain
/// `acc = 0; for p in 0..<k { acc = fma(A[i,p], B[p,j], acc) }`, followed by
/// the ``Epilogue``. Block sizes are constants; threads split the rows (or the
/// columns) of C on 6-row / 16-column panel boundaries, so neither the thread
/// count, nor the vector width, nor the surrounding rows change one bit of an
/// output. ``GEMM/reference(m:n:k:a:b:c:ldc:epilogue:)`` computes the same bits
/// with plain scalar code.
///
/// Algorithm: B is packed into 16-column panels, A into 6-row panels per
/// (MC × KC) block; a 6 × 16 register-blocked micro-kernel holds twelve
/// `SIMD8<Float>` accumulators and reloads C between K blocks.
///
/// ```swift
/// GEMM.multiply(m: 4, n: 5, k: 3,
///               a: .init(aPtr, rowStride: 3), b: .init(bPtr, rowStride: 5),
///               c: cPtr, ldc: 5, threads: 2)
/// ```
public enum GEMM {
    /// Rows of the micro-kernel.
    public static let mr = 6
    /// Columns of the micro-kernel.
    public static let nr = 16
    /// Rows of A per cache block (a multiple of ``mr``).
    public static let mc = 144
    /// Depth of a cache block.
    public static let kc = 256
    /// Columns of B per cache block (a multiple of ``nr``).
    public static let nc = 3072

    /// A read-only matrix operand: element `(i, j)` is `base[i·rowStride + j·colStride]`.
    public struct Operand: @unchecked Sendable {
        /// The element `(0, 0)`.
        public var base: UnsafePointer<Float>
        /// Step between rows, in elements.
        public var rowStride: Int
        /// Step between columns, in elements.
        public var colStride: Int

        /// Creates an operand (row-major when `colStride` is 1).
        public init(_ base: UnsafePointer<Float>, rowStride: Int, colStride: Int = 1) {
            self.base = base
            self.rowStride = rowStride
            self.colStride = colStride
        }

        @inline(__always) subscript(i: Int, j: Int) -> Float { base[i * rowStride + j * colStride] }
    }

    /// Computes `C[m×n] = epilogue(A[m×k] · B[k×n])`; `C` is row-major with leading dimension `ldc`.
    ///
    /// - Parameters:
    ///   - threads: the largest number of threads (results do not depend on it).
    public static func multiply(
        m: Int, n: Int, k: Int, a: Operand, b: Operand,
        c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue = .none, threads: Int
    ) {
        guard m > 0 && n > 0 else { return }
        let packed = PackedMatrix(b, k: k, n: n, threads: threads)
        multiply(m: m, a: a, packedB: packed, c: c, ldc: ldc, epilogue: epilogue, threads: threads)
    }

    /// Computes `C = epilogue(A · B)` with a B packed once (for weights reused across calls).
    public static func multiply(
        m: Int, a: Operand, packedB: PackedMatrix,
        c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue = .none,
        epilogueAxis: EpilogueAxis = .columns, threads: Int, split: Split = .automatic
    ) {
        let n = packedB.n, k = packedB.k
        guard m > 0 && n > 0 else { return }
        let byRow = epilogueAxis == .rows
        let pe = PaddedEpilogue(epilogue, channels: byRow ? m : n)
        defer { pe.deallocate() }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = epilogue.apply(0, channel: byRow ? i : j) } }
            return
        }
        let mPanels = (m + mr - 1) / mr, nPanels = packedB.panels
        let t = max(1, threads)
        let splitM: Bool
        switch split {
        case .automatic: splitM = mPanels >= nPanels || mPanels >= 8 * t
        case .rows: splitM = true
        case .columns: splitM = false
        }
        let parts = min(t, splitM ? mPanels : nPanels)
        let context = Context(m: m, n: n, k: k, a: a, b: packedB.base, c: c, ldc: ldc, epilogue: pe, byRow: byRow)
        ThreadPool.shared.run(participants: parts) { p in
            if splitM {
                context.compute(mPanels: (p * mPanels / parts)..<((p + 1) * mPanels / parts), nPanels: 0..<nPanels)
            } else {
                context.compute(mPanels: 0..<mPanels, nPanels: (p * nPanels / parts)..<((p + 1) * nPanels / parts))
            }
        }
    }

    /// How threads divide C (every choice gives identical bits).
    public enum Split: String, Sendable, CaseIterable {
        /// Rows when there are enough row panels, else columns.
        case automatic
        /// Threads take ranges of 6-row panels.
        case rows
        /// Threads take ranges of 16-column panels.
        case columns
    }

    /// Which index of C selects the epilogue's per-channel values.
    public enum EpilogueAxis: Sendable {
        /// Channel = column `j` (NHWC-style outputs).
        case columns
        /// Channel = row `i` (NCHW-style outputs: `out[o, pixel] = W · X`).
        case rows
    }

    /// The scalar reference: the same chain per output, plain loops.
    public static func reference(
        m: Int, n: Int, k: Int, a: Operand, b: Operand,
        c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: Epilogue = .none, epilogueAxis: EpilogueAxis = .columns
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var acc: Float = 0
                for p in 0..<k { acc = acc.addingProduct(a[i, p], b[p, j]) }
                c[i * ldc + j] = epilogue.apply(acc, channel: epilogueAxis == .rows ? i : j)
            }
        }
    }
}

extension GEMM {
    /// Shared, read-only state of one multiply.
    struct Context: @unchecked Sendable {
        let m: Int, n: Int, k: Int
        let a: Operand
        let b: UnsafePointer<Float>
        let c: UnsafeMutablePointer<Float>
        let ldc: Int
        let epilogue: PaddedEpilogue
        let byRow: Bool

        /// Computes the C tiles of the given panel ranges, block by block.
        func compute(mPanels: Range<Int>, nPanels: Range<Int>) {
            guard !mPanels.isEmpty && !nPanels.isEmpty else { return }
            let aBuf = UnsafeMutablePointer<Float>.allocate(capacity: GEMM.mc * GEMM.kc + 6 * 16)
            defer { aBuf.deallocate() }
            let tmp = aBuf + GEMM.mc * GEMM.kc
            let mcp = GEMM.mc / GEMM.mr, ncp = GEMM.nc / GEMM.nr
            for jc in stride(from: nPanels.lowerBound, to: nPanels.upperBound, by: ncp) {
                let jcEnd = min(jc + ncp, nPanels.upperBound)
                for pc in stride(from: 0, to: k, by: GEMM.kc) {
                    let kcb = min(GEMM.kc, k - pc)
                    let first = pc == 0, last = pc + kcb == k
                    for ic in stride(from: mPanels.lowerBound, to: mPanels.upperBound, by: mcp) {
                        let icEnd = min(ic + mcp, mPanels.upperBound)
                        packA(panels: ic..<icEnd, k0: pc, kcb: kcb, into: aBuf)
                        for jp in jc..<jcEnd {
                            let bp = b + jp * k * 16 + pc * 16
                            let cols = min(16, n - jp * 16)
                            for ip in ic..<icEnd {
                                let rows = min(6, m - ip * 6)
                                let cp = c + ip * 6 * ldc + jp * 16
                                let ap = UnsafePointer(aBuf + (ip - ic) * 6 * kcb)
                                if rows == 6 && cols == 16 {
                                    GEMM.kernel6x16(kcb, ap, bp, cp, ldc, first, last ? epilogue : nil, byRow ? -1 - ip * 6 : jp * 16)
                                } else {
                                    tmp.initialize(repeating: 0, count: 96)
                                    if !first {
                                        for r in 0..<rows { for l in 0..<cols { tmp[r * 16 + l] = cp[r * ldc + l] } }
                                    }
                                    GEMM.kernel6x16(kcb, ap, bp, tmp, 16, first, last ? epilogue : nil, byRow ? -1 - ip * 6 : jp * 16)
                                    for r in 0..<rows { for l in 0..<cols { cp[r * ldc + l] = tmp[r * 16 + l] } }
                                }
                            }
                        }
                    }
                }
            }
        }

        /// Packs rows of panels `panels`, depth `k0..<k0+kcb`, as 6-row panels (zero rows past m).
        func packA(panels: Range<Int>, k0: Int, kcb: Int, into dst: UnsafeMutablePointer<Float>) {
            let rs = a.rowStride, cs = a.colStride
            for ip in panels {
                let d = dst + (ip - panels.lowerBound) * 6 * kcb
                if ip * 6 + 6 <= m && cs == 1 {
                    // Six full rows: read six streams, write the panel sequentially.
                    let s0 = a.base + ip * 6 * rs + k0, s1 = s0 + rs, s2 = s1 + rs
                    let s3 = s2 + rs, s4 = s3 + rs, s5 = s4 + rs
                    var o = d
                    for kk in 0..<kcb {
                        o[0] = s0[kk]; o[1] = s1[kk]; o[2] = s2[kk]
                        o[3] = s3[kk]; o[4] = s4[kk]; o[5] = s5[kk]
                        o += 6
                    }
                    continue
                }
                if ip * 6 + 6 <= m && rs == 1 {
                    // Column-major A: six consecutive rows are contiguous per k.
                    var o = d
                    var s = a.base + ip * 6 + k0 * cs
                    for _ in 0..<kcb {
                        o[0] = s[0]; o[1] = s[1]; o[2] = s[2]; o[3] = s[3]; o[4] = s[4]; o[5] = s[5]
                        o += 6
                        s += cs
                    }
                    continue
                }
                for r in 0..<6 {
                    let row = ip * 6 + r
                    if row < m {
                        let s = a.base + row * rs + k0 * cs
                        if cs == 1 {
                            for kk in 0..<kcb { d[kk * 6 + r] = s[kk] }
                        } else {
                            for kk in 0..<kcb { d[kk * 6 + r] = s[kk * cs] }
                        }
                    } else {
                        for kk in 0..<kcb { d[kk * 6 + r] = 0 }
                    }
                }
            }
        }
    }

    /// The 6 × 16 micro-kernel: `C[6×16] (+)= Apanel · Bpanel` over `kcb` steps,
    /// then the epilogue when `epilogue` is given (last K block). `col ≥ 0`:
    /// channels along columns starting at `col`; `col < 0`: channels along
    /// rows starting at `−1 − col`.
    @inline(never)
    static func kernel6x16(
        _ kcb: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ first: Bool,
        _ epilogue: PaddedEpilogue?, _ col: Int
    ) {
        typealias V = SIMD8<Float>
        @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func st(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        if !first {
            c00 = ld(c); c01 = ld(c + 8)
            c10 = ld(c + ldc); c11 = ld(c + ldc + 8)
            c20 = ld(c + 2 * ldc); c21 = ld(c + 2 * ldc + 8)
            c30 = ld(c + 3 * ldc); c31 = ld(c + 3 * ldc + 8)
            c40 = ld(c + 4 * ldc); c41 = ld(c + 4 * ldc + 8)
            c50 = ld(c + 5 * ldc); c51 = ld(c + 5 * ldc + 8)
        }
        var ap = a, bp = b
        for _ in 0..<kcb {
            let b0 = ld(bp), b1 = ld(bp + 8)
            var x = V(repeating: ap[0])
            c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = V(repeating: ap[1])
            c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = V(repeating: ap[2])
            c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = V(repeating: ap[3])
            c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = V(repeating: ap[4])
            c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = V(repeating: ap[5])
            c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            ap += 6
            bp += 16
        }
        if let e = epilogue, col < 0 {
            let r = -1 - col
            c00 = e.apply(c00, row: r); c01 = e.apply(c01, row: r)
            c10 = e.apply(c10, row: r + 1); c11 = e.apply(c11, row: r + 1)
            c20 = e.apply(c20, row: r + 2); c21 = e.apply(c21, row: r + 2)
            c30 = e.apply(c30, row: r + 3); c31 = e.apply(c31, row: r + 3)
            c40 = e.apply(c40, row: r + 4); c41 = e.apply(c41, row: r + 4)
            c50 = e.apply(c50, row: r + 5); c51 = e.apply(c51, row: r + 5)
        } else if let e = epilogue {
            c00 = e.apply(c00, channel: col); c01 = e.apply(c01, channel: col + 8)
            c10 = e.apply(c10, channel: col); c11 = e.apply(c11, channel: col + 8)
            c20 = e.apply(c20, channel: col); c21 = e.apply(c21, channel: col + 8)
            c30 = e.apply(c30, channel: col); c31 = e.apply(c31, channel: col + 8)
            c40 = e.apply(c40, channel: col); c41 = e.apply(c41, channel: col + 8)
            c50 = e.apply(c50, channel: col); c51 = e.apply(c51, channel: col + 8)
        }
        st(c00, c); st(c01, c + 8)
        st(c10, c + ldc); st(c11, c + ldc + 8)
        st(c20, c + 2 * ldc); st(c21, c + 2 * ldc + 8)
        st(c30, c + 3 * ldc); st(c31, c + 3 * ldc + 8)
        st(c40, c + 4 * ldc); st(c41, c + 4 * ldc + 8)
        st(c50, c + 5 * ldc); st(c51, c + 5 * ldc + 8)
    }
}
