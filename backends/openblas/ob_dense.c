/* Dense algebra and data movement: matmul as GEMMs (transposes through the
 * BLAS flags, never copies), broadcasting elementwise ops, reductions. */
#include <string.h>

#include "ob.h"

nnb_status ob_matmul(const ob_io *io, nnb_error *e) {
  const nnb_tensor_desc *a = io->ti[0], *b = io->ti[1], *c = io->to[0];
  bool ta = io->n->attr.matmul.trans_a, tb = io->n->attr.matmul.trans_b;
  int64_t m = c->dims[c->rank - 2], n = c->dims[c->rank - 1];
  int64_t ar = a->dims[a->rank - 2], ac = a->dims[a->rank - 1];
  int64_t br = b->dims[b->rank - 2], bc = b->dims[b->rank - 1];
  int64_t k = ta ? ar : ac, batches = nnb_numel(c) / (m * n);
  const float *A = ob_in(io, 0), *B = ob_in(io, 1);
  const float *bias = io->n->n_in == 3 ? ob_in(io, 2) : NULL;
  float *C = ob_out(io, 0);
  float beta = 0.0f;
  if (bias) { /* C starts as the bias rows; the GEMM adds to it */
    int64_t rows = batches * m;
#pragma omp parallel for num_threads(io->nt) if (rows * n > OB_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) memcpy(C + r * n, bias, (size_t)n * sizeof *C);
    beta = 1.0f;
  }
  if (b->rank == 2 && !ta) {
    /* A shared B: every leading index of a is more rows of one GEMM. */
    ob_gemm(io, false, tb, batches * m, n, k, 1.0f, A, ac, B, bc, beta, C, n);
  } else {
    for (int64_t p = 0; p < batches; p++)
      ob_gemm(io, ta, tb, m, n, k, 1.0f, A + p * ar * ac, ac, B + (b->rank == 2 ? 0 : p * br * bc),
              bc, beta, C + p * m * n, n);
  }
  if (io->relu) {
    int64_t total = batches * m * n;
#pragma omp parallel for num_threads(io->nt) if (total > OB_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < total; i++) C[i] = C[i] > 0.0f ? C[i] : 0.0f;
  }
  return NNB_OK;
}

/* b's dims without leading 1s equal a's trailing dims: b repeats every nb. */
static bool suffix_broadcast(const nnb_tensor_desc *a, const nnb_tensor_desc *b) {
  int r = b->rank;
  while (r > 0 && b->dims[b->rank - r] == 1 && r > 1) r--;
  for (int d = 1; d <= r; d++)
    if (b->dims[b->rank - d] != a->dims[a->rank - d]) return false;
  return true;
}

static nnb_status binary(const ob_io *io, bool mul) {
  const nnb_tensor_desc *a = io->ti[0], *b = io->ti[1];
  int64_t n = nnb_numel(a), nb = nnb_numel(b);
  const float *x = ob_in(io, 0), *y = ob_in(io, 1);
  float *z = ob_out(io, 0);
  if (suffix_broadcast(a, b)) {
    int64_t rows = n / nb;
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const float *xr = x + r * nb;
      float *zr = z + r * nb;
      if (mul)
        for (int64_t j = 0; j < nb; j++) zr[j] = xr[j] * y[j];
      else
        for (int64_t j = 0; j < nb; j++) zr[j] = xr[j] + y[j];
    }
    return NNB_OK;
  }
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    float v = y[nnb_broadcast_index(a, b, i)];
    z[i] = mul ? x[i] * v : x[i] + v;
  }
  return NNB_OK;
}

nnb_status ob_add(const ob_io *io, nnb_error *e) { return binary(io, false); }
nnb_status ob_mul(const ob_io *io, nnb_error *e) { return binary(io, true); }

size_t ob_sum_to_ws(const ob_io *io) { return (size_t)nnb_numel(io->to[0]) * sizeof(double); }

nnb_status ob_sum_to(const ob_io *io, nnb_error *e) {
  const nnb_tensor_desc *x = io->ti[0], *y = io->to[0];
  int64_t n = nnb_numel(x), ny = nnb_numel(y);
  const float *src = ob_in(io, 0);
  float *dst = ob_out(io, 0);
  double *acc = (double *)io->ws; /* sums of many rows: kept in double */
  if (suffix_broadcast(x, y)) {
    int64_t rows = n / ny;
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN && ny >= 64) schedule(static)
    for (int64_t j0 = 0; j0 < ny; j0 += 64) {
      int64_t j1 = j0 + 64 < ny ? j0 + 64 : ny;
      for (int64_t j = j0; j < j1; j++) acc[j] = 0;
      for (int64_t r = 0; r < rows; r++)
        for (int64_t j = j0; j < j1; j++) acc[j] += src[r * ny + j];
      for (int64_t j = j0; j < j1; j++) dst[j] = (float)acc[j];
    }
    return NNB_OK;
  }
  memset(acc, 0, (size_t)ny * sizeof *acc);
  for (int64_t i = 0; i < n; i++) acc[nnb_broadcast_index(x, y, i)] += src[i];
  for (int64_t j = 0; j < ny; j++) dst[j] = (float)acc[j];
  return NNB_OK;
}

nnb_status ob_permute(const ob_io *io, nnb_error *e) {
  const nnb_tensor_desc *x = io->ti[0], *y = io->to[0];
  const int *perm = io->n->attr.permute.perm;
  int64_t xstride[NNB_MAX_RANK], n = nnb_numel(y);
  int r = x->rank;
  xstride[r - 1] = 1;
  for (int d = r - 2; d >= 0; d--) xstride[d] = xstride[d + 1] * x->dims[d + 1];
  const float *src = ob_in(io, 0);
  float *dst = ob_out(io, 0);
#pragma omp parallel for num_threads(io->nt) if (n > OB_PAR_MIN) schedule(static)
  for (int64_t i = 0; i < n; i++) {
    int64_t rem = i, at = 0;
    for (int d = r - 1; d >= 0; d--) { /* y's coordinate d runs along x's axis perm[d] */
      at += (rem % y->dims[d]) * xstride[perm[d]];
      rem /= y->dims[d];
    }
    dst[i] = src[at];
  }
  return NNB_OK;
}

nnb_status ob_reshape(const ob_io *io, nnb_error *e) {
  if (io->out[0] != io->in[0]) memmove(io->out[0], io->in[0], nnb_nbytes(io->ti[0]));
  return NNB_OK;
}

/* t viewed as [outer, axis, inner]. */
static void split3(const nnb_tensor_desc *t, int axis, int64_t *outer, int64_t *inner) {
  *outer = 1, *inner = 1;
  for (int d = 0; d < axis; d++) *outer *= t->dims[d];
  for (int d = axis + 1; d < t->rank; d++) *inner *= t->dims[d];
}

nnb_status ob_slice(const ob_io *io, nnb_error *e) {
  const struct nnb_slice_attr *s = &io->n->attr.slice;
  int64_t outer, inner, full = io->ti[0]->dims[s->axis];
  split3(io->ti[0], s->axis, &outer, &inner);
  for (int64_t o = 0; o < outer; o++)
    memcpy(ob_out(io, 0) + o * s->length * inner, ob_in(io, 0) + (o * full + s->start) * inner,
           (size_t)(s->length * inner) * sizeof(float));
  return NNB_OK;
}

nnb_status ob_slice_bwd(const ob_io *io, nnb_error *e) {
  const struct nnb_slice_attr *s = &io->n->attr.slice;
  int64_t outer, inner;
  split3(io->to[0], s->axis, &outer, &inner);
  memset(io->out[0], 0, nnb_nbytes(io->to[0]));
  for (int64_t o = 0; o < outer; o++)
    memcpy(ob_out(io, 0) + (o * s->full + s->start) * inner, ob_in(io, 0) + o * s->length * inner,
           (size_t)(s->length * inner) * sizeof(float));
  return NNB_OK;
}

nnb_status ob_mean(const ob_io *io, nnb_error *e) {
  int axis = io->n->attr.mean.axis;
  int64_t outer, inner, n = io->ti[0]->dims[axis];
  split3(io->ti[0], axis, &outer, &inner);
  const float *x = ob_in(io, 0);
  float *y = ob_out(io, 0);
#pragma omp parallel for num_threads(io->nt) if (outer * n * inner > OB_PAR_MIN) schedule(static)
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double acc = 0;
      for (int64_t a = 0; a < n; a++) acc += x[(o * n + a) * inner + i];
      y[o * inner + i] = (float)(acc / (double)n);
    }
  return NNB_OK;
}

nnb_status ob_mean_bwd(const ob_io *io, nnb_error *e) {
  int axis = io->n->attr.mean.axis;
  int64_t outer, inner, n = io->n->attr.mean.n;
  split3(io->to[0], axis, &outer, &inner);
  const float *dy = ob_in(io, 0);
  float *dx = ob_out(io, 0), scale = 1.0f / (float)n;
#pragma omp parallel for num_threads(io->nt) if (outer * n * inner > OB_PAR_MIN) schedule(static)
  for (int64_t o = 0; o < outer; o++)
    for (int64_t a = 0; a < n; a++)
      for (int64_t i = 0; i < inner; i++) dx[(o * n + a) * inner + i] = dy[o * inner + i] * scale;
  return NNB_OK;
}

nnb_status ob_fill(const ob_io *io, nnb_error *e) {
  int64_t n = nnb_numel(io->to[0]);
  float v = io->n->attr.shape.value, *y = ob_out(io, 0);
  for (int64_t i = 0; i < n; i++) y[i] = v;
  return NNB_OK;
}
