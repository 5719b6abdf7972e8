/* CIFAR-10, binary version: records of 1 label byte and 3072 bytes (CHW 32x32). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"

#define RECORD 3073
#define PER_FILE 10000

nnb_status nnb_dataset_load_cifar10(const char *dir, int split, int64_t limit, nnb_dataset *d,
                                    nnb_error *e) {
  memset(d, 0, sizeof *d);
  int files = split ? 1 : 5;
  int64_t cap = (int64_t)files * PER_FILE;
  if (limit > 0 && limit < cap) cap = limit;
  d->images = malloc((size_t)(cap * 3072) * sizeof *d->images);
  d->labels = malloc((size_t)cap * sizeof *d->labels);
  unsigned char *rec = malloc(RECORD);
  nnb_status st =
      d->images && d->labels && rec ? NNB_OK : nnb_fail(e, NNB_ERR_NOMEM, "cifar10: out of memory");
  uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
  int64_t n = 0;
  size_t at = (size_t)snprintf(d->source, sizeof d->source, "%s/", dir);
  for (int f = 0; st == NNB_OK && f < files && n < cap; f++) {
    char path[1024];
    if (split)
      snprintf(path, sizeof path, "%s/test_batch.bin", dir);
    else
      snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, f + 1);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
      st = nnb_fail(e, NNB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
      break;
    }
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (size <= 0 || size % RECORD) {
      st = nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: %ld bytes is not a whole number of %d-byte records (1 label + 3x32x32)",
                    path, size, RECORD);
    }
    for (long r = 0; st == NNB_OK && r < size / RECORD && n < cap; r++, n++) {
      if (fread(rec, 1, RECORD, fp) != RECORD) {
        st = nnb_fail(e, NNB_ERR_FORMAT, "%s: truncated at record %ld", path, r);
        break;
      }
      if (rec[0] > 9)
        st = nnb_fail(e, NNB_ERR_FORMAT, "%s: record %ld has label %u, expected 0..9", path, r,
                      rec[0]);
      crc = (uint32_t)crc32(crc, rec, RECORD);
      d->labels[n] = rec[0];
      for (int i = 0; i < 3072; i++) d->images[n * 3072 + i] = (float)rec[1 + i] / 255.0f;
    }
    fclose(fp);
    if (at < sizeof d->source)
      at += (size_t)snprintf(d->source + at, sizeof d->source - at, "%s%s", f ? "," : "",
                             strrchr(path, '/') + 1);
  }
  free(rec);
  if (st != NNB_OK) {
    nnb_dataset_free(d);
    return st;
  }
  d->n = n, d->c = 3, d->h = 32, d->w = 32, d->classes = 10, d->checksum = crc;
  snprintf(d->name, sizeof d->name, "cifar10");
  return NNB_OK;
}
