/* Reading and writing safetensors files (F32 only).
 *
 * Layout: an 8-byte little-endian u64 header length N, then N bytes of UTF-8
 * JSON ({"__metadata__": {string: string}, "<name>": {"dtype": "F32",
 * "shape": [..], "data_offsets": [begin, end]}, ...}, possibly padded with
 * trailing spaces), then the data buffer. Offsets are relative to the start of
 * the data buffer; values are contiguous, row-major and little-endian. */
#ifndef NNB_SAFETENSORS_H
#define NNB_SAFETENSORS_H

#include <stdint.h>

#include <nnbench/status.h>
#include <nnbench/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest metadata key or value, in bytes, that a file may hold. */
#define NNB_ST_META_LEN 256

typedef struct nnb_st_tensor {
  char name[NNB_NAME_LEN];
  int rank; /* 1..NNB_MAX_RANK; a scalar (shape []) reads as rank 1, dims [1] */
  int64_t dims[NNB_MAX_RANK];
  uint64_t begin, end; /* byte range within the data buffer */
} nnb_st_tensor;

typedef struct nnb_safetensors {
  char path[512];
  int n; /* tensors, in header order */
  nnb_st_tensor *tensors;
  unsigned char *data; /* the whole data buffer */
  uint64_t data_len;
  int n_meta;
  char (*meta)[2][NNB_ST_META_LEN]; /* meta[i][0] = key, meta[i][1] = value */
} nnb_safetensors;

/* Reads and validates the whole file. On failure `out` is left empty (safe to
 * pass to nnb_st_free) and `e` names the file and the problem. */
nnb_status nnb_st_read(const char *path, nnb_safetensors *out, nnb_error *e);
/* The tensor called `name`, or NULL. */
const nnb_st_tensor *nnb_st_find(const nnb_safetensors *st, const char *name);
/* Copies a tensor's values (F32, little-endian) into dst (numel floats). */
void nnb_st_copy(const nnb_safetensors *st, const nnb_st_tensor *t, float *dst);
/* Frees what nnb_st_read allocated and empties `st`; safe to call twice. */
void nnb_st_free(nnb_safetensors *st);

typedef struct nnb_st_entry {
  const char *name;
  int rank;
  const int64_t *dims;
  const float *data; /* numel floats, row-major */
} nnb_st_entry;

/* Writes to PATH.tmp-<pid> then renames over PATH, so a crash never leaves a
 * half-written file; metadata: n_meta key/value pairs (may be 0). Tensors are
 * laid out contiguously in the given order; the header is padded with spaces
 * to a multiple of 8 bytes. */
nnb_status nnb_st_write(const char *path, const nnb_st_entry *entries, int n,
                        const char *const (*meta)[2], int n_meta, nnb_error *e);

#ifdef __cplusplus
}
#endif
#endif
