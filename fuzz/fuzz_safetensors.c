/* safetensors: nnb_st_read on the input as a file, then every tensor found
 * and copied as a checkpoint load does. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nnb_safetensors st;
  nnb_error e;
  if (nnb_st_read(nnb_fuzz_write("w.safetensors", data, size), &st, &e) != NNB_OK) return 0;
  for (int i = 0; i < st.n; i++) {
    const nnb_st_tensor *t = nnb_st_find(&st, st.tensors[i].name);
    if (!t || t->end - t->begin > 1u << 24) continue;
    float *dst = malloc(t->end - t->begin + 1);
    if (dst) nnb_st_copy(&st, t, dst);
    free(dst);
  }
  nnb_st_free(&st);
  return 0;
}
