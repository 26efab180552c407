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

/// Compresses `blocks` consecutive 64-byte blocks at `data` into the eight
/// chaining words `state` (a, b, …, h, host order). Call only when
/// `repro_sha256_accelerated_available()` returned 1; elsewhere it does nothing.
void repro_sha256_compress_accelerated(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
