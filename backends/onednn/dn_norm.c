/* layernorm and its backward on layer_normalization, gamma and beta bound
 * as scale and shift. The backward reads the forward's mean and variance:
 * a forward node of this plan on the same x keeps them in its private
 * workspace, otherwise the backward step computes them itself. */
#include "dn.h"

typedef struct ln_shape {
  dnnl_memory_desc_t x, stat, f;
  int64_t rows;
} ln_shape;

static void shape_of(ln_shape *l, const nnb_tensor_desc *x) {
  int64_t f = x->dims[x->rank - 1];
  l->rows = nnb_numel(x) / f;
  int64_t d[2] = {l->rows, f};
  dn_md_plain(&l->x, 2, d);
  dn_md_plain(&l->stat, 1, d);
  dn_md_plain(&l->f, 1, d + 1);
}

static const unsigned flags = dnnl_use_scale | dnnl_use_shift;

static nnb_status fwd_desc(const dn_step *s, const ln_shape *l, bool training,
                           dnnl_layer_normalization_desc_t *d, nnb_error *e) {
  dnnl_status_t st = dnnl_layer_normalization_forward_desc_init(
      d, training ? dnnl_forward_training : dnnl_forward_inference, &l->x, &l->stat,
      s->n->attr.layernorm.eps, flags);
  return dn_check(st, "describing a layer normalization", s->n, e);
}

/* Forward into y (NULL: the private workspace); training keeps the
 * statistics in the private workspace after `stat_at` bytes. */
static nnb_status forward(dn_step *s, const ln_shape *l, bool training, const float *x,
                          const float *gamma, const float *beta, float *y, size_t stat_at,
                          nnb_error *e) {
  dnnl_layer_normalization_desc_t d;
  nnb_status r = fwd_desc(s, l, training, &d, e);
  if (r == NNB_OK) r = dn_add_prim(s, &d, NULL, NULL, NULL, e);
  if (r == NNB_OK && training)
    r = dn_step_priv(s, stat_at + 2 * (size_t)l->rows * sizeof(float), e);
  if (r != NNB_OK) return r;
  float *mean = (float *)((char *)s->priv + stat_at);
  r = dn_bind(s, DNNL_ARG_SRC, &l->x, (void *)x, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SCALE, &l->f, (void *)gamma, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SHIFT, &l->f, (void *)beta, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &l->x, y ? y : s->priv, e);
  if (r == NNB_OK && training) r = dn_bind(s, DNNL_ARG_MEAN, &l->stat, mean, e);
  if (r == NNB_OK && training) r = dn_bind(s, DNNL_ARG_VARIANCE, &l->stat, mean + l->rows, e);
  return r;
}

nnb_status dn_prep_layernorm(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  ln_shape l;
  shape_of(&l, s->ti[0]);
  bool training = false; /* a backward of this plan reads the statistics */
  for (int i = node + 1; i < gi->g->n_nodes && !training; i++) {
    const nnb_node *b = &gi->g->nodes[i];
    training = b->op == NNB_OP_LAYERNORM_BWD && b->in[1] == s->n->in[0] &&
               b->attr.layernorm.eps == s->n->attr.layernorm.eps;
  }
  return forward(s, &l, training, s->in[0], s->in[1], s->in[2], s->out[0], 0, e);
}

nnb_status dn_prep_layernorm_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  ln_shape l;
  shape_of(&l, s->ti[1]);
  float *mean = NULL;
  for (int i = 0; i < node && !mean; i++) {
    const dn_step *f = &gi->steps[i];
    if (f->n->op == NNB_OP_LAYERNORM && f->n->in[0] == s->n->in[1] &&
        f->n->attr.layernorm.eps == s->n->attr.layernorm.eps)
      mean = f->priv;
  }
  nnb_status r;
  if (!mean) { /* no forward of this plan on this x: compute the statistics here */
    size_t y_bytes = (nnb_nbytes(s->ti[1]) + 63) / 64 * 64;
    /* gamma stands in for beta: only the statistics are kept */
    r = forward(s, &l, true, s->in[1], s->in[2], s->in[2], NULL, y_bytes, e);
    if (r != NNB_OK) return r;
    mean = (float *)((char *)s->priv + y_bytes);
  }
  dnnl_layer_normalization_desc_t fd, d;
  dnnl_primitive_desc_t hint;
  r = fwd_desc(s, &l, true, &fd, e);
  if (r == NNB_OK) r = dn_hint(s, &fd, &hint, e);
  if (r != NNB_OK) return r;
  dnnl_status_t st = dnnl_layer_normalization_backward_desc_init(
      &d, dnnl_backward, &l.x, &l.x, &l.stat, s->n->attr.layernorm.eps, flags);
  r = st == dnnl_success ? dn_add_prim(s, &d, NULL, hint, NULL, e)
                         : dn_check(st, "describing a layer normalization's backward", s->n, e);
  dnnl_primitive_desc_destroy(hint);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_DST, &l.x, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &l.x, s->in[1], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SCALE, &l.f, s->in[2], e);
  /* 2.6 asks for the shift though its backward never reads it */
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SHIFT, &l.f, s->in[2], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_MEAN, &l.stat, mean, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_VARIANCE, &l.stat, mean + l.rows, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_SRC, &l.x, s->out[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_SCALE, &l.f, s->out[1], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_SHIFT, &l.f, s->out[2], e);
  return r;
}
