/* Broadcasting add and mul, sum_to (the backward of broadcasting: bias
 * gradients), mean over an axis and its backward. The common broadcasts
 * (same shape; b repeated along a's leading axes, as a bias or a position
 * table) are flat loops; any other is a strided loop over four axes. */
#include <omp.h>
#include <string.h>

#include "ob.h"

#define ALIGN 16

/* a's shape padded to 4 axes, and for each axis b's stride (0 where b is
 * broadcast along it). */
typedef struct bcast {
  int64_t dims[4], bstride[4];
  int64_t inner; /* > 0: b is a's trailing `inner` elements, repeated */
} bcast;

static bcast bcast_of(const nnb_tensor_desc *a, const nnb_tensor_desc *b) {
  bcast r = {{1, 1, 1, 1}, {0, 0, 0, 0}, 0};
  int64_t stride = 1;
  for (int i = 1; i <= a->rank; i++) {
    int64_t ad = a->dims[a->rank - i], bd = i <= b->rank ? b->dims[b->rank - i] : 1;
    r.dims[4 - i] = ad;
    r.bstride[4 - i] = bd == 1 ? 0 : stride;
    stride *= bd;
  }
  /* b's elements are a's trailing block when every axis of b that is not
   * 1 is a's, and all of b's broadcast axes lead. */
  int64_t inner = 1;
  int i = 1, ok = 1;
  for (; i <= b->rank && b->dims[b->rank - i] == a->dims[a->rank - i]; i++)
    inner *= b->dims[b->rank - i];
  for (; i <= b->rank; i++) ok &= b->dims[b->rank - i] == 1;
  r.inner = ok ? inner : 0;
  return r;
}

typedef struct binop {
  bcast bc;
  bool mul;
} binop;

static void binary_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  const binop *op = arg;
  const float *a = s->in[0], *b = s->in[1];
  float *c = s->out[0];
  int64_t inner = op->bc.inner;
  if (inner > 0) { /* rows [lo, hi) of a viewed as [rows, inner] */
    for (int64_t r = lo; r < hi; r++) {
      const float *ar = a + r * inner;
      float *cr = c + r * inner;
      if (op->mul) {
#pragma omp simd
        for (int64_t i = 0; i < inner; i++) cr[i] = ar[i] * b[i];
      } else {
#pragma omp simd
        for (int64_t i = 0; i < inner; i++) cr[i] = ar[i] + b[i];
      }
    }
    return;
  }
  /* general: rows [lo, hi) of a viewed as [d0*d1*d2, d3] */
  const int64_t *d = op->bc.dims, *bs = op->bc.bstride;
  for (int64_t r = lo; r < hi; r++) {
    int64_t i2 = r % d[2], i1 = r / d[2] % d[1], i0 = r / (d[1] * d[2]);
    const float *br = b + i0 * bs[0] + i1 * bs[1] + i2 * bs[2];
    const float *ar = a + r * d[3];
    float *cr = c + r * d[3];
    for (int64_t i = 0; i < d[3]; i++)
      cr[i] = op->mul ? ar[i] * br[i * bs[3]] : ar[i] + br[i * bs[3]];
  }
}

static nnb_status binary(const ob_step *s, bool mul) {
  binop op = {bcast_of(s->ti[0], s->ti[1]), mul};
  int64_t n = nnb_numel(s->ti[0]);
  int64_t row = op.bc.inner > 0 ? op.bc.inner : op.bc.dims[3];
  int64_t rows = row ? n / row : 0;
  ob_par_range(s, rows, 1, (double)n, binary_range, &op);
  return NNB_OK;
}

nnb_status ob_add(const ob_step *s, nnb_error *e) { return binary(s, false); }
nnb_status ob_mul(const ob_step *s, nnb_error *e) { return binary(s, true); }

/* sum_to's workspace: per-thread partial sums of y when y is x's trailing
 * block (a bias gradient). */
size_t ob_sum_to_ws(const ob_step *s) {
  return (size_t)s->env->threads * ob_round16((size_t)nnb_numel(s->to[0]));
}

nnb_status ob_sum_to(const ob_step *s, nnb_error *e) {
  const nnb_tensor_desc *xd = s->ti[0], *yd = s->to[0];
  bcast bc = bcast_of(xd, yd);
  const float *x = s->in[0];
  float *y = s->out[0];
  int64_t n = nnb_numel(xd), ny = nnb_numel(yd);
  if (bc.inner <= 0) { /* general: one pass, strided */
    memset(y, 0, (size_t)ny * sizeof *y);
    const int64_t *d = bc.dims, *ys = bc.bstride;
    for (int64_t r = 0; r < n / d[3]; r++) {
      int64_t i2 = r % d[2], i1 = r / d[2] % d[1], i0 = r / (d[1] * d[2]);
      float *yr = y + i0 * ys[0] + i1 * ys[1] + i2 * ys[2];
      for (int64_t i = 0; i < d[3]; i++) yr[i * ys[3]] += x[r * d[3] + i];
    }
    return NNB_OK;
  }
  int64_t inner = bc.inner, rows = n / inner;
  int nt = ob_threads_for(s->env, rows, (double)n);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int t = omp_get_thread_num(), nth = omp_get_num_threads();
    float *acc = nth == 1 ? y : ob_ws_slice(s, 0, (size_t)inner, t);
    memset(acc, 0, (size_t)inner * sizeof *acc);
    for (int64_t r = rows * t / nth; r < rows * (t + 1) / nth; r++) {
      const float *xr = x + r * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) acc[i] += xr[i];
    }
    if (nth > 1) {
#pragma omp barrier
#pragma omp for schedule(static)
      for (int64_t i = 0; i < inner; i++) {
        float v = 0.0f;
        for (int u = 0; u < nth; u++) v += ob_ws_slice(s, 0, (size_t)inner, u)[i];
        y[i] = v;
      }
    }
  }
  return NNB_OK;
}

/* x viewed as [outer, axis, inner]. */
static void split3(const nnb_tensor_desc *t, int axis, int64_t *outer, int64_t *inner) {
  *outer = 1, *inner = 1;
  for (int d = 0; d < axis; d++) *outer *= t->dims[d];
  for (int d = axis + 1; d < t->rank; d++) *inner *= t->dims[d];
}

static void mean_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  int axis = s->n->attr.mean.axis;
  int64_t outer, inner, n = s->ti[0]->dims[axis];
  split3(s->ti[0], axis, &outer, &inner);
  float inv = 1.0f / (float)n;
  for (int64_t o = lo; o < hi; o++) {
    float *y = s->out[0] + o * inner;
    const float *x = s->in[0] + o * n * inner;
    memcpy(y, x, (size_t)inner * sizeof *y);
    for (int64_t a = 1; a < n; a++) {
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) y[i] += x[a * inner + i];
    }
#pragma omp simd
    for (int64_t i = 0; i < inner; i++) y[i] *= inv;
  }
}

nnb_status ob_mean(const ob_step *s, nnb_error *e) {
  int64_t outer, inner;
  split3(s->ti[0], s->n->attr.mean.axis, &outer, &inner);
  ob_par_range(s, outer, 1, (double)nnb_numel(s->ti[0]), mean_range, NULL);
  return NNB_OK;
}

static void mean_bwd_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  int axis = s->n->attr.mean.axis;
  int64_t outer, inner, n = s->n->attr.mean.n;
  split3(s->to[0], axis, &outer, &inner);
  float inv = 1.0f / (float)n;
  for (int64_t o = lo; o < hi; o++) {
    const float *dy = s->in[0] + o * inner;
    for (int64_t a = 0; a < n; a++) {
      float *dx = s->out[0] + (o * n + a) * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; i++) dx[i] = dy[i] * inv;
    }
  }
}

nnb_status ob_mean_bwd(const ob_step *s, nnb_error *e) {
  int64_t outer, inner;
  split3(s->to[0], s->n->attr.mean.axis, &outer, &inner);
  ob_par_range(s, outer, 1, (double)nnb_numel(s->to[0]), mean_bwd_range, NULL);
  return NNB_OK;
}
