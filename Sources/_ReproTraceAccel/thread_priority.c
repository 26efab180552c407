// The scheduling class of ReproNN's trace recorder's background hashing thread
// (see ReproTraceAccel.h). Scheduling changes when a digest is computed, never
// its value.
#define _GNU_SOURCE
#include "ReproTraceAccel.h"

#if defined(__linux__)
#include <sched.h>

int repro_trace_enter_idle_priority(void) {
    struct sched_param param = { .sched_priority = 0 };
    // pid 0: the calling thread (Linux schedules threads one by one).
    return sched_setscheduler(0, SCHED_IDLE, &param) == 0 ? 1 : 0;
}
#else
int repro_trace_enter_idle_priority(void) { return 0; }
#endif
