// Cache hints for ReproTensor's kernels (Swift has no prefetch instruction).
// A prefetch changes no value: it only asks the CPU to start loading a cache
// line early. Inline, so the Swift optimiser folds it into the calling loop.
#ifndef REPRO_KERNEL_HINTS_H
#define REPRO_KERNEL_HINTS_H

#include "ReproFloatingPoint.h"

/// Asks for the cache line holding `address` to be loaded into all cache levels (for reading).
static inline __attribute__((always_inline)) void repro_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Asks for the cache line holding `address` to be loaded for writing.
static inline __attribute__((always_inline)) void repro_prefetch_write(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
