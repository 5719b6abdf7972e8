/* The sequence ops through GEMMs.
 *
 * lstm: the input projection of every time step is one GEMM per layer
 * (x [B*T, I] w_ih^T), biases folded in once; each step adds h_{t-1} w_hh^T
 * with one GEMM straight into that step's rows (ldc skips the other steps),
 * then one fused pass applies the four gates and the cell update. Its
 * backward runs the recurrence step by step (one GEMM per step for the
 * gradient into h_{t-1}) and then forms dx, dw_ih, dw_hh as three GEMMs
 * over all steps at once.
 *
 * attention: per (batch, head) the scores q k^T, a max-subtracted softmax,
 * and probs v are GEMMs over strided views of the packed qkv; heads run in
 * parallel when the library is the OpenMP build (it then runs each GEMM on
 * the calling thread). */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "ob.h"

static float sigmoidf(float z) { return 1.0f / (1.0f + expf(-z)); }

size_t ob_lstm_ws(const ob_io *io) {
  int64_t B = io->ti[0]->dims[0], T = io->ti[0]->dims[1], H = io->ti[2]->dims[1];
  return (size_t)(B * T * 4 * H) * sizeof(float);
}

nnb_status ob_lstm(const ob_io *io, nnb_error *e) {
  int64_t B = io->ti[0]->dims[0], T = io->ti[0]->dims[1], I = io->ti[0]->dims[2];
  int64_t H = io->ti[2]->dims[1], G = 4 * H;
  const float *x = ob_in(io, 0), *w_ih = ob_in(io, 1), *w_hh = ob_in(io, 2);
  const float *b_ih = ob_in(io, 3), *b_hh = ob_in(io, 4);
  float *y = ob_out(io, 0), *cache = ob_out(io, 1), *z = io->ws;
  ob_gemm(io, false, true, B * T, G, I, 1.0f, x, I, w_ih, I, 0.0f, z, G);
#pragma omp parallel for num_threads(io->nt) if (B * T * G > OB_PAR_MIN) schedule(static)
  for (int64_t r = 0; r < B * T; r++)
    for (int64_t j = 0; j < G; j++) z[r * G + j] += b_ih[j] + b_hh[j];
  for (int64_t t = 0; t < T; t++) {
    if (t > 0)
      ob_gemm(io, false, true, B, G, H, 1.0f, y + (t - 1) * H, T * H, w_hh, H, 1.0f, z + t * G,
              T * G);
#pragma omp parallel for num_threads(io->nt) if (B * G > OB_PAR_MIN) schedule(static)
    for (int64_t b = 0; b < B; b++) {
      const float *zt = z + (b * T + t) * G;
      const float *cp = t > 0 ? cache + (b * T + t - 1) * 5 * H + 4 * H : NULL;
      float *ct = cache + (b * T + t) * 5 * H, *ht = y + (b * T + t) * H;
      for (int64_t u = 0; u < H; u++) {
        float gi = sigmoidf(zt[u]), gf = sigmoidf(zt[H + u]), gg = tanhf(zt[2 * H + u]);
        float go = sigmoidf(zt[3 * H + u]);
        float c = gf * (cp ? cp[u] : 0.0f) + gi * gg;
        ct[u] = gi, ct[H + u] = gf, ct[2 * H + u] = gg, ct[3 * H + u] = go, ct[4 * H + u] = c;
        ht[u] = go * tanhf(c);
      }
    }
  }
  return NNB_OK;
}

size_t ob_lstm_bwd_ws(const ob_io *io) {
  int64_t B = io->ti[1]->dims[0], T = io->ti[1]->dims[1], H = io->ti[3]->dims[1];
  return (size_t)(B * T * 4 * H + B * T * H + 2 * B * H) * sizeof(float) +
         (size_t)(4 * H) * sizeof(double);
}

nnb_status ob_lstm_bwd(const ob_io *io, nnb_error *e) {
  int64_t B = io->ti[1]->dims[0], T = io->ti[1]->dims[1], I = io->ti[1]->dims[2];
  int64_t H = io->ti[3]->dims[1], G = 4 * H;
  const float *dy = ob_in(io, 0), *x = ob_in(io, 1), *w_ih = ob_in(io, 2), *w_hh = ob_in(io, 3);
  const float *y = ob_in(io, 4), *cache = ob_in(io, 5);
  float *dx = ob_out(io, 0), *dw_ih = ob_out(io, 1), *dw_hh = ob_out(io, 2), *db = ob_out(io, 3);
  /* dz: every step's pre-activation gradients [B*T, 4H]; hprev: h_{t-1}
   * for every (b, t), zero at t = 0; dh, dc: what flows back from t+1. */
  double *acc = (double *)io->ws; /* first: the workspace is aligned for doubles */
  float *dz = (float *)(acc + G), *hprev = dz + B * T * G, *dh = hprev + B * T * H,
        *dc = dh + B * H;
  memset(dh, 0, (size_t)(2 * B * H) * sizeof *dh);
  for (int64_t t = T - 1; t >= 0; t--) {
#pragma omp parallel for num_threads(io->nt) if (B * G > OB_PAR_MIN) schedule(static)
    for (int64_t b = 0; b < B; b++) {
      const float *ct = cache + (b * T + t) * 5 * H;
      const float *cp = t > 0 ? cache + (b * T + t - 1) * 5 * H + 4 * H : NULL;
      float *dzt = dz + (b * T + t) * G, *dhb = dh + b * H, *dcb = dc + b * H;
      const float *dyt = dy + (b * T + t) * H;
      for (int64_t u = 0; u < H; u++) {
        float gi = ct[u], gf = ct[H + u], gg = ct[2 * H + u], go = ct[3 * H + u];
        float tc = tanhf(ct[4 * H + u]);
        float dht = dyt[u] + dhb[u];
        float dct = dcb[u] + dht * go * (1.0f - tc * tc);
        float cprev = cp ? cp[u] : 0.0f;
        dzt[u] = dct * gg * gi * (1.0f - gi);
        dzt[H + u] = dct * cprev * gf * (1.0f - gf);
        dzt[2 * H + u] = dct * gi * (1.0f - gg * gg);
        dzt[3 * H + u] = dht * tc * go * (1.0f - go);
        dcb[u] = dct * gf;
      }
    }
    /* dh_{t-1} = dz_t w_hh; nothing flows before t = 0. */
    if (t > 0) ob_gemm(io, false, false, B, H, G, 1.0f, dz + t * G, T * G, w_hh, H, 0.0f, dh, H);
  }
#pragma omp parallel for num_threads(io->nt) if (B * T * H > OB_PAR_MIN) schedule(static)
  for (int64_t r = 0; r < B * T; r++) {
    if (r % T)
      memcpy(hprev + r * H, y + (r - 1) * H, (size_t)H * sizeof *hprev);
    else
      memset(hprev + r * H, 0, (size_t)H * sizeof *hprev);
  }
  ob_gemm(io, true, false, G, I, B * T, 1.0f, dz, G, x, I, 0.0f, dw_ih, I);
  ob_gemm(io, true, false, G, H, B * T, 1.0f, dz, G, hprev, H, 0.0f, dw_hh, H);
  ob_gemm(io, false, false, B * T, I, G, 1.0f, dz, G, w_ih, I, 0.0f, dx, I);
  for (int64_t j = 0; j < G; j++) acc[j] = 0;
  for (int64_t r = 0; r < B * T; r++)
    for (int64_t j = 0; j < G; j++) acc[j] += dz[r * G + j];
  for (int64_t j = 0; j < G; j++) db[j] = (float)acc[j];
  return NNB_OK;
}

typedef struct attn {
  int64_t B, T, D, NH, dh;
  float scale;
  int causal;
} attn;

static attn attn_of(const ob_io *io, const nnb_tensor_desc *qkv) {
  attn a = {qkv->dims[0],
            qkv->dims[1],
            qkv->dims[2] / 3,
            io->n->attr.attention.heads,
            0,
            0,
            io->n->attr.attention.causal};
  a.dh = a.D / a.NH;
  a.scale = (float)(1.0 / sqrt((double)a.dh));
  return a;
}

/* Heads in parallel only where the library runs a GEMM called from a
 * parallel region on the calling thread (the OpenMP build). */
static int head_threads(const ob_io *io, const attn *a) {
  return strcmp(io->blas->variant, "openmp") || a->B * a->NH < 2 ? 1 : io->nt;
}

nnb_status ob_attention(const ob_io *io, nnb_error *e) {
  attn a = attn_of(io, io->ti[0]);
  const float *qkv = ob_in(io, 0);
  float *y = ob_out(io, 0), *probs = ob_out(io, 1);
  int64_t T = a.T, D = a.D;
#pragma omp parallel for num_threads(head_threads(io, &a)) schedule(static)
  for (int64_t bj = 0; bj < a.B * a.NH; bj++) {
    int64_t b = bj / a.NH, j = bj % a.NH;
    const float *q = qkv + b * T * 3 * D + j * a.dh, *k = q + D, *v = q + 2 * D;
    float *s = probs + bj * T * T;
    ob_gemm(io, false, true, T, T, a.dh, a.scale, q, 3 * D, k, 3 * D, 0.0f, s, T);
    for (int64_t t = 0; t < T; t++) {
      float *row = s + t * T;
      int64_t keys = a.causal ? t + 1 : T; /* keys s > t are masked out */
      float mx = row[0];
      for (int64_t u = 1; u < keys; u++) mx = row[u] > mx ? row[u] : mx;
      double sum = 0;
      for (int64_t u = 0; u < keys; u++) sum += (row[u] = expf(row[u] - mx));
      float inv = (float)(1.0 / sum);
      for (int64_t u = 0; u < keys; u++) row[u] *= inv;
      for (int64_t u = keys; u < T; u++) row[u] = 0.0f;
    }
    ob_gemm(io, false, false, T, a.dh, T, 1.0f, s, T, v, 3 * D, 0.0f, y + b * T * D + j * a.dh, D);
  }
  return NNB_OK;
}

size_t ob_attention_bwd_ws(const ob_io *io) {
  int64_t T = io->ti[1]->dims[1];
  return (size_t)(T * T * io->nt) * sizeof(float);
}

nnb_status ob_attention_bwd(const ob_io *io, nnb_error *e) {
  attn a = attn_of(io, io->ti[1]);
  const float *dy = ob_in(io, 0), *qkv = ob_in(io, 1), *probs = ob_in(io, 2);
  float *dqkv = ob_out(io, 0);
  int64_t T = a.T, D = a.D;
#pragma omp parallel for num_threads(head_threads(io, &a)) schedule(static)
  for (int64_t bj = 0; bj < a.B * a.NH; bj++) {
    int64_t b = bj / a.NH, j = bj % a.NH;
    const float *q = qkv + b * T * 3 * D + j * a.dh, *k = q + D, *v = q + 2 * D;
    const float *p = probs + bj * T * T, *dyb = dy + b * T * D + j * a.dh;
    float *dq = dqkv + b * T * 3 * D + j * a.dh, *dk = dq + D, *dv = dq + 2 * D;
    float *ds = io->ws + (int64_t)omp_get_thread_num() * T * T;
    ob_gemm(io, true, false, T, a.dh, T, 1.0f, p, T, dyb, D, 0.0f, dv, 3 * D);
    ob_gemm(io, false, true, T, T, a.dh, 1.0f, dyb, D, v, 3 * D, 0.0f, ds, T);
    /* Softmax backward per row: dS = P (dP - sum(P dP)); masked P are 0. */
    for (int64_t t = 0; t < T; t++) {
      double dot = 0;
      for (int64_t u = 0; u < T; u++) dot += (double)p[t * T + u] * ds[t * T + u];
      for (int64_t u = 0; u < T; u++) ds[t * T + u] = p[t * T + u] * (ds[t * T + u] - (float)dot);
    }
    ob_gemm(io, false, false, T, a.dh, T, a.scale, ds, T, k, 3 * D, 0.0f, dq, 3 * D);
    ob_gemm(io, true, false, T, a.dh, T, a.scale, ds, T, q, 3 * D, 0.0f, dk, 3 * D);
  }
  return NNB_OK;
}
