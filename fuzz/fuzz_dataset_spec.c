/* Dataset specs ("synthetic:c=1,n=64", "cifar10:DIR", ...): byte 0 picks
 * the split, the rest is the spec; at most 16 samples are made or read. */
#include <stdlib.h>

#include "dataset.h"
#include "fuzz_util.h"

/* The specs are what is fuzzed, not making a gigabyte of random floats: an
 * allocation over 64 MB fails (the reader then reports "out of memory"), so
 * a spec of huge samples is quick. Without it, synthetic:c=11024 (138 million
 * floats for 16 samples) took 8 s of CPU and timed out. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "allocator_may_return_null=1:max_allocation_size_mb=64";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  char *spec = nnb_fuzz_string(data + 1, size - 1);
  nnb_dataset d;
  nnb_error e;
  if (nnb_dataset_open(spec, data[0] & 1, 16, &d, &e) == NNB_OK) nnb_dataset_free(&d);
  free(spec);
  return 0;
}
