/* Optimizer updates in place, PyTorch's formulas (docs/ops.md). The bias
 * corrections are computed once per step in double; the element loop is a
 * vector kernel. */
#include <math.h>

#include "ob.h"

#define ALIGN 16

static void sgd_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  float *p = s->in[0], *v = s->in[2];
  const float *g = s->in[1];
  float lr = s->n->attr.sgd.lr, mom = s->n->attr.sgd.momentum;
#pragma omp simd
  for (int64_t i = lo; i < hi; i++) {
    float vi = mom * v[i] + g[i];
    v[i] = vi;
    p[i] -= lr * vi;
  }
}

nnb_status ob_sgd_momentum(const ob_step *s, nnb_error *e) {
  int64_t n = nnb_numel(s->ti[0]);
  ob_par_range(s, n, ALIGN, 2.0 * (double)n, sgd_range, NULL);
  return NNB_OK;
}

typedef struct adam_step {
  float step_size, inv_bc2;
} adam_step;

static void adam_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  const adam_step *st = arg;
  const struct nnb_adam_attr *a = &s->n->attr.adam;
  s->env->vec->adam(hi - lo, s->in[0] + lo, s->in[1] + lo, s->in[2] + lo, s->in[3] + lo, a->beta1,
                    a->beta2, st->step_size, st->inv_bc2, a->eps);
}

nnb_status ob_adam(const ob_step *s, nnb_error *e) {
  const struct nnb_adam_attr *a = &s->n->attr.adam;
  float *step = s->in[4];
  double t = (double)step[0] + 1.0;
  step[0] = (float)t;
  double bc1 = 1.0 - pow(a->beta1, t), bc2 = 1.0 - pow(a->beta2, t);
  adam_step st = {(float)(a->lr / bc1), (float)(1.0 / sqrt(bc2))};
  int64_t n = nnb_numel(s->ti[0]);
  ob_par_range(s, n, ALIGN, 4.0 * (double)n, adam_range, &st);
  return NNB_OK;
}
