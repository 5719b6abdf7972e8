/* IDX files (MNIST's format), gzip-compressed or raw: zlib's gzread reads both. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u
#define MAX_SIDE 4096

typedef struct reader {
  const char *path;
  gzFile f;
  uint32_t crc;
} reader;

static nnb_status open_reader(reader *r, const char *path, nnb_error *e) {
  r->path = path;
  r->crc = (uint32_t)crc32(0L, Z_NULL, 0);
  r->f = gzopen(path, "rb");
  if (!r->f)
    return nnb_fail(e, NNB_ERR_IO, "%s: cannot open: %s", path, strerror(errno ? errno : ENOENT));
  return NNB_OK;
}

/* Reads exactly n bytes; *got says how many came when fewer did. */
static nnb_status read_exact(reader *r, void *buf, size_t n, size_t *got, nnb_error *e) {
  size_t done = 0;
  while (done < n) {
    unsigned chunk = n - done > (1u << 30) ? 1u << 30 : (unsigned)(n - done);
    int k = gzread(r->f, (char *)buf + done, chunk);
    if (k < 0) {
      int zerr;
      const char *msg = gzerror(r->f, &zerr);
      return nnb_fail(e, NNB_ERR_FORMAT, "%s: not gzip data or corrupt (%s)", r->path, msg);
    }
    if (k == 0) break;
    done += (size_t)k;
  }
  if (got) *got = done;
  if (done == n) r->crc = (uint32_t)crc32(r->crc, buf, (uInt)n);
  if (done < n && !got) {
    int zerr;
    const char *msg = gzerror(r->f, &zerr);
    if (zerr != Z_OK && zerr != Z_BUF_ERROR)
      return nnb_fail(e, NNB_ERR_FORMAT, "%s: not gzip data or corrupt (%s)", r->path, msg);
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: truncated: the header is incomplete", r->path);
  }
  return NNB_OK;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static nnb_status read_header(reader *r, uint32_t magic, const char *what, int ndims,
                              uint32_t *dims, nnb_error *e) {
  unsigned char h[16];
  nnb_status st = read_exact(r, h, (size_t)(4 + 4 * ndims), NULL, e);
  if (st != NNB_OK) return st;
  if (be32(h) != magic)
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: magic 0x%08x, expected 0x%08x (IDX %s)", r->path,
                    be32(h), magic, what);
  for (int i = 0; i < ndims; i++) dims[i] = be32(h + 4 + 4 * i);
  return NNB_OK;
}

nnb_status nnb_dataset_load_idx(const char *ipath, const char *lpath, int64_t limit, nnb_dataset *d,
                                nnb_error *e) {
  memset(d, 0, sizeof *d);
  reader ri = {0}, rl = {0};
  uint32_t idim[3], ldim[1];
  unsigned char *raw = NULL;
  nnb_status st = open_reader(&ri, ipath, e);
  if (st == NNB_OK) st = open_reader(&rl, lpath, e);
  if (st == NNB_OK) st = read_header(&ri, IDX_IMAGES, "images", 3, idim, e);
  if (st == NNB_OK) st = read_header(&rl, IDX_LABELS, "labels", 1, ldim, e);
  if (st == NNB_OK && (idim[1] < 1 || idim[2] < 1 || idim[1] > MAX_SIDE || idim[2] > MAX_SIDE))
    st = nnb_fail(e, NNB_ERR_FORMAT, "%s: images of %ux%u: expected sides in 1..%d", ipath, idim[1],
                  idim[2], MAX_SIDE);
  if (st == NNB_OK && idim[0] != ldim[0])
    st = nnb_fail(e, NNB_ERR_FORMAT, "%s has %u labels but %s has %u images", lpath, ldim[0], ipath,
                  idim[0]);
  int64_t n = st == NNB_OK ? idim[0] : 0, per = st == NNB_OK ? (int64_t)idim[1] * idim[2] : 0;
  if (limit > 0 && limit < n) n = limit;
  if (st == NNB_OK) {
    raw = malloc((size_t)(n * per) + 1);
    d->images = malloc((size_t)(n * per) * sizeof *d->images + 1);
    d->labels = malloc((size_t)n * sizeof *d->labels + 1);
    if (!raw || !d->images || !d->labels)
      st = nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory for %lld images", ipath, (long long)n);
  }
  size_t got = 0;
  if (st == NNB_OK && (st = read_exact(&ri, raw, (size_t)(n * per), &got, e)) == NNB_OK &&
      got < (size_t)(n * per))
    st = nnb_fail(e, NNB_ERR_FORMAT,
                  "%s: truncated: header says %u images of %ux%u, file ends after %lld of them",
                  ipath, idim[0], idim[1], idim[2], (long long)(got / (size_t)per));
  for (int64_t i = 0; st == NNB_OK && i < n * per; i++) d->images[i] = (float)raw[i] / 255.0f;
  if (st == NNB_OK && (st = read_exact(&rl, raw, (size_t)n, &got, e)) == NNB_OK && got < (size_t)n)
    st = nnb_fail(e, NNB_ERR_FORMAT, "%s: truncated: header says %u labels, file ends after %lld",
                  lpath, ldim[0], (long long)got);
  for (int64_t i = 0; st == NNB_OK && i < n; i++) {
    if (raw[i] > 9)
      st = nnb_fail(e, NNB_ERR_FORMAT, "%s: label %u at index %lld, expected 0..9", lpath, raw[i],
                    (long long)i);
    else
      d->labels[i] = raw[i];
  }
  if (ri.f) gzclose(ri.f);
  if (rl.f) gzclose(rl.f);
  free(raw);
  if (st != NNB_OK) {
    nnb_dataset_free(d);
    return st;
  }
  d->n = n, d->c = 1, d->h = (int)idim[1], d->w = (int)idim[2], d->classes = 10;
  d->checksum = (uint32_t)crc32_combine(ri.crc, rl.crc, (z_off_t)n);
  snprintf(d->name, sizeof d->name, "idx");
  snprintf(d->source, sizeof d->source, "%s, %s", ipath, lpath);
  return NNB_OK;
}
