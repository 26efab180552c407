// AVX-512 GEMM tiles for ReproTensor, written for Repro (see the header for the
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

#endif
