/* Seeded synthetic data of any shape: throughput without a dataset. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"
#include "rng.h"

#define MAX_FLOATS (1LL << 34) /* 64 GiB of images: beyond that it is a typo */

nnb_status nnb_dataset_synthetic(const char *params, int split, int64_t limit, nnb_dataset *d,
                                 nnb_error *e) {
  memset(d, 0, sizeof *d);
  long long v[6] = {1, 28, 28, 10, 1024, 1}; /* c, h, w, classes, n, seed */
  static const char *const keys[6] = {"c", "h", "w", "classes", "n", "seed"};
  char buf[256];
  if (params && strlen(params) >= sizeof buf)
    return nnb_fail(e, NNB_ERR_INVALID, "synthetic: parameters longer than %zu characters",
                    sizeof buf - 1);
  snprintf(buf, sizeof buf, "%s", params ? params : "");
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '='), *end = NULL;
    int k = 0;
    if (eq) *eq = 0;
    while (k < 6 && strcmp(tok, keys[k])) k++;
    if (k == 6)
      return nnb_fail(e, NNB_ERR_INVALID,
                      "synthetic: unknown key '%s' (keys: c, h, w, classes, n, seed)", tok);
    long long x = eq ? strtoll(eq + 1, &end, 10) : -1;
    long long lo = k == 5 ? 0 : 1, hi = k < 4 ? 65536 : 1LL << 31;
    if (!eq || *end || end == eq + 1 || x < lo || x > hi)
      return nnb_fail(e, NNB_ERR_INVALID,
                      "synthetic: %s needs an integer in [%lld, %lld], got '%s'", tok, lo, hi,
                      eq ? eq + 1 : "");
    v[k] = x;
  }
  int64_t n = limit > 0 && limit < v[4] ? limit : v[4];
  /* in double: the product could overflow 64-bit integers */
  if ((double)v[0] * (double)v[1] * (double)v[2] * (double)n > (double)MAX_FLOATS)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "synthetic: %lld samples of %lldx%lldx%lld are more than %lld floats",
                    (long long)n, v[0], v[1], v[2], (long long)MAX_FLOATS);
  int64_t per = v[0] * v[1] * v[2];
  d->images = malloc((size_t)(n * per) * sizeof *d->images + 1);
  d->labels = malloc((size_t)n * sizeof *d->labels + 1);
  if (!d->images || !d->labels) {
    nnb_dataset_free(d);
    return nnb_fail(e, NNB_ERR_NOMEM, "synthetic: out of memory for %lld samples", (long long)n);
  }
  nnb_rng r;
  /* The test split is a second stream of the same seed: same distribution, other samples. */
  nnb_rng_seed(&r, (uint64_t)v[5] * 2 + (split ? 1 : 0));
  nnb_rng_fill(&r, d->images, (size_t)(n * per), 0.0f, 1.0f);
  for (int64_t i = 0; i < n; i++) d->labels[i] = (int32_t)nnb_rng_below(&r, (uint64_t)v[3]);
  d->n = n, d->c = (int)v[0], d->h = (int)v[1], d->w = (int)v[2], d->classes = (int)v[3];
  uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
  crc = (uint32_t)crc32_z(crc, (const Bytef *)d->images, (size_t)(n * per) * sizeof(float));
  d->checksum = (uint32_t)crc32_z(crc, (const Bytef *)d->labels, (size_t)n * sizeof(int32_t));
  snprintf(d->name, sizeof d->name, "synthetic");
  snprintf(d->source, sizeof d->source,
           "synthetic:c=%lld,h=%lld,w=%lld,classes=%lld,n=%lld,seed=%lld", v[0], v[1], v[2], v[3],
           v[4], v[5]);
  return NNB_OK;
}
