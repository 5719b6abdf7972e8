/* Tensor descriptors: shape, element type and role. Storage is not here: a
 * tensor's bytes live in a backend buffer at an offset the memory planner
 * chooses (see graph.h and backend.h). */
#ifndef NNBENCH_TENSOR_H
#define NNBENCH_TENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_MAX_RANK 4
#define NNB_NAME_LEN 96

typedef enum nnb_dtype {
  NNB_F32 = 0,
  NNB_I32, /* class labels */
  NNB_BF16,
  NNB_F16,
  NNB_DTYPE_COUNT
} nnb_dtype;

/* What a tensor is for. Persistent roles keep their memory across steps;
 * activations and gradients share one arena by liveness. */
typedef enum nnb_role {
  NNB_ROLE_INPUT = 0,
  NNB_ROLE_LABEL,
  NNB_ROLE_PARAM,
  NNB_ROLE_ACTIVATION,
  NNB_ROLE_GRADIENT,
  NNB_ROLE_OPTSTATE,
  NNB_ROLE_COUNT
} nnb_role;

typedef struct nnb_tensor_desc {
  char name[NNB_NAME_LEN];
  nnb_dtype dtype;
  nnb_role role;
  int rank; /* 1..NNB_MAX_RANK; a scalar is rank 1 with dims[0] == 1 */
  int64_t dims[NNB_MAX_RANK];
  int view_of; /* -1, or the tensor whose storage this one reinterprets */
} nnb_tensor_desc;

static inline size_t nnb_dtype_size(nnb_dtype t) {
  switch (t) {
  case NNB_F32:
  case NNB_I32: return 4;
  case NNB_BF16:
  case NNB_F16: return 2;
  default: return 0;
  }
}

static inline const char *nnb_dtype_name(nnb_dtype t) {
  static const char *const names[NNB_DTYPE_COUNT] = {"f32", "i32", "bf16", "f16"};
  return (unsigned)t < NNB_DTYPE_COUNT ? names[t] : "?";
}

static inline const char *nnb_role_name(nnb_role r) {
  static const char *const names[NNB_ROLE_COUNT] = {"input",      "label",    "parameter",
                                                    "activation", "gradient", "optimizer_state"};
  return (unsigned)r < NNB_ROLE_COUNT ? names[r] : "?";
}

static inline int64_t nnb_numel(const nnb_tensor_desc *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}

static inline size_t nnb_nbytes(const nnb_tensor_desc *t) {
  return (size_t)nnb_numel(t) * nnb_dtype_size(t->dtype);
}

/* For b broadcast to a (trailing-aligned: b's dims equal a's or are 1):
 * the flat index of b's element that a's flat index i reads. */
static inline int64_t nnb_broadcast_index(const nnb_tensor_desc *a, const nnb_tensor_desc *b,
                                          int64_t i) {
  int64_t bi = 0, bstride = 1;
  for (int d = 1; d <= a->rank; d++) {
    int64_t ad = a->dims[a->rank - d], coord = i % ad;
    i /= ad;
    if (d <= b->rank) {
      int64_t bd = b->dims[b->rank - d];
      bi += (bd == 1 ? 0 : coord) * bstride;
      bstride *= bd;
    }
  }
  return bi;
}

/* Writes "[2,3,4]" into buf; returns buf. */
static inline const char *nnb_dims_str(int rank, const int64_t *dims, char *buf, size_t len) {
  size_t at = 0;
  at += (size_t)snprintf(buf, len, "[");
  for (int i = 0; i < rank && at < len; i++)
    at += (size_t)snprintf(buf + at, len - at, i ? ",%lld" : "%lld", (long long)dims[i]);
  if (at < len) snprintf(buf + at, len - at, "]");
  return buf;
}

#ifdef __cplusplus
}
#endif
#endif
