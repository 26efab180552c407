// NH chunk sums for the `repro-nh-v1` trace digest (see ReproTraceAccel.h).
// The vector paths use per-function target attributes (no package-wide ISA
// flags) and are chosen at run time from the CPU's features.
#include "ReproTraceAccel.h"

#define NH_WORDS (REPRO_NH_CHUNK_BYTES / 4)

static inline uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void nh_portable(const uint8_t *p, const uint32_t *k0, const uint32_t *k1, uint64_t out[2]) {
    uint64_t h0 = 0, h1 = 0;
    for (int j = 0; j < NH_WORDS; j += 2) {
        const uint32_t a = load_le32(p + 4 * j), b = load_le32(p + 4 * j + 4);
        h0 += (uint64_t)(uint32_t)(a + k0[j]) * (uint32_t)(b + k0[j + 1]);
        h1 += (uint64_t)(uint32_t)(a + k1[j]) * (uint32_t)(b + k1[j + 1]);
    }
    out[0] = h0;
    out[1] = h1;
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

// Each 64-bit lane holds a word pair (even word low, odd word high) after the
// 32-bit key addition; _mm*_mul_epu32 of x and x >> 32 is their 64-bit product.
__attribute__((target("avx2")))
static void nh_avx2(const uint8_t *p, const uint32_t *k0, const uint32_t *k1, uint64_t out[2]) {
    __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
    for (int j = 0; j < NH_WORDS; j += 8) {
        const __m256i w = _mm256_loadu_si256((const __m256i *)(p + 4 * j));
        const __m256i x0 = _mm256_add_epi32(w, _mm256_loadu_si256((const __m256i *)(k0 + j)));
        const __m256i x1 = _mm256_add_epi32(w, _mm256_loadu_si256((const __m256i *)(k1 + j)));
        s0 = _mm256_add_epi64(s0, _mm256_mul_epu32(x0, _mm256_srli_epi64(x0, 32)));
        s1 = _mm256_add_epi64(s1, _mm256_mul_epu32(x1, _mm256_srli_epi64(x1, 32)));
    }
    uint64_t l0[4], l1[4];
    _mm256_storeu_si256((__m256i *)l0, s0);
    _mm256_storeu_si256((__m256i *)l1, s1);
    out[0] = l0[0] + l0[1] + l0[2] + l0[3];
    out[1] = l1[0] + l1[1] + l1[2] + l1[3];
}

__attribute__((target("avx512f")))
static void nh_avx512(const uint8_t *p, const uint32_t *k0, const uint32_t *k1, uint64_t out[2]) {
    __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
    for (int j = 0; j < NH_WORDS; j += 16) {
        const __m512i w = _mm512_loadu_si512((const void *)(p + 4 * j));
        const __m512i x0 = _mm512_add_epi32(w, _mm512_loadu_si512((const void *)(k0 + j)));
        const __m512i x1 = _mm512_add_epi32(w, _mm512_loadu_si512((const void *)(k1 + j)));
        s0 = _mm512_add_epi64(s0, _mm512_mul_epu32(x0, _mm512_srli_epi64(x0, 32)));
        s1 = _mm512_add_epi64(s1, _mm512_mul_epu32(x1, _mm512_srli_epi64(x1, 32)));
    }
    uint64_t l0[8], l1[8];
    _mm512_storeu_si512((void *)l0, s0);
    _mm512_storeu_si512((void *)l1, s1);
    uint64_t h0 = 0, h1 = 0;
    for (int i = 0; i < 8; i++) {
        h0 += l0[i];
        h1 += l1[i];
    }
    out[0] = h0;
    out[1] = h1;
}

typedef void (*nh_fn)(const uint8_t *, const uint32_t *, const uint32_t *, uint64_t *);

static nh_fn nh_select(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return nh_avx512;
    if (__builtin_cpu_supports("avx2")) return nh_avx2;
    return nh_portable;
}
#endif

void repro_nh_chunks(const uint8_t *data, size_t chunks, const uint32_t *key0, const uint32_t *key1,
                     uint64_t *out) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    static nh_fn fn = 0;  // a benign race: every thread computes the same pointer
    nh_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        f = nh_select();
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
#else
    void (*f)(const uint8_t *, const uint32_t *, const uint32_t *, uint64_t *) = nh_portable;
#endif
    for (size_t c = 0; c < chunks; c++) f(data + c * REPRO_NH_CHUNK_BYTES, key0, key1, out + 2 * c);
}

void repro_nh_chunks_portable(const uint8_t *data, size_t chunks, const uint32_t *key0, const uint32_t *key1,
                              uint64_t *out) {
    for (size_t c = 0; c < chunks; c++) nh_portable(data + c * REPRO_NH_CHUNK_BYTES, key0, key1, out + 2 * c);
}
