#include "ReproBuildInfo.h"

#ifndef REPRO_GIT_COMMIT
#define REPRO_GIT_COMMIT "unknown"
#endif
#ifndef REPRO_GIT_DIRTY
#define REPRO_GIT_DIRTY -1
#endif

const char *repro_build_commit(void) { return REPRO_GIT_COMMIT; }

int repro_build_tree_state(void) { return REPRO_GIT_DIRTY; }
