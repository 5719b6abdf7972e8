/* The data-parallel benchmark in a build without MPI: it says why. */
#include <stdio.h>

#include "dist.h"

#define WHY                                                                                        \
  "this nnbench was built without MPI (NNB_MPI=OFF, or Open MPI's libopenmpi-dev was not found "   \
  "when it was configured); install openmpi-bin and libopenmpi-dev and configure with "            \
  "-DNNB_MPI=ON"

int nnb_dist_available(char *why, size_t len) {
  snprintf(why, len, "%s", WHY);
  return 0;
}

nnb_status nnb_dist_bench(const nnb_dist_config *c, char *out_dir_used, size_t len, int *rank,
                          nnb_error *e) {
  (void)c;
  (void)out_dir_used;
  (void)len;
  *rank = 0;
  return nnb_fail(e, NNB_ERR_UNSUPPORTED, "--ranks: %s", WHY);
}
