/* Optimizer updates in place, PyTorch's formulas (docs/ops.md): no
 * primitive exists, so OpenMP loops; Adam's bias corrections are computed
 * once per step in double. */
#include <math.h>

#include "dn.h"

#define PAR_MIN (1 << 15) /* elements below which a parallel region costs more than it saves */

static nnb_status sgd(dn_step *s, nnb_error *e) {
  float *p = s->in[0], *v = s->in[2];
  const float *g = s->in[1];
  float lr = s->n->attr.sgd.lr, mom = s->n->attr.sgd.momentum;
  int64_t n = nnb_numel(s->ti[0]);
#pragma omp parallel for simd if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float vi = mom * v[i] + g[i];
    v[i] = vi;
    p[i] -= lr * vi;
  }
  return NNB_OK;
}

static nnb_status adam(dn_step *s, nnb_error *e) {
  const struct nnb_adam_attr *a = &s->n->attr.adam;
  float *p = s->in[0], *m = s->in[2], *v = s->in[3], *step = s->in[4];
  const float *g = s->in[1];
  double t = (double)step[0] + 1.0;
  step[0] = (float)t;
  float step_size = (float)(a->lr / (1.0 - pow(a->beta1, t)));
  float inv_bc2 = (float)(1.0 / sqrt(1.0 - pow(a->beta2, t)));
  float b1 = a->beta1, b2 = a->beta2, eps = a->eps;
  int64_t n = nnb_numel(s->ti[0]);
#pragma omp parallel for simd if (n > PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float mi = b1 * m[i] + (1.0f - b1) * g[i];
    float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * mi / (sqrtf(vi) * inv_bc2 + eps);
  }
  return NNB_OK;
}

nnb_status dn_prep_sgd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  return dn_c_kernel(s, sgd);
}
nnb_status dn_prep_adam(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  return dn_c_kernel(s, adam);
}
