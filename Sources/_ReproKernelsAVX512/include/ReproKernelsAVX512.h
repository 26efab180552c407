// AVX-512 micro-kernels for ReproTensor's GEMM, selected at run time.
//
// Each output is the same single fused multiply-add chain over the depth, in the
// same order, as the 8-wide Swift micro-kernel (`GEMM.kernel6x16`): a 16-wide
// register holds the 16 columns of one row, so the vector width changes which
// outputs are computed together, never the order of one output's sum. The
// epilogue (bias, unfused scale and shift, ReLU) is applied in the same order
// with the same roundings. The functions are compiled with per-function
// `target` attributes (no package-wide flags); the caller checks
// `repro_avx512_usable()` first. On other architectures the header declares the
// same functions; `repro_avx512_usable()` returns 0 and the kernels do nothing.
#ifndef REPRO_KERNELS_AVX512_H
#define REPRO_KERNELS_AVX512_H

#include <stddef.h>

/// 1 when the CPU has AVX-512F and the operating system saves the ZMM and opmask
/// registers (XCR0 bits 1, 2, 5, 6 and 7), otherwise 0 (always 0 off x86-64).
int repro_avx512_usable(void);

/// The per-channel epilogue of a tile (pointers padded to 16 channels past the
/// last one with neutral values, or NULL for an absent step).
typedef struct {
    const float *bias;   ///< added first
    const float *scale;  ///< then multiplied (not fused) …
    const float *shift;  ///< … and this added; both or neither
    int relu;            ///< then negatives clamped to zero (NaN and -0 pass)
} repro_tile_epilogue;

/// `D[rows×16] = S + A·B` over `depth` steps, then the epilogue when `epilogue`
/// is not NULL. `rows` is 6 or 12: rows 0–5 come from the 6-row packed A panel
/// `a` (`a[6p + r]`), rows 6–11 from `a + a_next` (the following panel); B is a
/// 16-column packed panel (`b[16p + l]`). `S` is read from `src` (leading
/// dimension `lds`) or is zero when `src` is NULL; `D` is written to `dst`
/// (leading dimension `ldd`; it may be `src`). `channel >= 0`: the epilogue's
/// channels run along the 16 columns from `channel`; `channel < 0`: along the
/// rows, from `-1 - channel`. `prefetch`, when not NULL, is the next call's B
/// panel, asked for one cache line per step (timing only).
void repro_sgemm_avx512_tile(long rows, long depth, const float *a, long a_next, const float *b,
                             const float *src, long lds, float *dst, long ldd,
                             const repro_tile_epilogue *epilogue, long channel, const float *prefetch);

/// One tile (`rows` 6 or 12, as `repro_sgemm_avx512_tile`, both 16 floats per row) of the
/// sample-tree product: `acc` = the tile at `src` (or zero when NULL) plus the FMA chain over
/// `depth`, then `acc = addends[i] + acc` for `i = 0 … count-1` (one rounding each: the sample
/// tree's merges, earlier node on the left), stored at `dst` (which may be an addend).
void repro_sgemm_avx512_tile_tree(long rows, long depth, const float *a, long a_next, const float *b,
                                  const float *src, const float *const *addends, long count, float *dst);

/// The Winograd F(4×4, 3×3) input transform `V = Bᵀ d B` of one panel of six tiles on `cp`
/// channels (a multiple of 8), 16 channels per register, with the operations of ReproTensor's
/// 8-wide `WinogradSIMD.input4` (same bits). `src[t]` is tile t's 6×6 window in the padded NHWC
/// input (pixels `cp` floats apart, rows `rowStep` apart), or NULL for a zero tile. `V[ξ]` of
/// channel c, tile t is stored at `dst[ξ·xiStride + 6c + t]`.
void repro_winograd_input_panel4(const float *const *src, long rowStep, long cp, float *dst, long xiStride);

/// The Winograd F(4×4, 3×3) output transform `Y = Aᵀ M A` of one tile on 16 channels (as
/// `WinogradSIMD.output4`, same bits): `M[ξ]` at `src + ξ·mStride` (16 floats each), then the
/// epilogue (NULL: none) for channels from `channel`, and the store of pixel (i, j), i < rows,
/// j < cols, at `dst + i·rowStride + j·colStride` (its first `lanes` channels).
void repro_winograd_output4(const float *src, long mStride, float *dst, long rowStride, long colStride,
                            long rows, long cols, long lanes, const repro_tile_epilogue *e, long channel);

/// The Winograd F(6×6, 3×3) input transform of one panel of six tiles (as
/// `repro_winograd_input_panel4`, with 8×8 windows, 64 frequencies and the operations of
/// `WinogradSIMD.input6`; same bits).
void repro_winograd_input_panel6(const float *const *src, long rowStep, long cp, float *dst, long xiStride);

/// The Winograd F(6×6, 3×3) output transform of one tile on 16 channels (as
/// `repro_winograd_output4`, with 64 frequencies, a 6×6 tile and the operations of
/// `WinogradSIMD.output6`; same bits).
void repro_winograd_output6(const float *src, long mStride, float *dst, long rowStride, long colStride,
                            long rows, long cols, long lanes, const repro_tile_epilogue *e, long channel);

/// The Winograd filter transform `U = G g Gᵀ` of 16 3×3 filters side by side (as ReproTensor's
/// `WinogradTransform.transformFilters16`, same bits: in double, products and sums rounded separately
/// and in the same order, each value rounded once to float). Filter `l < lanes` starts at
/// `f + l·filterStride` (9 floats, row-major); lanes from `lanes` on are zero filters. `g` is `G`
/// (`alpha` × 3, row-major, `alpha` ≤ 8); `U[ξ]` of the 16 filters is stored as 16 floats at `u + ξ·stride`.
void repro_winograd_filters16(const float *f, long filterStride, long lanes, const double *g, long alpha,
                              float *u, long stride);

/// The direct convolution's tile of 12 output pixels × 16 channels (ReproTensor's
/// `Conv2dKernel.micro` with 12 pixels: one FMA chain from zero per output over (ky, kx, ic), same
/// bits). Pixel j < `valid` reads its taps from `src + j·pixelStep` (pixels past `valid` repeat the
/// last one and are not stored); `w` is the 16-channel weight block `[ky][kx][ic][16]` walked as
/// `kh` × `kxCount` runs of `run` taps, at `ky·rowStep + kx·colStep` from each pixel. Pixel j's
/// first `lanes` channels are stored at `dst + j·ldo` after the epilogue for channels from `channel`.
void repro_direct_tile12(const float *src, long pixelStep, long valid, const float *w, long kh, long kxCount,
                         long run, long rowStep, long colStep, float *dst, long ldo, long lanes,
                         const repro_tile_epilogue *e, long channel);

/// What the code generation of the file that includes this header targets: 2 when
/// AVX2 and FMA are enabled (ReproTensor's Swift SIMD kernels on x86-64 with
/// Package.swift's flags), 1 on x86-64 without them (`REPRO_NO_ISA_FLAGS=1`),
/// 3 on arm64 (NEON), 0 elsewhere. Inline: evaluated with the importing
/// module's compiler flags, not this target's.
static inline int repro_compiled_isa_level(void) {
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
    return 2;
#elif defined(__x86_64__)
    return 1;
#elif defined(__aarch64__)
    return 3;
#else
    return 0;
#endif
}

#endif
