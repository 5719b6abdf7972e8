/* CIFAR-10, binary version: records of 1 label byte and 3072 bytes (CHW 32x32).
 * Every file is checked (a regular file, a whole number of records) before
 * anything is read, so the output is sized exactly and a bad last file fails
 * at once; every error names the file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "dataset.h"
#include "fmt.h"

#define RECORD 3073
#define MAX_FILES 5

static nnb_status batch_path(const char *dir, int split, int f, char *buf, size_t len,
                             nnb_error *e) {
  if (split) return nnb_format(buf, len, e, "a CIFAR-10 file's path", "%s/test_batch.bin", dir);
  return nnb_format(buf, len, e, "a CIFAR-10 file's path", "%s/data_batch_%d.bin", dir, f + 1);
}

/* The number of records in `path`, or an error. */
static nnb_status count_records(const char *path, int64_t *records, nnb_error *e) {
  struct stat sb;
  if (stat(path, &sb)) return nnb_fail(e, NNB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  if (!S_ISREG(sb.st_mode))
    return nnb_fail(e, NNB_ERR_IO, "%s: not a regular file, expected a CIFAR-10 batch", path);
  if (sb.st_size == 0 || sb.st_size % RECORD)
    return nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: %lld bytes is not a whole, non-zero number of %d-byte records "
                    "(1 label byte + 3x32x32 pixels): truncated or not CIFAR-10's binary version",
                    path, (long long)sb.st_size, RECORD);
  *records = sb.st_size / RECORD;
  return NNB_OK;
}

/* Reads `count` records of `path` into d from sample `at` on. */
static nnb_status read_records(const char *path, int64_t count, int64_t at, nnb_dataset *d,
                               uint32_t *crc, nnb_error *e) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return nnb_fail(e, NNB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  unsigned char rec[RECORD];
  nnb_status st = NNB_OK;
  for (int64_t r = 0; st == NNB_OK && r < count; r++) {
    if (fread(rec, 1, RECORD, fp) != RECORD)
      st = nnb_fail(e, NNB_ERR_IO, "%s: read error at record %lld: %s", path, (long long)r,
                    ferror(fp) ? strerror(errno) : "the file shrank while being read");
    else if (rec[0] > 9)
      st = nnb_fail(e, NNB_ERR_FORMAT, "%s: record %lld has label %u, expected 0..9 (10 classes)",
                    path, (long long)r, rec[0]);
    if (st != NNB_OK) break;
    *crc = (uint32_t)crc32(*crc, rec, RECORD);
    d->labels[at + r] = rec[0];
    float *dst = d->images + (at + r) * 3072;
    for (int i = 0; i < 3072; i++) dst[i] = (float)rec[1 + i] / 255.0f;
  }
  fclose(fp);
  return st;
}

nnb_status nnb_dataset_load_cifar10(const char *dir, int split, int64_t limit, nnb_dataset *d,
                                    nnb_error *e) {
  memset(d, 0, sizeof *d);
  int files = split ? 1 : MAX_FILES;
  char path[MAX_FILES][1024];
  int64_t records[MAX_FILES] = {0}, total = 0;
  nnb_status st = NNB_OK;
  /* Only the files the limit reaches into are needed. */
  for (int f = 0; st == NNB_OK && f < files && (limit <= 0 || total < limit); f++) {
    st = batch_path(dir, split, f, path[f], sizeof path[f], e);
    if (st == NNB_OK) st = count_records(path[f], &records[f], e);
    total += records[f];
  }
  if (st != NNB_OK) return st;
  int64_t n = limit > 0 && limit < total ? limit : total;
  d->images = malloc((size_t)(n * 3072) * sizeof *d->images);
  d->labels = malloc((size_t)n * sizeof *d->labels);
  if (!d->images || !d->labels) {
    nnb_dataset_free(d);
    return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory for %lld CIFAR-10 images", dir,
                    (long long)n);
  }
  uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
  size_t at = (size_t)snprintf(d->source, sizeof d->source, "%s/", dir);
  int64_t i = 0;
  for (int f = 0; st == NNB_OK && i < n; f++) {
    int64_t take = n - i < records[f] ? n - i : records[f];
    st = read_records(path[f], take, i, d, &crc, e);
    i += take;
    if (at < sizeof d->source)
      at += (size_t)snprintf(d->source + at, sizeof d->source - at, "%s%s", f ? "," : "",
                             strrchr(path[f], '/') + 1);
  }
  if (st == NNB_OK && at >= sizeof d->source)
    st = nnb_fail(e, NNB_ERR_INVALID,
                  "%s: the folder's path is too long to record as the dataset's source (%zu "
                  "characters with its files' names)",
                  dir, sizeof d->source - 1);
  if (st != NNB_OK) {
    nnb_dataset_free(d);
    return st;
  }
  d->n = n, d->c = 3, d->h = 32, d->w = 32, d->classes = 10, d->checksum = crc;
  snprintf(d->name, sizeof d->name, "cifar10");
  return NNB_OK;
}
