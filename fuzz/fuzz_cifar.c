/* CIFAR-10 binary batches: byte 0 is the sample limit (0: all), the rest is
 * test_batch.bin of a folder read as cifar10:DIR's test split. */
#include "dataset.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  nnb_fuzz_write("test_batch.bin", data + 1, size - 1);
  nnb_dataset d;
  nnb_error e;
  if (nnb_dataset_load_cifar10(nnb_fuzz_dir(), 1, data[0], &d, &e) == NNB_OK) nnb_dataset_free(&d);
  return 0;
}
