#include "buildinfo.h"

const char *nnb_version(void) { return NNB_VERSION; }
const char *nnb_build_type(void) { return NNB_BUILD_TYPE; }
const char *nnb_compiler(void) { return NNB_COMPILER; }
int nnb_sanitized(void) { return NNB_SANITIZED; }
