/* Reductions and fills. oneDNN's reduction primitive picks its reference
 * kernel for these shapes, so sum_to over leading axes (bias gradients, the
 * loss) is a matmul against a vector of ones, and the rest is OpenMP C. */
#include <string.h>

#include "dn.h"

/* Whether y (padded with leading 1s) keeps a run of x's trailing dims and
 * is 1 on all the others: then x is [rows, cols] and y [cols]. */
static bool leading_only(const nnb_tensor_desc *x, const struct nnb_tensor_desc *y, int64_t *rows,
                         int64_t *cols) {
  int pad = x->rank - y->rank;
  int first = x->rank; /* first axis kept */
  for (int i = x->rank - 1; i >= 0; i--) {
    int64_t yd = i < pad ? 1 : y->dims[i - pad];
    if (yd != x->dims[i]) break;
    first = i;
  }
  *rows = *cols = 1;
  for (int i = 0; i < x->rank; i++) {
    int64_t yd = i < pad ? 1 : y->dims[i - pad];
    if (i < first && yd != 1) return false;
    *(i < first ? rows : cols) *= x->dims[i];
  }
  return true;
}

/* The general case: each y element sums its broadcast set of x. */
static nnb_status sum_general(dn_step *s, nnb_error *e) {
  const nnb_tensor_desc *x = s->ti[0], *y = s->to[0];
  int r = x->rank, pad = x->rank - y->rank;
  int64_t yd[NNB_MAX_RANK], xs[NNB_MAX_RANK], acc = 1;
  for (int i = r - 1; i >= 0; i--) {
    yd[i] = i < pad ? 1 : y->dims[i - pad];
    xs[i] = acc, acc *= x->dims[i];
  }
  const float *in = s->in[0];
  float *out = s->out[0];
  int64_t ny = nnb_numel(y), nx = nnb_numel(x);
#pragma omp parallel for if (nx > (1 << 16))
  for (int64_t j = 0; j < ny; j++) {
    int64_t base = 0, rem = j, cnt[NNB_MAX_RANK] = {0}, span = 1;
    for (int i = r - 1; i >= 0; i--) { /* j's x offset; the reduced axes' extent */
      if (yd[i] != 1)
        base += (rem % yd[i]) * xs[i], rem /= yd[i];
      else
        span *= x->dims[i];
    }
    double sum = 0;
    for (int64_t k = 0; k < span; k++) {
      int64_t off = base;
      for (int i = 0; i < r; i++)
        if (yd[i] == 1) off += cnt[i] * xs[i];
      sum += in[off];
      for (int i = r - 1; i >= 0; i--) { /* next index over the reduced axes */
        if (yd[i] != 1) continue;
        if (++cnt[i] < x->dims[i]) break;
        cnt[i] = 0;
      }
    }
    out[j] = (float)sum;
  }
  return NNB_OK;
}

nnb_status dn_prep_sum_to(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  int64_t rows, cols;
  if (!leading_only(s->ti[0], s->to[0], &rows, &cols)) {
    return dn_c_kernel(s, sum_general);
  }
  /* y[1, cols] = ones[1, rows] x[rows, cols] */
  nnb_status r = dn_step_priv(s, (size_t)rows * sizeof(float), e);
  if (r != NNB_OK) return r;
  for (int64_t i = 0; i < rows; i++) s->priv[i] = 1.0f;
  int64_t od[2] = {1, rows}, xd[2] = {rows, cols}, yd[2] = {1, cols};
  dnnl_memory_desc_t omd, xmd, ymd;
  dn_md_plain(&omd, 2, od);
  dn_md_plain(&xmd, 2, xd);
  dn_md_plain(&ymd, 2, yd);
  dnnl_matmul_desc_t d;
  dnnl_status_t st = dnnl_matmul_desc_init(&d, &omd, &xmd, NULL, &ymd);
  if (st != dnnl_success) return dn_check(st, "describing a sum as a matmul", s->n, e);
  r = dn_add_prim(s, &d, NULL, NULL, NULL, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &omd, s->priv, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_WEIGHTS, &xmd, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &ymd, s->out[0], e);
  return r;
}

/* x as [outer, n, inner] around the axis. */
static void around(const nnb_tensor_desc *x, int axis, int64_t *outer, int64_t *inner) {
  *outer = *inner = 1;
  for (int i = 0; i < axis; i++) *outer *= x->dims[i];
  for (int i = axis + 1; i < x->rank; i++) *inner *= x->dims[i];
}

static nnb_status mean(dn_step *s, nnb_error *e) {
  int axis = s->n->attr.mean.axis;
  int64_t outer, inner, n = s->ti[0]->dims[axis];
  around(s->ti[0], axis, &outer, &inner);
  const float *x = s->in[0];
  float *y = s->out[0];
  float inv = 1.0f / (float)n;
#pragma omp parallel for if (outer * n * inner > (1 << 16))
  for (int64_t o = 0; o < outer; o++) {
    float *yo = y + o * inner;
    const float *xo = x + o * n * inner;
    for (int64_t c = 0; c < inner; c++) yo[c] = xo[c];
    for (int64_t k = 1; k < n; k++)
#pragma omp simd
      for (int64_t c = 0; c < inner; c++) yo[c] += xo[k * inner + c];
    for (int64_t c = 0; c < inner; c++) yo[c] *= inv;
  }
  return NNB_OK;
}

static nnb_status mean_bwd(dn_step *s, nnb_error *e) {
  int axis = s->n->attr.mean.axis;
  int64_t outer, inner, n = s->n->attr.mean.n;
  around(s->to[0], axis, &outer, &inner);
  const float *dy = s->in[0];
  float *dx = s->out[0];
  float inv = 1.0f / (float)n;
#pragma omp parallel for if (outer * n * inner > (1 << 16))
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < n; k++)
#pragma omp simd
      for (int64_t c = 0; c < inner; c++) dx[(o * n + k) * inner + c] = dy[o * inner + c] * inv;
  return NNB_OK;
}

static nnb_status fill(dn_step *s, nnb_error *e) {
  float v = s->n->attr.shape.value, *y = s->out[0];
  int64_t n = nnb_numel(s->to[0]);
#pragma omp parallel for simd if (n > (1 << 16))
  for (int64_t i = 0; i < n; i++) y[i] = v;
  return NNB_OK;
}

nnb_status dn_prep_mean(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  return dn_c_kernel(s, mean);
}
nnb_status dn_prep_mean_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  return dn_c_kernel(s, mean_bwd);
}
nnb_status dn_prep_fill(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  return dn_c_kernel(s, fill);
}
