/* Reference kernels for activations, normalisation and the loss. */
#include <math.h>
#include <stdlib.h>

#include "ref.h"

static const float *fin(const ref_io *io, int i) { return (const float *)io->in[i]; }
static float *fout(const ref_io *io, int i) { return (float *)io->out[i]; }

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

static nnb_status unary(const ref_io *io, double (*f)(double)) {
  int64_t n = nnb_numel(io->ti[0]);
  for (int64_t i = 0; i < n; i++) fout(io, 0)[i] = (float)f(fin(io, 0)[i]);
  return NNB_OK;
}

static double relu(double x) { return x > 0 ? x : 0; }

nnb_status ref_relu(const ref_io *io, nnb_error *e) { return unary(io, relu); }
nnb_status ref_gelu(const ref_io *io, nnb_error *e) { return unary(io, gelu); }
nnb_status ref_tanh(const ref_io *io, nnb_error *e) { return unary(io, tanh); }
nnb_status ref_sigmoid(const ref_io *io, nnb_error *e) { return unary(io, sigmoid); }

/* f'(x) for the activation the node names. */
static double derivative(nnb_op act, double x) {
  switch (act) {
  case NNB_OP_RELU: return x > 0 ? 1.0 : 0.0;
  case NNB_OP_GELU:
    return 0.5 * (1.0 + erf(x / sqrt(2.0))) + x * exp(-0.5 * x * x) / sqrt(2.0 * M_PI);
  case NNB_OP_TANH: return 1.0 - tanh(x) * tanh(x);
  case NNB_OP_SIGMOID: return sigmoid(x) * (1.0 - sigmoid(x));
  default: return NAN;
  }
}

nnb_status ref_act_bwd(const ref_io *io, nnb_error *e) {
  int64_t n = nnb_numel(io->ti[0]);
  nnb_op act = io->n->attr.act_bwd.act;
  for (int64_t i = 0; i < n; i++)
    fout(io, 0)[i] = (float)((double)fin(io, 0)[i] * derivative(act, fin(io, 1)[i]));
  return NNB_OK;
}

static int64_t last_dim(const nnb_tensor_desc *t) { return t->dims[t->rank - 1]; }

nnb_status ref_softmax(const ref_io *io, nnb_error *e) {
  int64_t c = last_dim(io->ti[0]), rows = nnb_numel(io->ti[0]) / c;
  for (int64_t r = 0; r < rows; r++) {
    const float *x = fin(io, 0) + r * c;
    float *y = fout(io, 0) + r * c;
    double mx = x[0], sum = 0;
    for (int64_t i = 1; i < c; i++) mx = fmax(mx, x[i]);
    for (int64_t i = 0; i < c; i++) sum += exp((double)x[i] - mx);
    for (int64_t i = 0; i < c; i++) y[i] = (float)(exp((double)x[i] - mx) / sum);
  }
  return NNB_OK;
}

nnb_status ref_softmax_bwd(const ref_io *io, nnb_error *e) {
  int64_t c = last_dim(io->ti[0]), rows = nnb_numel(io->ti[0]) / c;
  for (int64_t r = 0; r < rows; r++) {
    const float *dy = fin(io, 0) + r * c, *y = fin(io, 1) + r * c;
    double dot = 0;
    for (int64_t i = 0; i < c; i++) dot += (double)dy[i] * y[i];
    for (int64_t i = 0; i < c; i++)
      fout(io, 0)[r * c + i] = (float)((double)y[i] * ((double)dy[i] - dot));
  }
  return NNB_OK;
}

static void moments(const float *x, int64_t f, double *mean, double *var) {
  double m = 0, v = 0;
  for (int64_t i = 0; i < f; i++) m += x[i];
  m /= (double)f;
  for (int64_t i = 0; i < f; i++) v += ((double)x[i] - m) * ((double)x[i] - m); /* two-pass */
  *mean = m;
  *var = v / (double)f;
}

nnb_status ref_layernorm(const ref_io *io, nnb_error *e) {
  int64_t f = last_dim(io->ti[0]), rows = nnb_numel(io->ti[0]) / f;
  double eps = io->n->attr.layernorm.eps;
  for (int64_t r = 0; r < rows; r++) {
    const float *x = fin(io, 0) + r * f;
    double mean, var;
    moments(x, f, &mean, &var);
    double rstd = 1.0 / sqrt(var + eps);
    for (int64_t i = 0; i < f; i++)
      fout(io, 0)[r * f + i] =
          (float)(((double)x[i] - mean) * rstd * fin(io, 1)[i] + fin(io, 2)[i]);
  }
  return NNB_OK;
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma;
 * dgamma and dbeta are column sums over the rows, kept in double. */
nnb_status ref_layernorm_bwd(const ref_io *io, nnb_error *e) {
  int64_t f = last_dim(io->ti[1]), rows = nnb_numel(io->ti[1]) / f;
  double eps = io->n->attr.layernorm.eps;
  const float *gamma = fin(io, 2);
  double *sg = calloc((size_t)(2 * f), sizeof *sg), *sb = sg + f;
  if (!sg) return nnb_fail(e, NNB_ERR_NOMEM, "node '%s': out of memory", io->n->name);
  for (int64_t r = 0; r < rows; r++) {
    const float *x = fin(io, 1) + r * f, *dy = fin(io, 0) + r * f;
    double mean, var, mg = 0, mgx = 0;
    moments(x, f, &mean, &var);
    double rstd = 1.0 / sqrt(var + eps);
    for (int64_t i = 0; i < f; i++) {
      double g = (double)dy[i] * gamma[i], xhat = ((double)x[i] - mean) * rstd;
      mg += g;
      mgx += g * xhat;
      sg[i] += (double)dy[i] * xhat;
      sb[i] += dy[i];
    }
    mg /= (double)f;
    mgx /= (double)f;
    for (int64_t i = 0; i < f; i++) {
      double g = (double)dy[i] * gamma[i], xhat = ((double)x[i] - mean) * rstd;
      fout(io, 0)[r * f + i] = (float)(rstd * (g - mg - xhat * mgx));
    }
  }
  for (int64_t i = 0; i < f; i++) {
    fout(io, 1)[i] = (float)sg[i];
    fout(io, 2)[i] = (float)sb[i];
  }
  free(sg);
  return NNB_OK;
}

static nnb_status check_label(const ref_io *io, int32_t label, int64_t row, int64_t c,
                              nnb_error *e) {
  if (label < 0 || label >= c)
    return nnb_fail(e, NNB_ERR_INVALID, "node '%s': label %d at row %lld is outside [0,%lld)",
                    io->n->name, (int)label, (long long)row, (long long)c);
  return NNB_OK;
}

/* log(sum_i exp(x_i)) = mx + log1p(rest), rest summing every term but the
 * first maximum's: a row with a clear winner (rest far below 1) keeps
 * rest's digits, which 1 - p of the winner consists of. */
static double log1p_rest(const float *x, int64_t c, double *mx) {
  int64_t at = 0;
  for (int64_t i = 1; i < c; i++)
    if (x[i] > x[at]) at = i;
  double rest = 0;
  *mx = x[at];
  for (int64_t i = 0; i < c; i++)
    if (i != at) rest += exp((double)x[i] - *mx);
  return log1p(rest);
}

nnb_status ref_softmax_ce(const ref_io *io, nnb_error *e) {
  int64_t b = io->ti[0]->dims[0], c = io->ti[0]->dims[1];
  const int32_t *labels = io->in[1];
  double total = 0;
  for (int64_t r = 0; r < b; r++) {
    nnb_status s = check_label(io, labels[r], r, c, e);
    if (s != NNB_OK) return s;
    const float *x = fin(io, 0) + r * c;
    double mx, l1p = log1p_rest(x, c, &mx);
    total += (mx - x[labels[r]]) + l1p;
  }
  fout(io, 0)[0] = (float)(total / (double)b);
  return NNB_OK;
}

nnb_status ref_softmax_ce_bwd(const ref_io *io, nnb_error *e) {
  int64_t b = io->ti[1]->dims[0], c = io->ti[1]->dims[1];
  const int32_t *labels = io->in[2];
  double scale = (double)fin(io, 0)[0] / (double)b;
  for (int64_t r = 0; r < b; r++) {
    nnb_status s = check_label(io, labels[r], r, c, e);
    if (s != NNB_OK) return s;
    const float *x = fin(io, 1) + r * c;
    double mx, l1p = log1p_rest(x, c, &mx);
    for (int64_t i = 0; i < c; i++) {
      double z = ((double)x[i] - mx) - l1p; /* log p_i */
      fout(io, 0)[r * c + i] = (float)((i == labels[r] ? expm1(z) : exp(z)) * scale);
    }
  }
  return NNB_OK;
}
