// Replays the SHA-256 work of a digest-only trace, in thread CPU time (robust on a loaded machine).
// Built and run by bench/trace_hash_replay.py, which passes a file of "bytes repeat" lines (one per
// trace entry; repeat = 1 when the entry is the previous entry's output) made from a trace JSON.
// Prints the throughput of one message vs two interleaved messages (repro_sha256_compress2_accelerated),
// then the hashing of the trace before (every entry, one message at a time, on one thread) and now
// (repeats skipped, 192 MiB batches, largest first onto 2 threads, pairs per thread; each thread's
// share timed on its own, the critical path being the larger share of each batch).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "ReproDigestAccel.h"

static double cpu(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static uint8_t *buf;
static const size_t cap = 64u << 20;  // messages reread this buffer (SHA-256 runs far below memory speed)

static void one(size_t n) {
    uint32_t s[8] = {0};
    for (size_t left = n / 64; left;) { size_t k = left < cap / 64 ? left : cap / 64; repro_sha256_compress_accelerated(s, buf, k); left -= k; }
}

static void two(size_t a, size_t b) {
    uint32_t s[8] = {0}, t[8] = {0};
    size_t ba = a / 64, bb = b / 64, common = ba < bb ? ba : bb;
    for (size_t left = common; left;) { size_t k = left < cap / 128 ? left : cap / 128; repro_sha256_compress2_accelerated(s, buf, t, buf + cap / 2, k); left -= k; }
    for (size_t rest = (ba > bb ? ba : bb) - common; rest;) { size_t k = rest < cap / 64 ? rest : cap / 64; repro_sha256_compress_accelerated(s, buf, k); rest -= k; }
}

static int descending(const void *x, const void *y) { size_t a = *(const size_t *)x, b = *(const size_t *)y; return a < b ? 1 : a > b ? -1 : 0; }

int main(int argc, char **argv) {
    if (argc < 2 || !repro_sha256_accelerated_available()) { fprintf(stderr, "usage: trace_hash_replay SIZES (needs SHA-NI)\n"); return 2; }
    buf = aligned_alloc(64, cap);
    for (size_t i = 0; i < cap; i++) buf[i] = (uint8_t)(i * 2654435761u >> 11);
    double t0 = cpu(); one(cap); one(cap); double t1 = cpu(); two(cap, cap); double t2 = cpu();
    printf("throughput: one message %.2f GB/s, two interleaved %.2f GB/s (CPU time, 2 x 64 MiB)\n", 2 * cap / (t1 - t0) / 1e9, 2 * cap / (t2 - t1) / 1e9);
    static size_t size[100000], batch[100000], bins[2][100000]; static int repeat[100000];
    int n = 0; FILE *f = fopen(argv[1], "r");
    if (!f) return 2;
    while (n < 100000 && fscanf(f, "%zu %d", &size[n], &repeat[n]) == 2) n++;
    fclose(f);
    double s = cpu(); for (int i = 0; i < n; i++) one(size[i]); double before = cpu() - s;
    double total = 0, path = 0; int m = 0; size_t bytes = 0;
    for (int i = 0; i <= n; i++) {
        if (i < n && !repeat[i]) { batch[m++] = size[i]; bytes += size[i]; }
        if (bytes >= (192u << 20) || (i == n && m > 0)) {
            qsort(batch, m, sizeof(size_t), descending);
            int count[2] = {0, 0}; size_t load[2] = {0, 0};
            for (int k = 0; k < m; k++) { int b = load[1] < load[0]; bins[b][count[b]++] = batch[k]; load[b] += batch[k]; }
            double worst = 0;
            for (int b = 0; b < 2; b++) {
                double u = cpu();
                for (int k = 0; k < count[b]; k += 2) { if (k + 1 < count[b]) two(bins[b][k], bins[b][k + 1]); else one(bins[b][k]); }
                double e = cpu() - u; total += e; if (e > worst) worst = e;
            }
            path += worst; m = 0; bytes = 0;
        }
    }
    printf("before: %.3f s CPU, all on the critical path; now: %.3f s CPU, %.3f s on the critical path (2 threads)\n", before, total, path);
    return 0;
}
