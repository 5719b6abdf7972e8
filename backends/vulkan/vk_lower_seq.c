/* The LSTM and attention (forward and backward) as sequences of GEMMs on
 * gemm.comp with strided operands, and small shaders between them
 * (lstm.comp's cells, rows.comp's softmax). Formulas: docs/ops.md. */
#include <math.h>

#include "vk.h"

static const nnb_tensor_desc *T(const vk_rec *r, int t) { return &r->g->tensors[t]; }

typedef struct lstm_pc {
  uint32_t op, nb, nt, nh, t;
} lstm_pc;

static nnb_status cell(vk_rec *r, lstm_pc pc, const vk_arg *a, int n_args, uint32_t wmask,
                       nnb_error *e) {
  uint32_t g[3];
  vk_grid((uint64_t)pc.nb * pc.nh, 256, g);
  return vk_dispatch(r, VK_SH_LSTM, a, n_args, wmask, &pc, sizeof pc, g, e);
}

/* gates[B*T, 4H] = x w_ih^T + b_ih + b_hh; then per step t:
 * gates[:, t] += h_{t-1} w_hh^T and the cell. */
nnb_status vk_lower_lstm(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[0]), *whh = T(r, n->in[2]);
  uint32_t B = (uint32_t)x->dims[0], Tn = (uint32_t)x->dims[1], I = (uint32_t)x->dims[2];
  uint32_t H = (uint32_t)whh->dims[1], G = 4 * H;
  vk_arg gates = vk_ws(r, (uint64_t)B * Tn * G * 4);
  vk_arg xa = vk_tensor(r, n->in[0]), wih = vk_tensor(r, n->in[1]), wh = vk_tensor(r, n->in[2]);
  vk_arg bih = vk_tensor(r, n->in[3]), bhh = vk_tensor(r, n->in[4]);
  vk_arg y = vk_tensor(r, n->out[0]), cache = vk_tensor(r, n->out[1]);
  vk_gemm gx = {.m = B * Tn,
                .n = G,
                .k = I,
                .batch = 1,
                .nb2 = 1,
                .flags = VK_BIAS_COL,
                .a_sm = I,
                .a_sk = 1,
                .b_sk = 1,
                .b_sn = I,
                .c_sm = G,
                .alpha = 1.0f};
  nnb_status s = vk_gemm_run(r, gx, xa, wih, gates, &bih, e);
  const nnb_tensor_desc gd = {.dtype = NNB_F32, .rank = 2, .dims = {(int64_t)B * Tn, G}};
  const nnb_tensor_desc bd = {.dtype = NNB_F32, .rank = 1, .dims = {G}};
  if (s == NNB_OK) s = vk_add_run(r, gates, &gd, bhh, &bd, gates, e);
  for (uint32_t t = 0; t < Tn && s == NNB_OK; t++) {
    if (t > 0) {
      vk_gemm gh = {.m = B,
                    .n = G,
                    .k = H,
                    .batch = 1,
                    .nb2 = 1,
                    .flags = VK_ACCUMULATE,
                    .a_off = (t - 1) * H,
                    .a_sm = Tn * H,
                    .a_sk = 1,
                    .b_sk = 1,
                    .b_sn = H,
                    .c_off = t * G,
                    .c_sm = Tn * G,
                    .alpha = 1.0f};
      s = vk_gemm_run(r, gh, y, wh, gates, NULL, e);
    }
    vk_arg a[3] = {gates, y, cache};
    if (s == NNB_OK) s = cell(r, (lstm_pc){0, B, Tn, H, t}, a, 3, 2u | 4u, e);
  }
  return s;
}

/* Backpropagation through time: per step (last first) dh_next = dz_{t+1}
 * w_hh and the cell's backward into dz[:, t]; dw_hh accumulates
 * dz[:, t]^T h_{t-1}. Then dx, dw_ih and db from all of dz at once. */
nnb_status vk_lower_lstm_bwd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[1]), *whh = T(r, n->in[3]);
  uint32_t B = (uint32_t)x->dims[0], Tn = (uint32_t)x->dims[1], I = (uint32_t)x->dims[2];
  uint32_t H = (uint32_t)whh->dims[1], G = 4 * H;
  vk_arg dz = vk_ws(r, (uint64_t)B * Tn * G * 4), dhn = vk_ws(r, (uint64_t)B * H * 4),
         dc = vk_ws(r, (uint64_t)B * H * 4);
  vk_arg dy = vk_tensor(r, n->in[0]), xa = vk_tensor(r, n->in[1]), wih = vk_tensor(r, n->in[2]);
  vk_arg wh = vk_tensor(r, n->in[3]), y = vk_tensor(r, n->in[4]), cache = vk_tensor(r, n->in[5]);
  vk_arg dx = vk_tensor(r, n->out[0]), dwih = vk_tensor(r, n->out[1]);
  vk_arg dwhh = vk_tensor(r, n->out[2]), db = vk_tensor(r, n->out[3]);
  nnb_status s = NNB_OK;
  for (uint32_t t = Tn; t-- > 0 && s == NNB_OK;) {
    if (t + 1 < Tn) { /* dh_next[B, H] = dz[:, t+1] [B, 4H] x w_hh [4H, H] */
      vk_gemm g = {.m = B,
                   .n = H,
                   .k = G,
                   .batch = 1,
                   .nb2 = 1,
                   .a_off = (t + 1) * G,
                   .a_sm = Tn * G,
                   .a_sk = 1,
                   .b_sk = H,
                   .b_sn = 1,
                   .c_sm = H,
                   .alpha = 1.0f};
      s = vk_gemm_run(r, g, dz, wh, dhn, NULL, e);
    }
    vk_arg a[5] = {dy, cache, dhn, dc, dz};
    if (s == NNB_OK) s = cell(r, (lstm_pc){1, B, Tn, H, t}, a, 5, 8u | 16u, e);
  }
  /* dw_hh[4H, H] = sum over t >= 1 of dz[:, t]^T [4H, B] x y[:, t-1] [B, H] */
  for (uint32_t t = 1; t < Tn && s == NNB_OK; t++) {
    vk_gemm g = {.m = G,
                 .n = H,
                 .k = B,
                 .batch = 1,
                 .nb2 = 1,
                 .flags = t > 1 ? VK_ACCUMULATE : 0,
                 .a_off = t * G,
                 .a_sm = 1,
                 .a_sk = Tn * G,
                 .b_off = (t - 1) * H,
                 .b_sk = Tn * H,
                 .b_sn = 1,
                 .c_sm = H,
                 .alpha = 1.0f};
    s = vk_gemm_run(r, g, dz, y, dwhh, NULL, e);
  }
  if (s == NNB_OK && Tn == 1) { /* h_{-1} is the constant zero */
    vk_gemm g = {.m = G,
                 .n = H,
                 .k = 0,
                 .batch = 1,
                 .nb2 = 1,
                 .a_sm = 1,
                 .b_sn = 1,
                 .c_sm = H,
                 .alpha = 1.0f};
    s = vk_gemm_run(r, g, dz, y, dwhh, NULL, e);
  }
  if (s == NNB_OK) { /* dx[B*T, I] = dz [B*T, 4H] x w_ih [4H, I] */
    vk_gemm g = {.m = B * Tn,
                 .n = I,
                 .k = G,
                 .batch = 1,
                 .nb2 = 1,
                 .a_sm = G,
                 .a_sk = 1,
                 .b_sk = I,
                 .b_sn = 1,
                 .c_sm = I,
                 .alpha = 1.0f};
    s = vk_gemm_run(r, g, dz, wih, dx, NULL, e);
  }
  if (s == NNB_OK) { /* dw_ih[4H, I] = dz^T [4H, B*T] x x [B*T, I] */
    vk_gemm g = {.m = G,
                 .n = I,
                 .k = B * Tn,
                 .batch = 1,
                 .nb2 = 1,
                 .a_sm = 1,
                 .a_sk = G,
                 .b_sk = I,
                 .b_sn = 1,
                 .c_sm = I,
                 .alpha = 1.0f};
    s = vk_gemm_run(r, g, dz, xa, dwih, NULL, e);
  }
  const int64_t d[4] = {1, 1, (int64_t)B * Tn, G};
  if (s == NNB_OK) s = vk_reduce_run(r, dz, db, d, 4u, 1.0f, e);
  return s;
}

typedef struct attn_dims {
  uint32_t B, T, D, NH, dh;
} attn_dims;

static attn_dims attn_of(const nnb_tensor_desc *qkv, int heads) {
  attn_dims d = {(uint32_t)qkv->dims[0], (uint32_t)qkv->dims[1], (uint32_t)(qkv->dims[2] / 3),
                 (uint32_t)heads, 0};
  d.dh = d.D / d.NH;
  return d;
}

/* A per-(batch, head) GEMM: z = b * NH + h, each operand offset by
 * b * s1 + h * s2. */
static vk_gemm per_head(const attn_dims *d, uint32_t m, uint32_t n, uint32_t k) {
  return (vk_gemm){.m = m, .n = n, .k = k, .batch = d->B * d->NH, .nb2 = d->NH, .alpha = 1.0f};
}

nnb_status vk_lower_attention(vk_rec *r, const nnb_node *n, nnb_error *e) {
  attn_dims d = attn_of(T(r, n->in[0]), n->attr.attention.heads);
  uint32_t D3 = 3 * d.D, TT = d.T * d.T;
  vk_arg qkv = vk_tensor(r, n->in[0]), y = vk_tensor(r, n->out[0]), p = vk_tensor(r, n->out[1]);
  /* scores = q k^T / sqrt(dh), into probs */
  vk_gemm g = per_head(&d, d.T, d.T, d.dh);
  g.a_s1 = d.T * D3, g.a_s2 = d.dh, g.a_sm = D3, g.a_sk = 1;
  g.b_off = d.D, g.b_s1 = d.T * D3, g.b_s2 = d.dh, g.b_sk = 1, g.b_sn = D3;
  g.c_s1 = d.NH * TT, g.c_s2 = TT, g.c_sm = d.T;
  g.alpha = (float)(1.0 / sqrt((double)d.dh));
  nnb_status s = vk_gemm_run(r, g, qkv, qkv, p, NULL, e);
  vk_rows_pc sp = {VK_ROWS_SOFTMAX, d.B * d.NH * d.T, d.T, (uint32_t)n->attr.attention.causal, 0};
  vk_arg a[2] = {p, p};
  if (s == NNB_OK) s = vk_rows_run(r, sp, a, 2, 2u, e);
  if (s != NNB_OK) return s;
  /* y = probs v */
  g = per_head(&d, d.T, d.dh, d.T);
  g.a_s1 = d.NH * TT, g.a_s2 = TT, g.a_sm = d.T, g.a_sk = 1;
  g.b_off = 2 * d.D, g.b_s1 = d.T * D3, g.b_s2 = d.dh, g.b_sk = D3, g.b_sn = 1;
  g.c_s1 = d.T * d.D, g.c_s2 = d.dh, g.c_sm = d.D;
  return vk_gemm_run(r, g, p, qkv, y, NULL, e);
}

nnb_status vk_lower_attention_bwd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  attn_dims d = attn_of(T(r, n->in[1]), n->attr.attention.heads);
  uint32_t D3 = 3 * d.D, TT = d.T * d.T;
  vk_arg dy = vk_tensor(r, n->in[0]), qkv = vk_tensor(r, n->in[1]), p = vk_tensor(r, n->in[2]);
  vk_arg dq = vk_tensor(r, n->out[0]);
  vk_arg ds = vk_ws(r, (uint64_t)d.B * d.NH * TT * 4);
  /* dP = dy v^T */
  vk_gemm g = per_head(&d, d.T, d.T, d.dh);
  g.a_s1 = d.T * d.D, g.a_s2 = d.dh, g.a_sm = d.D, g.a_sk = 1;
  g.b_off = 2 * d.D, g.b_s1 = d.T * D3, g.b_s2 = d.dh, g.b_sk = 1, g.b_sn = D3;
  g.c_s1 = d.NH * TT, g.c_s2 = TT, g.c_sm = d.T;
  nnb_status s = vk_gemm_run(r, g, dy, qkv, ds, NULL, e);
  /* dS = P (dP - rowsum(P dP)) / sqrt(dh), in place */
  vk_rows_pc sp = {VK_ROWS_SOFTMAX_BWD, d.B * d.NH * d.T, d.T, 0,
                   (float)(1.0 / sqrt((double)d.dh))};
  vk_arg a[3] = {ds, p, ds};
  if (s == NNB_OK) s = vk_rows_run(r, sp, a, 3, 4u, e);
  if (s != NNB_OK) return s;
  /* dq = dS k */
  g = per_head(&d, d.T, d.dh, d.T);
  g.a_s1 = d.NH * TT, g.a_s2 = TT, g.a_sm = d.T, g.a_sk = 1;
  g.b_off = d.D, g.b_s1 = d.T * D3, g.b_s2 = d.dh, g.b_sk = D3, g.b_sn = 1;
  g.c_s1 = d.T * D3, g.c_s2 = d.dh, g.c_sm = D3;
  s = vk_gemm_run(r, g, ds, qkv, dq, NULL, e);
  if (s != NNB_OK) return s;
  /* dk = dS^T q */
  g.a_sm = 1, g.a_sk = d.T;
  g.b_off = 0;
  g.c_off = d.D;
  s = vk_gemm_run(r, g, ds, qkv, dq, NULL, e);
  if (s != NNB_OK) return s;
  /* dv = P^T dy */
  g.b_s1 = d.T * d.D, g.b_s2 = d.dh, g.b_sk = d.D, g.b_sn = 1;
  g.c_off = 2 * d.D;
  return vk_gemm_run(r, g, p, dy, dq, NULL, e);
}
