/* Optimizer updates in place, PyTorch's formulas (docs/ops.md). */
#include <math.h>

#include "ob.h"

nnb_status ob_sgd_momentum(const ob_io *io, nnb_error *e) {
  float *p = io->in[0], *v = io->in[2];
  const float *g = io->in[1];
  float lr = io->n->attr.sgd.lr, mom = io->n->attr.sgd.momentum;
  int64_t n = nnb_numel(io->ti[0]);
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float vi = mom * v[i] + g[i];
    v[i] = vi;
    p[i] -= lr * vi;
  }
  return NNB_OK;
}

nnb_status ob_adam(const ob_io *io, nnb_error *e) {
  float *p = io->in[0], *m = io->in[2], *v = io->in[3], *step = io->in[4];
  const float *g = io->in[1];
  const struct nnb_adam_attr *a = &io->n->attr.adam;
  double t = (double)step[0] + 1.0;
  step[0] = (float)t;
  float step_size = (float)(a->lr / (1.0 - pow(a->beta1, t)));
  float bc2_sqrt = (float)sqrt(1.0 - pow(a->beta2, t));
  float b1 = a->beta1, b2 = a->beta2, eps = a->eps;
  int64_t n = nnb_numel(io->ti[0]);
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float mi = b1 * m[i] + (1.0f - b1) * g[i];
    float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * mi / (sqrtf(vi) / bc2_sqrt + eps);
  }
  return NNB_OK;
}
