/* Reference kernels for lstm and attention (backends/reference/ref_seq.c):
 * forward results against values computed independently here, and the
 * backward kernels against central finite differences of the forward. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "testutil.h"

static nnb_tensor_desc mk_desc(const char *name, int rank, int64_t d0, int64_t d1, int64_t d2,
                               int64_t d3) {
  nnb_tensor_desc t;
  memset(&t, 0, sizeof t);
  snprintf(t.name, sizeof t.name, "%s", name);
  t.dtype = NNB_F32;
  t.role = NNB_ROLE_ACTIVATION;
  t.rank = rank;
  t.dims[0] = d0;
  t.dims[1] = d1;
  t.dims[2] = d2;
  t.dims[3] = d3;
  t.view_of = -1;
  return t;
}

static nnb_node mk_node(nnb_op op, const char *name, int n_in, int n_out) {
  nnb_node n;
  memset(&n, 0, sizeof n);
  n.op = op;
  n.n_in = n_in;
  n.n_out = n_out;
  snprintf(n.name, sizeof n.name, "%s", name);
  return n;
}

static double sum_rx(const float *r, const float *y, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; i++) s += (double)r[i] * (double)y[i];
  return s;
}

static double sigm(double z) { return 1.0 / (1.0 + exp(-z)); }

/* ---------------------------------------------------------------- lstm */

typedef struct lstm_case {
  int64_t B, T, I, H;
  float *x, *w_ih, *w_hh, *b_ih, *b_hh; /* inputs */
  float *y, *cache;                     /* forward outputs */
  float *r;                             /* loss = sum(r * y) */
} lstm_case;

static void lstm_run(lstm_case *c) {
  nnb_tensor_desc tx = mk_desc("x", 3, c->B, c->T, c->I, 0);
  nnb_tensor_desc twi = mk_desc("w_ih", 2, 4 * c->H, c->I, 0, 0);
  nnb_tensor_desc twh = mk_desc("w_hh", 2, 4 * c->H, c->H, 0, 0);
  nnb_tensor_desc tbi = mk_desc("b_ih", 1, 4 * c->H, 0, 0, 0);
  nnb_tensor_desc tbh = mk_desc("b_hh", 1, 4 * c->H, 0, 0, 0);
  nnb_tensor_desc ty = mk_desc("y", 3, c->B, c->T, c->H, 0);
  nnb_tensor_desc tc = mk_desc("cache", 3, c->B, c->T, 5 * c->H, 0);
  nnb_node n = mk_node(NNB_OP_LSTM, "test.lstm", 5, 2);
  ref_io io = {.n = &n,
               .ti = {&tx, &twi, &twh, &tbi, &tbh},
               .to = {&ty, &tc},
               .in = {c->x, c->w_ih, c->w_hh, c->b_ih, c->b_hh},
               .out = {c->y, c->cache}};
  nnb_error e = {{0}};
  nnb_status s = ref_lstm(&io, &e);
  cr_assert_eq(s, NNB_OK, "ref_lstm failed: %s", e.msg);
}

static double lstm_loss(void *ctx) {
  lstm_case *c = ctx;
  lstm_run(c);
  return sum_rx(c->r, c->y, (size_t)(c->B * c->T * c->H));
}

/* ----------------------------------------------------------- attention */

typedef struct attn_case {
  int64_t B, T, D;
  int heads, causal;
  float *qkv, *y, *probs, *r;
} attn_case;

static void attn_run(attn_case *c) {
  nnb_tensor_desc tq = mk_desc("qkv", 3, c->B, c->T, 3 * c->D, 0);
  nnb_tensor_desc ty = mk_desc("y", 3, c->B, c->T, c->D, 0);
  nnb_tensor_desc tp = mk_desc("probs", 4, c->B, c->heads, c->T, c->T);
  nnb_node n = mk_node(NNB_OP_ATTENTION, "test.attn", 1, 2);
  n.attr.attention.heads = c->heads;
  n.attr.attention.causal = c->causal;
  ref_io io = {.n = &n, .ti = {&tq}, .to = {&ty, &tp}, .in = {c->qkv}, .out = {c->y, c->probs}};
  nnb_error e = {{0}};
  nnb_status s = ref_attention(&io, &e);
  cr_assert_eq(s, NNB_OK, "ref_attention failed: %s", e.msg);
}

static double attn_loss(void *ctx) {
  attn_case *c = ctx;
  attn_run(c);
  return sum_rx(c->r, c->y, (size_t)(c->B * c->T * c->D));
}

/* ------------------------------------------------- finite differences */

/* Central differences of loss() w.r.t. every element of p, compared to
 * `analytic`. The step actually taken is measured after rounding to f32,
 * so that rounding does not bias the quotient. The error of an element is
 * |analytic - fd| / max(|fd|, |analytic|, 1e-2): relative, with a floor so
 * that near-zero gradients are judged against f32 noise, not against 0. */
static double fd_worst(float *p, size_t n, const float *analytic, double (*loss)(void *), void *ctx,
                       size_t *worst_at, double *worst_an, double *worst_fd) {
  const float h = 1e-3f;
  double worst = 0.0;
  *worst_at = 0;
  *worst_an = *worst_fd = 0.0;
  for (size_t i = 0; i < n; i++) {
    float orig = p[i];
    p[i] = orig + h;
    double up = (double)p[i] - (double)orig;
    double lp = loss(ctx);
    p[i] = orig - h;
    double down = (double)orig - (double)p[i];
    double lm = loss(ctx);
    p[i] = orig;
    double fd = (lp - lm) / (up + down);
    double an = (double)analytic[i];
    double err = fabs(an - fd) / fmax(fmax(fabs(fd), fabs(an)), 1e-2);
    if (!(err <= worst)) { /* NaN counts as the worst */
      worst = err;
      *worst_at = i;
      *worst_an = an;
      *worst_fd = fd;
    }
  }
  return worst;
}

#define FD_TOL 1e-2

#define CHECK_FD(what, p, n, analytic, loss, ctx)                                                  \
  do {                                                                                             \
    size_t at_;                                                                                    \
    double an_, fd_;                                                                               \
    double err_ = fd_worst((p), (n), (analytic), (loss), (ctx), &at_, &an_, &fd_);                 \
    cr_log_info("%s: worst relative error %.3g at %zu", (what), err_, at_);                        \
    cr_expect(err_ <= FD_TOL,                                                                      \
              "%s: relative error %.3g > %.0e at element %zu (analytic %.8g, finite difference "   \
              "%.8g)",                                                                             \
              (what), err_, FD_TOL, at_, an_, fd_);                                                \
  } while (0)

/* ---------------------------------------------------------------- tests */

Test(ref_seq, lstm_forward_worked_example) {
  /* B=1, T=2, I=2, H=1: each gate has one row, so the formulas can be
   * written out by hand. Gate rows are i, f, g, o. */
  float x[4] = {0.5f, -1.0f, 0.25f, 0.75f};
  float w_ih[8] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f, 0.6f, 0.7f, -0.8f};
  float w_hh[4] = {0.9f, -0.3f, 0.2f, 0.5f};
  float b_ih[4] = {0.05f, -0.1f, 0.15f, 0.2f};
  float b_hh[4] = {-0.25f, 0.3f, 0.05f, -0.1f};
  float y[2], cache[10];
  lstm_case c = {1, 2, 2, 1, x, w_ih, w_hh, b_ih, b_hh, y, cache, NULL};
  lstm_run(&c);

  double h = 0.0, cs = 0.0;
  double want_y[2], want_cache[10];
  for (int t = 0; t < 2; t++) {
    double x0 = x[2 * t], x1 = x[2 * t + 1];
    double zi = w_ih[0] * x0 + w_ih[1] * x1 + b_ih[0] + b_hh[0] + w_hh[0] * h;
    double zf = w_ih[2] * x0 + w_ih[3] * x1 + b_ih[1] + b_hh[1] + w_hh[1] * h;
    double zg = w_ih[4] * x0 + w_ih[5] * x1 + b_ih[2] + b_hh[2] + w_hh[2] * h;
    double zo = w_ih[6] * x0 + w_ih[7] * x1 + b_ih[3] + b_hh[3] + w_hh[3] * h;
    double i = sigm(zi), f = sigm(zf), g = tanh(zg), o = sigm(zo);
    cs = f * cs + i * g;
    h = o * tanh(cs);
    want_y[t] = h;
    want_cache[5 * t + 0] = i;
    want_cache[5 * t + 1] = f;
    want_cache[5 * t + 2] = g;
    want_cache[5 * t + 3] = o;
    want_cache[5 * t + 4] = cs;
  }
  for (int t = 0; t < 2; t++)
    cr_expect(fabs(y[t] - want_y[t]) < 1e-6, "y[0,%d] = %.8g, want %.8g", t, (double)y[t],
              want_y[t]);
  for (int k = 0; k < 10; k++)
    cr_expect(fabs(cache[k] - want_cache[k]) < 1e-6, "cache element %d = %.8g, want %.8g", k,
              (double)cache[k], want_cache[k]);
}

Test(ref_seq, attention_forward_worked_example) {
  /* B=1, T=3, D=2, one head: rows of qkv are (q0 q1 | k0 k1 | v0 v1). */
  float qkv[18] = {0.5f,  -1.0f, 0.3f,  0.8f,  1.0f,  2.0f, /* t=0 */
                   1.5f,  0.25f, -0.7f, 0.2f,  -1.0f, 0.5f, /* t=1 */
                   -0.4f, 0.9f,  0.6f,  -0.5f, 3.0f,  -2.0f};
  float y[6], probs[9];
  attn_case c = {1, 3, 2, 1, 0, qkv, y, probs, NULL};
  attn_run(&c);
  for (int t = 0; t < 3; t++) {
    double sc[3], mx = -1e300, sum = 0.0;
    for (int s = 0; s < 3; s++) {
      sc[s] = (qkv[6 * t] * (double)qkv[6 * s + 2] + qkv[6 * t + 1] * (double)qkv[6 * s + 3]) /
              sqrt(2.0);
      mx = fmax(mx, sc[s]);
    }
    for (int s = 0; s < 3; s++) sum += exp(sc[s] - mx);
    double y0 = 0.0, y1 = 0.0;
    for (int s = 0; s < 3; s++) {
      double p = exp(sc[s] - mx) / sum;
      cr_expect(fabs(probs[3 * t + s] - p) < 1e-6, "probs[0,0,%d,%d] = %.8g, want %.8g", t, s,
                (double)probs[3 * t + s], p);
      y0 += p * qkv[6 * s + 4];
      y1 += p * qkv[6 * s + 5];
    }
    cr_expect(fabs(y[2 * t] - y0) < 1e-6, "y[0,%d,0] = %.8g, want %.8g", t, (double)y[2 * t], y0);
    cr_expect(fabs(y[2 * t + 1] - y1) < 1e-6, "y[0,%d,1] = %.8g, want %.8g", t,
              (double)y[2 * t + 1], y1);
  }
}

Test(ref_seq, attention_causal_mask) {
  const int64_t B = 2, T = 4, D = 4;
  float *qkv = tu_rand(11, (size_t)(B * T * 3 * D), -2.0f, 2.0f);
  float *y = malloc((size_t)(B * T * D) * sizeof *y);
  float *y_full = malloc((size_t)(B * T * D) * sizeof *y);
  float *probs = malloc((size_t)(B * 2 * T * T) * sizeof *probs);
  cr_assert(qkv && y && y_full && probs);
  attn_case full = {B, T, D, 2, 0, qkv, y_full, probs, NULL};
  attn_run(&full);
  attn_case c = {B, T, D, 2, 1, qkv, y, probs, NULL};
  attn_run(&c);
  for (int64_t b = 0; b < B; b++) {
    /* The first token sees only itself: probability 1 on its own value. */
    for (int64_t k = 0; k < D; k++)
      cr_expect(fabs(y[b * T * D + k] - qkv[b * T * 3 * D + 2 * D + k]) < 1e-6,
                "causal y[%lld,0,%lld] = %.8g, want v = %.8g", (long long)b, (long long)k,
                (double)y[b * T * D + k], (double)qkv[b * T * 3 * D + 2 * D + k]);
    /* The last token sees every key, as without the mask. */
    for (int64_t k = 0; k < D; k++) {
      int64_t at = (b * T + T - 1) * D + k;
      cr_expect(fabs(y[at] - y_full[at]) < 1e-6,
                "causal last token y[%lld,%lld,%lld] = %.8g, "
                "unmasked %.8g",
                (long long)b, (long long)(T - 1), (long long)k, (double)y[at], (double)y_full[at]);
    }
    /* Masked probabilities are zero; every row sums to one. */
    for (int64_t j = 0; j < 2; j++)
      for (int64_t t = 0; t < T; t++) {
        double sum = 0.0;
        for (int64_t s = 0; s < T; s++) {
          float p = probs[((b * 2 + j) * T + t) * T + s];
          sum += p;
          if (s > t)
            cr_expect(p == 0.0f, "probs[%lld,%lld,%lld,%lld] = %g past the mask", (long long)b,
                      (long long)j, (long long)t, (long long)s, (double)p);
        }
        cr_expect(fabs(sum - 1.0) < 1e-6, "probs row sums to %.8g", sum);
      }
  }
  free(qkv);
  free(y);
  free(y_full);
  free(probs);
}

Test(ref_seq, attention_two_heads_equal_separate_heads) {
  const int64_t B = 2, T = 4, D = 6, NH = 2, dh = D / NH;
  float *qkv = tu_rand(12, (size_t)(B * T * 3 * D), -1.5f, 1.5f);
  float *y = malloc((size_t)(B * T * D) * sizeof *y);
  float *probs = malloc((size_t)(B * NH * T * T) * sizeof *probs);
  float *qkv1 = malloc((size_t)(B * T * 3 * dh) * sizeof *qkv1);
  float *y1 = malloc((size_t)(B * T * dh) * sizeof *y1);
  float *p1 = malloc((size_t)(B * T * T) * sizeof *p1);
  cr_assert(qkv && y && probs && qkv1 && y1 && p1);
  for (int causal = 0; causal < 2; causal++) {
    attn_case c = {B, T, D, (int)NH, causal, qkv, y, probs, NULL};
    attn_run(&c);
    for (int64_t j = 0; j < NH; j++) {
      /* Head j alone: its columns of q, k and v packed as a width-dh qkv. */
      for (int64_t bt = 0; bt < B * T; bt++)
        for (int64_t part = 0; part < 3; part++)
          for (int64_t k = 0; k < dh; k++)
            qkv1[bt * 3 * dh + part * dh + k] = qkv[bt * 3 * D + part * D + j * dh + k];
      attn_case one = {B, T, dh, 1, causal, qkv1, y1, p1, NULL};
      attn_run(&one);
      for (int64_t bt = 0; bt < B * T; bt++)
        for (int64_t k = 0; k < dh; k++)
          cr_expect(fabs(y[bt * D + j * dh + k] - y1[bt * dh + k]) < 1e-6,
                    "causal=%d head %lld: y differs at row %lld col %lld: %.8g vs %.8g", causal,
                    (long long)j, (long long)bt, (long long)k, (double)y[bt * D + j * dh + k],
                    (double)y1[bt * dh + k]);
      for (int64_t b = 0; b < B; b++)
        for (int64_t ts = 0; ts < T * T; ts++)
          cr_expect(fabs(probs[(b * NH + j) * T * T + ts] - p1[b * T * T + ts]) < 1e-6,
                    "causal=%d head %lld: probs differ at batch %lld entry %lld", causal,
                    (long long)j, (long long)b, (long long)ts);
    }
  }
  free(qkv);
  free(y);
  free(probs);
  free(qkv1);
  free(y1);
  free(p1);
}

Test(ref_seq, lstm_bwd_finite_differences) {
  const int64_t B = 2, T = 3, I = 5, H = 3;
  size_t nx = (size_t)(B * T * I), nwi = (size_t)(4 * H * I), nwh = (size_t)(4 * H * H);
  size_t nb = (size_t)(4 * H), ny = (size_t)(B * T * H), nc = (size_t)(B * T * 5 * H);
  lstm_case c = {B,
                 T,
                 I,
                 H,
                 tu_rand(21, nx, -1.0f, 1.0f),
                 tu_rand(22, nwi, -0.6f, 0.6f),
                 tu_rand(23, nwh, -0.6f, 0.6f),
                 tu_rand(24, nb, -0.5f, 0.5f),
                 tu_rand(25, nb, -0.5f, 0.5f),
                 malloc(ny * sizeof(float)),
                 malloc(nc * sizeof(float)),
                 tu_rand(26, ny, -1.0f, 1.0f)};
  float *dx = malloc(nx * sizeof *dx), *dwi = malloc(nwi * sizeof *dwi);
  float *dwh = malloc(nwh * sizeof *dwh), *db = malloc(nb * sizeof *db);
  cr_assert(c.x && c.w_ih && c.w_hh && c.b_ih && c.b_hh && c.y && c.cache && c.r && dx && dwi &&
            dwh && db);

  lstm_run(&c);
  nnb_tensor_desc tdy = mk_desc("dy", 3, B, T, H, 0), tx = mk_desc("x", 3, B, T, I, 0);
  nnb_tensor_desc twi = mk_desc("w_ih", 2, 4 * H, I, 0, 0),
                  twh = mk_desc("w_hh", 2, 4 * H, H, 0, 0);
  nnb_tensor_desc ty = mk_desc("y", 3, B, T, H, 0), tc = mk_desc("cache", 3, B, T, 5 * H, 0);
  nnb_tensor_desc tdwi = mk_desc("dw_ih", 2, 4 * H, I, 0, 0);
  nnb_tensor_desc tdwh = mk_desc("dw_hh", 2, 4 * H, H, 0, 0);
  nnb_tensor_desc tdb = mk_desc("db", 1, 4 * H, 0, 0, 0), tdx = mk_desc("dx", 3, B, T, I, 0);
  nnb_node n = mk_node(NNB_OP_LSTM_BWD, "test.lstm_bwd", 6, 4);
  ref_io io = {.n = &n,
               .ti = {&tdy, &tx, &twi, &twh, &ty, &tc},
               .to = {&tdx, &tdwi, &tdwh, &tdb},
               .in = {c.r, c.x, c.w_ih, c.w_hh, c.y, c.cache},
               .out = {dx, dwi, dwh, db}};
  nnb_error e = {{0}};
  nnb_status s = ref_lstm_bwd(&io, &e);
  cr_assert_eq(s, NNB_OK, "ref_lstm_bwd failed: %s", e.msg);

  CHECK_FD("lstm dx", c.x, nx, dx, lstm_loss, &c);
  CHECK_FD("lstm dw_ih", c.w_ih, nwi, dwi, lstm_loss, &c);
  CHECK_FD("lstm dw_hh", c.w_hh, nwh, dwh, lstm_loss, &c);
  CHECK_FD("lstm db (via b_ih)", c.b_ih, nb, db, lstm_loss, &c);
  CHECK_FD("lstm db (via b_hh)", c.b_hh, nb, db, lstm_loss, &c);

  free(c.x);
  free(c.w_ih);
  free(c.w_hh);
  free(c.b_ih);
  free(c.b_hh);
  free(c.y);
  free(c.cache);
  free(c.r);
  free(dx);
  free(dwi);
  free(dwh);
  free(db);
}

static void attention_bwd_fd(int causal) {
  const int64_t B = 2, T = 5, D = 6;
  const int heads = 2;
  size_t nq = (size_t)(B * T * 3 * D), ny = (size_t)(B * T * D), np = (size_t)(B * heads * T * T);
  attn_case c = {B,
                 T,
                 D,
                 heads,
                 causal,
                 tu_rand(31 + (uint64_t)causal, nq, -1.0f, 1.0f),
                 malloc(ny * sizeof(float)),
                 malloc(np * sizeof(float)),
                 tu_rand(33 + (uint64_t)causal, ny, -1.0f, 1.0f)};
  float *dqkv = malloc(nq * sizeof *dqkv);
  cr_assert(c.qkv && c.y && c.probs && c.r && dqkv);
  attn_run(&c);

  nnb_tensor_desc tdy = mk_desc("dy", 3, B, T, D, 0), tq = mk_desc("qkv", 3, B, T, 3 * D, 0);
  nnb_tensor_desc tp = mk_desc("probs", 4, B, heads, T, T);
  nnb_tensor_desc tdq = mk_desc("dqkv", 3, B, T, 3 * D, 0);
  nnb_node n = mk_node(NNB_OP_ATTENTION_BWD, "test.attention_bwd", 3, 1);
  n.attr.attention.heads = heads;
  n.attr.attention.causal = causal;
  ref_io io = {
      .n = &n, .ti = {&tdy, &tq, &tp}, .to = {&tdq}, .in = {c.r, c.qkv, c.probs}, .out = {dqkv}};
  nnb_error e = {{0}};
  nnb_status s = ref_attention_bwd(&io, &e);
  cr_assert_eq(s, NNB_OK, "ref_attention_bwd failed: %s", e.msg);

  CHECK_FD(causal ? "attention dqkv (causal)" : "attention dqkv", c.qkv, nq, dqkv, attn_loss, &c);
  free(c.qkv);
  free(c.y);
  free(c.probs);
  free(c.r);
  free(dqkv);
}

Test(ref_seq, attention_bwd_finite_differences) { attention_bwd_fd(0); }
Test(ref_seq, attention_bwd_finite_differences_causal) { attention_bwd_fd(1); }

Test(ref_seq, errors_name_the_node) {
  /* heads must divide D: the message names the node. */
  float qkv[12] = {0}, y[4], probs[4];
  nnb_tensor_desc tq = mk_desc("qkv", 3, 1, 1, 12, 0);
  nnb_tensor_desc ty = mk_desc("y", 3, 1, 1, 4, 0);
  nnb_tensor_desc tp = mk_desc("probs", 4, 1, 3, 1, 1);
  nnb_node n = mk_node(NNB_OP_ATTENTION, "enc.block3.attn", 1, 2);
  n.attr.attention.heads = 3;
  ref_io io = {.n = &n, .ti = {&tq}, .to = {&ty, &tp}, .in = {qkv}, .out = {y, probs}};
  nnb_error e = {{0}};
  nnb_status s = ref_attention(&io, &e);
  cr_expect_neq(s, NNB_OK, "heads=3 with D=4 was accepted");
  cr_expect(strstr(e.msg, "enc.block3.attn") != NULL, "message does not name the node: %s", e.msg);
}
