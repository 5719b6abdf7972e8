/* transformer: a ViT-style pre-norm encoder over 7x7 patches (MODELS.md):
 * patches -> embed -> + pos -> layers of (x + MHA(norm1(x)), x + FFN(norm2(x)))
 * -> norm -> mean over tokens -> fc. */
#include <math.h>

#include "builder.h"

#define PATCH 7

static int layernorm(nnb_model *m, int x, const char *prefix, int64_t d) {
  char w[NNB_NAME_LEN], b[NNB_NAME_LEN];
  snprintf(w, sizeof w, "%s.weight", prefix);
  snprintf(b, sizeof b, "%s.bias", prefix);
  int gm = mb_param(m, w, 1, (int64_t[]){d}, NNB_INIT_CONST, 1.0f);
  int bt = mb_param(m, b, 1, (int64_t[]){d}, NNB_INIT_CONST, 0.0f);
  return nnb_layernorm(&m->g, x, gm, bt, 1e-5f, prefix);
}

static int encoder_layer(nnb_model *m, int x, int i) {
  nnb_graph *g = &m->g;
  const nnb_model_spec *s = &m->spec;
  int64_t d = s->d;
  char p[64], n[NNB_NAME_LEN], n2[NNB_NAME_LEN];
  snprintf(p, sizeof p, "encoder.layers.%d", i);

  snprintf(n, sizeof n, "%s.norm1", p);
  int h = layernorm(m, x, n, d);
  /* nn.MultiheadAttention's defaults: xavier_uniform in_proj, zero biases */
  snprintf(n, sizeof n, "%s.self_attn.in_proj_weight", p);
  int win =
      mb_param(m, n, 2, (int64_t[]){3 * d, d}, NNB_INIT_UNIFORM, sqrtf(6.0f / (float)(4 * d)));
  snprintf(n, sizeof n, "%s.self_attn.in_proj_bias", p);
  int bin = mb_param(m, n, 1, (int64_t[]){3 * d}, NNB_INIT_CONST, 0.0f);
  snprintf(n, sizeof n, "%s.self_attn.out_proj.weight", p);
  int wout = mb_param(m, n, 2, (int64_t[]){d, d}, NNB_INIT_UNIFORM, 1.0f / sqrtf((float)d));
  snprintf(n, sizeof n, "%s.self_attn.out_proj.bias", p);
  int bout = mb_param(m, n, 1, (int64_t[]){d}, NNB_INIT_CONST, 0.0f);
  snprintf(n, sizeof n, "%s.self_attn.in_proj", p);
  h = nnb_linear(g, h, win, bin, n);
  snprintf(n, sizeof n, "%s.self_attn", p);
  h = nnb_attention(g, h, s->heads, 0, n);
  snprintf(n, sizeof n, "%s.self_attn.out_proj", p);
  h = nnb_linear(g, h, wout, bout, n);
  snprintf(n, sizeof n, "%s.residual1", p);
  x = nnb_binary(g, NNB_OP_ADD, x, h, n);

  snprintf(n, sizeof n, "%s.norm2", p);
  h = layernorm(m, x, n, d);
  snprintf(n, sizeof n, "%s.linear1", p);
  snprintf(n2, sizeof n2, "%s.relu", p);
  h = nnb_unary(g, NNB_OP_RELU, mb_linear(m, h, n, d, s->ffn), n2);
  snprintf(n, sizeof n, "%s.linear2", p);
  h = mb_linear(m, h, n, s->ffn, d);
  snprintf(n, sizeof n, "%s.residual2", p);
  return nnb_binary(g, NNB_OP_ADD, x, h, n);
}

nnb_status mb_transformer(nnb_model *m, nnb_error *e) {
  nnb_graph *g = &m->g;
  const nnb_input_shape *in = &m->input;
  int64_t b = m->batch, d = m->spec.d;
  if (in->c != 1 || in->h % PATCH || in->w % PATCH)
    return nnb_fail(
        e, NNB_ERR_INVALID,
        "model transformer: needs 1-channel input with sides divisible by %d, got %dx%dx%d", PATCH,
        in->c, in->h, in->w);
  int64_t gh = in->h / PATCH, gw = in->w / PATCH, tokens = gh * gw;
  /* x.unfold(2,7,7).unfold(3,7,7).reshape(B,T,49) within rank 4:
   * [B*gh, ph, gw, pw] -> permute -> [B*gh, gw, ph, pw] -> [B, T, 49] */
  int h = nnb_reshape(g, m->x, 4, (int64_t[]){b * gh, PATCH, gw, PATCH}, "patch_rows");
  h = nnb_permute(g, h, (int[]){0, 2, 1, 3}, "patch_grid");
  h = nnb_reshape(g, h, 3, (int64_t[]){b, tokens, PATCH * PATCH}, "patches");
  h = mb_linear(m, h, "embed", PATCH * PATCH, d);
  int pos = mb_param(m, "pos", 3, (int64_t[]){1, tokens, d}, NNB_INIT_CONST, 0.0f);
  h = nnb_binary(g, NNB_OP_ADD, h, pos, "add_pos");
  for (int i = 0; i < m->spec.layers; i++) h = encoder_layer(m, h, i);
  h = layernorm(m, h, "norm", d);
  h = nnb_mean(g, h, 1, "mean_tokens");
  m->logits = mb_linear(m, h, "fc", d, in->classes);
  return NNB_OK;
}
