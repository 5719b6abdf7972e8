/* Reference kernels for the sequence ops: lstm, attention and their
 * backwards (docs/ops.md). Naive loops, every sum and dot product
 * accumulated in double so the oracle's own rounding stays far below the
 * tolerances other backends are checked against. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ref.h"

/* Names the node in every message, so a failure in a large graph can be
 * traced to the layer that caused it. */
#define NODE_NAME(io) ((io)->n ? (io)->n->name : "?")

static double sigmoid_d(double z) { return 1.0 / (1.0 + exp(-z)); }

/* True when t has exactly the given rank and dims. */
static int has_dims(const nnb_tensor_desc *t, int rank, int64_t d0, int64_t d1, int64_t d2,
                    int64_t d3) {
  const int64_t d[4] = {d0, d1, d2, d3};
  if (!t || t->rank != rank || t->dtype != NNB_F32) return 0;
  for (int i = 0; i < rank; i++)
    if (t->dims[i] != d[i]) return 0;
  return 1;
}

/* Sizes of an lstm node, read from x [B,T,I] and w_hh [4H,H]. */
typedef struct lstm_dims {
  int64_t B, T, I, H;
} lstm_dims;

static nnb_status lstm_shape(const ref_io *io, const nnb_tensor_desc *x,
                             const nnb_tensor_desc *w_ih, const nnb_tensor_desc *w_hh, lstm_dims *d,
                             nnb_error *e) {
  if (!x || x->rank != 3 || x->dtype != NNB_F32)
    return nnb_fail(e, NNB_ERR_SHAPE, "node '%s': lstm x must be f32 [B,T,I]", NODE_NAME(io));
  if (!w_hh || w_hh->rank != 2 || w_hh->dims[0] != 4 * w_hh->dims[1])
    return nnb_fail(e, NNB_ERR_SHAPE, "node '%s': lstm w_hh must be [4H,H]", NODE_NAME(io));
  d->B = x->dims[0];
  d->T = x->dims[1];
  d->I = x->dims[2];
  d->H = w_hh->dims[1];
  if (!has_dims(w_ih, 2, 4 * d->H, d->I, 0, 0))
    return nnb_fail(e, NNB_ERR_SHAPE, "node '%s': lstm w_ih must be [4H,I] = [%lld,%lld]",
                    NODE_NAME(io), (long long)(4 * d->H), (long long)d->I);
  return NNB_OK;
}

nnb_status ref_lstm(const ref_io *io, nnb_error *e) {
  lstm_dims d = {0};
  nnb_status s = lstm_shape(io, io->ti[0], io->ti[1], io->ti[2], &d, e);
  if (s != NNB_OK) return s;
  const int64_t B = d.B, T = d.T, I = d.I, H = d.H;
  if (!has_dims(io->ti[3], 1, 4 * H, 0, 0, 0) || !has_dims(io->ti[4], 1, 4 * H, 0, 0, 0) ||
      !has_dims(io->to[0], 3, B, T, H, 0) || !has_dims(io->to[1], 3, B, T, 5 * H, 0))
    return nnb_fail(e, NNB_ERR_SHAPE,
                    "node '%s': lstm wants b_ih, b_hh [%lld], y [%lld,%lld,%lld], cache "
                    "[%lld,%lld,%lld]",
                    NODE_NAME(io), (long long)(4 * H), (long long)B, (long long)T, (long long)H,
                    (long long)B, (long long)T, (long long)(5 * H));
  const float *x = io->in[0], *w_ih = io->in[1], *w_hh = io->in[2];
  const float *b_ih = io->in[3], *b_hh = io->in[4];
  float *y = io->out[0], *cache = io->out[1];

  for (int64_t b = 0; b < B; b++) {
    for (int64_t t = 0; t < T; t++) {
      const float *xt = x + (b * T + t) * I;
      /* h_{t-1} and c_{t-1} are read back from the outputs already written
       * (zero at t = 0), exactly the values the backward will read. */
      const float *hp = t > 0 ? y + (b * T + t - 1) * H : NULL;
      const float *cp = t > 0 ? cache + (b * T + t - 1) * 5 * H + 4 * H : NULL;
      float *ct = cache + (b * T + t) * 5 * H; /* i, f, g, o, c: H each */
      float *ht = y + (b * T + t) * H;
      for (int64_t u = 0; u < H; u++) {
        double z[4]; /* pre-activations of gates i, f, g, o for unit u */
        for (int q = 0; q < 4; q++) {
          int64_t r = q * H + u; /* row of w_ih / w_hh for this gate and unit */
          double acc = (double)b_ih[r] + (double)b_hh[r];
          for (int64_t k = 0; k < I; k++) acc += (double)xt[k] * (double)w_ih[r * I + k];
          if (hp)
            for (int64_t k = 0; k < H; k++) acc += (double)hp[k] * (double)w_hh[r * H + k];
          z[q] = acc;
        }
        double gi = sigmoid_d(z[0]), gf = sigmoid_d(z[1]), gg = tanh(z[2]), go = sigmoid_d(z[3]);
        double c = gf * (cp ? (double)cp[u] : 0.0) + gi * gg;
        ct[0 * H + u] = (float)gi;
        ct[1 * H + u] = (float)gf;
        ct[2 * H + u] = (float)gg;
        ct[3 * H + u] = (float)go;
        ct[4 * H + u] = (float)c;
        ht[u] = (float)(go * tanh(c));
      }
    }
  }
  return NNB_OK;
}

nnb_status ref_lstm_bwd(const ref_io *io, nnb_error *e) {
  lstm_dims d = {0};
  nnb_status s = lstm_shape(io, io->ti[1], io->ti[2], io->ti[3], &d, e);
  if (s != NNB_OK) return s;
  const int64_t B = d.B, T = d.T, I = d.I, H = d.H;
  if (!has_dims(io->ti[0], 3, B, T, H, 0) || !has_dims(io->ti[4], 3, B, T, H, 0) ||
      !has_dims(io->ti[5], 3, B, T, 5 * H, 0) || !has_dims(io->to[0], 3, B, T, I, 0) ||
      !has_dims(io->to[1], 2, 4 * H, I, 0, 0) || !has_dims(io->to[2], 2, 4 * H, H, 0, 0) ||
      !has_dims(io->to[3], 1, 4 * H, 0, 0, 0))
    return nnb_fail(e, NNB_ERR_SHAPE,
                    "node '%s': lstm_bwd wants dy, y [%lld,%lld,%lld], cache [..,%lld], dx "
                    "[..,%lld], dw_ih [%lld,%lld], dw_hh [%lld,%lld], db [%lld]",
                    NODE_NAME(io), (long long)B, (long long)T, (long long)H, (long long)(5 * H),
                    (long long)I, (long long)(4 * H), (long long)I, (long long)(4 * H),
                    (long long)H, (long long)(4 * H));
  const float *dy = io->in[0], *x = io->in[1], *w_ih = io->in[2], *w_hh = io->in[3];
  const float *y = io->in[4], *cache = io->in[5];
  float *dx = io->out[0], *dw_ih = io->out[1], *dw_hh = io->out[2], *db = io->out[3];

  /* Weight gradients sum over every (b, t): keep them in double until the
   * end. dz holds one step's pre-activation gradients; dh_next and dc_next
   * carry the gradient flowing back from step t+1 into h_t and c_t. */
  size_t n_ih = (size_t)(4 * H * I), n_hh = (size_t)(4 * H * H), n_b = (size_t)(4 * H);
  double *acc = calloc(n_ih + n_hh + n_b + n_b + 2 * (size_t)H + 1, sizeof *acc);
  if (!acc)
    return nnb_fail(e, NNB_ERR_NOMEM, "node '%s': lstm_bwd: out of host memory", NODE_NAME(io));
  double *gw_ih = acc, *gw_hh = gw_ih + n_ih, *gb = gw_hh + n_hh, *dz = gb + n_b;
  double *dh_next = dz + n_b, *dc_next = dh_next + H;

  for (int64_t b = 0; b < B; b++) {
    for (int64_t u = 0; u < H; u++) dh_next[u] = dc_next[u] = 0.0; /* nothing after t = T-1 */
    for (int64_t t = T - 1; t >= 0; t--) {
      const float *ct = cache + (b * T + t) * 5 * H;
      const float *cp = t > 0 ? cache + (b * T + t - 1) * 5 * H + 4 * H : NULL;
      const float *hp = t > 0 ? y + (b * T + t - 1) * H : NULL;
      const float *xt = x + (b * T + t) * I;
      for (int64_t u = 0; u < H; u++) {
        double gi = ct[u], gf = ct[H + u], gg = ct[2 * H + u], go = ct[3 * H + u];
        double tc = tanh((double)ct[4 * H + u]);
        /* h_t feeds y[:,t] and step t+1; c_t feeds h_t and step t+1. */
        double dh = (double)dy[(b * T + t) * H + u] + dh_next[u];
        double dc = dc_next[u] + dh * go * (1.0 - tc * tc);
        double cprev = cp ? (double)cp[u] : 0.0;
        /* Chain through each activation: sigmoid' = s(1-s), tanh' = 1-t^2. */
        dz[0 * H + u] = dc * gg * gi * (1.0 - gi);
        dz[1 * H + u] = dc * cprev * gf * (1.0 - gf);
        dz[2 * H + u] = dc * gi * (1.0 - gg * gg);
        dz[3 * H + u] = dh * tc * go * (1.0 - go);
        dc_next[u] = dc * gf; /* c_t = f*c_{t-1} + ... */
      }
      /* z = x_t w_ih^T + h_{t-1} w_hh^T + b: distribute dz to each operand. */
      for (int64_t r = 0; r < 4 * H; r++) {
        gb[r] += dz[r];
        for (int64_t k = 0; k < I; k++) gw_ih[r * I + k] += dz[r] * (double)xt[k];
        if (hp)
          for (int64_t k = 0; k < H; k++) gw_hh[r * H + k] += dz[r] * (double)hp[k];
      }
      for (int64_t k = 0; k < I; k++) {
        double sum = 0.0;
        for (int64_t r = 0; r < 4 * H; r++) sum += dz[r] * (double)w_ih[r * I + k];
        dx[(b * T + t) * I + k] = (float)sum;
      }
      for (int64_t k = 0; k < H; k++) {
        double sum = 0.0; /* at t = 0 h_{-1} is the constant zero: unused */
        for (int64_t r = 0; r < 4 * H; r++) sum += dz[r] * (double)w_hh[r * H + k];
        dh_next[k] = sum;
      }
    }
  }
  for (size_t i = 0; i < n_ih; i++) dw_ih[i] = (float)gw_ih[i];
  for (size_t i = 0; i < n_hh; i++) dw_hh[i] = (float)gw_hh[i];
  for (size_t i = 0; i < n_b; i++) db[i] = (float)gb[i];
  free(acc);
  return NNB_OK;
}

/* Sizes of an attention node: qkv [B,T,3D], heads of width dh = D/heads. */
typedef struct attn_dims {
  int64_t B, T, D, heads, dh;
} attn_dims;

static nnb_status attn_shape(const ref_io *io, const nnb_tensor_desc *qkv, attn_dims *d,
                             nnb_error *e) {
  if (!qkv || qkv->rank != 3 || qkv->dtype != NNB_F32 || qkv->dims[2] % 3)
    return nnb_fail(e, NNB_ERR_SHAPE, "node '%s': attention qkv must be f32 [B,T,3D]",
                    NODE_NAME(io));
  d->B = qkv->dims[0];
  d->T = qkv->dims[1];
  d->D = qkv->dims[2] / 3;
  d->heads = io->n ? io->n->attr.attention.heads : 0;
  if (d->heads < 1 || d->D % d->heads)
    return nnb_fail(e, NNB_ERR_INVALID, "node '%s': heads=%lld must divide the model width D=%lld",
                    NODE_NAME(io), (long long)d->heads, (long long)d->D);
  d->dh = d->D / d->heads;
  return NNB_OK;
}

nnb_status ref_attention(const ref_io *io, nnb_error *e) {
  attn_dims d = {0};
  nnb_status s = attn_shape(io, io->ti[0], &d, e);
  if (s != NNB_OK) return s;
  const int64_t B = d.B, T = d.T, D = d.D, NH = d.heads, dh = d.dh;
  if (!has_dims(io->to[0], 3, B, T, D, 0) || !has_dims(io->to[1], 4, B, NH, T, T))
    return nnb_fail(e, NNB_ERR_SHAPE,
                    "node '%s': attention wants y [%lld,%lld,%lld], probs [%lld,%lld,%lld,%lld]",
                    NODE_NAME(io), (long long)B, (long long)T, (long long)D, (long long)B,
                    (long long)NH, (long long)T, (long long)T);
  const int causal = io->n->attr.attention.causal;
  const float *qkv = io->in[0];
  float *y = io->out[0], *probs = io->out[1];
  const double scale = 1.0 / sqrt((double)dh);
  double *p = malloc((size_t)(T > 0 ? T : 1) * sizeof *p); /* one row of probabilities */
  if (!p)
    return nnb_fail(e, NNB_ERR_NOMEM, "node '%s': attention: out of host memory", NODE_NAME(io));

  for (int64_t b = 0; b < B; b++) {
    const float *base = qkv + b * T * 3 * D; /* row s of q/k/v: base + s*3D + {0,D,2D} */
    for (int64_t j = 0; j < NH; j++) {
      for (int64_t t = 0; t < T; t++) {
        const float *q = base + t * 3 * D + j * dh;
        int64_t n_keys = causal ? t + 1 : T; /* keys s > t are masked out */
        double mx = -INFINITY;
        for (int64_t s_ = 0; s_ < n_keys; s_++) {
          const float *k = base + s_ * 3 * D + D + j * dh;
          double dot = 0.0;
          for (int64_t c = 0; c < dh; c++) dot += (double)q[c] * (double)k[c];
          p[s_] = dot * scale;
          if (p[s_] > mx) mx = p[s_];
        }
        /* Subtracting the row max keeps exp() from overflowing. */
        double sum = 0.0;
        for (int64_t s_ = 0; s_ < n_keys; s_++) sum += (p[s_] = exp(p[s_] - mx));
        float *prow = probs + ((b * NH + j) * T + t) * T;
        for (int64_t s_ = 0; s_ < T; s_++) {
          if (s_ < n_keys) p[s_] /= sum;
          prow[s_] = s_ < n_keys ? (float)p[s_] : 0.0f; /* masked: probability zero */
        }
        for (int64_t c = 0; c < dh; c++) {
          double acc = 0.0;
          for (int64_t s_ = 0; s_ < n_keys; s_++)
            acc += p[s_] * (double)base[s_ * 3 * D + 2 * D + j * dh + c];
          y[(b * T + t) * D + j * dh + c] = (float)acc;
        }
      }
    }
  }
  free(p);
  return NNB_OK;
}

nnb_status ref_attention_bwd(const ref_io *io, nnb_error *e) {
  attn_dims d = {0};
  nnb_status s = attn_shape(io, io->ti[1], &d, e);
  if (s != NNB_OK) return s;
  const int64_t B = d.B, T = d.T, D = d.D, NH = d.heads, dh = d.dh;
  if (!has_dims(io->ti[0], 3, B, T, D, 0) || !has_dims(io->ti[2], 4, B, NH, T, T) ||
      !has_dims(io->to[0], 3, B, T, 3 * D, 0))
    return nnb_fail(e, NNB_ERR_SHAPE,
                    "node '%s': attention_bwd wants dy [%lld,%lld,%lld], probs "
                    "[%lld,%lld,%lld,%lld], dqkv [%lld,%lld,%lld]",
                    NODE_NAME(io), (long long)B, (long long)T, (long long)D, (long long)B,
                    (long long)NH, (long long)T, (long long)T, (long long)B, (long long)T,
                    (long long)(3 * D));
  const float *dy = io->in[0], *qkv = io->in[1], *probs = io->in[2];
  float *dqkv = io->out[0];
  const double scale = 1.0 / sqrt((double)dh);
  /* dS: gradient w.r.t. the scaled scores q k^T / sqrt(dh) of one head. */
  size_t tt = (size_t)(T * T);
  double *dS = malloc((tt > 0 ? tt : 1) * sizeof *dS);
  if (!dS)
    return nnb_fail(e, NNB_ERR_NOMEM, "node '%s': attention_bwd: out of host memory",
                    NODE_NAME(io));

  for (int64_t b = 0; b < B; b++) {
    const float *base = qkv + b * T * 3 * D;
    const float *dyb = dy + b * T * D;
    float *g = dqkv + b * T * 3 * D;
    for (int64_t j = 0; j < NH; j++) {
      const float *P = probs + (b * NH + j) * T * T;
      const int64_t off = j * dh; /* this head's columns within q, k and v */
      /* Softmax backward per row: dS = P * (dP - sum_s P*dP), with
       * dP[t,s] = dy_t . v_s. Masked entries have P = 0, so dS = 0 there. */
      for (int64_t t = 0; t < T; t++) {
        double rowdot = 0.0;
        for (int64_t s_ = 0; s_ < T; s_++) {
          double dp = 0.0;
          for (int64_t c = 0; c < dh; c++)
            dp += (double)dyb[t * D + off + c] * (double)base[s_ * 3 * D + 2 * D + off + c];
          dS[t * T + s_] = dp;
          rowdot += (double)P[t * T + s_] * dp;
        }
        for (int64_t s_ = 0; s_ < T; s_++)
          dS[t * T + s_] = (double)P[t * T + s_] * (dS[t * T + s_] - rowdot);
      }
      for (int64_t r = 0; r < T; r++) {
        for (int64_t c = 0; c < dh; c++) {
          /* dq_r = scale * sum_s dS[r,s] k_s; dk_r = scale * sum_t dS[t,r] q_t;
           * dv_r = sum_t P[t,r] dy_t. */
          double dq = 0.0, dk = 0.0, dv = 0.0;
          for (int64_t u = 0; u < T; u++) {
            dq += dS[r * T + u] * (double)base[u * 3 * D + D + off + c];
            dk += dS[u * T + r] * (double)base[u * 3 * D + off + c];
            dv += (double)P[u * T + r] * (double)dyb[u * D + off + c];
          }
          g[r * 3 * D + off + c] = (float)(dq * scale);
          g[r * 3 * D + D + off + c] = (float)(dk * scale);
          g[r * 3 * D + 2 * D + off + c] = (float)dv;
        }
      }
    }
  }
  free(dS);
  return NNB_OK;
}
