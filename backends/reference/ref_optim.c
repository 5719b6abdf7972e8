/* Reference optimizer updates, exactly PyTorch's formulas (docs/ops.md). */
#include <math.h>

#include "ref.h"

nnb_status ref_sgd_momentum(const ref_io *io, nnb_error *e) {
  float *p = io->in[0], *v = io->in[2];
  const float *g = io->in[1];
  double lr = io->n->attr.sgd.lr, mom = io->n->attr.sgd.momentum;
  int64_t n = nnb_numel(io->ti[0]);
  for (int64_t i = 0; i < n; i++) {
    double vi = mom * v[i] + g[i];
    v[i] = (float)vi;
    p[i] = (float)((double)p[i] - lr * vi);
  }
  return NNB_OK;
}

nnb_status ref_adam(const ref_io *io, nnb_error *e) {
  float *p = io->in[0], *m = io->in[2], *v = io->in[3], *step = io->in[4];
  const float *g = io->in[1];
  const struct nnb_adam_attr *a = &io->n->attr.adam;
  double t = (double)step[0] + 1.0;
  step[0] = (float)t;
  double bc1 = 1.0 - pow(a->beta1, t), bc2 = 1.0 - pow(a->beta2, t);
  double step_size = a->lr / bc1, bc2_sqrt = sqrt(bc2);
  int64_t n = nnb_numel(io->ti[0]);
  for (int64_t i = 0; i < n; i++) {
    double mi = a->beta1 * m[i] + (1.0 - a->beta1) * g[i];
    double vi = a->beta2 * v[i] + (1.0 - a->beta2) * (double)g[i] * g[i];
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)((double)p[i] - step_size * mi / (sqrt(vi) / bc2_sqrt + a->eps));
  }
  return NNB_OK;
}
