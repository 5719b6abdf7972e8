/* conv2d and its two backwards on oneDNN's convolution primitives. The
 * graph's tensors are plain NCHW / OIHW; bias and relu (inference) or a
 * residual add are post-ops when the plan fuses them. */
#include "dn.h"

typedef struct conv_shape {
  dnnl_memory_desc_t x, w, b, y;
  dnnl_dims_t stride, pad_l, pad_r;
} conv_shape;

static void shape_of(conv_shape *c, const int64_t *x, const int64_t *w, const int64_t *y,
                     const struct nnb_conv_attr *a) {
  dn_md_plain(&c->x, 4, x);
  dn_md_plain(&c->w, 4, w);
  dn_md_plain(&c->y, 4, y);
  dn_md_plain(&c->b, 1, w);
  c->stride[0] = a->stride_h, c->stride[1] = a->stride_w;
  c->pad_l[0] = a->pad_h, c->pad_l[1] = a->pad_w;
  /* right padding that gives exactly y's size (the floor in docs/ops.md) */
  c->pad_r[0] = (y[2] - 1) * a->stride_h + w[2] - x[2] - a->pad_h;
  c->pad_r[1] = (y[3] - 1) * a->stride_w + w[3] - x[3] - a->pad_w;
  if (c->pad_r[0] < 0) c->pad_r[0] = 0;
  if (c->pad_r[1] < 0) c->pad_r[1] = 0;
}

static nnb_status fwd_desc(const dn_step *s, const conv_shape *c, bool bias, dnnl_prop_kind_t prop,
                           dnnl_convolution_desc_t *d, nnb_error *e) {
  dnnl_status_t st =
      dnnl_convolution_forward_desc_init(d, prop, dnnl_convolution_direct, &c->x, &c->w,
                                         bias ? &c->b : NULL, &c->y, c->stride, c->pad_l, c->pad_r);
  return dn_check(st, "describing a convolution", s->n, e);
}

/* Writes y in `ymd` (plain: the binding; blocked: the binding, or the
 * private memory followed by a reorder into the plain binding when y must
 * stay plain). */
static nnb_status bind_dst(dn_step *s, const dn_graph_info *gi, dnnl_memory_desc_t *ymd,
                           size_t priv_at, bool keep_blocked, nnb_error *e) {
  float *dst;
  nnb_status r = dn_bind_post(s, ymd, &dst, e);
  const nnb_tensor_desc *t = &gi->g->tensors[s->dst];
  if (r != NNB_OK || keep_blocked || dn_is_plain(t, ymd))
    return r == NNB_OK ? dn_bind(s, DNNL_ARG_DST, ymd, dst, e) : r;
  float *tmp = (float *)((char *)s->priv + priv_at);
  dnnl_memory_desc_t plain;
  dn_md_tensor(&plain, t);
  r = dn_bind(s, DNNL_ARG_DST, ymd, tmp, e);
  if (r == NNB_OK) r = dn_add_reorder(s, ymd, &plain, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_FROM, ymd, tmp, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_TO, &plain, dst, e);
  return r;
}

/* Bytes of private memory at `at` rounded up to a cache line. */
static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

/* The convolution with the layouts the primitive prefers where the plan
 * allows them: x as its writer left it, y blocked when it is blockable
 * (through private memory and a reorder when x is blocked but y must stay
 * plain), weights reordered from OIHW into private memory before each run
 * (they change every training step). */
static nnb_status conv_fwd(dn_step *s, const dn_graph_info *gi, conv_shape *c, bool allow,
                           nnb_error *e) {
  bool bias = s->n->n_in > 2;
  bool blocked = allow && !s->post_add && dn_blockable(s, gi, s->dst);
  dn_md_of(gi, s->n->in[0], &c->x);
  bool x_blocked = !dn_is_plain(s->ti[0], &c->x);
  if (blocked || x_blocked) { /* let the primitive choose */
    dnnl_memory_desc_init_by_tag(&c->w, 4, c->w.dims, dnnl_f32, dnnl_format_tag_any);
    if (!s->post_add)
      dnnl_memory_desc_init_by_tag(&c->y, 4, c->y.dims, dnnl_f32, dnnl_format_tag_any);
  }
  dnnl_convolution_desc_t d;
  nnb_status r = fwd_desc(s, c, bias, dnnl_forward_inference, &d, e);
  dnnl_primitive_attr_t attr;
  if (r == NNB_OK) r = dn_step_attr(s, &c->y, &attr, e);
  if (r != NNB_OK) return r;
  dnnl_primitive_desc_t pd;
  dnnl_status_t st = dnnl_primitive_desc_create(&pd, &d, attr, s->env->engine, NULL);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success) return dn_check(st, "creating a convolution", s->n, e);
  dnnl_memory_desc_t wmd = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  dnnl_memory_desc_t ymd = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  const nnb_tensor_desc *yt = &gi->g->tensors[s->dst];
  if (blocked && !dn_is_plain(yt, &ymd) && !dn_set_layout(gi, s->dst, &ymd)) {
    dnnl_primitive_desc_destroy(pd); /* blocked y does not fit its binding */
    shape_of(c, s->ti[0]->dims, s->ti[1]->dims, s->to[0]->dims, &s->n->attr.conv);
    return conv_fwd(s, gi, c, false, e);
  }
  dnnl_memory_desc_t wplain;
  dn_md_plain(&wplain, 4, c->w.dims);
  bool reorder_w = !dnnl_memory_desc_equal(&wplain, &wmd);
  size_t w_bytes = reorder_w ? round64(dnnl_memory_desc_get_size(&wmd)) : 0;
  size_t y_bytes = blocked || dn_is_plain(yt, &ymd) ? 0 : dnnl_memory_desc_get_size(&ymd);
  if (w_bytes + y_bytes) r = dn_step_priv(s, w_bytes + y_bytes, e);
  float *w = s->in[1];
  if (r == NNB_OK && reorder_w) {
    r = dn_add_reorder(s, &wplain, &wmd, e);
    if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_FROM, &wplain, s->in[1], e);
    if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_TO, &wmd, s->priv, e);
    w = s->priv;
  }
  if (r == NNB_OK)
    r = dn_add_pd(s, pd, NULL, e);
  else
    dnnl_primitive_desc_destroy(pd);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &c->x, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_WEIGHTS, &wmd, w, e);
  if (r == NNB_OK && bias) r = dn_bind(s, DNNL_ARG_BIAS, &c->b, s->in[2], e);
  if (r == NNB_OK) r = bind_dst(s, gi, &ymd, w_bytes, blocked, e);
  return r;
}

nnb_status dn_prep_conv2d(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  conv_shape c;
  shape_of(&c, s->ti[0]->dims, s->ti[1]->dims, s->to[0]->dims, &s->n->attr.conv);
  return conv_fwd(s, gi, &c, true, e);
}

/* The backward ops carry the forward's geometry in attr.conv. */
static void bwd_shape(conv_shape *c, const dn_step *s, const int64_t *w) {
  const struct nnb_conv_attr *a = &s->n->attr.conv;
  const int64_t *dy = s->ti[0]->dims;
  int64_t x[4] = {dy[0], w[1], a->in_h, a->in_w};
  shape_of(c, x, w, dy, a);
}

nnb_status dn_prep_conv2d_bwd_data(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  conv_shape c;
  bwd_shape(&c, s, s->ti[1]->dims);
  dnnl_convolution_desc_t fd, d;
  dnnl_primitive_desc_t hint;
  nnb_status r = fwd_desc(s, &c, false, dnnl_forward_training, &fd, e);
  if (r == NNB_OK) r = dn_hint(s, &fd, &hint, e);
  if (r != NNB_OK) return r;
  dnnl_status_t st = dnnl_convolution_backward_data_desc_init(
      &d, dnnl_convolution_direct, &c.x, &c.w, &c.y, c.stride, c.pad_l, c.pad_r);
  r = st == dnnl_success ? dn_add_prim(s, &d, NULL, hint, NULL, e)
                         : dn_check(st, "describing a convolution's data backward", s->n, e);
  dnnl_primitive_desc_destroy(hint);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_DST, &c.y, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_WEIGHTS, &c.w, s->in[1], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_SRC, &c.x, s->out[0], e);
  return r;
}

nnb_status dn_prep_conv2d_bwd_weight(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  conv_shape c;
  bwd_shape(&c, s, s->to[0]->dims);
  bool bias = s->n->n_out > 1;
  dnnl_convolution_desc_t fd, d;
  dnnl_primitive_desc_t hint;
  nnb_status r = fwd_desc(s, &c, bias, dnnl_forward_training, &fd, e);
  if (r == NNB_OK) r = dn_hint(s, &fd, &hint, e);
  if (r != NNB_OK) return r;
  dnnl_status_t st = dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &c.x,
                                                                 &c.w, bias ? &c.b : NULL, &c.y,
                                                                 c.stride, c.pad_l, c.pad_r);
  r = st == dnnl_success ? dn_add_prim(s, &d, NULL, hint, NULL, e)
                         : dn_check(st, "describing a convolution's weight backward", s->n, e);
  dnnl_primitive_desc_destroy(hint);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_DST, &c.y, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &c.x, s->in[1], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_WEIGHTS, &c.w, s->out[0], e);
  if (r == NNB_OK && bias) r = dn_bind(s, DNNL_ARG_DIFF_BIAS, &c.b, s->out[1], e);
  return r;
}
