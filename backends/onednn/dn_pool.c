/* maxpool2d and its backward on pooling_v2. The backward reads the
 * forward's workspace (where each window's first maximum is), which depends
 * only on x: a forward node of this plan on the same x writes it into its
 * private workspace, otherwise the backward step computes it itself. With
 * blocked layouts, training pools in C instead (dn_pool_c.c). */
#include <string.h>

#include "dn.h"

typedef struct pool_shape {
  dnnl_memory_desc_t x, y;
  dnnl_dims_t stride, kernel, dil, pad_l, pad_r;
} pool_shape;

static void shape_of(pool_shape *p, const nnb_tensor_desc *x, const nnb_tensor_desc *y,
                     const struct nnb_pool_attr *a) {
  dn_md_tensor(&p->x, x);
  dn_md_tensor(&p->y, y);
  p->stride[0] = a->stride_h, p->stride[1] = a->stride_w;
  p->kernel[0] = a->kernel_h, p->kernel[1] = a->kernel_w;
  p->dil[0] = p->dil[1] = 0;
  p->pad_l[0] = p->pad_l[1] = 0;
  /* no padding; the floor of docs/ops.md needs a negative right pad when
   * the last columns fall outside every window */
  p->pad_r[0] = (y->dims[2] - 1) * a->stride_h + a->kernel_h - x->dims[2];
  p->pad_r[1] = (y->dims[3] - 1) * a->stride_w + a->kernel_w - x->dims[3];
}

static bool same_pool(const nnb_node *a, const nnb_node *b) {
  return !memcmp(&a->attr.pool, &b->attr.pool, sizeof a->attr.pool);
}

/* The forward pass, writing y and (training) the workspace, which goes
 * into the step's private memory after `ws_at` bytes. With gi, x may be
 * blocked and y takes the primitive's layout: kept when y is blockable,
 * otherwise written to private memory and reordered into y. */
static nnb_status forward(dn_step *s, const dn_graph_info *gi, pool_shape *p, bool training,
                          float *y, size_t ws_at, nnb_error *e) {
  bool blocked = false;
  if (gi) {
    dn_md_of(gi, s->n->in[0], &p->x);
    blocked = dn_blockable(s, gi, s->dst);
    if (blocked || !dn_is_plain(s->ti[0], &p->x))
      dnnl_memory_desc_init_by_tag(&p->y, 4, p->y.dims, dnnl_f32, dnnl_format_tag_any);
  }
  dnnl_pooling_v2_desc_t d;
  dnnl_status_t st = dnnl_pooling_v2_forward_desc_init(
      &d, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_pooling_max, &p->x, &p->y,
      p->stride, p->kernel, p->dil, p->pad_l, p->pad_r);
  if (st != dnnl_success) return dn_check(st, "describing a max pooling", s->n, e);
  dnnl_primitive_desc_t pd;
  nnb_status r = dn_add_prim(s, &d, NULL, NULL, &pd, e);
  if (r != NNB_OK) return r;
  const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
  dnnl_memory_desc_t ymd = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  size_t ws_bytes = training && ws ? dnnl_memory_desc_get_size(ws) : 0;
  const nnb_tensor_desc *yt = s->to[0];
  /* y through private memory: its layout is not plain and y cannot keep it */
  bool via = gi && !dn_is_plain(yt, &ymd) && !(blocked && dn_set_layout(gi, s->dst, &ymd));
  size_t y_bytes = via ? dnnl_memory_desc_get_size(&ymd) : 0;
  if (ws_bytes || y_bytes) r = dn_step_priv(s, ws_at + ws_bytes + y_bytes, e);
  float *tmp = (float *)((char *)s->priv + ws_at + ws_bytes);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &p->x, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &ymd, via ? tmp : y ? y : s->priv, e);
  if (r == NNB_OK && ws_bytes) r = dn_bind(s, DNNL_ARG_WORKSPACE, ws, (char *)s->priv + ws_at, e);
  dnnl_primitive_desc_destroy(pd);
  if (r == NNB_OK && via) {
    dnnl_memory_desc_t plain;
    dn_md_tensor(&plain, yt);
    r = dn_add_reorder(s, &ymd, &plain, e);
    if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_FROM, &ymd, tmp, e);
    if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_TO, &plain, y, e);
  }
  return r;
}

nnb_status dn_prep_maxpool2d(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  pool_shape p;
  shape_of(&p, s->ti[0], s->to[0], &s->n->attr.pool);
  bool training = false; /* a backward of this plan reads the workspace */
  for (int i = node + 1; i < gi->g->n_nodes && !training; i++) {
    const nnb_node *b = &gi->g->nodes[i];
    training = b->op == NNB_OP_MAXPOOL2D_BWD && b->in[1] == s->n->in[0] && same_pool(b, s->n);
  }
  if (training && s->env->blocked && dn_pool_c_fits(s->n)) return dn_prep_maxpool2d_c(s, gi, e);
  return forward(s, gi, &p, training, s->out[0], 0, e);
}

nnb_status dn_prep_maxpool2d_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  pool_shape p;
  shape_of(&p, s->to[0], s->ti[0], &s->n->attr.pool);
  float *ws = NULL;
  for (int i = 0; i < node && !ws; i++) {
    const dn_step *f = &gi->steps[i];
    if (f->n->op == NNB_OP_MAXPOOL2D && f->n->in[0] == s->n->in[1] && same_pool(f->n, s->n)) {
      if (dn_pool_c_ran(f)) return dn_prep_maxpool2d_bwd_c(s, gi, f, e);
      ws = f->priv;
    }
  }
  nnb_status r = NNB_OK;
  if (!ws) { /* no forward of this plan on this x: run one into private memory */
    size_t y_bytes = (nnb_nbytes(s->ti[0]) + 63) / 64 * 64;
    float *x = s->in[0];
    s->in[0] = s->in[1]; /* forward() reads in[0] as its x */
    r = forward(s, NULL, &p, true, NULL, y_bytes, e);
    s->in[0] = x;
    if (r != NNB_OK) return r;
    ws = (float *)((char *)s->priv + y_bytes);
  }
  dnnl_pooling_v2_desc_t fd, d;
  dnnl_primitive_desc_t hint;
  dnnl_status_t st =
      dnnl_pooling_v2_forward_desc_init(&fd, dnnl_forward_training, dnnl_pooling_max, &p.x, &p.y,
                                        p.stride, p.kernel, p.dil, p.pad_l, p.pad_r);
  if (st == dnnl_success)
    r = dn_hint(s, &fd, &hint, e);
  else
    r = dn_check(st, "describing a max pooling", s->n, e);
  if (r != NNB_OK) return r;
  st = dnnl_pooling_v2_backward_desc_init(&d, dnnl_pooling_max, &p.x, &p.y, p.stride, p.kernel,
                                          p.dil, p.pad_l, p.pad_r);
  r = st == dnnl_success ? dn_add_prim(s, &d, NULL, hint, NULL, e)
                         : dn_check(st, "describing a max pooling's backward", s->n, e);
  const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(hint, dnnl_query_workspace_md, 0);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_DST, &p.y, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_WORKSPACE, wmd, ws, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_SRC, &p.x, s->out[0], e);
  dnnl_primitive_desc_destroy(hint);
  return r;
}
