/* Datasets: samples in host memory (images NCHW as pixel/255, int32
 * labels), and the batching helpers training uses. A dataset knows nothing
 * of models. */
#ifndef NNB_DATASET_H
#define NNB_DATASET_H

#include <stdint.h>

#include <nnbench/status.h>

typedef struct nnb_dataset {
  char name[32];    /* "fashion-mnist", "mnist", "cifar10", "synthetic" */
  char source[512]; /* files read, or the synthetic spec */
  int64_t n;        /* samples */
  int c, h, w, classes;
  float *images;     /* n*c*h*w */
  int32_t *labels;   /* n, in [0, classes) */
  uint32_t checksum; /* zlib crc32 of the bytes read (synthetic: of the values made) */
} nnb_dataset;

#define NNB_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* spec: "fashion-mnist" (Debian's dataset-fashion-mnist), "fashion-mnist:DIR",
 * "mnist:DIR", "cifar10:DIR", "synthetic:c=1,h=28,w=28,classes=10,n=1024,seed=1".
 * split: 0 train, 1 test. limit > 0 reads only the first `limit` samples. */
nnb_status nnb_dataset_open(const char *spec, int split, int64_t limit, nnb_dataset *out,
                            nnb_error *e);
nnb_status nnb_dataset_load_idx(const char *images_path, const char *labels_path, int64_t limit,
                                nnb_dataset *out, nnb_error *e);
nnb_status nnb_dataset_load_cifar10(const char *dir, int split, int64_t limit, nnb_dataset *out,
                                    nnb_error *e);
nnb_status nnb_dataset_synthetic(const char *params, int64_t limit, nnb_dataset *out, nnb_error *e);
void nnb_dataset_free(nnb_dataset *d);
/* Copies samples idx[0..count) into x (count*c*h*w) and y (count). */
void nnb_dataset_gather(const nnb_dataset *d, const int64_t *idx, int64_t count, float *x,
                        int32_t *y);
/* A seeded Fisher-Yates permutation of idx[0..n). */
void nnb_shuffle(int64_t *idx, int64_t n, uint64_t seed);
/* The dataset kinds, with a line each, for `nnbench list datasets`. */
int nnb_dataset_list(const char **names, const char **descriptions, int max);

#endif
