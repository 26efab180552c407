// The chunk function of the `repro-nh-v1` trace digest (ReproNN's `TraceDigest`):
// two NH sums (UMAC's NH, a universal hash) over one 4096-byte chunk. Written in
// C so that it vectorises in every build configuration; the AVX-512, AVX2 and
// portable paths add the same 64-bit products modulo 2^64, so they give identical
// results (integer addition is associative: no order or thread dependence).
#ifndef REPRO_TRACE_ACCEL_H
#define REPRO_TRACE_ACCEL_H

#include <stddef.h>
#include <stdint.h>

/// The number of bytes in one chunk (1024 little-endian 32-bit words).
#define REPRO_NH_CHUNK_BYTES 4096

/// For each of `chunks` consecutive 4096-byte chunks at `data` (any alignment),
/// writes two 64-bit NH sums to `out[2c]`, `out[2c+1]`:
/// `sum over j < 512 of ((w[2j] + key[2j]) mod 2^32) * ((w[2j+1] + key[2j+1]) mod 2^32) mod 2^64`,
/// with `w` the chunk's little-endian 32-bit words, `key = key0` for the first
/// sum and `key1` for the second (each 1024 words).
void repro_nh_chunks(const uint8_t *data, size_t chunks, const uint32_t *key0, const uint32_t *key1,
                     uint64_t *out);

/// The same sums by the portable scalar path only (tests compare it with the
/// vector path `repro_nh_chunks` picks on this CPU).
void repro_nh_chunks_portable(const uint8_t *data, size_t chunks, const uint32_t *key0, const uint32_t *key1,
                              uint64_t *out);

#endif
