/* Model specs ("transformer:d=256,layers=4"): nnb_model_parse, and the
 * canonical form it gives parsed again to the same spec. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = nnb_fuzz_string(data, size);
  nnb_model_spec a, b;
  nnb_error e;
  if (nnb_model_parse(text, &a, &e) == NNB_OK) {
    if (nnb_model_parse(a.text, &b, &e) != NNB_OK || strcmp(a.text, b.text)) abort();
  }
  free(text);
  return 0;
}
