/* Data movement: permute, reshape (a view: nothing to do), slice and its
 * backward, fill. */
#include <string.h>

#include "ob.h"

/* y's shape padded to 4 axes, and for each of y's axes the stride of x
 * along it. */
typedef struct perm4 {
  int64_t dims[4], xs[4];
} perm4;

static perm4 perm_of(const nnb_tensor_desc *x, const nnb_tensor_desc *y, const int *perm) {
  perm4 p = {{1, 1, 1, 1}, {0, 0, 0, 0}};
  int64_t xstride[NNB_MAX_RANK];
  int r = x->rank, pad = 4 - r;
  xstride[r - 1] = 1;
  for (int d = r - 2; d >= 0; d--) xstride[d] = xstride[d + 1] * x->dims[d + 1];
  for (int d = 0; d < r; d++) {
    p.dims[pad + d] = y->dims[d];
    p.xs[pad + d] = xstride[perm[d]];
  }
  return p;
}

static void permute_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  const perm4 *p = arg;
  const int64_t *d = p->dims, *xs = p->xs;
  const float *x = s->in[0];
  float *y = s->out[0];
  for (int64_t r = lo; r < hi; r++) { /* rows of y viewed as [d0*d1*d2, d3] */
    int64_t i2 = r % d[2], i1 = r / d[2] % d[1], i0 = r / (d[1] * d[2]);
    const float *src = x + i0 * xs[0] + i1 * xs[1] + i2 * xs[2];
    float *dst = y + r * d[3];
    if (xs[3] == 1) { /* rows of a few floats: a loop, not a call */
#pragma omp simd
      for (int64_t i = 0; i < d[3]; i++) dst[i] = src[i];
    } else {
      for (int64_t i = 0; i < d[3]; i++) dst[i] = src[i * xs[3]];
    }
  }
}

nnb_status ob_permute(const ob_step *s, nnb_error *e) {
  perm4 p = perm_of(s->ti[0], s->to[0], s->n->attr.permute.perm);
  int64_t n = nnb_numel(s->to[0]), rows = p.dims[3] ? n / p.dims[3] : 0;
  ob_par_range(s, rows, 1, (double)n, permute_range, &p);
  return NNB_OK;
}

nnb_status ob_reshape(const ob_step *s, nnb_error *e) {
  if (s->out[0] != s->in[0]) memmove(s->out[0], s->in[0], nnb_nbytes(s->ti[0]));
  return NNB_OK;
}

/* t viewed as [outer, axis, inner]. */
static void split3(const nnb_tensor_desc *t, int axis, int64_t *outer, int64_t *inner) {
  *outer = 1, *inner = 1;
  for (int d = 0; d < axis; d++) *outer *= t->dims[d];
  for (int d = axis + 1; d < t->rank; d++) *inner *= t->dims[d];
}

nnb_status ob_slice(const ob_step *s, nnb_error *e) {
  const struct nnb_slice_attr *a = &s->n->attr.slice;
  int64_t outer, inner, full = s->ti[0]->dims[a->axis];
  split3(s->ti[0], a->axis, &outer, &inner);
  size_t block = (size_t)(a->length * inner) * sizeof(float);
  for (int64_t o = 0; o < outer; o++)
    memcpy(s->out[0] + o * a->length * inner, s->in[0] + (o * full + a->start) * inner, block);
  return NNB_OK;
}

nnb_status ob_slice_bwd(const ob_step *s, nnb_error *e) {
  const struct nnb_slice_attr *a = &s->n->attr.slice;
  int64_t outer, inner;
  split3(s->to[0], a->axis, &outer, &inner);
  memset(s->out[0], 0, nnb_nbytes(s->to[0]));
  size_t block = (size_t)(a->length * inner) * sizeof(float);
  for (int64_t o = 0; o < outer; o++)
    memcpy(s->out[0] + (o * a->full + a->start) * inner, s->in[0] + o * a->length * inner, block);
  return NNB_OK;
}

nnb_status ob_fill(const ob_step *s, nnb_error *e) {
  int64_t n = nnb_numel(s->to[0]);
  float v = s->n->attr.shape.value, *y = s->out[0];
  for (int64_t i = 0; i < n; i++) y[i] = v;
  return NNB_OK;
}
