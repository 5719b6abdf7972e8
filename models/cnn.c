/* cnn: conv1 -> ReLU -> MaxPool2d(2) -> conv2 -> ReLU -> MaxPool2d(2) -> conv3
 * -> ReLU -> flatten (C,H,W order) -> fc1 -> ReLU -> fc2 (MODELS.md). Sizes
 * follow the input: 28 -> 26 -> 13 -> 11 -> 5 -> 3, or 32 -> ... -> 4. */
#include "builder.h"

nnb_status mb_cnn(nnb_model *m, nnb_error *e) {
  const nnb_model_spec *s = &m->spec;
  nnb_graph *g = &m->g;
  int h = mb_conv(m, m->x, "conv1", m->input.c, s->c1, 3);
  h = nnb_maxpool2d(g, nnb_unary(g, NNB_OP_RELU, h, "relu1"), 2, 2, "pool1");
  h = mb_conv(m, h, "conv2", s->c1, s->c2, 3);
  h = nnb_maxpool2d(g, nnb_unary(g, NNB_OP_RELU, h, "relu2"), 2, 2, "pool2");
  h = nnb_unary(g, NNB_OP_RELU, mb_conv(m, h, "conv3", s->c2, s->c3, 3), "relu3");
  if (h < 0) return NNB_OK; /* the graph holds the error */
  const nnb_tensor_desc *d = &g->tensors[h];
  int64_t flat = d->dims[1] * d->dims[2] * d->dims[3];
  h = nnb_reshape(g, h, 2, (int64_t[]){m->batch, flat}, "flatten");
  h = nnb_unary(g, NNB_OP_RELU, mb_linear(m, h, "fc1", flat, s->fc), "relu4");
  m->logits = mb_linear(m, h, "fc2", s->fc, m->input.classes);
  return NNB_OK;
}
