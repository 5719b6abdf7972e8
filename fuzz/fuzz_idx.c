/* IDX images and labels, raw or gzip: the input is
 *   byte 0: bit 0 gzip the images, bit 1 gzip the labels, bit 2 name the
 *           raw bytes .gz (gzip's reader then sees whatever they are);
 *   byte 1: the sample limit (0: all);
 *   bytes 2-3: the images file's length, little-endian;
 * then the images file and the labels file. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"
#include "fuzz_util.h"

static const char *put(const char *name, const uint8_t *data, size_t size, int gzip, int gz_name) {
  char file[64];
  snprintf(file, sizeof file, "%s%s", name, gzip || gz_name ? ".gz" : "");
  const char *path = nnb_fuzz_write(file, gzip ? NULL : data, gzip ? 0 : size);
  if (gzip) {
    gzFile g = gzopen(path, "wb");
    if (!g) abort();
    if (size) gzwrite(g, data, (unsigned)size);
    gzclose(g);
  }
  return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4) return 0;
  int flags = data[0], limit = data[1];
  size_t ilen = (size_t)data[2] | (size_t)data[3] << 8;
  data += 4, size -= 4;
  if (ilen > size) ilen = size;
  char ipath[256], lpath[256];
  snprintf(ipath, sizeof ipath, "%s", put("images", data, ilen, flags & 1, flags & 4));
  snprintf(lpath, sizeof lpath, "%s",
           put("labels", data + ilen, size - ilen, flags & 2, flags & 4));
  nnb_dataset d;
  nnb_error e;
  if (nnb_dataset_load_idx(ipath, lpath, limit, &d, &e) == NNB_OK) nnb_dataset_free(&d);
  return 0;
}
