/* The cross-entropy loss and its backward: no primitive exists, so OpenMP C
 * over the rows, the log-sum-exp of each row in double. */
#include <math.h>

#include "dn.h"

static double logsumexp(const float *x, int64_t c) {
  float mx = x[0];
  for (int64_t i = 1; i < c; i++) mx = x[i] > mx ? x[i] : mx;
  double sum = 0;
  for (int64_t i = 0; i < c; i++) sum += exp((double)x[i] - mx);
  return mx + log(sum);
}

/* The first row whose label is outside [0, c), or -1. */
static int64_t bad_label(const int32_t *labels, int64_t b, int64_t c) {
  for (int64_t r = 0; r < b; r++)
    if (labels[r] < 0 || labels[r] >= c) return r;
  return -1;
}

static nnb_status label_error(const dn_step *s, const int32_t *labels, int64_t row, int64_t c,
                              nnb_error *e) {
  return nnb_fail(e, NNB_ERR_INVALID, "node '%s': label %d at row %lld is outside [0,%lld)",
                  s->n->name, (int)labels[row], (long long)row, (long long)c);
}

static nnb_status softmax_ce(dn_step *s, nnb_error *e) {
  int64_t b = s->ti[0]->dims[0], c = s->ti[0]->dims[1];
  const int32_t *labels = (const int32_t *)s->in[1];
  const float *x = s->in[0];
  int64_t bad = bad_label(labels, b, c);
  if (bad >= 0) return label_error(s, labels, bad, c, e);
  double total = 0;
#pragma omp parallel for reduction(+ : total) if (b * c > (1 << 15))
  for (int64_t r = 0; r < b; r++) total += logsumexp(x + r * c, c) - x[r * c + labels[r]];
  s->out[0][0] = (float)(total / (double)b);
  return NNB_OK;
}

static nnb_status softmax_ce_bwd(dn_step *s, nnb_error *e) {
  int64_t b = s->ti[1]->dims[0], c = s->ti[1]->dims[1];
  const int32_t *labels = (const int32_t *)s->in[2];
  const float *x = s->in[1];
  float *dx = s->out[0];
  int64_t bad = bad_label(labels, b, c);
  if (bad >= 0) return label_error(s, labels, bad, c, e);
  double scale = (double)s->in[0][0] / (double)b;
#pragma omp parallel for if (b * c > (1 << 15))
  for (int64_t r = 0; r < b; r++) {
    const float *xr = x + r * c;
    double lse = logsumexp(xr, c);
    for (int64_t i = 0; i < c; i++) dx[r * c + i] = (float)(exp((double)xr[i] - lse) * scale);
    /* p_label - 1 as the reference computes it: from the terms other than
     * the first maximum's, so a clear winner's 1 - p keeps its digits */
    int64_t at = 0;
    for (int64_t i = 1; i < c; i++)
      if (xr[i] > xr[at]) at = i;
    double rest = 0;
    for (int64_t i = 0; i < c; i++)
      if (i != at) rest += exp((double)xr[i] - xr[at]);
    int32_t l = labels[r];
    dx[r * c + l] = (float)(expm1(((double)xr[l] - xr[at]) - log1p(rest)) * scale);
  }
  return NNB_OK;
}

nnb_status dn_prep_softmax_ce(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  return dn_c_kernel(s, softmax_ce);
}
nnb_status dn_prep_softmax_ce_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  return dn_c_kernel(s, softmax_ce_bwd);
}
