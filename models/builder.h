/* Helpers the model files share: parameters with their PyTorch names and
 * default initialisation, and the layers built from them. */
#ifndef NNB_MODEL_BUILDER_H
#define NNB_MODEL_BUILDER_H

#include "model.h"

/* A parameter tensor; returns its id or -1 (the graph keeps the error). */
int mb_param(nnb_model *m, const char *name, int rank, const int64_t *dims, nnb_init_kind k,
             float a);
/* PyTorch's nn.Linear: prefix.weight [out,in], prefix.bias [out], both U(+-1/sqrt(in)). */
int mb_linear(nnb_model *m, int x, const char *prefix, int64_t in, int64_t out);
/* PyTorch's nn.Conv2d, stride 1, no padding. */
int mb_conv(nnb_model *m, int x, const char *prefix, int64_t cin, int64_t cout, int k);
/* The feature width (last dim) of a tensor. */
int64_t mb_width(const nnb_model *m, int t);

nnb_status mb_mlp(nnb_model *m, nnb_error *e);
nnb_status mb_cnn(nnb_model *m, nnb_error *e);
nnb_status mb_lstm(nnb_model *m, nnb_error *e);
nnb_status mb_transformer(nnb_model *m, nnb_error *e);

#endif
