/* Data movement as reorders: a permute or a slice is a strided view of x
 * copied into y's plain layout; slice_bwd copies dy into such a view of dx
 * and zeroes the rest; reshape is a view and runs nothing. */
#include <string.h>

#include "dn.h"

static void plain_strides(const nnb_tensor_desc *t, int64_t *st) {
  int64_t acc = 1;
  for (int i = t->rank - 1; i >= 0; i--) st[i] = acc, acc *= t->dims[i];
}

nnb_status dn_prep_permute(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  const nnb_tensor_desc *x = s->ti[0], *y = s->to[0];
  int64_t xs[NNB_MAX_RANK], vs[NNB_MAX_RANK];
  plain_strides(x, xs);
  for (int i = 0; i < y->rank; i++) vs[i] = xs[s->n->attr.permute.perm[i]];
  dnnl_memory_desc_t src, dst;
  dn_md_strided(&src, y->rank, y->dims, vs);
  dn_md_tensor(&dst, y);
  nnb_status r = dn_add_reorder(s, &src, &dst, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_FROM, &src, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_TO, &dst, s->out[0], e);
  return r;
}

static nnb_status nothing(dn_step *s, nnb_error *e) { return NNB_OK; }

nnb_status dn_prep_reshape(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  s->run = nothing; /* y is a view of x: the same bytes */
  return NNB_OK;
}

/* The slice of `full` (x of slice, dx of slice_bwd) as a view with `part`'s
 * dims; returns the view's first element's offset. */
static int64_t slice_view(dnnl_memory_desc_t *md, const nnb_tensor_desc *full,
                          const nnb_tensor_desc *part, const struct nnb_slice_attr *a) {
  int64_t st[NNB_MAX_RANK];
  plain_strides(full, st);
  dn_md_strided(md, part->rank, part->dims, st);
  return a->start * st[a->axis];
}

nnb_status dn_prep_slice(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  dnnl_memory_desc_t src, dst;
  int64_t off = slice_view(&src, s->ti[0], s->to[0], &s->n->attr.slice);
  dn_md_tensor(&dst, s->to[0]);
  nnb_status r = dn_add_reorder(s, &src, &dst, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_FROM, &src, s->in[0] + off, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_TO, &dst, s->out[0], e);
  return r;
}

/* Zeroes dx outside the slice (each outer index: the part before and the
 * part after), then the reorder fills the slice. */
static nnb_status slice_bwd(dn_step *s, nnb_error *e) {
  const nnb_tensor_desc *dx = s->to[0];
  const struct nnb_slice_attr *a = &s->n->attr.slice;
  int64_t inner = 1, outer = 1;
  for (int i = a->axis + 1; i < dx->rank; i++) inner *= dx->dims[i];
  for (int i = 0; i < a->axis; i++) outer *= dx->dims[i];
  int64_t before = a->start * inner, after = (a->full - a->start - a->length) * inner;
  float *out = s->out[0];
#pragma omp parallel for if (outer * a->full * inner > (1 << 16))
  for (int64_t o = 0; o < outer; o++) {
    float *row = out + o * a->full * inner;
    memset(row, 0, (size_t)before * sizeof *row);
    memset(row + (a->start + a->length) * inner, 0, (size_t)after * sizeof *row);
  }
  return dn_step_prims(s, e);
}

nnb_status dn_prep_slice_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  dnnl_memory_desc_t src, dst;
  int64_t off = slice_view(&dst, s->to[0], s->ti[0], &s->n->attr.slice);
  dn_md_tensor(&src, s->ti[0]);
  nnb_status r = dn_add_reorder(s, &src, &dst, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_FROM, &src, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_TO, &dst, s->out[0] + off, e);
  s->run = slice_bwd;
  return r;
}
