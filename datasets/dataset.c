/* Dataset specs, batching and shuffling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "fmt.h"
#include "rng.h"

static const char *const kinds[][2] = {
    {"fashion-mnist",
     "Fashion-MNIST (default; Debian's dataset-fashion-mnist), or fashion-mnist:DIR"},
    {"mnist", "MNIST IDX files from a folder: mnist:DIR (.gz or raw)"},
    {"cifar10", "CIFAR-10 binary batches from a folder: cifar10:DIR (3x32x32)"},
    {"synthetic", "seeded random data: synthetic:c=1,h=28,w=28,classes=10,n=1024,seed=1"},
};

int nnb_dataset_list(const char **names, const char **descriptions, int max) {
  int n = (int)(sizeof kinds / sizeof kinds[0]);
  for (int i = 0; i < n && i < max; i++) names[i] = kinds[i][0], descriptions[i] = kinds[i][1];
  return n < max ? n : max;
}

/* DIR/NAME.gz if it exists, else DIR/NAME. */
static nnb_status idx_path(const char *dir, const char *name, char *buf, size_t len, nnb_error *e) {
  struct stat sb;
  nnb_status st = nnb_format(buf, len, e, "a dataset file's path", "%s/%s.gz", dir, name);
  if (st == NNB_OK && stat(buf, &sb))
    st = nnb_format(buf, len, e, "a dataset file's path", "%s/%s", dir, name);
  return st;
}

nnb_status nnb_dataset_open(const char *spec, int split, int64_t limit, nnb_dataset *d,
                            nnb_error *e) {
  if (!spec || !*spec) spec = "fashion-mnist";
  char kind[64];
  const char *arg = strchr(spec, ':');
  snprintf(kind, sizeof kind, "%.*s", arg ? (int)(arg - spec) : (int)strlen(spec), spec);
  if (arg) arg++;
  if (!strcmp(kind, "synthetic")) return nnb_dataset_synthetic(arg, split, limit, d, e);
  if (!strcmp(kind, "cifar10")) {
    if (!arg) return nnb_fail(e, NNB_ERR_INVALID, "dataset cifar10 needs a folder: cifar10:DIR");
    return nnb_dataset_load_cifar10(arg, split, limit, d, e);
  }
  if (!strcmp(kind, "fashion-mnist") || !strcmp(kind, "mnist")) {
    const char *dir = arg ? arg : !strcmp(kind, "mnist") ? NULL : NNB_FASHION_MNIST_DIR;
    if (!dir) return nnb_fail(e, NNB_ERR_INVALID, "dataset mnist needs a folder: mnist:DIR");
    char ip[1024], lp[1024];
    memset(d, 0, sizeof *d);
    nnb_status st = idx_path(dir, split ? "t10k-images-idx3-ubyte" : "train-images-idx3-ubyte", ip,
                             sizeof ip, e);
    if (st == NNB_OK)
      st = idx_path(dir, split ? "t10k-labels-idx1-ubyte" : "train-labels-idx1-ubyte", lp,
                    sizeof lp, e);
    if (st == NNB_OK) st = nnb_dataset_load_idx(ip, lp, limit, d, e);
    if (st == NNB_OK)
      snprintf(d->name, sizeof d->name, "%.31s", kind);
    else if (!arg && st == NNB_ERR_IO)
      snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
               " (install Debian's dataset-fashion-mnist: scripts/install-deps.sh)");
    return st;
  }
  return nnb_fail(
      e, NNB_ERR_INVALID,
      "unknown dataset '%s' (expected fashion-mnist, mnist:DIR, cifar10:DIR or synthetic:...)",
      spec);
}

void nnb_dataset_free(nnb_dataset *d) {
  free(d->images);
  free(d->labels);
  memset(d, 0, sizeof *d);
}

void nnb_dataset_gather(const nnb_dataset *d, const int64_t *idx, int64_t count, float *x,
                        int32_t *y) {
  int64_t per = (int64_t)d->c * d->h * d->w;
  for (int64_t i = 0; i < count; i++) {
    memcpy(x + i * per, d->images + idx[i] * per, (size_t)per * sizeof *x);
    y[i] = d->labels[idx[i]];
  }
}

void nnb_shuffle(int64_t *idx, int64_t n, uint64_t seed) {
  nnb_rng r;
  nnb_rng_seed(&r, seed);
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)nnb_rng_below(&r, (uint64_t)i + 1);
    int64_t t = idx[i];
    idx[i] = idx[j], idx[j] = t;
  }
}
