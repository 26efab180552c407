import _ReproKernelsAVX512

/// The AVX-512 path of ``GEMM``'s micro-kernel, chosen at run time
/// (``Runtime/kernelISA``).
///
/// The C tiles in `_ReproKernelsAVX512` hold one 16-wide register per row of a
/// 6 × 16 or 12 × 16 tile (two consecutive 6-row A panels against one 16-column
/// B panel, the same packed layouts as ``GEMM/kernel6x16(_:_:_:_:_:_:_:_:_:_:)``).
/// Each output is the same FMA chain over the depth, from the same start value,
/// followed by the same epilogue steps: identical bits.
extension GEMM {
    /// One 6-row tile on either path: ``kernel6x16(_:_:_:_:_:_:_:_:_:_:)`` or the AVX-512 tile.
    @inline(__always)
    static func tile6x16(
        wide: Bool, _ kcb: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
        _ src: UnsafePointer<Float>?, _ lds: Int, _ dst: UnsafeMutablePointer<Float>, _ ldd: Int,
        _ epilogue: PaddedEpilogue?, _ col: Int, _ next: UnsafePointer<Float>? = nil
    ) {
        if wide {
            tileAVX512(rows: 6, kcb, a, panelStride: 0, b, src, lds, dst, ldd, epilogue, col, next)
        } else {
            kernel6x16(kcb, a, b, src, lds, dst, ldd, epilogue, col, next)
        }
    }

    /// An AVX-512 tile of `rows` (6 or 12) rows: rows 6–11 use the A panel at `a + panelStride`
    /// and sit at `src + 6·lds` / `dst + 6·ldd`. Call only when ``Runtime/kernelISA`` is ``KernelISA/avx512``.
    @inline(__always)
    static func tileAVX512(
        rows: Int, _ kcb: Int, _ a: UnsafePointer<Float>, panelStride: Int, _ b: UnsafePointer<Float>,
        _ src: UnsafePointer<Float>?, _ lds: Int, _ dst: UnsafeMutablePointer<Float>, _ ldd: Int,
        _ epilogue: PaddedEpilogue?, _ col: Int, _ next: UnsafePointer<Float>?
    ) {
        if let epilogue {
            var e = epilogue.tile
            repro_sgemm_avx512_tile(rows, kcb, a, panelStride, b, src, lds, dst, ldd, &e, col, next)
        } else {
            repro_sgemm_avx512_tile(rows, kcb, a, panelStride, b, src, lds, dst, ldd, nil, col, next)
        }
    }
}

extension PaddedEpilogue {
    /// The epilogue as the C tiles take it (the same padded vectors).
    var tile: repro_tile_epilogue {
        repro_tile_epilogue(bias: bias.map { UnsafePointer($0) }, scale: scale.map { UnsafePointer($0) },
                            shift: shift.map { UnsafePointer($0) }, relu: relu ? 1 : 0)
    }
}
