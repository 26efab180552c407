// AVX-512 GEMM tiles, Winograd transforms and direct convolution tiles for ReproTensor, written for Repro (see the header for the
// bit contract). Intrinsics only: no floating-point expression in this file is
// written with operators, and contraction is off, so every multiply-add is the
// one `_mm512_fmadd_ps` (or the unfused pair) written here.
#include "ReproKernelsAVX512.h"

#pragma clang fp contract(off)

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>
#include <stdint.h>

int repro_avx512_usable(void) {
    unsigned int a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int osxsave = (c >> 27) & 1;
    if (!osxsave) return 0;
    // XCR0: SSE (bit 1), AVX (bit 2), opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7) state enabled by the OS.
    uint32_t lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & 0xE6u) != 0xE6u) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 16) & 1;  // AVX512F
}

#define REPRO_AVX512 __attribute__((target("avx512f")))

// Epilogue for one row vector: y = acc + bias; y = y * scale + shift (two roundings); ReLU.
REPRO_AVX512 static inline __m512 repro_epilogue_columns(__m512 y, const repro_tile_epilogue *e, long c) {
    if (e->bias) y = _mm512_add_ps(y, _mm512_loadu_ps(e->bias + c));
    if (e->scale && e->shift) {
        y = _mm512_mul_ps(y, _mm512_loadu_ps(e->scale + c));
        y = _mm512_add_ps(y, _mm512_loadu_ps(e->shift + c));
    }
    if (e->relu) {
        const __mmask16 negative = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_LT_OQ);
        y = _mm512_mask_mov_ps(y, negative, _mm512_setzero_ps());
    }
    return y;
}

REPRO_AVX512 static inline __m512 repro_epilogue_row(__m512 y, const repro_tile_epilogue *e, long r) {
    if (e->bias) y = _mm512_add_ps(y, _mm512_set1_ps(e->bias[r]));
    if (e->scale && e->shift) {
        y = _mm512_mul_ps(y, _mm512_set1_ps(e->scale[r]));
        y = _mm512_add_ps(y, _mm512_set1_ps(e->shift[r]));
    }
    if (e->relu) {
        const __mmask16 negative = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_LT_OQ);
        y = _mm512_mask_mov_ps(y, negative, _mm512_setzero_ps());
    }
    return y;
}

// One depth step of six rows from panel `ap` into accumulators c0…c5.
#define STEP6(ap, bv, c0, c1, c2, c3, c4, c5)                   \
    c0 = _mm512_fmadd_ps(_mm512_set1_ps((ap)[0]), bv, c0);      \
    c1 = _mm512_fmadd_ps(_mm512_set1_ps((ap)[1]), bv, c1);      \
    c2 = _mm512_fmadd_ps(_mm512_set1_ps((ap)[2]), bv, c2);      \
    c3 = _mm512_fmadd_ps(_mm512_set1_ps((ap)[3]), bv, c3);      \
    c4 = _mm512_fmadd_ps(_mm512_set1_ps((ap)[4]), bv, c4);      \
    c5 = _mm512_fmadd_ps(_mm512_set1_ps((ap)[5]), bv, c5);

REPRO_AVX512 static void repro_tile12(long depth, const float *a0, const float *a1, const float *b,
                                      const float *src, long lds, float *dst, long ldd,
                                      const repro_tile_epilogue *e, long channel, const float *prefetch) {
    __m512 c[12];
    if (src) {
        for (int r = 0; r < 12; r++) c[r] = _mm512_loadu_ps(src + r * lds);
    } else {
        for (int r = 0; r < 12; r++) c[r] = _mm512_setzero_ps();
    }
    __m512 c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4], c5 = c[5];
    __m512 c6 = c[6], c7 = c[7], c8 = c[8], c9 = c[9], c10 = c[10], c11 = c[11];
    if (prefetch) {
        for (long p = 0; p < depth; p++) {
            _mm_prefetch((const char *)(prefetch + 16 * p), _MM_HINT_T0);
            const __m512 bv = _mm512_loadu_ps(b + 16 * p);
            STEP6(a0 + 6 * p, bv, c0, c1, c2, c3, c4, c5)
            STEP6(a1 + 6 * p, bv, c6, c7, c8, c9, c10, c11)
        }
    } else {
        for (long p = 0; p < depth; p++) {
            const __m512 bv = _mm512_loadu_ps(b + 16 * p);
            STEP6(a0 + 6 * p, bv, c0, c1, c2, c3, c4, c5)
            STEP6(a1 + 6 * p, bv, c6, c7, c8, c9, c10, c11)
        }
    }
    c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3; c[4] = c4; c[5] = c5;
    c[6] = c6; c[7] = c7; c[8] = c8; c[9] = c9; c[10] = c10; c[11] = c11;
    if (e) {
        if (channel < 0) {
            for (int r = 0; r < 12; r++) c[r] = repro_epilogue_row(c[r], e, -1 - channel + r);
        } else {
            for (int r = 0; r < 12; r++) c[r] = repro_epilogue_columns(c[r], e, channel);
        }
    }
    for (int r = 0; r < 12; r++) _mm512_storeu_ps(dst + r * ldd, c[r]);
}

REPRO_AVX512 static void repro_tile6(long depth, const float *a0, const float *b,
                                     const float *src, long lds, float *dst, long ldd,
                                     const repro_tile_epilogue *e, long channel, const float *prefetch) {
    __m512 c[6];
    if (src) {
        for (int r = 0; r < 6; r++) c[r] = _mm512_loadu_ps(src + r * lds);
    } else {
        for (int r = 0; r < 6; r++) c[r] = _mm512_setzero_ps();
    }
    __m512 c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4], c5 = c[5];
    for (long p = 0; p < depth; p++) {
        if (prefetch) _mm_prefetch((const char *)(prefetch + 16 * p), _MM_HINT_T0);
        const __m512 bv = _mm512_loadu_ps(b + 16 * p);
        STEP6(a0 + 6 * p, bv, c0, c1, c2, c3, c4, c5)
    }
    c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3; c[4] = c4; c[5] = c5;
    if (e) {
        if (channel < 0) {
            for (int r = 0; r < 6; r++) c[r] = repro_epilogue_row(c[r], e, -1 - channel + r);
        } else {
            for (int r = 0; r < 6; r++) c[r] = repro_epilogue_columns(c[r], e, channel);
        }
    }
    for (int r = 0; r < 6; r++) _mm512_storeu_ps(dst + r * ldd, c[r]);
}

void repro_sgemm_avx512_tile(long rows, long depth, const float *a, long a_next, const float *b,
                             const float *src, long lds, float *dst, long ldd,
                             const repro_tile_epilogue *epilogue, long channel, const float *prefetch) {
    if (rows == 12) {
        repro_tile12(depth, a, a + a_next, b, src, lds, dst, ldd, epilogue, channel, prefetch);
    } else {
        repro_tile6(depth, a, b, src, lds, dst, ldd, epilogue, channel, prefetch);
    }
}

// A tile whose chain is followed by the sample tree's merges, in registers: acc = src (or 0) +
// the depth's FMA chain, then acc = addends[i] + acc for i = 0, 1, … (one rounding each), stored.
REPRO_AVX512 static void repro_tile_tree(long rows, long depth, const float *a0, const float *a1, const float *b,
                                         const float *src, const float *const *addends, long count, float *dst) {
    __m512 c[12];
    for (int r = 0; r < 12; r++) c[r] = src && r < rows ? _mm512_loadu_ps(src + 16 * r) : _mm512_setzero_ps();
    __m512 c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4], c5 = c[5];
    __m512 c6 = c[6], c7 = c[7], c8 = c[8], c9 = c[9], c10 = c[10], c11 = c[11];
    if (rows == 12) {
        for (long p = 0; p < depth; p++) {
            const __m512 bv = _mm512_loadu_ps(b + 16 * p);
            STEP6(a0 + 6 * p, bv, c0, c1, c2, c3, c4, c5)
            STEP6(a1 + 6 * p, bv, c6, c7, c8, c9, c10, c11)
        }
    } else {
        for (long p = 0; p < depth; p++) {
            const __m512 bv = _mm512_loadu_ps(b + 16 * p);
            STEP6(a0 + 6 * p, bv, c0, c1, c2, c3, c4, c5)
        }
    }
    c[0] = c0; c[1] = c1; c[2] = c2; c[3] = c3; c[4] = c4; c[5] = c5;
    c[6] = c6; c[7] = c7; c[8] = c8; c[9] = c9; c[10] = c10; c[11] = c11;
    for (long i = 0; i < count; i++) {
        for (int r = 0; r < rows; r++) c[r] = _mm512_add_ps(_mm512_loadu_ps(addends[i] + 16 * r), c[r]);
    }
    for (int r = 0; r < rows; r++) _mm512_storeu_ps(dst + 16 * r, c[r]);
}

void repro_sgemm_avx512_tile_tree(long rows, long depth, const float *a, long a_next, const float *b,
                                  const float *src, const float *const *addends, long count, float *dst) {
    repro_tile_tree(rows, depth, a, a + a_next, b, src, addends, count, dst);
}


// ---- Winograd F(4×4, 3×3) input and output transforms, 16 channels per register ----
//
// The same operations in the same order per lane as ReproTensor's `WinogradSIMD.input4` /
// `output4` (columns first, then rows; each product or fused multiply-add written out below), so
// the same bits as the 8-wide Swift path: the vector width changes which channels are computed
// together, never an element's arithmetic.

// The [tile][channel] → [channel][6 tiles] transposition of six 16-lane vectors: output vector k
// lane j is element 16k + j = channel (16k + j) / 6 of tile (16k + j) % 6. Entry 3k + a takes
// tiles 2a and 2a + 1 (index = channel + 16 · (tile − 2a)) on the lanes of its mask.
static const int32_t repro_wino_transpose_index[18][16] = {
    {0, 16, 0, 0, 0, 0, 1, 17, 0, 0, 0, 0, 2, 18, 0, 0},
    {0, 0, 0, 16, 0, 0, 0, 0, 1, 17, 0, 0, 0, 0, 2, 18},
    {0, 0, 0, 0, 0, 16, 0, 0, 0, 0, 1, 17, 0, 0, 0, 0},
    {0, 0, 3, 19, 0, 0, 0, 0, 4, 20, 0, 0, 0, 0, 5, 21},
    {0, 0, 0, 0, 3, 19, 0, 0, 0, 0, 4, 20, 0, 0, 0, 0},
    {2, 18, 0, 0, 0, 0, 3, 19, 0, 0, 0, 0, 4, 20, 0, 0},
    {0, 0, 0, 0, 6, 22, 0, 0, 0, 0, 7, 23, 0, 0, 0, 0},
    {5, 21, 0, 0, 0, 0, 6, 22, 0, 0, 0, 0, 7, 23, 0, 0},
    {0, 0, 5, 21, 0, 0, 0, 0, 6, 22, 0, 0, 0, 0, 7, 23},
    {8, 24, 0, 0, 0, 0, 9, 25, 0, 0, 0, 0, 10, 26, 0, 0},
    {0, 0, 8, 24, 0, 0, 0, 0, 9, 25, 0, 0, 0, 0, 10, 26},
    {0, 0, 0, 0, 8, 24, 0, 0, 0, 0, 9, 25, 0, 0, 0, 0},
    {0, 0, 11, 27, 0, 0, 0, 0, 12, 28, 0, 0, 0, 0, 13, 29},
    {0, 0, 0, 0, 11, 27, 0, 0, 0, 0, 12, 28, 0, 0, 0, 0},
    {10, 26, 0, 0, 0, 0, 11, 27, 0, 0, 0, 0, 12, 28, 0, 0},
    {0, 0, 0, 0, 14, 30, 0, 0, 0, 0, 15, 31, 0, 0, 0, 0},
    {13, 29, 0, 0, 0, 0, 14, 30, 0, 0, 0, 0, 15, 31, 0, 0},
    {0, 0, 13, 29, 0, 0, 0, 0, 14, 30, 0, 0, 0, 0, 15, 31},
};
static const uint16_t repro_wino_transpose_mask[18] = {0x30c3, 0xc30c, 0xc30, 0xc30c, 0xc30, 0x30c3, 0xc30, 0x30c3, 0xc30c, 0x30c3, 0xc30c, 0xc30, 0xc30c, 0xc30, 0x30c3, 0xc30, 0x30c3, 0xc30c};

// Stores the transformed inputs of six tiles on 16 channels (`v[t·a2 + ξ]`: tile t, frequency ξ) in
// the micro-kernel's layout: per frequency, 96 floats at `dst + ξ·xiStride` (48 for a last run of 8
// channels), channel-major, six tiles each.
REPRO_AVX512 static inline void repro_wino_store_panel(const __m512 *v, int a2, long lanes, float *dst, long xiStride) {
    const int vectors = lanes == 16 ? 6 : 3;
    for (int xi = 0; xi < a2; xi++) {
        float *d = dst + xi * xiStride;
        for (int k = 0; k < vectors; k++) {
            const __m512 a = _mm512_permutex2var_ps(v[xi], _mm512_loadu_si512(repro_wino_transpose_index[3 * k]), v[a2 + xi]);
            const __m512 b = _mm512_permutex2var_ps(v[2 * a2 + xi], _mm512_loadu_si512(repro_wino_transpose_index[3 * k + 1]),
                                                    v[3 * a2 + xi]);
            const __m512 e = _mm512_permutex2var_ps(v[4 * a2 + xi], _mm512_loadu_si512(repro_wino_transpose_index[3 * k + 2]),
                                                    v[5 * a2 + xi]);
            __m512 r = _mm512_mask_mov_ps(a, repro_wino_transpose_mask[3 * k + 1], b);
            r = _mm512_mask_mov_ps(r, repro_wino_transpose_mask[3 * k + 2], e);
            _mm512_storeu_ps(d + 16 * k, r);
        }
    }
}

// Stores an m × m output tile `y` (row-major) on 16 channels: the epilogue (NULL: none) for channels
// from `channel`, then pixel (i, j), i < rows, j < cols, at `dst + i·rowStride + j·colStride` (its
// first `lanes` channels).
REPRO_AVX512 static inline void repro_wino_store_tile(const __m512 *y, int m, long rows, long cols, long lanes,
                                                      const repro_tile_epilogue *e, long channel, float *dst,
                                                      long rowStride, long colStride) {
    const __mmask16 store = lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
    for (long i = 0; i < rows; i++) {
        for (long j = 0; j < cols; j++) {
            const __m512 r = e ? repro_epilogue_columns(y[i * m + j], e, channel) : y[i * m + j];
            _mm512_mask_storeu_ps(dst + i * rowStride + j * colStride, store, r);
        }
    }
}

// Rows of Bᵀ (F(4,3)) applied to d0…d5.
#define REPRO_INPUT4(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5)                                            \
    r0 = _mm512_add_ps(_mm512_fmadd_ps(m5, d2, _mm512_mul_ps(p4, d0)), d4);                                     \
    r1 = _mm512_add_ps(_mm512_add_ps(_mm512_fmadd_ps(m4, d2, _mm512_mul_ps(m4, d1)), d3), d4);                  \
    r2 = _mm512_add_ps(_mm512_sub_ps(_mm512_fmadd_ps(m4, d2, _mm512_mul_ps(p4, d1)), d3), d4);                  \
    r3 = _mm512_add_ps(_mm512_fmadd_ps(p2, d3, _mm512_sub_ps(_mm512_mul_ps(m2, d1), d2)), d4);                  \
    r4 = _mm512_add_ps(_mm512_fmadd_ps(m2, d3, _mm512_sub_ps(_mm512_mul_ps(p2, d1), d2)), d4);                  \
    r5 = _mm512_add_ps(_mm512_fmadd_ps(m5, d3, _mm512_mul_ps(p4, d1)), d5);

REPRO_AVX512 static void repro_winograd_input_panel4_impl(const float *const *src, long rowStep, long cp, float *dst, long xiStride) {
    const __m512 m5 = _mm512_set1_ps(-5.0f), m4 = _mm512_set1_ps(-4.0f), p4 = _mm512_set1_ps(4.0f);
    const __m512 m2 = _mm512_set1_ps(-2.0f), p2 = _mm512_set1_ps(2.0f);
    __m512 v[6][36];
    for (long c = 0; c < cp; c += 16) {
        const long lanes = cp - c < 16 ? cp - c : 16;
        const __mmask16 load = lanes == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
        for (int t = 0; t < 6; t++) {
            if (!src[t]) {
                for (int x = 0; x < 36; x++) v[t][x] = _mm512_setzero_ps();
                continue;
            }
            const float *s = src[t] + c;
            __m512 tmp[36];
            for (int j = 0; j < 6; j++) {
                const __m512 d0 = _mm512_maskz_loadu_ps(load, s + 0 * rowStep + j * cp);
                const __m512 d1 = _mm512_maskz_loadu_ps(load, s + 1 * rowStep + j * cp);
                const __m512 d2 = _mm512_maskz_loadu_ps(load, s + 2 * rowStep + j * cp);
                const __m512 d3 = _mm512_maskz_loadu_ps(load, s + 3 * rowStep + j * cp);
                const __m512 d4 = _mm512_maskz_loadu_ps(load, s + 4 * rowStep + j * cp);
                const __m512 d5 = _mm512_maskz_loadu_ps(load, s + 5 * rowStep + j * cp);
                REPRO_INPUT4(d0, d1, d2, d3, d4, d5, tmp[j], tmp[6 + j], tmp[12 + j], tmp[18 + j], tmp[24 + j], tmp[30 + j])
            }
            for (int i = 0; i < 6; i++) {
                const __m512 *q = tmp + i * 6;
                __m512 *o = v[t] + i * 6;
                REPRO_INPUT4(q[0], q[1], q[2], q[3], q[4], q[5], o[0], o[1], o[2], o[3], o[4], o[5])
            }
        }
        repro_wino_store_panel(&v[0][0], 36, lanes, dst + c * 6, xiStride);
    }
}

// Rows of Aᵀ (F(4,3)) applied to m0…m5.
#define REPRO_OUTPUT4(m0, m1, m2, m3, m4, m5, y0, y1, y2, y3)                                                    \
    y0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(m0, m1), m2), m3), m4);                       \
    y1 = _mm512_fmadd_ps(n2, m4, _mm512_fmadd_ps(p2, m3, _mm512_sub_ps(m1, m2)));                               \
    y2 = _mm512_fmadd_ps(p4, m4, _mm512_fmadd_ps(p4, m3, _mm512_add_ps(m1, m2)));                               \
    y3 = _mm512_add_ps(_mm512_fmadd_ps(n8, m4, _mm512_fmadd_ps(p8, m3, _mm512_sub_ps(m1, m2))), m5);

REPRO_AVX512 static void repro_winograd_output4_impl(const float *src, long mStride, float *dst, long rowStride, long colStride,
                            long rows, long cols, long lanes, const repro_tile_epilogue *e, long channel) {
    const __m512 p2 = _mm512_set1_ps(2.0f), n2 = _mm512_set1_ps(-2.0f), p4 = _mm512_set1_ps(4.0f);
    const __m512 p8 = _mm512_set1_ps(8.0f), n8 = _mm512_set1_ps(-8.0f);
    __m512 tmp[24], y[16];
    for (int j = 0; j < 6; j++) {
        const __m512 q0 = _mm512_loadu_ps(src + (0 * 6 + j) * mStride), q1 = _mm512_loadu_ps(src + (1 * 6 + j) * mStride);
        const __m512 q2 = _mm512_loadu_ps(src + (2 * 6 + j) * mStride), q3 = _mm512_loadu_ps(src + (3 * 6 + j) * mStride);
        const __m512 q4 = _mm512_loadu_ps(src + (4 * 6 + j) * mStride), q5 = _mm512_loadu_ps(src + (5 * 6 + j) * mStride);
        REPRO_OUTPUT4(q0, q1, q2, q3, q4, q5, tmp[j], tmp[6 + j], tmp[12 + j], tmp[18 + j])
    }
    for (int i = 0; i < 4; i++) {
        const __m512 *q = tmp + i * 6;
        REPRO_OUTPUT4(q[0], q[1], q[2], q[3], q[4], q[5], y[i * 4], y[i * 4 + 1], y[i * 4 + 2], y[i * 4 + 3])
    }
    repro_wino_store_tile(y, 4, rows, cols, lanes, e, channel, dst, rowStride, colStride);
}

void repro_winograd_input_panel4(const float *const *src, long rowStep, long cp, float *dst, long xiStride) {
    repro_winograd_input_panel4_impl(src, rowStep, cp, dst, xiStride);
}

void repro_winograd_output4(const float *src, long mStride, float *dst, long rowStride, long colStride,
                            long rows, long cols, long lanes, const repro_tile_epilogue *e, long channel) {
    repro_winograd_output4_impl(src, mStride, dst, rowStride, colStride, rows, cols, lanes, e, channel);
}


// ---- Winograd F(6×6, 3×3) input and output transforms, 16 channels per register ----
//
// As for F(4×4): the operations of `WinogradSIMD.input6` / `output6` in the same order per lane
// (columns first, then rows). `addingProduct(x, y)` is `_mm512_fmadd_ps(x, y, acc)`; `(-d1) + d2`
// is written `d2 - d1` and `fma(x, y, -d1)` as `_mm512_fmsub_ps(x, y, d1)`, the same value and
// rounding for every non-NaN input.

// Rows of Bᵀ (F(6,3)) applied to d0…d7.
#define REPRO_INPUT6(d0, d1, d2, d3, d4, d5, d6, d7, r0, r1, r2, r3, r4, r5, r6, r7)                            \
    r0 = _mm512_sub_ps(_mm512_fmadd_ps(pa, d4, _mm512_fmadd_ps(na, d2, d0)), d6);                               \
    r1 = _mm512_add_ps(_mm512_add_ps(_mm512_fmadd_ps(nb, d4, _mm512_fmadd_ps(nb, d3, _mm512_add_ps(d1, d2))), d5), d6); \
    r2 = _mm512_add_ps(_mm512_sub_ps(_mm512_fmadd_ps(nb, d4, _mm512_fmadd_ps(pb, d3, _mm512_sub_ps(d2, d1))), d5), d6); \
    r3 = _mm512_add_ps(_mm512_fmadd_ps(p2, d5, _mm512_fmadd_ps(ne, d4, _mm512_fmadd_ps(nf, d3,                    \
             _mm512_fmadd_ps(pq, d2, _mm512_mul_ps(ph, d1))))), d6);                                             \
    r4 = _mm512_add_ps(_mm512_fmadd_ps(n2, d5, _mm512_fmadd_ps(ne, d4, _mm512_fmadd_ps(pf, d3,                    \
             _mm512_fmadd_ps(pq, d2, _mm512_mul_ps(nh, d1))))), d6);                                             \
    r5 = _mm512_add_ps(_mm512_fmadd_ps(ph, d5, _mm512_fmadd_ps(n5, d4, _mm512_fmadd_ps(nf, d3,                    \
             _mm512_fmadd_ps(p4, d2, _mm512_mul_ps(p2, d1))))), d6);                                             \
    r6 = _mm512_add_ps(_mm512_fmadd_ps(nh, d5, _mm512_fmadd_ps(n5, d4, _mm512_fmadd_ps(pf, d3,                    \
             _mm512_fmadd_ps(p4, d2, _mm512_mul_ps(n2, d1))))), d6);                                             \
    r7 = _mm512_add_ps(_mm512_fmadd_ps(na, d5, _mm512_fmsub_ps(pa, d3, d1)), d7);

REPRO_AVX512 static void repro_winograd_input_panel6_impl(const float *const *src, long rowStep, long cp, float *dst, long xiStride) {
    const __m512 pa = _mm512_set1_ps(5.25f), na = _mm512_set1_ps(-5.25f), pb = _mm512_set1_ps(4.25f), nb = _mm512_set1_ps(-4.25f);
    const __m512 ph = _mm512_set1_ps(0.5f), nh = _mm512_set1_ps(-0.5f), pq = _mm512_set1_ps(0.25f);
    const __m512 pf = _mm512_set1_ps(2.5f), nf = _mm512_set1_ps(-2.5f), ne = _mm512_set1_ps(-1.25f);
    const __m512 p2 = _mm512_set1_ps(2.0f), n2 = _mm512_set1_ps(-2.0f), p4 = _mm512_set1_ps(4.0f), n5 = _mm512_set1_ps(-5.0f);
    __m512 v[6][64];
    for (long c = 0; c < cp; c += 16) {
        const long lanes = cp - c < 16 ? cp - c : 16;
        const __mmask16 load = lanes == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
        for (int t = 0; t < 6; t++) {
            if (!src[t]) {
                for (int x = 0; x < 64; x++) v[t][x] = _mm512_setzero_ps();
                continue;
            }
            const float *s = src[t] + c;
            __m512 tmp[64];
            for (int j = 0; j < 8; j++) {
                __m512 d[8];
                for (int k = 0; k < 8; k++) d[k] = _mm512_maskz_loadu_ps(load, s + k * rowStep + j * cp);
                REPRO_INPUT6(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], tmp[j], tmp[8 + j], tmp[16 + j], tmp[24 + j],
                             tmp[32 + j], tmp[40 + j], tmp[48 + j], tmp[56 + j])
            }
            for (int i = 0; i < 8; i++) {
                const __m512 *q = tmp + i * 8;
                __m512 *o = v[t] + i * 8;
                REPRO_INPUT6(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7])
            }
        }
        repro_wino_store_panel(&v[0][0], 64, lanes, dst + c * 6, xiStride);
    }
}

// Rows of Aᵀ (F(6,3)) applied to m0…m7.
#define REPRO_OUTPUT6(m0, m1, m2, m3, m4, m5, m6, m7, y0, y1, y2, y3, y4, y5)                                   \
    {                                                                                                           \
        const __m512 sum = _mm512_add_ps(m1, m2), diff = _mm512_sub_ps(m1, m2);                                 \
        y0 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(_mm512_add_ps(m0, m1), m2), m3), m4), m5), m6); \
        y1 = _mm512_fmadd_ps(k[1], m6, _mm512_fmadd_ps(k[0], m5, _mm512_fmadd_ps(n2, m4, _mm512_fmadd_ps(p2, m3, diff)))); \
        y2 = _mm512_fmadd_ps(k[2], m6, _mm512_fmadd_ps(k[2], m5, _mm512_fmadd_ps(p4, m4, _mm512_fmadd_ps(p4, m3, sum))));  \
        y3 = _mm512_fmadd_ps(k[4], m6, _mm512_fmadd_ps(k[3], m5, _mm512_fmadd_ps(n8, m4, _mm512_fmadd_ps(p8, m3, diff)))); \
        y4 = _mm512_fmadd_ps(k[5], m6, _mm512_fmadd_ps(k[5], m5, _mm512_fmadd_ps(p16, m4, _mm512_fmadd_ps(p16, m3, sum)))); \
        y5 = _mm512_add_ps(_mm512_fmadd_ps(k[7], m6, _mm512_fmadd_ps(k[6], m5, _mm512_fmadd_ps(n32, m4,          \
                 _mm512_fmadd_ps(p32, m3, diff)))), m7);                                                        \
    }

REPRO_AVX512 static void repro_winograd_output6_impl(const float *src, long mStride, float *dst, long rowStride, long colStride,
                                                     long rows, long cols, long lanes, const repro_tile_epilogue *e, long channel) {
    const __m512 p2 = _mm512_set1_ps(2.0f), n2 = _mm512_set1_ps(-2.0f), p4 = _mm512_set1_ps(4.0f);
    const __m512 p8 = _mm512_set1_ps(8.0f), n8 = _mm512_set1_ps(-8.0f), p16 = _mm512_set1_ps(16.0f);
    const __m512 p32 = _mm512_set1_ps(32.0f), n32 = _mm512_set1_ps(-32.0f);
    // The m5/m6 coefficients: 0.5, -0.5, 0.25, 0.125, -0.125, 0.0625, 0.03125, -0.03125.
    const __m512 k[8] = {_mm512_set1_ps(0.5f), _mm512_set1_ps(-0.5f), _mm512_set1_ps(0.25f), _mm512_set1_ps(0.125f),
                         _mm512_set1_ps(-0.125f), _mm512_set1_ps(0.0625f), _mm512_set1_ps(0.03125f), _mm512_set1_ps(-0.03125f)};
    __m512 tmp[48], y[36];
    for (int j = 0; j < 8; j++) {
        __m512 q[8];
        for (int i = 0; i < 8; i++) q[i] = _mm512_loadu_ps(src + (i * 8 + j) * mStride);
        REPRO_OUTPUT6(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], tmp[j], tmp[8 + j], tmp[16 + j], tmp[24 + j],
                      tmp[32 + j], tmp[40 + j])
    }
    for (int i = 0; i < 6; i++) {
        const __m512 *q = tmp + i * 8;
        __m512 *o = y + i * 6;
        REPRO_OUTPUT6(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], o[0], o[1], o[2], o[3], o[4], o[5])
    }
    repro_wino_store_tile(y, 6, rows, cols, lanes, e, channel, dst, rowStride, colStride);
}

void repro_winograd_input_panel6(const float *const *src, long rowStep, long cp, float *dst, long xiStride) {
    repro_winograd_input_panel6_impl(src, rowStep, cp, dst, xiStride);
}

void repro_winograd_output6(const float *src, long mStride, float *dst, long rowStride, long colStride,
                            long rows, long cols, long lanes, const repro_tile_epilogue *e, long channel) {
    repro_winograd_output6_impl(src, mStride, dst, rowStride, colStride, rows, cols, lanes, e, channel);
}

// ---- Direct convolution: 12 pixels × 16 channels ----
//
// ReproTensor's `Conv2dKernel.micro` with twice the pixels: one register per pixel holds its 16
// output channels, and every output is the same fused multiply-add chain from zero over
// (ky, kx, ic) as the 8-wide Swift kernel, followed by the same epilogue (same bits).
REPRO_AVX512 static void repro_direct_tile12_impl(const float *src, long pixelStep, long valid, const float *w,
                                                  long kh, long kxCount, long run, long rowStep, long colStep,
                                                  float *dst, long ldo, long lanes, const repro_tile_epilogue *e,
                                                  long channel) {
    const float *p[12];
    for (long j = 0; j < 12; j++) p[j] = src + (j < valid ? j : valid - 1) * pixelStep;
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    __m512 c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
    const float *wp = w;
    for (long ky = 0; ky < kh; ky++) {
        for (long kx = 0; kx < kxCount; kx++) {
            const long off = ky * rowStep + kx * colStep;
            const float *q0 = p[0] + off, *q1 = p[1] + off, *q2 = p[2] + off, *q3 = p[3] + off;
            const float *q4 = p[4] + off, *q5 = p[5] + off, *q6 = p[6] + off, *q7 = p[7] + off;
            const float *q8 = p[8] + off, *q9 = p[9] + off, *q10 = p[10] + off, *q11 = p[11] + off;
            for (long ic = 0; ic < run; ic++) {
                const __m512 wv = _mm512_loadu_ps(wp);
                c0 = _mm512_fmadd_ps(_mm512_set1_ps(q0[ic]), wv, c0);
                c1 = _mm512_fmadd_ps(_mm512_set1_ps(q1[ic]), wv, c1);
                c2 = _mm512_fmadd_ps(_mm512_set1_ps(q2[ic]), wv, c2);
                c3 = _mm512_fmadd_ps(_mm512_set1_ps(q3[ic]), wv, c3);
                c4 = _mm512_fmadd_ps(_mm512_set1_ps(q4[ic]), wv, c4);
                c5 = _mm512_fmadd_ps(_mm512_set1_ps(q5[ic]), wv, c5);
                c6 = _mm512_fmadd_ps(_mm512_set1_ps(q6[ic]), wv, c6);
                c7 = _mm512_fmadd_ps(_mm512_set1_ps(q7[ic]), wv, c7);
                c8 = _mm512_fmadd_ps(_mm512_set1_ps(q8[ic]), wv, c8);
                c9 = _mm512_fmadd_ps(_mm512_set1_ps(q9[ic]), wv, c9);
                c10 = _mm512_fmadd_ps(_mm512_set1_ps(q10[ic]), wv, c10);
                c11 = _mm512_fmadd_ps(_mm512_set1_ps(q11[ic]), wv, c11);
                wp += 16;
            }
        }
    }
    __m512 c[12] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11};
    const __mmask16 store = lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1);
    for (long j = 0; j < valid; j++) {
        _mm512_mask_storeu_ps(dst + j * ldo, store, repro_epilogue_columns(c[j], e, channel));
    }
}

void repro_direct_tile12(const float *src, long pixelStep, long valid, const float *w, long kh, long kxCount,
                         long run, long rowStep, long colStep, float *dst, long ldo, long lanes,
                         const repro_tile_epilogue *e, long channel) {
    repro_direct_tile12_impl(src, pixelStep, valid, w, kh, kxCount, run, rowStep, colStep, dst, ldo, lanes, e, channel);
}

// U = G g Gᵀ for 16 filters, one per lane, in double: W = G g, then U = W Gᵀ, each entry a sum
// from +0 of separately rounded products (multiply, then add: no FMA), left to right; each U
// rounded once to float. The operations of ReproTensor's `WinogradTransform.transformFilters16`
// in the same order per lane (same bits), 8 doubles per register.
REPRO_AVX512 static void repro_winograd_filters16_impl(const float *f, long filterStride, long lanes,
                                                       const double *g, long alpha, float *u, long stride) {
    float tf[9][16] __attribute__((aligned(64)));
    for (int k = 0; k < 9; k++) {
        for (int l = 0; l < 16; l++) tf[k][l] = l < lanes ? f[l * filterStride + k] : 0.0f;
    }
    __m512d taps[9][2];
    for (int k = 0; k < 9; k++) {
        taps[k][0] = _mm512_cvtps_pd(_mm256_load_ps(&tf[k][0]));
        taps[k][1] = _mm512_cvtps_pd(_mm256_load_ps(&tf[k][8]));
    }
    __m512d w[8][3][2];
    for (long i = 0; i < alpha; i++) {
        for (int l = 0; l < 3; l++) {
            for (int h = 0; h < 2; h++) {
                __m512d s = _mm512_setzero_pd();
                for (int k = 0; k < 3; k++) {
                    s = _mm512_add_pd(s, _mm512_mul_pd(_mm512_set1_pd(g[i * 3 + k]), taps[k * 3 + l][h]));
                }
                w[i][l][h] = s;
            }
        }
    }
    for (long i = 0; i < alpha; i++) {
        for (long j = 0; j < alpha; j++) {
            float *out = u + (i * alpha + j) * stride;
            for (int h = 0; h < 2; h++) {
                __m512d s = _mm512_setzero_pd();
                for (int l = 0; l < 3; l++) {
                    s = _mm512_add_pd(s, _mm512_mul_pd(w[i][l][h], _mm512_set1_pd(g[j * 3 + l])));
                }
                _mm256_storeu_ps(out + 8 * h, _mm512_cvtpd_ps(s));
            }
        }
    }
}

void repro_winograd_filters16(const float *f, long filterStride, long lanes, const double *g, long alpha,
                              float *u, long stride) {
    repro_winograd_filters16_impl(f, filterStride, lanes, g, alpha, u, stride);
}


#else

int repro_avx512_usable(void) { return 0; }

void repro_sgemm_avx512_tile(long rows, long depth, const float *a, long a_next, const float *b,
                             const float *src, long lds, float *dst, long ldd,
                             const repro_tile_epilogue *epilogue, long channel, const float *prefetch) {
    (void)rows; (void)depth; (void)a; (void)a_next; (void)b; (void)src; (void)lds;
    (void)dst; (void)ldd; (void)epilogue; (void)channel; (void)prefetch;
}

void repro_sgemm_avx512_tile_tree(long rows, long depth, const float *a, long a_next, const float *b,
                                  const float *src, const float *const *addends, long count, float *dst) {
    (void)rows; (void)depth; (void)a; (void)a_next; (void)b; (void)src; (void)addends; (void)count; (void)dst;
}


void repro_winograd_input_panel4(const float *const *src, long rowStep, long cp, float *dst, long xiStride) {
    (void)src; (void)rowStep; (void)cp; (void)dst; (void)xiStride;
}

void repro_winograd_output4(const float *src, long mStride, float *dst, long rowStride, long colStride,
                            long rows, long cols, long lanes, const repro_tile_epilogue *e, long channel) {
    (void)src; (void)mStride; (void)dst; (void)rowStride; (void)colStride; (void)rows; (void)cols; (void)lanes;
    (void)e; (void)channel;
}


void repro_winograd_input_panel6(const float *const *src, long rowStep, long cp, float *dst, long xiStride) {
    (void)src; (void)rowStep; (void)cp; (void)dst; (void)xiStride;
}

void repro_winograd_output6(const float *src, long mStride, float *dst, long rowStride, long colStride,
                            long rows, long cols, long lanes, const repro_tile_epilogue *e, long channel) {
    (void)src; (void)mStride; (void)dst; (void)rowStride; (void)colStride; (void)rows; (void)cols; (void)lanes;
    (void)e; (void)channel;
}

void repro_direct_tile12(const float *src, long pixelStep, long valid, const float *w, long kh, long kxCount,
                         long run, long rowStep, long colStep, float *dst, long ldo, long lanes,
                         const repro_tile_epilogue *e, long channel) {
    (void)src; (void)pixelStep; (void)valid; (void)w; (void)kh; (void)kxCount; (void)run; (void)rowStep;
    (void)colStep; (void)dst; (void)ldo; (void)lanes; (void)e; (void)channel;
}


void repro_winograd_filters16(const float *f, long filterStride, long lanes, const double *g, long alpha,
                              float *u, long stride) {
    (void)f; (void)filterStride; (void)lanes; (void)g; (void)alpha; (void)u; (void)stride;
}

#endif
