/* IDX files (MNIST's format), gzip-compressed or raw: zlib's gzread reads both.
 * Every error names the file and what is wrong with it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset.h"
#include "fmt.h"

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u
#define MAX_SIDE 16384u                 /* rows, cols */
#define MAX_COUNT 0x7fffffffu           /* images, labels */
#define CHUNK_BYTES (1u << 20)          /* read this much at a time */
#define FIRST_PIXELS ((int64_t)1 << 22) /* grow the output from here: a lying header costs little  \
                                         */

typedef struct reader {
  const char *path;
  gzFile f;
  uint32_t crc;  /* of the bytes read so far */
  int64_t bytes; /* how many */
} reader;

/* gzerror's text without the "<fd:N>: " prefix gzdopen puts on it. */
static const char *zmsg(const char *m) {
  const char *p = m && m[0] == '<' ? strstr(m, ": ") : NULL;
  return p ? p + 2 : m ? m : "unknown error";
}

/* The reason gzread failed or stopped early: a read error, or bad gzip. */
static nnb_status stream_error(reader *r, nnb_error *e) {
  int zerr = Z_OK;
  const char *m = zmsg(gzerror(r->f, &zerr));
  if (zerr == Z_ERRNO) return nnb_fail(e, NNB_ERR_IO, "%s: read error: %s", r->path, m);
  if (zerr == Z_MEM_ERROR) return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory", r->path);
  if (zerr == Z_BUF_ERROR) /* zlib's "unexpected end of file" */
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: truncated gzip data: the compressed stream ends early",
                    r->path);
  return nnb_fail(e, NNB_ERR_FORMAT, "%s: corrupt gzip data (%s)", r->path, m);
}

static nnb_status open_reader(reader *r, const char *path, nnb_error *e) {
  *r = (reader){.path = path, .crc = (uint32_t)crc32(0L, Z_NULL, 0)};
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nnb_fail(e, NNB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    close(fd);
    return nnb_fail(e, NNB_ERR_IO, "%s: is a directory, expected an IDX file", path);
  }
  r->f = gzdopen(fd, "rb");
  if (!r->f) {
    close(fd);
    return nnb_fail(e, NNB_ERR_NOMEM, "%s: cannot open: out of memory", path);
  }
  gzbuffer(r->f, 1u << 17);
  return NNB_OK;
}

/* Reads up to n bytes into buf; *got < n only at the end of the data. A gzip
 * stream that ends early, or any read error, is an error here. */
static nnb_status read_upto(reader *r, void *buf, size_t n, size_t *got, nnb_error *e) {
  size_t done = 0;
  while (done < n) {
    unsigned chunk = n - done > CHUNK_BYTES ? CHUNK_BYTES : (unsigned)(n - done);
    int k = gzread(r->f, (char *)buf + done, chunk);
    if (k < 0) return stream_error(r, e);
    if (k == 0) break;
    done += (size_t)k;
  }
  r->crc = (uint32_t)crc32_z(r->crc, buf, done);
  r->bytes += (int64_t)done;
  *got = done;
  if (done < n) {
    int zerr = Z_OK;
    gzerror(r->f, &zerr);
    if (zerr != Z_OK) return stream_error(r, e); /* e.g. "unexpected end of file" */
  }
  return NNB_OK;
}

/* After the last byte the header declares: nothing may follow, and reading on
 * makes zlib check the gzip trailer (crc32 and length of the whole stream). */
static nnb_status expect_end(reader *r, nnb_error *e) {
  unsigned char extra[256];
  int k = gzread(r->f, extra, sizeof extra);
  if (k < 0) return stream_error(r, e);
  int zerr = Z_OK;
  gzerror(r->f, &zerr);
  if (zerr != Z_OK) return stream_error(r, e);
  if (k > 0)
    return nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: data continues after the %lld bytes the header accounts for "
                    "(wrong count in the header, or not an IDX file)",
                    r->path, (long long)r->bytes);
  return NNB_OK;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static nnb_status read_header(reader *r, uint32_t magic, int ndims, uint32_t *dims, nnb_error *e) {
  const char *what = magic == IDX_IMAGES ? "images" : "labels";
  unsigned char h[16];
  size_t need = (size_t)(4 + 4 * ndims), got = 0;
  nnb_status st = read_upto(r, h, need, &got, e);
  if (st != NNB_OK) return st;
  if (got >= 4 && be32(h) != magic) {
    uint32_t other = magic == IDX_IMAGES ? IDX_LABELS : IDX_IMAGES;
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: magic 0x%08x, expected 0x%08x (IDX %s)%s", r->path,
                    be32(h), magic, what,
                    be32(h) == other ? "; this is the other kind of IDX file: swapped paths?" : "");
  }
  if (got < need)
    return nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: truncated: the IDX %s header needs %zu bytes, the file has %zu", r->path,
                    what, need, got);
  for (int i = 0; i < ndims; i++) dims[i] = be32(h + 4 + 4 * i);
  return NNB_OK;
}

/* Images: reads n images of `per` bytes each into d->images as pixel/255,
 * in chunks of at most CHUNK_BYTES, growing the buffer (doubling, in
 * pixels) only as data actually arrives: a header that claims a few huge
 * images costs no more memory than one that claims many small ones. */
static nnb_status read_images(reader *r, const uint32_t *dim, int64_t n, nnb_dataset *d,
                              nnb_error *e) {
  const int64_t per = (int64_t)dim[1] * dim[2], total = n * per; /* pixels */
  unsigned char *raw = malloc(CHUNK_BYTES);
  if (!raw) return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory", r->path);
  nnb_status st = NNB_OK;
  int64_t have = 0, cap = 0;
  while (st == NNB_OK && have < total) {
    int64_t want = total - have < (int64_t)CHUNK_BYTES ? total - have : (int64_t)CHUNK_BYTES;
    if (have + want > cap) {
      int64_t grow = cap ? cap * 2 : FIRST_PIXELS;
      if (grow < have + want) grow = have + want;
      if (grow > total) grow = total;
      float *p = realloc(d->images, (size_t)grow * sizeof *p);
      if (!p) {
        st = nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory for %lld images of %ux%u", r->path,
                      (long long)(grow / per + 1), dim[1], dim[2]);
        break;
      }
      d->images = p, cap = grow;
    }
    size_t got = 0;
    st = read_upto(r, raw, (size_t)want, &got, e);
    if (st != NNB_OK) break;
    float *dst = d->images + have;
    for (size_t i = 0; i < got; i++) dst[i] = (float)raw[i] / 255.0f;
    if (got < (size_t)want)
      st = nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: truncated: header says %u images of %ux%u, file ends after %lld of them",
                    r->path, dim[0], dim[1], dim[2], (long long)((have + (int64_t)got) / per));
    have += want;
  }
  free(raw);
  return st;
}

static nnb_status read_labels(reader *r, uint32_t count, int64_t n, nnb_dataset *d, nnb_error *e) {
  unsigned char *raw = malloc((size_t)n + 1);
  d->labels = malloc((size_t)n * sizeof *d->labels + 1);
  nnb_status st =
      raw && d->labels ? NNB_OK : nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory", r->path);
  size_t got = 0;
  if (st == NNB_OK) st = read_upto(r, raw, (size_t)n, &got, e);
  if (st == NNB_OK && got < (size_t)n)
    st = nnb_fail(e, NNB_ERR_FORMAT,
                  "%s: truncated: header says %u labels, file ends after %zu of them", r->path,
                  count, got);
  for (int64_t i = 0; st == NNB_OK && i < n; i++) {
    if (raw[i] > 9)
      st = nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: label %u at index %lld is out of range: expected 0..9 (10 classes)",
                    r->path, raw[i], (long long)i);
    else
      d->labels[i] = raw[i];
  }
  free(raw);
  return st;
}

nnb_status nnb_dataset_load_idx(const char *ipath, const char *lpath, int64_t limit, nnb_dataset *d,
                                nnb_error *e) {
  memset(d, 0, sizeof *d);
  reader ri = {0}, rl = {0};
  uint32_t idim[3] = {0}, ldim[1] = {0};
  nnb_status st = open_reader(&ri, ipath, e);
  if (st == NNB_OK) st = open_reader(&rl, lpath, e);
  if (st == NNB_OK) st = read_header(&ri, IDX_IMAGES, 3, idim, e);
  if (st == NNB_OK) st = read_header(&rl, IDX_LABELS, 1, ldim, e);
  if (st == NNB_OK && (idim[1] < 1 || idim[2] < 1 || idim[1] > MAX_SIDE || idim[2] > MAX_SIDE))
    st = nnb_fail(e, NNB_ERR_FORMAT,
                  "%s: header says images of %ux%u: expected rows and columns in 1..%u", ipath,
                  idim[1], idim[2], MAX_SIDE);
  if (st == NNB_OK && (idim[0] < 1 || idim[0] > MAX_COUNT))
    st = nnb_fail(e, NNB_ERR_FORMAT, "%s: header says %u images: expected 1..%u", ipath, idim[0],
                  MAX_COUNT);
  if (st == NNB_OK && idim[0] != ldim[0])
    st = nnb_fail(e, NNB_ERR_FORMAT, "%s has %u labels but %s has %u images", lpath, ldim[0], ipath,
                  idim[0]);
  int64_t n = st == NNB_OK ? idim[0] : 0;
  if (limit > 0 && limit < n) n = limit;
  if (st == NNB_OK) st = read_images(&ri, idim, n, d, e);
  if (st == NNB_OK) st = read_labels(&rl, ldim[0], n, d, e);
  if (st == NNB_OK && n == idim[0]) st = expect_end(&ri, e);
  if (st == NNB_OK && n == idim[0]) st = expect_end(&rl, e);
  if (ri.f) gzclose(ri.f);
  if (rl.f) gzclose(rl.f);
  if (st != NNB_OK) {
    nnb_dataset_free(d);
    return st;
  }
  d->n = n, d->c = 1, d->h = (int)idim[1], d->w = (int)idim[2], d->classes = 10;
  d->checksum = (uint32_t)crc32_combine(ri.crc, rl.crc, (z_off_t)rl.bytes);
  snprintf(d->name, sizeof d->name, "idx");
  st = nnb_format(d->source, sizeof d->source, e, "the dataset's source (its two files' paths)",
                  "%s, %s", ipath, lpath);
  if (st != NNB_OK) nnb_dataset_free(d);
  return st;
}
