/* Layer normalisation over the last axis and its backward. The backward's
 * dgamma and dbeta are column sums over every row: each thread sums its
 * rows into its own slice of the workspace, and the slices are added. */
#include <omp.h>
#include <string.h>

#include "ob.h"

static int64_t last_dim(const nnb_tensor_desc *t) { return t->dims[t->rank - 1]; }

static void ln_rows(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  int64_t f = last_dim(s->ti[0]);
  float eps = s->n->attr.layernorm.eps;
  for (int64_t r = lo; r < hi; r++)
    s->env->vec->layernorm(f, s->in[0] + r * f, s->in[1], s->in[2], eps, s->out[0] + r * f);
}

nnb_status ob_layernorm(const ob_step *s, nnb_error *e) {
  int64_t f = last_dim(s->ti[0]), rows = f ? nnb_numel(s->ti[0]) / f : 0;
  ob_par_range(s, rows, 1, 4.0 * (double)(rows * f), ln_rows, NULL);
  return NNB_OK;
}

/* Per thread: dgamma and dbeta partial sums, F floats each. */
size_t ob_layernorm_bwd_ws(const ob_step *s) {
  return (size_t)s->env->threads * ob_round16((size_t)(2 * last_dim(s->ti[1])));
}

nnb_status ob_layernorm_bwd(const ob_step *s, nnb_error *e) {
  int64_t f = last_dim(s->ti[1]), rows = f ? nnb_numel(s->ti[1]) / f : 0;
  float eps = s->n->attr.layernorm.eps;
  const float *dy = s->in[0], *x = s->in[1], *gamma = s->in[2];
  float *dx = s->out[0], *dgamma = s->out[1], *dbeta = s->out[2];
  size_t per = (size_t)(2 * f);
  int nt = ob_threads_for(s->env, rows, 6.0 * (double)(rows * f));
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int t = omp_get_thread_num(), nth = omp_get_num_threads();
    float *acc = ob_ws_slice(s, 0, per, t);
    memset(acc, 0, per * sizeof *acc);
    int64_t lo = rows * t / nth, hi = rows * (t + 1) / nth;
    for (int64_t r = lo; r < hi; r++)
      s->env->vec->layernorm_bwd(f, dy + r * f, x + r * f, gamma, eps, dx + r * f, acc, acc + f);
#pragma omp barrier
#pragma omp for schedule(static)
    for (int64_t i = 0; i < f; i++) {
      float g = 0.0f, b = 0.0f;
      for (int u = 0; u < nth; u++) {
        const float *a = ob_ws_slice(s, 0, per, u);
        g += a[i];
        b += a[f + i];
      }
      dgamma[i] = g;
      dbeta[i] = b;
    }
  }
  return NNB_OK;
}
