/* mlp: x.flatten(1) -> fc1 -> ReLU -> ... -> fc{layers+1} (MODELS.md). */
#include "builder.h"

nnb_status mb_mlp(nnb_model *m, nnb_error *e) {
  const nnb_input_shape *in = &m->input;
  int64_t width = (int64_t)in->c * in->h * in->w;
  int h = nnb_reshape(&m->g, m->x, 2, (int64_t[]){m->batch, width}, "flatten");
  char name[32];
  for (int i = 1; i <= m->spec.layers; i++) {
    snprintf(name, sizeof name, "fc%d", i);
    h = mb_linear(m, h, name, width, m->spec.hidden);
    snprintf(name, sizeof name, "relu%d", i);
    h = nnb_unary(&m->g, NNB_OP_RELU, h, name);
    width = m->spec.hidden;
  }
  snprintf(name, sizeof name, "fc%d", m->spec.layers + 1);
  m->logits = mb_linear(m, h, name, width, in->classes);
  return NNB_OK;
}
