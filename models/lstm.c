/* lstm: image rows are time steps ([B, H steps, C*W features]) -> stacked
 * LSTM layers -> hidden state of the last step of the top layer -> fc. */
#include <math.h>

#include "builder.h"

static int lstm_layer(nnb_model *m, int x, int layer, int64_t in, int64_t hidden) {
  char n[4][NNB_NAME_LEN], name[32];
  const char *fmt[4] = {"lstm.weight_ih_l%d", "lstm.weight_hh_l%d", "lstm.bias_ih_l%d",
                        "lstm.bias_hh_l%d"};
  for (int i = 0; i < 4; i++) snprintf(n[i], sizeof n[i], fmt[i], layer);
  float bound = 1.0f / sqrtf((float)hidden); /* PyTorch: every LSTM tensor U(+-1/sqrt(hidden)) */
  int wih = mb_param(m, n[0], 2, (int64_t[]){4 * hidden, in}, NNB_INIT_UNIFORM, bound);
  int whh = mb_param(m, n[1], 2, (int64_t[]){4 * hidden, hidden}, NNB_INIT_UNIFORM, bound);
  int bih = mb_param(m, n[2], 1, (int64_t[]){4 * hidden}, NNB_INIT_UNIFORM, bound);
  int bhh = mb_param(m, n[3], 1, (int64_t[]){4 * hidden}, NNB_INIT_UNIFORM, bound);
  snprintf(name, sizeof name, "lstm_l%d", layer);
  return nnb_lstm(&m->g, x, wih, whh, bih, bhh, name);
}

nnb_status mb_lstm(nnb_model *m, nnb_error *e) {
  nnb_graph *g = &m->g;
  const nnb_input_shape *in = &m->input;
  int64_t b = m->batch, steps = in->h, feat = (int64_t)in->c * in->w, hid = m->spec.hidden;
  int h = m->x;
  if (in->c > 1) /* [B,C,H,W] -> [B,H,C,W]: each row carries every channel */
    h = nnb_permute(g, h, (int[]){0, 2, 1, 3}, "rows_first");
  h = nnb_reshape(g, h, 3, (int64_t[]){b, steps, feat}, "sequence");
  for (int l = 0; l < m->spec.layers; l++) h = lstm_layer(m, h, l, l ? hid : feat, hid);
  h = nnb_slice(g, h, 1, steps - 1, 1, "last_step");
  h = nnb_reshape(g, h, 2, (int64_t[]){b, hid}, "last_hidden");
  m->logits = mb_linear(m, h, "fc", hid, in->classes);
  return NNB_OK;
}
