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
        var t = Accumulators()
        if let c = src {
            let ldc = lds
            t.c00 = ld(c); t.c01 = ld(c + 8)
            t.c10 = ld(c + ldc); t.c11 = ld(c + ldc + 8)
            t.c20 = ld(c + 2 * ldc); t.c21 = ld(c + 2 * ldc + 8)
            t.c30 = ld(c + 3 * ldc); t.c31 = ld(c + 3 * ldc + 8)
            t.c40 = ld(c + 4 * ldc); t.c41 = ld(c + 4 * ldc + 8)
            t.c50 = ld(c + 5 * ldc); t.c51 = ld(c + 5 * ldc + 8)
        }
        var ap = a, bp = b
        // Two depth steps per iteration (half the loop bookkeeping per FMA:
        // about 5 % more GFLOP/s on Zen 3); every accumulator still takes its
        // products in depth order, so the bits are those of one chain. Two
        // copies of the loop: the first also asks for the next call's B
        // micro-panel, one cache line per step, so it is in L1/L2 when that
        // call starts; prefetching in every call cost time when B is cached.
        if let next {
            var np = next
            for _ in 0..<(kcb >> 1) {
                repro_prefetch(np)
                repro_prefetch(np + 16)
                np += 32
                t.step(ap, bp)
                t.step(ap + 6, bp + 16)
                ap += 12
                bp += 32
            }
            if kcb & 1 != 0 {
                repro_prefetch(np)
                t.step(ap, bp)
            }
        } else {
            for _ in 0..<(kcb >> 1) {
                t.step(ap, bp)
                t.step(ap + 6, bp + 16)
                ap += 12
                bp += 32
            }
            if kcb & 1 != 0 { t.step(ap, bp) }
        }
        if let e = epilogue, col < 0 {
            let r = -1 - col
            t.c00 = e.apply(t.c00, row: r); t.c01 = e.apply(t.c01, row: r)
            t.c10 = e.apply(t.c10, row: r + 1); t.c11 = e.apply(t.c11, row: r + 1)
            t.c20 = e.apply(t.c20, row: r + 2); t.c21 = e.apply(t.c21, row: r + 2)
            t.c30 = e.apply(t.c30, row: r + 3); t.c31 = e.apply(t.c31, row: r + 3)
            t.c40 = e.apply(t.c40, row: r + 4); t.c41 = e.apply(t.c41, row: r + 4)
            t.c50 = e.apply(t.c50, row: r + 5); t.c51 = e.apply(t.c51, row: r + 5)
        } else if let e = epilogue {
            t.c00 = e.apply(t.c00, channel: col); t.c01 = e.apply(t.c01, channel: col + 8)
            t.c10 = e.apply(t.c10, channel: col); t.c11 = e.apply(t.c11, channel: col + 8)
            t.c20 = e.apply(t.c20, channel: col); t.c21 = e.apply(t.c21, channel: col + 8)
            t.c30 = e.apply(t.c30, channel: col); t.c31 = e.apply(t.c31, channel: col + 8)
            t.c40 = e.apply(t.c40, channel: col); t.c41 = e.apply(t.c41, channel: col + 8)
            t.c50 = e.apply(t.c50, channel: col); t.c51 = e.apply(t.c51, channel: col + 8)
        }
        let c = dst, ldc = ldd
        st(t.c00, c); st(t.c01, c + 8)
        st(t.c10, c + ldc); st(t.c11, c + ldc + 8)
        st(t.c20, c + 2 * ldc); st(t.c21, c + 2 * ldc + 8)
        st(t.c30, c + 3 * ldc); st(t.c31, c + 3 * ldc + 8)
        st(t.c40, c + 4 * ldc); st(t.c41, c + 4 * ldc + 8)
        st(t.c50, c + 5 * ldc); st(t.c51, c + 5 * ldc + 8)
    }

    /// The twelve `SIMD8<Float>` accumulators of ``kernel6x16(_:_:_:_:_:_:_:_:_:_:)``
    /// (row `r`, columns 0–7 and 8–15). A value type whose one-step update is
    /// always inlined, so the optimiser keeps the fields in registers.
    private struct Accumulators {
        typealias V = SIMD8<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()

        /// One depth step: `c[r] += A[r] · B[0..<16]` for the six rows, each one fused multiply-add.
        @inline(__always)
        mutating func step(_ ap: UnsafePointer<Float>, _ bp: UnsafePointer<Float>) {
            let b0 = UnsafeRawPointer(bp).loadUnaligned(as: V.self)
            let b1 = UnsafeRawPointer(bp + 8).loadUnaligned(as: V.self)
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
        }
    }
}
