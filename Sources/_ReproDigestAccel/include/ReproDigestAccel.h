// SHA-256 compression with the x86 SHA extensions (SHA-NI), selected at run
// time by `_ReproDigest`. On other architectures, or on x86-64 CPUs without
// the extensions, `repro_sha256_accelerated_available` returns 0 and the
// portable Swift compression is used; both give identical digests.
#ifndef REPRO_DIGEST_ACCEL_H
#define REPRO_DIGEST_ACCEL_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has SHA-NI, SSSE3 and SSE4.1 (x86-64 only), otherwise 0.
int repro_sha256_accelerated_available(void);

/// 1 when the environment asks for the portable compression
/// (`REPRO_SHA=software` or `REPRO_SHA=portable`), otherwise 0.
int repro_sha256_software_requested(void);

/// Compresses `blocks` consecutive 64-byte blocks at `data` into the eight
/// chaining words `state` (a, b, …, h, host order). Call only when
/// `repro_sha256_accelerated_available()` returned 1; elsewhere it does nothing.
void repro_sha256_compress_accelerated(uint32_t state[8], const uint8_t *data, size_t blocks);

/// Compresses `blocks` 64-byte blocks of two independent messages at once,
/// `data_a` into `state_a` and `data_b` into `state_b` (each exactly as
/// `repro_sha256_compress_accelerated` would). Same precondition.
void repro_sha256_compress2_accelerated(uint32_t state_a[8], const uint8_t *data_a,
                                        uint32_t state_b[8], const uint8_t *data_b, size_t blocks);

#endif
