/* lstm and lstm_bwd on the own path: wherever the LSTM primitive does not
 * fit the graph (the cache is read, as in `nnbench check`), and under
 * lstm=auto wherever the primitive would run oneDNN's generic `ref`
 * implementation (dn_rnn.c).
 *
 * The recurrence is split among the threads by sequences: each thread runs
 * every step of its own rows of the batch, with no barrier at all, its
 * products on dnnl_sgemm called from inside the parallel region. oneDNN 2.6
 * sizes sgemm's threading by omp_in_parallel(): inside an active region it
 * runs on the calling thread and allocates nothing (outside one, with more
 * than one thread, it allocates a workspace per call), so one thread's
 * call never waits for another's. The gate passes are vector loops
 * (dn_vec.c, for the effective ISA) that also add the bias.
 *
 * Where the input's contribution comes from:
 * - per step: Z_t [b, 4H] = [x_t h_{t-1}] [w_ih w_hh]^T, one product with
 *   K = I + H into a buffer that stays in cache (w_ih streamed every step);
 * - all steps at once: Z [b*T, 4H] = x w_ih^T before the recurrence, and per
 *   step Z_t += h_{t-1} w_hh^T: Z goes through memory three times, and the
 *   first product has K = I (28 in the seed's first layer).
 * Per step moves about 3 x 4H floats less per row and 4H x I more weights:
 * it wins while I < 3 rows (rows: a thread's share of the batch).
 *
 * The backward runs its recurrence the same way (gate pass, then the
 * thread's dh_{t-1} = dZ_t w_hh), then dx, [dw_ih dw_hh] and db as
 * whole-sequence matmul primitives on every thread. */
#include <omp.h>
#include <string.h>

#include "dn.h"

typedef struct lstm_dims {
  int64_t B, T, I, H;
} lstm_dims;

static lstm_dims dims_of(const nnb_tensor_desc *x, const nnb_tensor_desc *w_hh) {
  return (lstm_dims){x->dims[0], x->dims[1], x->dims[2], w_hh->dims[1]};
}

static size_t round16(size_t n) { return (n + 15) / 16 * 16; }

/* The threads of a step: no more than sequences. Set before its
 * primitives are created (the plugin runs it with the same count). */
static int seq_threads(dn_step *s, int64_t B) {
  if (s->threads > B) s->threads = (int)B;
  omp_set_num_threads(s->threads);
  return s->threads;
}

/* A thread's part of a recurrence: every step of sequences [b0, b1). */
typedef dnnl_status_t (*rows_fn)(const dn_step *s, int64_t b0, int64_t b1);

/* Runs fn on each thread's share of the B sequences, with no barrier. */
static nnb_status by_sequences(const dn_step *s, int64_t B, rows_fn fn, nnb_error *e) {
  int bad = 0;
#pragma omp parallel num_threads(s->threads) if (s->threads > 1)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t b0 = B * t / nt, b1 = B * (t + 1) / nt;
    dnnl_status_t st = b1 > b0 ? fn(s, b0, b1) : dnnl_success;
    if (st != dnnl_success) {
#pragma omp atomic write
      bad = (int)st;
    }
  }
  return bad ? dn_check((dnnl_status_t)bad, "running sgemm", s->n, e) : NNB_OK;
}

/* forward --------------------------------------------------------------- */

/* What prepare decided, kept in the step's aux. */
enum { AUX_PER_STEP, AUX_OWN_CACHE };

/* The forward's workspace in floats: bias = b_ih + b_hh [4H]; per step:
 * w_cat [4H, I+H], Z_t [B, 4H] and [x_t h_{t-1}] [B, I+H]; all at once:
 * Z [B*T, 4H]; where no node reads the cache, its rows of two steps
 * [2, B, 5H] instead of the graph's. */
typedef struct fwd_ws {
  size_t bias, wcat, z, xh, cbuf, total;
} fwd_ws;

static fwd_ws fwd_layout(const lstm_dims *d, bool per_step, bool own_cache) {
  size_t G = (size_t)(4 * d->H), K = (size_t)(d->I + d->H), B = (size_t)d->B, at = round16(G);
  fwd_ws w = {0};
  if (per_step) {
    w.wcat = at, at += round16(G * K);
    w.z = at, at += round16(B * G);
    w.xh = at, at += round16(B * K);
  } else {
    w.z = at, at += round16(B * (size_t)d->T * G);
  }
  if (own_cache) w.cbuf = at, at += round16(2 * B * 5 * (size_t)d->H);
  w.total = at;
  return w;
}

/* Every step of sequences [b0, b1). */
static dnnl_status_t fwd_rows(const dn_step *s, int64_t b0, int64_t b1) {
  lstm_dims d = dims_of(s->ti[0], s->ti[2]);
  const int64_t B = d.B, T = d.T, NI = d.I, H = d.H, G = 4 * H, K = NI + H, nb = b1 - b0;
  const bool per_step = s->aux[AUX_PER_STEP], own_cache = s->aux[AUX_OWN_CACHE];
  fwd_ws w = fwd_layout(&d, per_step, own_cache);
  const float *x = s->in[0], *w_ih = s->in[1], *w_hh = s->in[2];
  float *y = s->out[0], *ws = s->priv;
  const float *bias = ws + w.bias, *wcat = ws + w.wcat;
  float *z = ws + w.z;
  dnnl_status_t st = dnnl_success;
  if (!per_step) /* every step of these rows */
    st = dnnl_sgemm('N', 'T', nb * T, G, NI, 1.0f, x + b0 * T * NI, NI, w_ih, NI, 0.0f,
                    z + b0 * T * G, G);
  for (int64_t t = 0; t < T && st == dnnl_success; t++) {
    /* this step's pre-activations of rows b0..b1: zt, row stride zs */
    float *zt = per_step ? z + b0 * G : z + (b0 * T + t) * G;
    const int64_t zs = per_step ? G : T * G;
    if (per_step) {
      float *xh = ws + w.xh + b0 * K;
      for (int64_t b = b0; b < b1; b++) {
        float *row = xh + (b - b0) * K;
        memcpy(row, x + (b * T + t) * NI, (size_t)NI * sizeof *row);
        if (t > 0)
          memcpy(row + NI, y + (b * T + t - 1) * H, (size_t)H * sizeof *row);
        else
          memset(row + NI, 0, (size_t)H * sizeof *row);
      }
      st = dnnl_sgemm('N', 'T', nb, G, K, 1.0f, xh, K, wcat, K, 0.0f, zt, zs);
    } else if (t > 0) { /* h_{t-1} read in place: row stride T*H in y */
      st = dnnl_sgemm('N', 'T', nb, G, H, 1.0f, y + (b0 * T + t - 1) * H, T * H, w_hh, H, 1.0f, zt,
                      zs);
    }
    for (int64_t b = b0; b < b1; b++) {
      const int64_t row = b * T + t;
      float *ct = own_cache ? ws + w.cbuf + ((t & 1) * B + b) * 5 * H : s->out[1] + row * 5 * H;
      const float *cp = t == 0      ? NULL
                        : own_cache ? ws + w.cbuf + (((t - 1) & 1) * B + b) * 5 * H + 4 * H
                                    : s->out[1] + (row - 1) * 5 * H + 4 * H;
      s->env->vec->lstm_fwd(H, zt + (b - b0) * zs, bias, cp, ct, y + row * H);
    }
  }
  return st;
}

static nnb_status lstm_fwd(dn_step *s, nnb_error *e) {
  lstm_dims d = dims_of(s->ti[0], s->ti[2]);
  const int64_t NI = d.I, H = d.H, G = 4 * H, K = NI + H;
  fwd_ws w = fwd_layout(&d, s->aux[AUX_PER_STEP], s->aux[AUX_OWN_CACHE]);
  float *bias = s->priv + w.bias, *wcat = s->priv + w.wcat;
  for (int64_t r = 0; r < G; r++) bias[r] = s->in[3][r] + s->in[4][r];
  if (s->aux[AUX_PER_STEP]) /* [w_ih w_hh]: they change every training step */
    for (int64_t r = 0; r < G; r++) {
      memcpy(wcat + r * K, s->in[1] + r * NI, (size_t)NI * sizeof *wcat);
      memcpy(wcat + r * K + NI, s->in[2] + r * H, (size_t)H * sizeof *wcat);
    }
  return by_sequences(s, d.B, fwd_rows, e);
}

nnb_status dn_prep_lstm(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  if (dn_rnn_usable(s, gi, node)) return dn_prep_lstm_rnn(s, gi, node, e);
  lstm_dims d = dims_of(s->ti[0], s->ti[2]);
  int nt = seq_threads(s, d.B);
  bool per_step = d.I < 3 * ((d.B + nt - 1) / nt);
  /* the cache's bytes are left unwritten where no node reads it and it is
   * no graph output (the step keeps two steps' rows of it) */
  bool own_cache = gi->readers[s->n->out[1]] == 0;
  s->aux[AUX_PER_STEP] = per_step, s->aux[AUX_OWN_CACHE] = own_cache;
  nnb_status r = dn_step_priv(s, fwd_layout(&d, per_step, own_cache).total * sizeof(float), e);
  snprintf(s->kernel, sizeof s->kernel, "own:%s+sgemm per thread (%s)", s->env->vec->isa,
           per_step ? "x_t h_t-1 per step" : "x all steps first");
  s->run = lstm_fwd;
  return r;
}

/* backward -------------------------------------------------------------- */

/* Workspace in floats: dZ [B*T, 4H], [x_t h_{t-1}] [B*T, I+H], dh [B, H],
 * dc [B, H], ones [B*T] (the bias gradient's matmul), [dw_ih dw_hh]
 * [4H, I+H]. The two weight gradients are one product over [x_t h_{t-1}]:
 * N = I + H fills the GEMM's tiles better than N = I and N = H apart
 * (measured with H = 128, B*T = 896: 2.35 ms against 0.59 + 2.38 at
 * I = 28, 4.2 against 2 x 2.38 at I = 128). */
enum { BWD_DZ, BWD_XH, BWD_DH, BWD_DC, BWD_ONES, BWD_DW, BWD_N };

static void bwd_layout(const lstm_dims *d, size_t *at) {
  const size_t R = (size_t)(d->B * d->T), H = (size_t)d->H, B = (size_t)d->B;
  const size_t K = (size_t)(d->I + d->H);
  const size_t len[BWD_N] = {R * 4 * H, R * K, B * H, B * H, R, 4 * H * K};
  size_t o = 0;
  for (int i = 0; i < BWD_N; i++) at[i] = o, o += round16(len[i]);
  at[BWD_N] = o;
}

/* Every step of sequences [b0, b1), backwards: dZ of their rows. */
static dnnl_status_t bwd_rows(const dn_step *s, int64_t b0, int64_t b1) {
  lstm_dims d = dims_of(s->ti[1], s->ti[3]);
  const int64_t T = d.T, NI = d.I, H = d.H, G = 4 * H, K = NI + H, nb = b1 - b0;
  size_t at[BWD_N + 1];
  bwd_layout(&d, at);
  float *dz = s->priv + at[BWD_DZ], *xh = s->priv + at[BWD_XH];
  float *dhn = s->priv + at[BWD_DH], *dc = s->priv + at[BWD_DC];
  const float *dy = s->in[0], *x = s->in[1], *w_hh = s->in[3], *y = s->in[4];
  const float *cache = s->in[5];
  for (int64_t row = b0 * T; row < b1 * T; row++) { /* [x_t h_{t-1}], h_{-1} = 0 */
    memcpy(xh + row * K, x + row * NI, (size_t)NI * sizeof *xh);
    if (row % T)
      memcpy(xh + row * K + NI, y + (row - 1) * H, (size_t)H * sizeof *xh);
    else
      memset(xh + row * K + NI, 0, (size_t)H * sizeof *xh);
  }
  /* nothing flows back from after step T-1 */
  memset(dc + b0 * H, 0, (size_t)(nb * H) * sizeof *dc);
  dnnl_status_t st = dnnl_success;
  for (int64_t t = T - 1; t >= 0 && st == dnnl_success; t--) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t row = b * T + t;
      s->env->vec->lstm_bwd(H, dy + row * H, t < T - 1 ? dhn + b * H : NULL, dc + b * H,
                            cache + row * 5 * H, t > 0 ? cache + (row - 1) * 5 * H + 4 * H : NULL,
                            dz + row * G);
    }
    if (t > 0) /* dh_{t-1} = dz_t w_hh */
      st = dnnl_sgemm('N', 'N', nb, H, G, 1.0f, dz + (b0 * T + t) * G, T * G, w_hh, H, 0.0f,
                      dhn + b0 * H, H);
  }
  return st;
}

static nnb_status lstm_bwd(dn_step *s, nnb_error *e) {
  lstm_dims d = dims_of(s->ti[1], s->ti[3]);
  const int64_t NI = d.I, H = d.H, K = NI + H;
  nnb_status r = by_sequences(s, d.B, bwd_rows, e);
  for (int i = 0; r == NNB_OK && i < s->n_prims; i++) r = dn_exec_run(s->env, &s->prims[i], e);
  size_t at[BWD_N + 1];
  bwd_layout(&d, at);
  const float *dw = s->priv + at[BWD_DW];
  for (int64_t g = 0; r == NNB_OK && g < 4 * H; g++) { /* [dw_ih dw_hh] apart */
    memcpy(s->out[1] + g * NI, dw + g * K, (size_t)NI * sizeof(float));
    memcpy(s->out[2] + g * H, dw + g * K + NI, (size_t)H * sizeof(float));
  }
  return r;
}

nnb_status dn_prep_lstm_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  int f = dn_producer(gi->g, s->n->in[5]); /* the forward on the primitive kept its workspace */
  if (f >= 0 && f < node && gi->steps[f].n->op == NNB_OP_LSTM && gi->steps[f].shared)
    return dn_prep_lstm_bwd_rnn(s, gi, &gi->steps[f], e);
  lstm_dims d = dims_of(s->ti[1], s->ti[3]);
  const int64_t B = d.B, T = d.T, I = d.I, H = d.H, R = B * T;
  seq_threads(s, B);
  size_t at[BWD_N + 1];
  bwd_layout(&d, at);
  nnb_status r = dn_step_priv(s, at[BWD_N] * sizeof(float), e);
  if (r != NNB_OK) return r;
  float *dz = s->priv + at[BWD_DZ], *xh = s->priv + at[BWD_XH];
  float *ones = s->priv + at[BWD_ONES], *dw = s->priv + at[BWD_DW];
  for (int64_t i = 0; i < R; i++) ones[i] = 1.0f;
  snprintf(s->kernel, sizeof s->kernel, "own:%s+sgemm per thread", s->env->vec->isa);
  /* dx [R, I] = dz [R, 4H] w_ih [4H, I]; left unwritten where nothing
   * reads it (the first layer's, of the input) */
  dn_mat dzm = {dz, 4 * H, 1, {0}}, wih = {s->in[2], I, 1, {0}}, dx = {s->out[0], I, 1, {0}};
  if (gi->readers[s->n->out[0]] > 0)
    r = dn_add_gemm(s, 0, NULL, R, I, 4 * H, dzm, wih, dx, NULL, false, 1.0f, e);
  /* [dw_ih dw_hh] [4H, I+H] = dz^T [x_t h_{t-1}] */
  dn_mat dzT = {dz, 1, 4 * H, {0}}, xhm = {xh, I + H, 1, {0}}, dwm = {dw, I + H, 1, {0}};
  if (r == NNB_OK)
    r = dn_add_gemm(s, 0, NULL, 4 * H, I + H, R, dzT, xhm, dwm, NULL, false, 1.0f, e);
  /* db [1, 4H] = ones [1, R] dz */
  dn_mat on = {ones, R, 1, {0}}, db = {s->out[3], 4 * H, 1, {0}};
  if (r == NNB_OK) r = dn_add_gemm(s, 0, NULL, 1, 4 * H, R, on, dzm, db, NULL, false, 1.0f, e);
  s->run = lstm_bwd;
  return r;
}
