/* Suite files: nnb_suite_load on the input, as `nnbench run` reads one. */
#include "fuzz_util.h"
#include "suite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nnb_suite s;
  nnb_error e;
  if (nnb_suite_load(nnb_fuzz_write("s.ini", data, size), &s, &e) == NNB_OK) nnb_suite_free(&s);
  return 0;
}
