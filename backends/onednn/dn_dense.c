/* Matmul, broadcasting binary ops, activations and softmax on their
 * oneDNN primitives, with the graph's row-major tensors bound directly
 * (transposes and broadcasts are strides). */
#include "dn.h"

/* A matmul operand [batch, rows, cols] stored row-major as [.., rows, cols]
 * or, transposed, as [.., cols, rows]; batch 1 with stride 0 broadcasts. */
static void operand(dnnl_memory_desc_t *md, int rank, int64_t batch, int64_t rows, int64_t cols,
                    bool trans, bool shared) {
  int64_t d[3] = {batch, rows, cols};
  int64_t st[3] = {shared ? 0 : rows * cols, trans ? 1 : cols, trans ? rows : 1};
  if (rank == 2)
    dn_md_strided(md, 2, d + 1, st + 1);
  else
    dn_md_strided(md, 3, d, st);
}

nnb_status dn_prep_matmul(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  const nnb_tensor_desc *a = s->ti[0], *b = s->ti[1];
  bool ta = s->n->attr.matmul.trans_a, tb = s->n->attr.matmul.trans_b;
  int64_t m = a->dims[a->rank - (ta ? 1 : 2)], k = a->dims[a->rank - (ta ? 2 : 1)];
  int64_t n = b->dims[b->rank - (tb ? 2 : 1)];
  int64_t batch = nnb_numel(a) / (m * k);
  bool shared = b->rank == 2;
  /* a shared b and an untransposed a: one GEMM over every row of a */
  int rank = 3;
  if (shared && !ta) m *= batch, batch = 1, rank = 2;
  if (batch == 1) rank = 2;
  dnnl_memory_desc_t amd, bmd, cmd, biasmd;
  operand(&amd, rank, batch, m, k, ta, false);
  operand(&bmd, rank, shared ? 1 : batch, k, n, tb, false);
  operand(&cmd, rank, batch, m, n, false, false);
  int64_t bias_dims[3] = {1, 1, n};
  if (s->n->n_in > 2) dn_md_plain(&biasmd, rank, bias_dims + 3 - rank);
  dnnl_matmul_desc_t d;
  dnnl_status_t st = dnnl_matmul_desc_init(&d, &amd, &bmd, s->n->n_in > 2 ? &biasmd : NULL, &cmd);
  if (st != dnnl_success) return dn_check(st, "describing a matmul", s->n, e);
  dnnl_primitive_attr_t attr;
  nnb_status r = dn_step_attr(s, &cmd, &attr, e);
  if (r != NNB_OK) return r;
  r = dn_add_prim(s, &d, attr, NULL, NULL, e);
  dnnl_primitive_attr_destroy(attr);
  float *dst;
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &amd, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_WEIGHTS, &bmd, s->in[1], e);
  if (r == NNB_OK && s->n->n_in > 2) r = dn_bind(s, DNNL_ARG_BIAS, &biasmd, s->in[2], e);
  if (r == NNB_OK) r = dn_bind_post(s, &cmd, &dst, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &cmd, dst, e);
  return r;
}

/* b padded with leading 1s to a's rank: the binary primitive broadcasts. */
nnb_status dn_prep_binary(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  const nnb_tensor_desc *a = s->ti[0], *b = s->ti[1];
  int64_t bd[NNB_MAX_RANK];
  int pad = a->rank - b->rank;
  for (int i = 0; i < a->rank; i++) bd[i] = i < pad ? 1 : b->dims[i - pad];
  dnnl_memory_desc_t amd, bmd;
  dn_md_tensor(&amd, a);
  dn_md_plain(&bmd, a->rank, bd);
  dnnl_binary_desc_t d;
  dnnl_status_t st = dnnl_binary_desc_init(
      &d, s->n->op == NNB_OP_ADD ? dnnl_binary_add : dnnl_binary_mul, &amd, &bmd, &amd);
  if (st != dnnl_success) return dn_check(st, "describing a binary op", s->n, e);
  nnb_status r = dn_add_prim(s, &d, NULL, NULL, NULL, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC_0, &amd, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC_1, &bmd, s->in[1], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &amd, s->out[0], e);
  return r;
}

static dnnl_alg_kind_t eltwise_alg(nnb_op op) {
  switch (op) {
  case NNB_OP_RELU: return dnnl_eltwise_relu;
  case NNB_OP_TANH: return dnnl_eltwise_tanh;
  case NNB_OP_SIGMOID: return dnnl_eltwise_logistic;
  default: return dnnl_eltwise_gelu_erf; /* not dnnl_eltwise_gelu: that is the tanh form */
  }
}

/* Activations as 1-D tensors: the same elements, the widest vector loop. */
static void flat(dnnl_memory_desc_t *md, const nnb_tensor_desc *t) {
  int64_t n = nnb_numel(t);
  dn_md_plain(md, 1, &n);
}

static nnb_status eltwise_fwd(dn_step *s, nnb_op op, const dnnl_memory_desc_t *md,
                              dnnl_primitive_desc_t *pd, nnb_error *e) {
  dnnl_eltwise_desc_t d;
  dnnl_status_t st = dnnl_eltwise_forward_desc_init(
      &d, pd ? dnnl_forward_training : dnnl_forward_inference, eltwise_alg(op), md, 0.0f, 0.0f);
  if (st != dnnl_success) return dn_check(st, "describing an activation", s->n, e);
  return pd ? dn_hint(s, &d, pd, e) : dn_add_prim(s, &d, NULL, NULL, NULL, e);
}

nnb_status dn_prep_eltwise(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  dnnl_memory_desc_t md;
  flat(&md, s->ti[0]);
  if (gi->md[s->n->in[0]].ndims > 0) { /* a blocked x (its relu is blockable): y the same */
    md = gi->md[s->n->in[0]];
    dn_set_layout(gi, s->n->out[0], &md);
  }
  nnb_status r = eltwise_fwd(s, s->n->op, &md, NULL, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &md, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &md, s->out[0], e);
  return r;
}

/* dy * f'(x) on blocked dy or x (plan-internal activations and gradients
 * of a convolution chain): x's layout, or dy's, for all three, what
 * differs reordered through private memory, dx kept blocked when it is
 * blockable. */
static nnb_status act_bwd_blocked(dn_step *s, const dn_graph_info *gi, nnb_error *e) {
  nnb_op op = s->n->attr.act_bwd.act;
  dnnl_memory_desc_t dy, x, dx, md;
  dn_md_of(gi, s->n->in[0], &dy);
  dn_md_of(gi, s->n->in[1], &x);
  dn_md_tensor(&dx, s->to[0]);
  md = dn_is_plain(s->ti[1], &x) ? dy : x;
  if (dn_blockable(s, gi, s->n->out[0]) && dn_set_layout(gi, s->n->out[0], &md)) dx = md;
  dnnl_primitive_desc_t hint, pd;
  nnb_status r = eltwise_fwd(s, op, &md, &hint, e);
  if (r != NNB_OK) return r;
  dnnl_eltwise_desc_t d;
  dnnl_status_t st = dnnl_eltwise_backward_desc_init(&d, eltwise_alg(op), &md, &md, 0.0f, 0.0f);
  r = st == dnnl_success ? dn_make_pd(s, &d, NULL, hint, &pd, e)
                         : dn_check(st, "describing an activation's backward", s->n, e);
  dnnl_primitive_desc_destroy(hint);
  const dn_operand ops[] = {{DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md, 0, dy, s->in[0], false},
                            {DNNL_ARG_SRC, dnnl_query_src_md, 0, x, s->in[1], false},
                            {DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md, 0, dx, s->out[0], true}};
  return r == NNB_OK ? dn_add_reordered(s, pd, ops, 3, 0, e) : r;
}

/* dy * f'(x): the backward primitive from the forward input. */
nnb_status dn_prep_act_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  if (gi->md[s->n->in[0]].ndims > 0 || gi->md[s->n->in[1]].ndims > 0)
    return act_bwd_blocked(s, gi, e);
  nnb_op op = s->n->attr.act_bwd.act;
  dnnl_memory_desc_t md;
  flat(&md, s->ti[0]);
  dnnl_primitive_desc_t hint;
  nnb_status r = eltwise_fwd(s, op, &md, &hint, e);
  if (r != NNB_OK) return r;
  dnnl_eltwise_desc_t d;
  dnnl_status_t st = dnnl_eltwise_backward_desc_init(&d, eltwise_alg(op), &md, &md, 0.0f, 0.0f);
  r = st == dnnl_success ? dn_add_prim(s, &d, NULL, hint, NULL, e)
                         : dn_check(st, "describing an activation's backward", s->n, e);
  dnnl_primitive_desc_destroy(hint);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_DST, &md, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &md, s->in[1], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_SRC, &md, s->out[0], e);
  return r;
}

/* Softmax over the last axis, as [rows, last]. */
static void rows_md(dnnl_memory_desc_t *md, const nnb_tensor_desc *t) {
  int64_t last = t->dims[t->rank - 1], d[2] = {nnb_numel(t) / last, last};
  dn_md_plain(md, 2, d);
}

static nnb_status softmax_fwd(dn_step *s, bool training, dnnl_primitive_desc_t *pd, nnb_error *e) {
  dnnl_memory_desc_t md;
  rows_md(&md, s->ti[0]);
  dnnl_softmax_v2_desc_t d;
  dnnl_status_t st = dnnl_softmax_v2_forward_desc_init(
      &d, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_softmax_accurate, &md,
      &md, 1);
  if (st != dnnl_success) return dn_check(st, "describing a softmax", s->n, e);
  return pd ? dn_hint(s, &d, pd, e) : dn_add_prim(s, &d, NULL, NULL, NULL, e);
}

nnb_status dn_prep_softmax(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  dnnl_memory_desc_t md;
  rows_md(&md, s->ti[0]);
  nnb_status r = softmax_fwd(s, false, NULL, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &md, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &md, s->out[0], e);
  return r;
}

nnb_status dn_prep_softmax_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  dnnl_memory_desc_t md;
  rows_md(&md, s->ti[0]);
  dnnl_primitive_desc_t hint;
  nnb_status r = softmax_fwd(s, true, &hint, e);
  if (r != NNB_OK) return r;
  dnnl_softmax_v2_desc_t d;
  dnnl_status_t st =
      dnnl_softmax_v2_backward_desc_init(&d, dnnl_softmax_accurate, &md, &md, &md, 1);
  r = st == dnnl_success ? dn_add_prim(s, &d, NULL, hint, NULL, e)
                         : dn_check(st, "describing a softmax backward", s->n, e);
  dnnl_primitive_desc_destroy(hint);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_DST, &md, s->in[0], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &md, s->in[1], e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DIFF_SRC, &md, s->out[0], e);
  return r;
}

static void mat_md(dnnl_memory_desc_t *md, int nb, const int64_t *bd, int64_t rows, int64_t cols,
                   const dn_mat *x) {
  int64_t d[4], st[4];
  for (int i = 0; i < nb; i++) d[i] = bd[i], st[i] = x->bs[i];
  d[nb] = rows, d[nb + 1] = cols, st[nb] = x->rs, st[nb + 1] = x->cs;
  dn_md_strided(md, nb + 2, d, st);
}

nnb_status dn_add_gemm(dn_step *s, int nb, const int64_t *bd, int64_t m, int64_t n, int64_t k,
                       dn_mat a, dn_mat b, dn_mat c, const float *bias, bool accumulate,
                       float scale, nnb_error *e) {
  dnnl_memory_desc_t amd, bmd, cmd, biasmd;
  mat_md(&amd, nb, bd, m, k, &a);
  mat_md(&bmd, nb, bd, k, n, &b);
  mat_md(&cmd, nb, bd, m, n, &c);
  int64_t ones[4] = {1, 1, 1, n};
  dn_md_plain(&biasmd, nb + 2, ones + 2 - nb);
  dnnl_matmul_desc_t d;
  dnnl_status_t st = dnnl_matmul_desc_init(&d, &amd, &bmd, bias ? &biasmd : NULL, &cmd);
  if (st != dnnl_success) return dn_check(st, "describing a matmul", s->n, e);
  dnnl_primitive_attr_t attr;
  nnb_status r = dn_attr(&attr, NULL, false, accumulate, scale, e);
  if (r != NNB_OK) return r;
  r = dn_add_prim(s, &d, attr, NULL, NULL, e);
  dnnl_primitive_attr_destroy(attr);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &amd, a.p, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_WEIGHTS, &bmd, b.p, e);
  if (r == NNB_OK && bias) r = dn_bind(s, DNNL_ARG_BIAS, &biasmd, (void *)bias, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &cmd, c.p, e);
  return r;
}
