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

/* The convolution with the layouts the primitive prefers: x as its
 * writer left it (blocked when the plan allows), y kept blocked when it is
 * blockable, every other operand reordered between the graph's plain
 * layout and the primitive's through private memory (weights before each
 * run: they change every training step). A fused add keeps y plain. */
static nnb_status conv_fwd(dn_step *s, const dn_graph_info *gi, conv_shape *c, bool allow,
                           nnb_error *e) {
  bool bias = s->n->n_in > 2;
  bool blocked = allow && !s->post_add && dn_blockable(s, gi, s->dst);
  dnnl_memory_desc_t xuser, yuser, wuser = c->w;
  dn_md_of(gi, s->n->in[0], &xuser);
  dn_md_tensor(&yuser, &gi->g->tensors[s->dst]);
  c->x = xuser;
  if (dn_is_plain(s->ti[0], &xuser) && s->env->blocked) dn_md_any(&c->x, &xuser);
  if (s->env->blocked) dn_md_any(&c->w, &wuser);
  if (s->env->blocked && !s->post_add) dn_md_any(&c->y, &yuser);
  dnnl_convolution_desc_t d;
  nnb_status r = fwd_desc(s, c, bias, dnnl_forward_inference, &d, e);
  dnnl_primitive_attr_t attr;
  if (r == NNB_OK) r = dn_step_attr(s, &yuser, &attr, e);
  if (r != NNB_OK) return r;
  dnnl_primitive_desc_t pd;
  dnnl_status_t st = dnnl_primitive_desc_create(&pd, &d, attr, s->env->engine, NULL);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success) return dn_check(st, "creating a convolution", s->n, e);
  dnnl_memory_desc_t ymd = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  if (blocked && !dn_is_plain(&gi->g->tensors[s->dst], &ymd)) {
    if (!dn_set_layout(gi, s->dst, &ymd)) { /* blocked y does not fit its binding */
      dnnl_primitive_desc_destroy(pd);
      shape_of(c, s->ti[0]->dims, s->ti[1]->dims, s->to[0]->dims, &s->n->attr.conv);
      return conv_fwd(s, gi, c, false, e);
    }
    yuser = ymd;
  }
  const dn_operand ops[] = {
      {DNNL_ARG_SRC, dnnl_query_src_md, 0, xuser, s->in[0], false},
      {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, 0, wuser, s->in[1], false},
      {DNNL_ARG_DST, dnnl_query_dst_md, 0, yuser, s->post_out ? s->post_out : s->out[0], true},
      {DNNL_ARG_BIAS, dnnl_query_weights_md, 1, c->b, bias ? s->in[2] : NULL, false}};
  r = dn_add_reordered(s, pd, ops, bias ? 4 : 3, 0, e);
  float *dst;
  if (r == NNB_OK && s->post_add) r = dn_bind_post(s, &yuser, &dst, e);
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

/* The backwards run on the layouts their primitives prefer (blocked jit
 * kernels rather than im2col and GEMM). dy and x come as their writers
 * left them; the output ops[keep] (keep >= 0: dx) keeps the primitive's
 * layout when it is blockable; every other operand is reordered between
 * the graph's plain layout and the primitive's through private memory. */
static nnb_status bwd(dn_step *s, const dn_graph_info *gi, const void *d, const conv_shape *c,
                      bool bias, dn_operand *ops, int n, int keep, nnb_error *e) {
  dnnl_convolution_desc_t fd;
  conv_shape any = *c;
  dn_md_any(&any.x, &c->x), dn_md_any(&any.w, &c->w), dn_md_any(&any.y, &c->y);
  dnnl_primitive_desc_t hint, pd;
  nnb_status r = fwd_desc(s, &any, bias, dnnl_forward_training, &fd, e);
  if (r == NNB_OK) r = dn_hint(s, &fd, &hint, e);
  if (r != NNB_OK) return r;
  r = dn_make_pd(s, d, NULL, hint, &pd, e);
  if (r == NNB_OK && keep >= 0 && dn_blockable(s, gi, s->n->out[0])) {
    dnnl_memory_desc_t md = *dnnl_primitive_desc_query_md(pd, ops[keep].query, 0);
    if (!dn_is_plain(s->to[0], &md) && dn_set_layout(gi, s->n->out[0], &md)) ops[keep].user = md;
  }
  if (r == NNB_OK) r = dn_add_reordered(s, pd, ops, n, 0, e);
  dnnl_primitive_desc_destroy(hint);
  return r;
}

nnb_status dn_prep_conv2d_bwd_data(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  conv_shape c, a;
  bwd_shape(&c, s, s->ti[1]->dims);
  a = c;
  dn_md_any(&a.x, &c.x), dn_md_any(&a.w, &c.w), dn_md_any(&a.y, &c.y);
  dnnl_convolution_desc_t d;
  dnnl_status_t st = dnnl_convolution_backward_data_desc_init(
      &d, dnnl_convolution_direct, &a.x, &a.w, &a.y, c.stride, c.pad_l, c.pad_r);
  if (st != dnnl_success) return dn_check(st, "describing a convolution's data backward", s->n, e);
  dnnl_memory_desc_t dy;
  dn_md_of(gi, s->n->in[0], &dy);
  dn_operand ops[] = {{DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0, dy, s->in[0], false},
                      {DNNL_ARG_WEIGHTS, dnnl_query_weights_md, 0, c.w, s->in[1], false},
                      {DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md, 0, c.x, s->out[0], true}};
  return bwd(s, gi, &d, &c, false, ops, 3, 2, e);
}

nnb_status dn_prep_conv2d_bwd_weight(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  if (dn_conv_wgrad_c_fits(s, gi)) return dn_prep_conv2d_bwd_weight_c(s, gi, e);
  conv_shape c, a;
  bwd_shape(&c, s, s->to[0]->dims);
  bool bias = s->n->n_out > 1;
  a = c;
  /* The blocked kernels vectorise the weight gradient over input channels:
   * with fewer than a block of them (an image's 1 or 3) im2col and GEMM on
   * plain layouts is faster (the cnn's conv1: 3.5 ms against 2.1 ms). */
  if (c.x.dims[1] >= 8) dn_md_any(&a.x, &c.x), dn_md_any(&a.w, &c.w), dn_md_any(&a.y, &c.y);
  dnnl_convolution_desc_t d;
  dnnl_status_t st = dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &a.x,
                                                                 &a.w, bias ? &c.b : NULL, &a.y,
                                                                 c.stride, c.pad_l, c.pad_r);
  if (st != dnnl_success)
    return dn_check(st, "describing a convolution's weight backward", s->n, e);
  dnnl_memory_desc_t dy, x;
  dn_md_of(gi, s->n->in[0], &dy);
  dn_md_of(gi, s->n->in[1], &x);
  dn_operand ops[] = {
      {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0, dy, s->in[0], false},
      {DNNL_ARG_SRC, dnnl_query_src_md, 0, x, s->in[1], false},
      {DNNL_ARG_DIFF_WEIGHTS, dnnl_query_diff_weights_md, 0, c.w, s->out[0], true},
      {DNNL_ARG_DIFF_BIAS, dnnl_query_diff_weights_md, 1, c.b, bias ? s->out[1] : NULL, true}};
  return bwd(s, gi, &d, &c, bias, ops, bias ? 4 : 3, -1, e);
}
