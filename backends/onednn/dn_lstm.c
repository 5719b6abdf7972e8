/* lstm and lstm_bwd with the graph's cache (where the LSTM primitive does
 * not fit, dn_rnn.c): one matmul for every step's
 * input projection, one matmul per step for the recurrence (on strided
 * views of y and the gate buffer) and the gates in OpenMP C. The backward
 * runs its recurrence the same way and then the weight, input and bias
 * gradients as three whole-sequence matmuls. */
#include <math.h>
#include <string.h>

#include "dn.h"

typedef struct lstm_dims {
  int64_t B, T, I, H;
} lstm_dims;

static lstm_dims dims_of(const nnb_tensor_desc *x, const nnb_tensor_desc *w_hh) {
  return (lstm_dims){x->dims[0], x->dims[1], x->dims[2], w_hh->dims[1]};
}

static float sigm(float z) { return 1.0f / (1.0f + expf(-z)); }

/* Where a step keeps its buffers in its private workspace (floats). */
enum { FWD_Z, FWD_BIAS, FWD_N };
enum { BWD_DZ, BWD_HPREV, BWD_DH, BWD_DC, BWD_ONES, BWD_N };

static void layout(size_t *at, const size_t *len, int n) {
  size_t o = 0;
  for (int i = 0; i < n; i++) at[i] = o, o += (len[i] + 15) / 16 * 16;
  at[n] = o;
}

/* forward --------------------------------------------------------------- */

static nnb_status lstm_fwd(dn_step *s, nnb_error *e) {
  lstm_dims d = dims_of(s->ti[0], s->ti[2]);
  const int64_t B = d.B, T = d.T, H = d.H;
  size_t len[FWD_N] = {(size_t)(B * T * 4 * H), (size_t)(4 * H)}, at[FWD_N + 1];
  layout(at, len, FWD_N);
  float *z = s->priv + at[FWD_Z], *bias = s->priv + at[FWD_BIAS];
  for (int64_t r = 0; r < 4 * H; r++) bias[r] = s->in[3][r] + s->in[4][r];
  nnb_status st = dn_exec_run(s->env, &s->prims[0], e); /* z = x w_ih^T + bias, all steps */
  float *y = s->out[0], *cache = s->out[1];
  for (int64_t t = 0; st == NNB_OK && t < T; t++) {
    if (t > 0) { /* z_t += h_{t-1} w_hh^T */
      dn_exec_point(&s->prims[1], DNNL_ARG_SRC, y + (t - 1) * H);
      dn_exec_point(&s->prims[1], DNNL_ARG_DST, z + t * 4 * H);
      st = dn_exec_run(s->env, &s->prims[1], e);
    }
#pragma omp parallel for if (B * H >= 4096)
    for (int64_t b = 0; b < B; b++) {
      const float *zt = z + (b * T + t) * 4 * H;
      const float *cp = t > 0 ? cache + (b * T + t - 1) * 5 * H + 4 * H : NULL;
      float *ct = cache + (b * T + t) * 5 * H, *ht = y + (b * T + t) * H;
      for (int64_t u = 0; u < H; u++) {
        float gi = sigm(zt[u]), gf = sigm(zt[H + u]), gg = tanhf(zt[2 * H + u]);
        float go = sigm(zt[3 * H + u]);
        float c = gf * (cp ? cp[u] : 0.0f) + gi * gg;
        ct[u] = gi, ct[H + u] = gf, ct[2 * H + u] = gg, ct[3 * H + u] = go, ct[4 * H + u] = c;
        ht[u] = go * tanhf(c);
      }
    }
  }
  return st;
}

nnb_status dn_prep_lstm(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  if (dn_rnn_usable(s, gi)) return dn_prep_lstm_rnn(s, gi, node, e);
  lstm_dims d = dims_of(s->ti[0], s->ti[2]);
  const int64_t B = d.B, T = d.T, I = d.I, H = d.H;
  size_t len[FWD_N] = {(size_t)(B * T * 4 * H), (size_t)(4 * H)}, at[FWD_N + 1];
  layout(at, len, FWD_N);
  nnb_status r = dn_step_priv(s, at[FWD_N] * sizeof(float), e);
  if (r != NNB_OK) return r;
  float *z = s->priv + at[FWD_Z], *bias = s->priv + at[FWD_BIAS];
  /* z [B*T, 4H] = x [B*T, I] w_ih^T + bias */
  dn_mat x = {s->in[0], I, 1, {0}}, wih = {s->in[1], 1, I, {0}}, zm = {z, 4 * H, 1, {0}};
  r = dn_add_gemm(s, 0, NULL, B * T, 4 * H, I, x, wih, zm, bias, false, 1.0f, e);
  /* z_t [B, 4H] (row stride T*4H) += h_{t-1} [B, H] (row stride T*H) w_hh^T */
  dn_mat h = {s->out[0], T * H, 1, {0}}, whh = {s->in[2], 1, H, {0}}, zt = {z, T * 4 * H, 1, {0}};
  if (r == NNB_OK) r = dn_add_gemm(s, 0, NULL, B, 4 * H, H, h, whh, zt, NULL, true, 1.0f, e);
  s->run = lstm_fwd;
  return r;
}

/* backward -------------------------------------------------------------- */

static nnb_status lstm_bwd(dn_step *s, nnb_error *e) {
  lstm_dims d = dims_of(s->ti[1], s->ti[3]);
  const int64_t B = d.B, T = d.T, H = d.H;
  size_t len[BWD_N] = {(size_t)(B * T * 4 * H), (size_t)(B * T * H), (size_t)(B * H),
                       (size_t)(B * H), (size_t)(B * T)},
         at[BWD_N + 1];
  layout(at, len, BWD_N);
  float *dz = s->priv + at[BWD_DZ], *hprev = s->priv + at[BWD_HPREV];
  float *dhn = s->priv + at[BWD_DH], *dc = s->priv + at[BWD_DC];
  const float *dy = s->in[0], *y = s->in[4], *cache = s->in[5];
  /* h_{t-1} for every (b, t), zero at t = 0: the operand of dw_hh's matmul */
#pragma omp parallel for if (B * T * H >= 65536)
  for (int64_t b = 0; b < B; b++) {
    memset(hprev + b * T * H, 0, (size_t)H * sizeof *hprev);
    memcpy(hprev + (b * T + 1) * H, y + b * T * H, (size_t)((T - 1) * H) * sizeof *hprev);
  }
  memset(dhn, 0, (size_t)(B * H) * sizeof *dhn);
  memset(dc, 0, (size_t)(B * H) * sizeof *dc);
  nnb_status st = NNB_OK;
  for (int64_t t = T - 1; st == NNB_OK && t >= 0; t--) {
#pragma omp parallel for if (B * H >= 4096)
    for (int64_t b = 0; b < B; b++) {
      const float *ct = cache + (b * T + t) * 5 * H;
      const float *cp = t > 0 ? cache + (b * T + t - 1) * 5 * H + 4 * H : NULL;
      const float *dyt = dy + (b * T + t) * H;
      float *dzt = dz + (b * T + t) * 4 * H, *dcb = dc + b * H, *dhb = dhn + b * H;
      for (int64_t u = 0; u < H; u++) {
        float gi = ct[u], gf = ct[H + u], gg = ct[2 * H + u], go = ct[3 * H + u];
        float tc = tanhf(ct[4 * H + u]);
        float dh = dyt[u] + dhb[u];
        float dcu = dcb[u] + dh * go * (1.0f - tc * tc);
        float cprev = cp ? cp[u] : 0.0f;
        dzt[u] = dcu * gg * gi * (1.0f - gi);
        dzt[H + u] = dcu * cprev * gf * (1.0f - gf);
        dzt[2 * H + u] = dcu * gi * (1.0f - gg * gg);
        dzt[3 * H + u] = dh * tc * go * (1.0f - go);
        dcb[u] = dcu * gf;
      }
    }
    if (t > 0) { /* dh_{t-1} = dz_t w_hh */
      dn_exec_point(&s->prims[0], DNNL_ARG_SRC, dz + t * 4 * H);
      st = dn_exec_run(s->env, &s->prims[0], e);
    }
  }
  for (int i = 1; st == NNB_OK && i < s->n_prims; i++) st = dn_exec_run(s->env, &s->prims[i], e);
  return st;
}

nnb_status dn_prep_lstm_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  int f = dn_producer(gi->g, s->n->in[5]); /* the forward on the primitive kept its workspace */
  if (f >= 0 && f < node && gi->steps[f].n->op == NNB_OP_LSTM && gi->steps[f].shared)
    return dn_prep_lstm_bwd_rnn(s, gi, &gi->steps[f], e);
  lstm_dims d = dims_of(s->ti[1], s->ti[3]);
  const int64_t B = d.B, T = d.T, I = d.I, H = d.H, R = B * T;
  size_t len[BWD_N] = {(size_t)(R * 4 * H), (size_t)(R * H), (size_t)(B * H), (size_t)(B * H),
                       (size_t)R},
         at[BWD_N + 1];
  layout(at, len, BWD_N);
  nnb_status r = dn_step_priv(s, at[BWD_N] * sizeof(float), e);
  if (r != NNB_OK) return r;
  float *dz = s->priv + at[BWD_DZ], *hprev = s->priv + at[BWD_HPREV], *dhn = s->priv + at[BWD_DH];
  float *ones = s->priv + at[BWD_ONES];
  for (int64_t i = 0; i < R; i++) ones[i] = 1.0f;
  /* dh_{t-1} [B, H] = dz_t [B, 4H] (row stride T*4H) w_hh [4H, H] */
  dn_mat dzt = {dz, T * 4 * H, 1, {0}}, whh = {s->in[3], H, 1, {0}}, dh = {dhn, H, 1, {0}};
  r = dn_add_gemm(s, 0, NULL, B, H, 4 * H, dzt, whh, dh, NULL, false, 1.0f, e);
  /* dx [R, I] = dz [R, 4H] w_ih [4H, I] */
  dn_mat dzm = {dz, 4 * H, 1, {0}}, wih = {s->in[2], I, 1, {0}}, dx = {s->out[0], I, 1, {0}};
  if (r == NNB_OK) r = dn_add_gemm(s, 0, NULL, R, I, 4 * H, dzm, wih, dx, NULL, false, 1.0f, e);
  /* dw_ih [4H, I] = dz^T x; dw_hh [4H, H] = dz^T hprev */
  dn_mat dzT = {dz, 1, 4 * H, {0}}, x = {s->in[1], I, 1, {0}}, dwih = {s->out[1], I, 1, {0}};
  if (r == NNB_OK) r = dn_add_gemm(s, 0, NULL, 4 * H, I, R, dzT, x, dwih, NULL, false, 1.0f, e);
  dn_mat hp = {hprev, H, 1, {0}}, dwhh = {s->out[2], H, 1, {0}};
  if (r == NNB_OK) r = dn_add_gemm(s, 0, NULL, 4 * H, H, R, dzT, hp, dwhh, NULL, false, 1.0f, e);
  /* db [1, 4H] = ones [1, R] dz */
  dn_mat on = {ones, R, 1, {0}}, db = {s->out[3], 4 * H, 1, {0}};
  if (r == NNB_OK) r = dn_add_gemm(s, 0, NULL, 1, 4 * H, R, on, dzm, db, NULL, false, 1.0f, e);
  s->run = lstm_bwd;
  return r;
}
