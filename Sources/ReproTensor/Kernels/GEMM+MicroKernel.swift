import _ReproKernelHints

/// The register-blocked micro-kernel of ``GEMM``.
extension GEMM {
    /// The 6 × 16 micro-kernel: `D[6×16] = S + Apanel · Bpanel` over `kcb` steps
    /// (`S` read from `src`, leading dimension `lds`, or zero when `src` is `nil`;
    /// `D` written to `dst`, leading dimension `ldd`; they may be the same tile),
    /// then the epilogue when `epilogue` is given (last K block). `col ≥ 0`:
    /// channels along columns starting at `col`; `col < 0`: channels along
    /// rows starting at `−1 − col`.
    @inline(never)
    static func kernel6x16(
        _ kcb: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        _ src: UnsafePointer<Float>?, _ lds: Int, _ dst: UnsafeMutablePointer<Float>, _ ldd: Int,
        _ epilogue: PaddedEpilogue?, _ col: Int, _ next: UnsafePointer<Float>? = nil
    ) {
        typealias V = SIMD8<Float>
        @inline(__always) func ld(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func st(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        if let c = src {
            let ldc = lds
            c00 = ld(c); c01 = ld(c + 8)
            c10 = ld(c + ldc); c11 = ld(c + ldc + 8)
            c20 = ld(c + 2 * ldc); c21 = ld(c + 2 * ldc + 8)
            c30 = ld(c + 3 * ldc); c31 = ld(c + 3 * ldc + 8)
            c40 = ld(c + 4 * ldc); c41 = ld(c + 4 * ldc + 8)
            c50 = ld(c + 5 * ldc); c51 = ld(c + 5 * ldc + 8)
        }
        var ap = a, bp = b
        // Two copies of one loop (a shared local function would keep the
        // accumulators in memory): the first also asks for the next call's B
        // micro-panel, one cache line per step, so it is in L1/L2 when that
        // call starts; prefetching in every call cost time when B is cached.
        if let next {
            var np = next
            for _ in 0..<kcb {
                repro_prefetch(np)
                np += 16
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
        } else {
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
        let c = dst, ldc = ldd
        st(c00, c); st(c01, c + 8)
        st(c10, c + ldc); st(c11, c + ldc + 8)
        st(c20, c + 2 * ldc); st(c21, c + 2 * ldc + 8)
        st(c30, c + 3 * ldc); st(c31, c + 3 * ldc + 8)
        st(c40, c + 4 * ldc); st(c41, c + 4 * ldc + 8)
        st(c50, c + 5 * ldc); st(c51, c + 5 * ldc + 8)
    }
}
