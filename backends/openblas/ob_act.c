/* Activations and their backward, softmax and the softmax cross-entropy
 * loss. Exp-based functions use the vector kernels chosen for this CPU. */
#include <math.h>

#include "ob.h"

#define ALIGN 16 /* split ranges on whole 64-byte vectors */

static const float *fin(const ob_step *s, int i) { return s->in[i]; }
static float *fout(const ob_step *s, int i) { return s->out[i]; }

static void relu_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  const float *x = fin(s, 0);
  float *y = fout(s, 0);
#pragma omp simd
  for (int64_t i = lo; i < hi; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

static float gelu1(float x) { return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2)); }

static void gelu_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi; i++) fout(s, 0)[i] = gelu1(fin(s, 0)[i]);
}

static void tanh_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  s->env->vec->tanh(hi - lo, fin(s, 0) + lo, fout(s, 0) + lo);
}

static void sigmoid_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  s->env->vec->sigmoid(hi - lo, fin(s, 0) + lo, fout(s, 0) + lo);
}

static nnb_status unary(const ob_step *s, ob_range_fn fn, double cost) {
  int64_t n = nnb_numel(s->ti[0]);
  ob_par_range(s, n, ALIGN, (double)n * cost, fn, NULL);
  return NNB_OK;
}

nnb_status ob_relu(const ob_step *s, nnb_error *e) { return unary(s, relu_range, 1); }
nnb_status ob_gelu(const ob_step *s, nnb_error *e) { return unary(s, gelu_range, 16); }
nnb_status ob_tanh(const ob_step *s, nnb_error *e) { return unary(s, tanh_range, 4); }
nnb_status ob_sigmoid(const ob_step *s, nnb_error *e) { return unary(s, sigmoid_range, 4); }

/* d/dx of the exact (erf) gelu */
static float gelu_grad(float x) {
  return 0.5f * (1.0f + erff(x * (float)M_SQRT1_2)) +
         x * expf(-0.5f * x * x) * (float)(0.5 * M_2_SQRTPI * M_SQRT1_2);
}

static void act_bwd_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  const float *dy = fin(s, 0), *x = fin(s, 1);
  float *dx = fout(s, 0);
  switch (s->n->attr.act_bwd.act) {
  case NNB_OP_RELU:
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : 0.0f);
    break;
  case NNB_OP_GELU:
    for (int64_t i = lo; i < hi; i++) dx[i] = dy[i] * gelu_grad(x[i]);
    break;
  case NNB_OP_TANH: s->env->vec->tanh_bwd(hi - lo, dy + lo, x + lo, dx + lo); break;
  case NNB_OP_SIGMOID: s->env->vec->sigmoid_bwd(hi - lo, dy + lo, x + lo, dx + lo); break;
  default: break; /* refused by supports() */
  }
}

nnb_status ob_act_bwd(const ob_step *s, nnb_error *e) {
  return unary(s, act_bwd_range, s->n->attr.act_bwd.act == NNB_OP_RELU ? 1 : 8);
}

static int64_t last_dim(const nnb_tensor_desc *t) { return t->dims[t->rank - 1]; }

static void softmax_rows(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  int64_t c = last_dim(s->ti[0]);
  s->env->vec->softmax(hi - lo, c, fin(s, 0) + lo * c, fout(s, 0) + lo * c, false);
}

nnb_status ob_softmax(const ob_step *s, nnb_error *e) {
  int64_t c = last_dim(s->ti[0]), rows = c ? nnb_numel(s->ti[0]) / c : 0;
  ob_par_range(s, rows, 1, 4.0 * (double)(rows * c), softmax_rows, NULL);
  return NNB_OK;
}

static void softmax_bwd_rows(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  int64_t c = last_dim(s->ti[0]);
  s->env->vec->softmax_bwd(hi - lo, c, fin(s, 0) + lo * c, fin(s, 1) + lo * c, fout(s, 0) + lo * c);
}

nnb_status ob_softmax_bwd(const ob_step *s, nnb_error *e) {
  int64_t c = last_dim(s->ti[0]), rows = c ? nnb_numel(s->ti[0]) / c : 0;
  ob_par_range(s, rows, 1, 2.0 * (double)(rows * c), softmax_bwd_rows, NULL);
  return NNB_OK;
}

static nnb_status check_labels(const ob_step *s, const int32_t *labels, int64_t b, int64_t c,
                               nnb_error *e) {
  for (int64_t r = 0; r < b; r++)
    if (labels[r] < 0 || labels[r] >= c)
      return nnb_fail(e, NNB_ERR_INVALID, "node '%s': label %d at row %lld is outside [0,%lld)",
                      s->n->name, (int)labels[r], (long long)r, (long long)c);
  return NNB_OK;
}

/* The loss is one number: a single thread, summed in double. */
nnb_status ob_softmax_ce(const ob_step *s, nnb_error *e) {
  int64_t b = s->ti[0]->dims[0], c = s->ti[0]->dims[1];
  const int32_t *labels = (const void *)s->in[1]; /* i32 labels */
  nnb_status st = check_labels(s, labels, b, c, e);
  if (st != NNB_OK) return st;
  double total = 0.0;
  for (int64_t r = 0; r < b; r++) {
    const float *x = fin(s, 0) + r * c;
    float m = s->env->vec->max(c, x);
    total += (double)m + log(s->env->vec->expsum(c, x, m, NULL)) - (double)x[labels[r]];
  }
  fout(s, 0)[0] = (float)(total / (double)b);
  return NNB_OK;
}

nnb_status ob_softmax_ce_bwd(const ob_step *s, nnb_error *e) {
  int64_t b = s->ti[1]->dims[0], c = s->ti[1]->dims[1];
  const int32_t *labels = (const void *)s->in[2]; /* i32 labels */
  nnb_status st = check_labels(s, labels, b, c, e);
  if (st != NNB_OK) return st;
  double scale = (double)fin(s, 0)[0] / (double)b;
  for (int64_t r = 0; r < b; r++) {
    const float *x = fin(s, 1) + r * c;
    float *dx = fout(s, 0) + r * c, m = s->env->vec->max(c, x);
    double sum = s->env->vec->expsum(c, x, m, dx);
    /* p_label - 1 as the reference computes it: from the terms other than
     * the first maximum's, so a clear winner's 1 - p keeps its digits */
    int64_t at = 0;
    while (x[at] != m) at++;
    double rest = 0;
    for (int64_t i = 0; i < c; i++)
      if (i != at) rest += dx[i];
    for (int64_t i = 0; i < c; i++) dx[i] = (float)((double)dx[i] / sum * scale);
    int32_t l = labels[r];
    dx[l] = (float)(expm1(((double)x[l] - m) - log1p(rest)) * scale);
  }
  return NNB_OK;
}
