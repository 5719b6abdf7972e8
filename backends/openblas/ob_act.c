/* Elementwise activations, softmax, layernorm and the cross-entropy loss:
 * OpenMP-parallel loops over rows or elements that the compiler vectorises.
 * Row reductions accumulate in double: rows are short, and it keeps the
 * results within the conformance thresholds for any row length. */
#include <math.h>
#include <omp.h>

#include "ob.h"

#define ELEMENTWISE(NAME, EXPR)                                                                    \
  nnb_status NAME(const ob_io *io, nnb_error *e) {                                                 \
    int64_t n = nnb_numel(io->ti[0]);                                                              \
    const float *x = ob_in(io, 0);                                                                 \
    float *y = ob_out(io, 0);                                                                      \
    _Pragma("omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)") for (     \
        int64_t i = 0; i < n; i++) {                                                               \
      float v = x[i];                                                                              \
      y[i] = (EXPR);                                                                               \
    }                                                                                              \
    return NNB_OK;                                                                                 \
  }

ELEMENTWISE(ob_relu, v > 0.0f ? v : 0.0f)
ELEMENTWISE(ob_gelu, 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)))
ELEMENTWISE(ob_tanh, tanhf(v))
ELEMENTWISE(ob_sigmoid, 1.0f / (1.0f + expf(-v)))

nnb_status ob_act_bwd(const ob_io *io, nnb_error *e) {
  int64_t n = nnb_numel(io->ti[0]);
  const float *dy = ob_in(io, 0), *x = ob_in(io, 1);
  float *dx = ob_out(io, 0);
  nnb_op act = io->n->attr.act_bwd.act;
  switch (act) {
  case NNB_OP_RELU:
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
    break;
  case NNB_OP_GELU:
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
      float v = x[i], cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
      float pdf = 0.39894228040143268f * expf(-0.5f * v * v);
      dx[i] = dy[i] * (cdf + v * pdf);
    }
    break;
  case NNB_OP_TANH:
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
      float t = tanhf(x[i]);
      dx[i] = dy[i] * (1.0f - t * t);
    }
    break;
  case NNB_OP_SIGMOID:
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
      float s = 1.0f / (1.0f + expf(-x[i]));
      dx[i] = dy[i] * s * (1.0f - s);
    }
    break;
  default:
    return nnb_fail(e, NNB_ERR_INVALID, "node '%s': act_bwd of op %d", io->n->name, (int)act);
  }
  return NNB_OK;
}

static int64_t last_dim(const nnb_tensor_desc *t) { return t->dims[t->rank - 1]; }

/* y = softmax(x) over one row of f, max-subtracted. */
static void softmax_row(const float *x, float *y, int64_t f) {
  float mx = x[0];
  for (int64_t i = 1; i < f; i++) mx = x[i] > mx ? x[i] : mx;
  double sum = 0;
  for (int64_t i = 0; i < f; i++) sum += (y[i] = expf(x[i] - mx));
  float inv = (float)(1.0 / sum);
  for (int64_t i = 0; i < f; i++) y[i] *= inv;
}

nnb_status ob_softmax(const ob_io *io, nnb_error *e) {
  int64_t f = last_dim(io->ti[0]), rows = nnb_numel(io->ti[0]) / f;
  const float *x = ob_in(io, 0);
  float *y = ob_out(io, 0);
#pragma omp parallel for num_threads(io->nt) if (rows * f > OB_PAR_MIN) schedule(static)
  for (int64_t r = 0; r < rows; r++) softmax_row(x + r * f, y + r * f, f);
  return NNB_OK;
}

nnb_status ob_softmax_bwd(const ob_io *io, nnb_error *e) {
  int64_t f = last_dim(io->ti[0]), rows = nnb_numel(io->ti[0]) / f;
  const float *dy = ob_in(io, 0), *y = ob_in(io, 1);
  float *dx = ob_out(io, 0);
#pragma omp parallel for num_threads(io->nt) if (rows * f > OB_PAR_MIN) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * f, *yr = y + r * f;
    double dot = 0;
    for (int64_t i = 0; i < f; i++) dot += (double)dyr[i] * yr[i];
    for (int64_t i = 0; i < f; i++) dx[r * f + i] = yr[i] * (dyr[i] - (float)dot);
  }
  return NNB_OK;
}

/* Mean and 1/sqrt(var + eps) of one row (two passes, population variance). */
static void row_moments(const float *x, int64_t f, double eps, float *mean, float *rstd) {
  double s = 0, q = 0;
  for (int64_t i = 0; i < f; i++) s += x[i];
  double m = s / (double)f;
  for (int64_t i = 0; i < f; i++) q += ((double)x[i] - m) * ((double)x[i] - m);
  *mean = (float)m;
  *rstd = (float)(1.0 / sqrt(q / (double)f + eps));
}

nnb_status ob_layernorm(const ob_io *io, nnb_error *e) {
  int64_t f = last_dim(io->ti[0]), rows = nnb_numel(io->ti[0]) / f;
  const float *x = ob_in(io, 0), *gamma = ob_in(io, 1), *beta = ob_in(io, 2);
  float *y = ob_out(io, 0);
  double eps = io->n->attr.layernorm.eps;
#pragma omp parallel for num_threads(io->nt) if (rows * f > OB_PAR_MIN) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float mean, rstd;
    row_moments(x + r * f, f, eps, &mean, &rstd);
    for (int64_t i = 0; i < f; i++)
      y[r * f + i] = (x[r * f + i] - mean) * rstd * gamma[i] + beta[i];
  }
  return NNB_OK;
}

size_t ob_layernorm_bwd_ws(const ob_io *io) {
  return (size_t)(2 * last_dim(io->ti[1]) * io->nt) * sizeof(double);
}

nnb_status ob_layernorm_bwd(const ob_io *io, nnb_error *e) {
  int64_t f = last_dim(io->ti[1]), rows = nnb_numel(io->ti[1]) / f;
  const float *dy = ob_in(io, 0), *x = ob_in(io, 1), *gamma = ob_in(io, 2);
  float *dx = ob_out(io, 0), *dgamma = ob_out(io, 1), *dbeta = ob_out(io, 2);
  double eps = io->n->attr.layernorm.eps;
  /* Each thread sums dgamma, dbeta of its rows in its own slice of the
   * workspace; the slices are added at the end. */
  double *part = (double *)io->ws;
  int nt = rows * f > OB_PAR_MIN ? io->nt : 1;
  for (int64_t i = 0; i < 2 * f * nt; i++) part[i] = 0;
#pragma omp parallel num_threads(nt)
  {
    int t = 0;
#ifdef _OPENMP
    t = omp_get_thread_num();
#endif
    double *sg = part + 2 * f * t, *sb = sg + f;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float *xr = x + r * f, *dyr = dy + r * f;
      float mean, rstd;
      row_moments(xr, f, eps, &mean, &rstd);
      double mg = 0, mgx = 0;
      for (int64_t i = 0; i < f; i++) {
        float g = dyr[i] * gamma[i], xhat = (xr[i] - mean) * rstd;
        mg += g;
        mgx += (double)g * xhat;
        sg[i] += (double)dyr[i] * xhat;
        sb[i] += dyr[i];
      }
      float a = (float)(mg / (double)f), b = (float)(mgx / (double)f);
      for (int64_t i = 0; i < f; i++) {
        float g = dyr[i] * gamma[i], xhat = (xr[i] - mean) * rstd;
        dx[r * f + i] = rstd * (g - a - xhat * b);
      }
    }
  }
  for (int64_t i = 0; i < f; i++) {
    double g = 0, b = 0;
    for (int t = 0; t < nt; t++) g += part[2 * f * t + i], b += part[2 * f * t + f + i];
    dgamma[i] = (float)g;
    dbeta[i] = (float)b;
  }
  return NNB_OK;
}

static nnb_status check_labels(const ob_io *io, const int32_t *labels, int64_t b, int64_t c,
                               nnb_error *e) {
  for (int64_t r = 0; r < b; r++)
    if (labels[r] < 0 || labels[r] >= c)
      return nnb_fail(e, NNB_ERR_INVALID, "node '%s': label %d at row %lld is outside [0,%lld)",
                      io->n->name, (int)labels[r], (long long)r, (long long)c);
  return NNB_OK;
}

static double logsumexp(const float *x, int64_t c) {
  float mx = x[0];
  for (int64_t i = 1; i < c; i++) mx = x[i] > mx ? x[i] : mx;
  double sum = 0;
  for (int64_t i = 0; i < c; i++) sum += exp((double)x[i] - mx);
  return mx + log(sum);
}

nnb_status ob_softmax_ce(const ob_io *io, nnb_error *e) {
  int64_t b = io->ti[0]->dims[0], c = io->ti[0]->dims[1];
  const int32_t *labels = io->in[1];
  nnb_status st = check_labels(io, labels, b, c, e);
  if (st != NNB_OK) return st;
  double total = 0;
  for (int64_t r = 0; r < b; r++) {
    const float *x = ob_in(io, 0) + r * c;
    total += logsumexp(x, c) - x[labels[r]];
  }
  ob_out(io, 0)[0] = (float)(total / (double)b);
  return NNB_OK;
}

nnb_status ob_softmax_ce_bwd(const ob_io *io, nnb_error *e) {
  int64_t b = io->ti[1]->dims[0], c = io->ti[1]->dims[1];
  const int32_t *labels = io->in[2];
  nnb_status st = check_labels(io, labels, b, c, e);
  if (st != NNB_OK) return st;
  double scale = (double)ob_in(io, 0)[0] / (double)b;
  for (int64_t r = 0; r < b; r++) {
    const float *x = ob_in(io, 1) + r * c;
    double lse = logsumexp(x, c);
    for (int64_t i = 0; i < c; i++)
      ob_out(io, 0)[r * c + i] = (float)((exp((double)x[i] - lse) - (i == labels[r])) * scale);
  }
  return NNB_OK;
}
