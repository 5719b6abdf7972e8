/* Dataset specs ("synthetic:c=1,n=64", "cifar10:DIR", ...): byte 0 picks
 * the split, the rest is the spec; at most 16 samples are made or read. */
#include <stdlib.h>

#include "dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char *spec = nnb_fuzz_string(data + 1, size - 1);
  nnb_dataset d;
  nnb_error e;
  if (nnb_dataset_open(spec, data[0] & 1, 16, &d, &e) == NNB_OK) nnb_dataset_free(&d);
  free(spec);
  return 0;
}
