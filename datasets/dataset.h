/* Datasets: samples in host memory (images NCHW as pixel/255, int32
 * labels), and the batching helpers training uses. A dataset knows nothing
 * of models. No function here keeps global mutable state. */
#ifndef NNB_DATASET_H
#define NNB_DATASET_H

#include <stdint.h>

#include <nnbench/status.h>

typedef struct nnb_dataset {
  char name[32];    /* "fashion-mnist", "mnist", "cifar10", "synthetic" ("idx" from load_idx) */
  char source[512]; /* files read, or the synthetic spec */
  int64_t n;        /* samples */
  int c, h, w, classes;
  float *images;     /* n*c*h*w floats, NCHW, pixel/255 (no other normalisation) */
  int32_t *labels;   /* n, in [0, classes) */
  uint32_t checksum; /* zlib crc32 of the bytes read: IDX, the uncompressed images file (header
                        included) then the labels file; CIFAR-10, the records read; synthetic,
                        the floats then the labels */
} nnb_dataset;

#define NNB_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* spec: "fashion-mnist" (default, also for NULL or ""; Debian's dataset-fashion-mnist in
 *       NNB_FASHION_MNIST_DIR), "fashion-mnist:DIR", "mnist:DIR" (MNIST's four file names,
 *       NAME.gz tried before NAME), "cifar10:DIR" (CIFAR-10 binary: data_batch_1..5.bin for
 *       train, test_batch.bin for test), "synthetic:c=1,h=28,w=28,classes=10,n=1024,seed=1"
 *       (any key may be omitted; the test split is a second stream of the same seed).
 * split: 0 train, 1 test. limit > 0 keeps (and reads) only the first `limit` samples.
 * On failure *out is zeroed and e names the file and the problem. */
nnb_status nnb_dataset_open(const char *spec, int split, int64_t limit, nnb_dataset *out,
                            nnb_error *e);
/* An IDX images file (magic 0x00000803) and its labels file (0x00000801), gzip or raw;
 * 1 channel, 10 classes. */
nnb_status nnb_dataset_load_idx(const char *images_path, const char *labels_path, int64_t limit,
                                nnb_dataset *out, nnb_error *e);
/* CIFAR-10's binary version from `dir`: 3x32x32, 10 classes. */
nnb_status nnb_dataset_load_cifar10(const char *dir, int split, int64_t limit, nnb_dataset *out,
                                    nnb_error *e);
/* `params`: the part of a synthetic spec after "synthetic:" (NULL or "" for the defaults). */
nnb_status nnb_dataset_synthetic(const char *params, int split, int64_t limit, nnb_dataset *out,
                                 nnb_error *e);
/* Frees what a load allocated and zeroes *d; safe on a zeroed or already-freed dataset. */
void nnb_dataset_free(nnb_dataset *d);
/* Copies samples idx[0..count) into x (count*c*h*w floats) and y (count labels). */
void nnb_dataset_gather(const nnb_dataset *d, const int64_t *idx, int64_t count, float *x,
                        int32_t *y);
/* A seeded Fisher-Yates shuffle of idx[0..n) (callers fill it with 0..n-1 first). */
void nnb_shuffle(int64_t *idx, int64_t n, uint64_t seed);
/* The dataset kinds, with a line each, for `nnbench list datasets`: fills up to `max`
 * entries and returns how many it filled. */
int nnb_dataset_list(const char **names, const char **descriptions, int max);

#endif
