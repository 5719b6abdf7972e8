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

nnb_status dn_prep_conv2d(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  conv_shape c;
  shape_of(&c, s->ti[0]->dims, s->ti[1]->dims, s->to[0]->dims, &s->n->attr.conv);
  bool bias = s->n->n_in > 2;
  dnnl_convolution_desc_t d;
  nnb_status r = fwd_desc(s, &c, bias, dnnl_forward_inference, &d, e);
  dnnl_primitive_attr_t attr;
  if (r == NNB_OK) r = dn_step_attr(s, &c.y, &attr, e);
  if (r != NNB_OK) return r;
  r = dn_add_prim(s, &d, attr, NULL, NULL, e);
  dnnl_primitive_attr_destroy(attr);
  float *dst;
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &c.x, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_WEIGHTS, &c.w, s->in[1], e);
  if (r == NNB_OK && bias) r = dn_bind(s, DNNL_ARG_BIAS, &c.b, s->in[2], e);
  if (r == NNB_OK) r = dn_bind_post(s, &c.y, &dst, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &c.y, dst, e);
  return r;
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
