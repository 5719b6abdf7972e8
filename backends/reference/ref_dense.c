/* Reference kernels for dense algebra and data movement. */
#include <stdlib.h>
#include <string.h>

#include "ref.h"

static const float *fin(const ref_io *io, int i) { return (const float *)io->in[i]; }
static float *fout(const ref_io *io, int i) { return (float *)io->out[i]; }

nnb_status ref_matmul(const ref_io *io, nnb_error *e) {
  const nnb_tensor_desc *a = io->ti[0], *b = io->ti[1], *c = io->to[0];
  int ta = io->n->attr.matmul.trans_a, tb = io->n->attr.matmul.trans_b;
  int64_t m = c->dims[c->rank - 2], n = c->dims[c->rank - 1];
  int64_t k = ta ? a->dims[a->rank - 2] : a->dims[a->rank - 1];
  int64_t batches = nnb_numel(c) / (m * n);
  int64_t a_rows = a->dims[a->rank - 2], a_cols = a->dims[a->rank - 1];
  int64_t b_rows = b->dims[b->rank - 2], b_cols = b->dims[b->rank - 1];
  int shared_b = b->rank == 2;
  const float *bias = io->n->n_in == 3 ? fin(io, 2) : NULL;
  for (int64_t p = 0; p < batches; p++) {
    const float *A = fin(io, 0) + p * a_rows * a_cols;
    const float *B = fin(io, 1) + (shared_b ? 0 : p * b_rows * b_cols);
    float *C = fout(io, 0) + p * m * n;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double acc = bias ? bias[j] : 0.0;
        for (int64_t q = 0; q < k; q++) {
          double av = ta ? A[q * a_cols + i] : A[i * a_cols + q];
          double bv = tb ? B[j * b_cols + q] : B[q * b_cols + j];
          acc += av * bv;
        }
        C[i * n + j] = (float)acc;
      }
  }
  return NNB_OK;
}

static nnb_status binary(const ref_io *io, int mul) {
  const nnb_tensor_desc *a = io->ti[0], *b = io->ti[1];
  int64_t n = nnb_numel(a);
  for (int64_t i = 0; i < n; i++) {
    double x = fin(io, 0)[i], y = fin(io, 1)[nnb_broadcast_index(a, b, i)];
    fout(io, 0)[i] = (float)(mul ? x * y : x + y);
  }
  return NNB_OK;
}

nnb_status ref_add(const ref_io *io, nnb_error *e) { return binary(io, 0); }
nnb_status ref_mul(const ref_io *io, nnb_error *e) { return binary(io, 1); }

nnb_status ref_sum_to(const ref_io *io, nnb_error *e) {
  const nnb_tensor_desc *x = io->ti[0], *y = io->to[0];
  int64_t n = nnb_numel(x), ny = nnb_numel(y);
  double *acc = calloc((size_t)ny, sizeof *acc);
  if (!acc) return nnb_fail(e, NNB_ERR_NOMEM, "node '%s': out of memory", io->n->name);
  for (int64_t i = 0; i < n; i++) acc[nnb_broadcast_index(x, y, i)] += fin(io, 0)[i];
  for (int64_t j = 0; j < ny; j++) fout(io, 0)[j] = (float)acc[j];
  free(acc);
  return NNB_OK;
}

nnb_status ref_permute(const ref_io *io, nnb_error *e) {
  const nnb_tensor_desc *x = io->ti[0], *y = io->to[0];
  const int *perm = io->n->attr.permute.perm;
  int64_t xstride[NNB_MAX_RANK], n = nnb_numel(y);
  int r = x->rank;
  xstride[r - 1] = 1;
  for (int d = r - 2; d >= 0; d--) xstride[d] = xstride[d + 1] * x->dims[d + 1];
  for (int64_t i = 0; i < n; i++) {
    int64_t rem = i, src = 0;
    for (int d = r - 1; d >= 0; d--) { /* y's coordinate d runs along x's axis perm[d] */
      src += (rem % y->dims[d]) * xstride[perm[d]];
      rem /= y->dims[d];
    }
    fout(io, 0)[i] = fin(io, 0)[src];
  }
  return NNB_OK;
}

nnb_status ref_reshape(const ref_io *io, nnb_error *e) {
  if (io->out[0] != io->in[0]) memmove(io->out[0], io->in[0], nnb_nbytes(io->ti[0]));
  return NNB_OK;
}

/* x viewed as [outer, axis, inner]. */
static void split3(const nnb_tensor_desc *t, int axis, int64_t *outer, int64_t *inner) {
  *outer = 1, *inner = 1;
  for (int d = 0; d < axis; d++) *outer *= t->dims[d];
  for (int d = axis + 1; d < t->rank; d++) *inner *= t->dims[d];
}

nnb_status ref_slice(const ref_io *io, nnb_error *e) {
  const struct nnb_slice_attr *s = &io->n->attr.slice;
  int64_t outer, inner, full = io->ti[0]->dims[s->axis];
  split3(io->ti[0], s->axis, &outer, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t a = 0; a < s->length; a++)
      memcpy(fout(io, 0) + (o * s->length + a) * inner,
             fin(io, 0) + (o * full + s->start + a) * inner, (size_t)inner * sizeof(float));
  return NNB_OK;
}

nnb_status ref_slice_bwd(const ref_io *io, nnb_error *e) {
  const struct nnb_slice_attr *s = &io->n->attr.slice;
  int64_t outer, inner;
  split3(io->to[0], s->axis, &outer, &inner);
  memset(io->out[0], 0, nnb_nbytes(io->to[0]));
  for (int64_t o = 0; o < outer; o++)
    for (int64_t a = 0; a < s->length; a++)
      memcpy(fout(io, 0) + (o * s->full + s->start + a) * inner,
             fin(io, 0) + (o * s->length + a) * inner, (size_t)inner * sizeof(float));
  return NNB_OK;
}

nnb_status ref_mean(const ref_io *io, nnb_error *e) {
  int axis = io->n->attr.mean.axis;
  int64_t outer, inner, n = io->ti[0]->dims[axis];
  split3(io->ti[0], axis, &outer, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double acc = 0;
      for (int64_t a = 0; a < n; a++) acc += fin(io, 0)[(o * n + a) * inner + i];
      fout(io, 0)[o * inner + i] = (float)(acc / (double)n);
    }
  return NNB_OK;
}

nnb_status ref_mean_bwd(const ref_io *io, nnb_error *e) {
  int axis = io->n->attr.mean.axis;
  int64_t outer, inner, n = io->n->attr.mean.n;
  split3(io->to[0], axis, &outer, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t a = 0; a < n; a++)
      for (int64_t i = 0; i < inner; i++)
        fout(io, 0)[(o * n + a) * inner + i] =
            (float)((double)fin(io, 0)[o * inner + i] / (double)n);
  return NNB_OK;
}

nnb_status ref_fill(const ref_io *io, nnb_error *e) {
  int64_t n = nnb_numel(io->to[0]);
  for (int64_t i = 0; i < n; i++) fout(io, 0)[i] = io->n->attr.shape.value;
  return NNB_OK;
}
