/* lstm and lstm_bwd (docs/ops.md): GEMMs for the products, one fused
 * vector pass per step for the gates.
 *
 * Forward, per layer: Z [B*T, 4H] = x [B*T, I] w_ih^T (all steps in one
 * GEMM), then per step t: Z[:, t] += h_{t-1} w_hh^T (one GEMM; h_{t-1} is
 * read in place from y with leading dimension T*H) and the gate pass
 * writes cache[:, t] and y[:, t]. Sequences are independent, so the team
 * splits the batch: each thread runs every step of its own sequences with
 * no barrier between steps.
 *
 * Backward: per step, from T-1 down, the gate pass gives dZ[:, t] and
 * dh_{t-1} = dZ[:, t] w_hh (one GEMM per step, again per thread on its own
 * sequences); then dx = dZ w_ih, dw_ih = dZ^T x, dw_hh = dZ^T h_prev (h
 * shifted by one step) and db = column sums of dZ, each one GEMM or one
 * pass over all steps. */
#include <omp.h>
#include <string.h>

#include "ob.h"

typedef struct ldims {
  int64_t b, t, i, h;
} ldims;

static ldims dims_of(const nnb_tensor_desc *x, const nnb_tensor_desc *w_hh) {
  return (ldims){x->dims[0], x->dims[1], x->dims[2], w_hh->dims[1]};
}

/* Workspace: Z [B*T, 4H], then b_ih + b_hh [4H]. */
size_t ob_lstm_ws(const ob_step *s) {
  ldims d = dims_of(s->ti[0], s->ti[2]);
  return ob_round16((size_t)(d.b * d.t * 4 * d.h)) + ob_round16((size_t)(4 * d.h));
}

/* Threads for a batch of b sequences whose steps cost `flops` each. */
static int seq_threads(const ob_env *env, int64_t b, double flops) {
  return ob_threads_for(env, b, flops / 16.0);
}

nnb_status ob_lstm(const ob_step *s, nnb_error *e) {
  ldims d = dims_of(s->ti[0], s->ti[2]);
  const int64_t B = d.b, T = d.t, NI = d.i, H = d.h, G = 4 * H;
  const float *x = s->in[0], *w_ih = s->in[1], *w_hh = s->in[2];
  const float *b_ih = s->in[3], *b_hh = s->in[4];
  float *y = s->out[0], *cache = s->out[1];
  float *z = s->ws, *bias = s->ws + ob_round16((size_t)(B * T * G));
  for (int64_t r = 0; r < G; r++) bias[r] = b_ih[r] + b_hh[r];
  const ob_env *env = s->env;
  int nt = seq_threads(env, B, 2.0 * (double)(B * T * G * (NI + H)));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int th = omp_get_thread_num(), nth = omp_get_num_threads();
    int64_t b0 = B * th / nth, b1 = B * (th + 1) / nth, nb = b1 - b0;
    if (nb > 0) {
      ob_sgemm(env, false, true, nb * T, G, NI, 1.0f, x + b0 * T * NI, NI, w_ih, NI, 0.0f,
               z + b0 * T * G, G);
      for (int64_t t = 0; t < T; t++) {
        if (t > 0) /* rows b0..b1 of step t: stride T*G in Z, T*H in y */
          ob_sgemm(env, false, true, nb, G, H, 1.0f, y + (b0 * T + t - 1) * H, T * H, w_hh, H, 1.0f,
                   z + (b0 * T + t) * G, T * G);
        for (int64_t b = b0; b < b1; b++) {
          int64_t row = b * T + t;
          env->vec->lstm_fwd(H, z + row * G, bias, t > 0 ? cache + (row - 1) * 5 * H + 4 * H : NULL,
                             cache + row * 5 * H, y + row * H);
        }
      }
    }
  }
  return NNB_OK;
}

/* Workspace: dZ [B*T, 4H], h_prev [B*T, H], dh [B, H], dc [B, H]. */
size_t ob_lstm_bwd_ws(const ob_step *s) {
  ldims d = dims_of(s->ti[1], s->ti[3]);
  return ob_round16((size_t)(d.b * d.t * 4 * d.h)) + ob_round16((size_t)(d.b * d.t * d.h)) +
         2 * ob_round16((size_t)(d.b * d.h));
}

typedef struct colsum {
  const float *m;
  int64_t rows, cols;
  float *out;
} colsum;

/* out[j] = sum of column j over every row, for columns [lo, hi). */
static void colsum_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  const colsum *c = arg;
  memset(c->out + lo, 0, (size_t)(hi - lo) * sizeof *c->out);
  for (int64_t r = 0; r < c->rows; r++) {
    const float *row = c->m + r * c->cols;
#pragma omp simd
    for (int64_t j = lo; j < hi; j++) c->out[j] += row[j];
  }
}

nnb_status ob_lstm_bwd(const ob_step *s, nnb_error *e) {
  ldims d = dims_of(s->ti[1], s->ti[3]);
  const int64_t B = d.b, T = d.t, NI = d.i, H = d.h, G = 4 * H;
  const float *dy = s->in[0], *x = s->in[1], *w_ih = s->in[2], *w_hh = s->in[3];
  const float *y = s->in[4], *cache = s->in[5];
  float *dx = s->out[0], *dw_ih = s->out[1], *dw_hh = s->out[2], *db = s->out[3];
  float *dz = s->ws, *hprev = dz + ob_round16((size_t)(B * T * G));
  float *dh = hprev + ob_round16((size_t)(B * T * H)), *dc = dh + ob_round16((size_t)(B * H));
  const ob_env *env = s->env;
  int nt = seq_threads(env, B, 2.0 * (double)(B * T * G * (NI + H)));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int th = omp_get_thread_num(), nth = omp_get_num_threads();
    int64_t b0 = B * th / nth, b1 = B * (th + 1) / nth, nb = b1 - b0;
    if (nb > 0) {
      memset(dc + b0 * H, 0, (size_t)(nb * H) * sizeof *dc); /* nothing after step T-1 */
      for (int64_t t = T - 1; t >= 0; t--) {
        for (int64_t b = b0; b < b1; b++) {
          int64_t row = b * T + t;
          env->vec->lstm_bwd(H, dy + row * H, t < T - 1 ? dh + b * H : NULL, dc + b * H,
                             cache + row * 5 * H, t > 0 ? cache + (row - 1) * 5 * H + 4 * H : NULL,
                             dz + row * G);
        }
        if (t > 0) /* dh_{t-1} = dz_t w_hh (h_{-1} is the constant zero) */
          ob_sgemm(env, false, false, nb, H, G, 1.0f, dz + (b0 * T + t) * G, T * G, w_hh, H, 0.0f,
                   dh + b0 * H, H);
      }
      ob_sgemm(env, false, false, nb * T, NI, G, 1.0f, dz + b0 * T * G, G, w_ih, NI, 0.0f,
               dx + b0 * T * NI, NI);
      for (int64_t b = b0; b < b1; b++) { /* h_prev[b, t] = y[b, t-1], zero at t = 0 */
        memset(hprev + b * T * H, 0, (size_t)H * sizeof *hprev);
        memcpy(hprev + (b * T + 1) * H, y + b * T * H, (size_t)((T - 1) * H) * sizeof *hprev);
      }
    }
  }
  ob_gemm(env, true, false, G, NI, B * T, 1.0f, dz, G, x, NI, 0.0f, dw_ih, NI, NULL);
  ob_gemm(env, true, false, G, H, B * T, 1.0f, dz, G, hprev, H, 0.0f, dw_hh, H, NULL);
  colsum c = {dz, B * T, G, db};
  ob_par_range(s, G, 16, (double)(B * T * G), colsum_range, &c);
  return NNB_OK;
}
