// The hints are inline functions in include/ReproKernelHints.h; this file only
// gives the C target a translation unit.
#include "ReproKernelHints.h"
