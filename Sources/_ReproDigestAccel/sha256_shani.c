// SHA-256 (FIPS 180-4) compression on the x86 SHA extensions, written for
// Repro from Intel's description of the instructions (SHA256RNDS2 performs two
// rounds on the state split as {A,B,E,F} / {C,D,G,H}; SHA256MSG1/MSG2 compute
// the σ0 and σ1 parts of the message schedule four words at a time).
// Compiled with per-function target attributes, so the package needs no
// unsafe compiler flags; the caller checks the CPU first.
#include "ReproDigestAccel.h"

#include <stdlib.h>
#include <string.h>

int repro_sha256_software_requested(void) {
    const char *v = getenv("REPRO_SHA");
    return v != NULL && (strcmp(v, "software") == 0 || strcmp(v, "portable") == 0);
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>

int repro_sha256_accelerated_available(void) {
    unsigned int a, b, c, d;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int ssse3 = (c >> 9) & 1, sse41 = (c >> 19) & 1;
    __cpuid_count(7, 0, a, b, c, d);
    const int sha = (b >> 29) & 1;
    return ssse3 && sse41 && sha;
}

static const uint32_t round_constants[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define REPRO_SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

// Four rounds 4g … 4g+3: two SHA256RNDS2 steps on W + K. `abef` / `cdgh`
// hold the working variables with lane 3 = A (resp. C), lane 0 = F (resp. H).
#define FOUR_ROUNDS(w, g)                                                              \
    do {                                                                               \
        __m128i wk = _mm_add_epi32((w), _mm_load_si128((const __m128i *)&round_constants[4 * (g)])); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);                                  \
        wk = _mm_shuffle_epi32(wk, 0x0E);                                              \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, wk);                                  \
    } while (0)

// Next four schedule words from the previous sixteen (w0 oldest … w3 newest):
// W[t] = σ1(W[t−2]) + W[t−7] + σ0(W[t−15]) + W[t−16].
#define NEXT_WORDS(w0, w1, w2, w3) \
    _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)), _mm_alignr_epi8((w3), (w2), 4)), (w3))

REPRO_SHA_TARGET
void repro_sha256_compress_accelerated(uint32_t state[8], const uint8_t *data, size_t blocks) {
    // Big-endian message words: reverse the bytes of each 32-bit lane.
    const __m128i byteswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    // State words (A,B,C,D) and (E,F,G,H) → {A,B,E,F} and {C,D,G,H} lane order.
    __m128i dcba = _mm_loadu_si128((const __m128i *)&state[0]);
    __m128i hgfe = _mm_loadu_si128((const __m128i *)&state[4]);
    __m128i badc = _mm_shuffle_epi32(dcba, 0xB1);   // lanes B,A,D,C
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);   // lanes H,G,F,E
    __m128i abef = _mm_alignr_epi8(badc, efgh, 8);  // lanes F,E,B,A
    __m128i cdgh = _mm_blend_epi16(efgh, badc, 0xF0); // lanes H,G,D,C

    for (size_t n = 0; n < blocks; n++, data += 64) {
        const __m128i abef_in = abef, cdgh_in = cdgh;
        __m128i w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), byteswap);
        __m128i w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), byteswap);
        __m128i w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), byteswap);
        __m128i w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), byteswap);
        FOUR_ROUNDS(w0, 0);
        FOUR_ROUNDS(w1, 1);
        FOUR_ROUNDS(w2, 2);
        FOUR_ROUNDS(w3, 3);
        for (int g = 4; g < 16; g += 4) {
            w0 = NEXT_WORDS(w0, w1, w2, w3); FOUR_ROUNDS(w0, g);
            w1 = NEXT_WORDS(w1, w2, w3, w0); FOUR_ROUNDS(w1, g + 1);
            w2 = NEXT_WORDS(w2, w3, w0, w1); FOUR_ROUNDS(w2, g + 2);
            w3 = NEXT_WORDS(w3, w0, w1, w2); FOUR_ROUNDS(w3, g + 3);
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }

    // Back to (A,B,C,D) and (E,F,G,H).
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);   // lanes A,B,E,F
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);   // lanes G,H,C,D
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));
}

// Two independent messages, block by block, their rounds interleaved: SHA256RNDS2 has a latency of
// several cycles and each message's rounds form one dependency chain, so a second chain fills the
// gaps (about 1.6–1.7× the throughput of one message on AMD Zen 4). Each state gets exactly the
// compression `repro_sha256_compress_accelerated` would give it.
#define LOAD_STATE(s, abef, cdgh)                                                      \
    do {                                                                               \
        __m128i dcba_ = _mm_loadu_si128((const __m128i *)&(s)[0]);                     \
        __m128i hgfe_ = _mm_loadu_si128((const __m128i *)&(s)[4]);                     \
        __m128i badc_ = _mm_shuffle_epi32(dcba_, 0xB1);                                \
        __m128i efgh_ = _mm_shuffle_epi32(hgfe_, 0x1B);                                \
        abef = _mm_alignr_epi8(badc_, efgh_, 8);                                       \
        cdgh = _mm_blend_epi16(efgh_, badc_, 0xF0);                                    \
    } while (0)
#define STORE_STATE(s, abef, cdgh)                                                     \
    do {                                                                               \
        __m128i feba_ = _mm_shuffle_epi32(abef, 0x1B);                                 \
        __m128i dchg_ = _mm_shuffle_epi32(cdgh, 0xB1);                                 \
        _mm_storeu_si128((__m128i *)&(s)[0], _mm_blend_epi16(feba_, dchg_, 0xF0));     \
        _mm_storeu_si128((__m128i *)&(s)[4], _mm_alignr_epi8(dchg_, feba_, 8));        \
    } while (0)
#define FOUR_ROUNDS_2(wa, wb, g)                                                       \
    do {                                                                               \
        const __m128i k_ = _mm_load_si128((const __m128i *)&round_constants[4 * (g)]); \
        __m128i wka_ = _mm_add_epi32((wa), k_), wkb_ = _mm_add_epi32((wb), k_);        \
        cdgh_a = _mm_sha256rnds2_epu32(cdgh_a, abef_a, wka_);                          \
        cdgh_b = _mm_sha256rnds2_epu32(cdgh_b, abef_b, wkb_);                          \
        wka_ = _mm_shuffle_epi32(wka_, 0x0E);                                          \
        wkb_ = _mm_shuffle_epi32(wkb_, 0x0E);                                          \
        abef_a = _mm_sha256rnds2_epu32(abef_a, cdgh_a, wka_);                          \
        abef_b = _mm_sha256rnds2_epu32(abef_b, cdgh_b, wkb_);                          \
    } while (0)

REPRO_SHA_TARGET
void repro_sha256_compress2_accelerated(uint32_t state_a[8], const uint8_t *data_a,
                                        uint32_t state_b[8], const uint8_t *data_b, size_t blocks) {
    const __m128i byteswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
    __m128i abef_a, cdgh_a, abef_b, cdgh_b;
    LOAD_STATE(state_a, abef_a, cdgh_a);
    LOAD_STATE(state_b, abef_b, cdgh_b);
    for (size_t n = 0; n < blocks; n++, data_a += 64, data_b += 64) {
        const __m128i abef_a_in = abef_a, cdgh_a_in = cdgh_a, abef_b_in = abef_b, cdgh_b_in = cdgh_b;
        __m128i a0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_a + 0)), byteswap);
        __m128i a1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_a + 16)), byteswap);
        __m128i a2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_a + 32)), byteswap);
        __m128i a3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_a + 48)), byteswap);
        __m128i b0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_b + 0)), byteswap);
        __m128i b1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_b + 16)), byteswap);
        __m128i b2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_b + 32)), byteswap);
        __m128i b3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data_b + 48)), byteswap);
        FOUR_ROUNDS_2(a0, b0, 0);
        FOUR_ROUNDS_2(a1, b1, 1);
        FOUR_ROUNDS_2(a2, b2, 2);
        FOUR_ROUNDS_2(a3, b3, 3);
        for (int g = 4; g < 16; g += 4) {
            a0 = NEXT_WORDS(a0, a1, a2, a3); b0 = NEXT_WORDS(b0, b1, b2, b3); FOUR_ROUNDS_2(a0, b0, g);
            a1 = NEXT_WORDS(a1, a2, a3, a0); b1 = NEXT_WORDS(b1, b2, b3, b0); FOUR_ROUNDS_2(a1, b1, g + 1);
            a2 = NEXT_WORDS(a2, a3, a0, a1); b2 = NEXT_WORDS(b2, b3, b0, b1); FOUR_ROUNDS_2(a2, b2, g + 2);
            a3 = NEXT_WORDS(a3, a0, a1, a2); b3 = NEXT_WORDS(b3, b0, b1, b2); FOUR_ROUNDS_2(a3, b3, g + 3);
        }
        abef_a = _mm_add_epi32(abef_a, abef_a_in);
        cdgh_a = _mm_add_epi32(cdgh_a, cdgh_a_in);
        abef_b = _mm_add_epi32(abef_b, abef_b_in);
        cdgh_b = _mm_add_epi32(cdgh_b, cdgh_b_in);
    }
    STORE_STATE(state_a, abef_a, cdgh_a);
    STORE_STATE(state_b, abef_b, cdgh_b);
}

#else

int repro_sha256_accelerated_available(void) { return 0; }

void repro_sha256_compress_accelerated(uint32_t state[8], const uint8_t *data, size_t blocks) {
    (void)state; (void)data; (void)blocks;
}

void repro_sha256_compress2_accelerated(uint32_t state_a[8], const uint8_t *data_a,
                                        uint32_t state_b[8], const uint8_t *data_b, size_t blocks) {
    (void)state_a; (void)data_a; (void)state_b; (void)data_b; (void)blocks;
}

#endif
