// Reading and writing the floating-point control register of the calling thread (MXCSR on
// x86-64, FPCR on arm64): rounding mode, flush-to-zero, denormals-are-zero. ReproTensor's
// kernels assume IEEE defaults; `FloatingPointEnvironment` uses these to check and restore them.
#ifndef REPRO_FLOATING_POINT_H
#define REPRO_FLOATING_POINT_H

#include <stdint.h>

/// The control register of the calling thread (MXCSR with its status bits, or the low 32 bits of FPCR); 0 elsewhere.
static inline __attribute__((always_inline)) uint32_t repro_fp_control_read(void) {
#if defined(__x86_64__) || defined(__i386__)
    uint32_t csr;
    __asm__ __volatile__("stmxcsr %0" : "=m"(csr));
    return csr;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    return (uint32_t)fpcr;
#else
    return 0;
#endif
}

/// Writes the control register of the calling thread (no effect on other architectures).
static inline __attribute__((always_inline)) void repro_fp_control_write(uint32_t value) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("ldmxcsr %0" : : "m"(value));
#elif defined(__aarch64__)
    uint64_t v = value;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(v));
#else
    (void)value;
#endif
}

#endif
