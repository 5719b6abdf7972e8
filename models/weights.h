/* A model's parameters in host memory: initialised, moved between sessions
 * (the training graph and the inference graph share them by name), loaded
 * from and saved to safetensors with PyTorch's names. */
#ifndef NNB_WEIGHTS_H
#define NNB_WEIGHTS_H

#include "model.h"

typedef struct nnb_weights {
  int n;
  float **data; /* per model parameter, in the model's order */
} nnb_weights;

nnb_status nnb_weights_init(const nnb_model *m, uint64_t seed, nnb_weights *w, nnb_error *e);
nnb_status nnb_weights_from_session(const nnb_model *m, nnb_session *s, nnb_weights *w, nnb_error *e);
nnb_status nnb_weights_to_session(const nnb_model *m, nnb_session *s, const nnb_weights *w, nnb_error *e);
/* Every parameter of m must be in the file with its exact shape. strict:
 * any other tensor in the file is an error too (PyTorch's strict loading). */
nnb_status nnb_weights_load(const nnb_model *m, const char *path, int strict, nnb_weights *w,
                            nnb_error *e);
/* Written through a temporary file and renamed; meta: n_meta key/value pairs. */
nnb_status nnb_weights_save(const nnb_model *m, const nnb_weights *w, const char *path,
                            const char *const (*meta)[2], int n_meta, nnb_error *e);
void nnb_weights_free(nnb_weights *w);

#endif
