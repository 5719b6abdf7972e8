/* lstm and lstm_bwd on oneDNN's LSTM primitive, used where the graph
 * allows it: the forward's cache is no graph output and only lstm_bwd
 * nodes of this plan read it. The primitive's workspace (opaque, in the
 * forward step's private memory) then replaces the cache, which is left
 * unwritten. PyTorch's gate order i, f, g, o is oneDNN's; its [4H, I]
 * weights are oneDNN's ldgoi, reordered into the layout each primitive
 * wants before every run (they change every training step); its two
 * biases are summed into one. */
#include <string.h>

#include "dn.h"

typedef struct rnn_mds {
  dnnl_memory_desc_t x, y, wl, wi, b, wl_user, wi_user;
  int64_t B, T, I, H;
} rnn_mds;

static void mds_of(rnn_mds *m, const nnb_tensor_desc *x, const nnb_tensor_desc *w_hh) {
  m->B = x->dims[0], m->T = x->dims[1], m->I = x->dims[2], m->H = w_hh->dims[1];
  dnnl_dims_t xd = {m->T, m->B, m->I}, yd = {m->T, m->B, m->H};
  dnnl_dims_t wl = {1, 1, m->I, 4, m->H}, wi = {1, 1, m->H, 4, m->H}, b = {1, 1, 4, m->H};
  /* [B, T, C] row-major is ntc */
  dnnl_memory_desc_init_by_tag(&m->x, 3, xd, dnnl_f32, dnnl_ntc);
  dnnl_memory_desc_init_by_tag(&m->y, 3, yd, dnnl_f32, dnnl_ntc);
  dnnl_memory_desc_init_by_tag(&m->wl_user, 5, wl, dnnl_f32, dnnl_ldgoi);
  dnnl_memory_desc_init_by_tag(&m->wi_user, 5, wi, dnnl_f32, dnnl_ldgoi);
  dnnl_memory_desc_init_by_tag(&m->wl, 5, wl, dnnl_f32, dnnl_format_tag_any);
  dnnl_memory_desc_init_by_tag(&m->wi, 5, wi, dnnl_f32, dnnl_format_tag_any);
  dnnl_memory_desc_init_by_tag(&m->b, 4, b, dnnl_f32, dnnl_ldgo);
}

static nnb_status fwd_desc(const dn_step *s, const rnn_mds *m, bool training, dnnl_rnn_desc_t *d,
                           nnb_error *e) {
  dnnl_status_t st = dnnl_lstm_forward_desc_init(
      d, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_unidirectional_left2right,
      &m->x, NULL, NULL, &m->wl, &m->wi, &m->b, &m->y, NULL, NULL, dnnl_rnn_flags_undef);
  return dn_check(st, "describing an LSTM", s->n, e);
}

/* Whether an lstm_bwd of the plan reads the forward's cache: then the
 * forward trains and keeps its workspace. */
static bool trains(const dn_graph_info *gi, const dn_step *s, int node) {
  for (int i = node + 1; i < gi->g->n_nodes; i++)
    if (gi->g->nodes[i].op == NNB_OP_LSTM_BWD && gi->g->nodes[i].in[5] == s->n->out[1]) return true;
  return false;
}

/* Whether oneDNN runs this case on more than its generic implementation:
 * in 2.6 only AVX-512 inference has a brgemm one, every other case is
 * `ref:any`, slower than the own path (README). */
static bool optimised(const dn_step *s, const dn_graph_info *gi, int node) {
  rnn_mds m;
  mds_of(&m, s->ti[0], s->ti[2]);
  dnnl_rnn_desc_t d;
  dnnl_primitive_desc_t pd;
  nnb_error ignored = {{0}};
  if (fwd_desc(s, &m, trains(gi, s, node), &d, &ignored) != NNB_OK ||
      dn_make_pd(s, &d, NULL, NULL, &pd, &ignored) != NNB_OK)
    return false;
  const char *impl = NULL;
  bool fast = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success &&
              impl && strncmp(impl, "ref", 3) != 0;
  dnnl_primitive_desc_destroy(pd);
  return fast;
}

bool dn_rnn_usable(const dn_step *s, const dn_graph_info *gi, int node) {
  const nnb_graph *g = gi->g;
  int cache = s->n->out[1];
  if (s->env->lstm == DN_LSTM_OWN) return false;
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == cache) return false;
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++)
      if (g->nodes[i].in[j] == cache && !(g->nodes[i].op == NNB_OP_LSTM_BWD && j == 5))
        return false;
  return s->env->lstm == DN_LSTM_PRIMITIVE || optimised(s, gi, node);
}

/* The private memory of the forward step: the summed bias, then the
 * workspace, then what dn_add_reordered places there. */
static size_t bias_bytes(const rnn_mds *m) { return (size_t)(4 * m->H * 4 + 63) / 64 * 64; }

static nnb_status rnn_fwd(dn_step *s, nnb_error *e) {
  int64_t n = s->ti[3]->dims[0];
  float *bias = s->priv;
  for (int64_t i = 0; i < n; i++) bias[i] = s->in[3][i] + s->in[4][i];
  return dn_step_prims(s, e);
}

nnb_status dn_prep_lstm_rnn(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  rnn_mds m;
  mds_of(&m, s->ti[0], s->ti[2]);
  bool training = trains(gi, s, node); /* then keep the workspace */
  dnnl_rnn_desc_t d;
  nnb_status r = fwd_desc(s, &m, training, &d, e);
  dnnl_primitive_desc_t pd;
  if (r == NNB_OK) r = dn_make_pd(s, &d, NULL, NULL, &pd, e);
  if (r != NNB_OK) return r;
  const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md, 0);
  size_t ws_bytes = training && ws ? (dnnl_memory_desc_get_size(ws) + 63) / 64 * 64 : 0;
  dnnl_memory_desc_t wsmd;
  if (ws_bytes) wsmd = *ws;
  size_t at = bias_bytes(&m) + ws_bytes;
  const dn_operand ops[] = {
      {DNNL_ARG_SRC_LAYER, dnnl_query_src_md, 0, m.x, s->in[0], false},
      {DNNL_ARG_WEIGHTS_LAYER, dnnl_query_weights_md, 0, m.wl_user, s->in[1], false},
      {DNNL_ARG_WEIGHTS_ITER, dnnl_query_weights_md, 1, m.wi_user, s->in[2], false},
      {DNNL_ARG_DST_LAYER, dnnl_query_dst_md, 0, m.y, s->out[0], true}};
  r = dn_add_reordered(s, pd, ops, 4, at, e);
  /* the bias: the step's first bytes, summed by rnn_fwd */
  if (r == NNB_OK) r = dn_bind_main(s, DNNL_ARG_BIAS, &m.b, s->priv, e);
  if (r == NNB_OK && ws_bytes) {
    s->shared = (float *)((char *)s->priv + bias_bytes(&m));
    r = dn_bind_main(s, DNNL_ARG_WORKSPACE, &wsmd, s->shared, e);
  }
  s->run = rnn_fwd;
  return r;
}

/* Backward accumulates into its weight and bias gradients: zero them. */
static nnb_status rnn_bwd(dn_step *s, nnb_error *e) {
  for (int k = 0; k < s->n_prims; k++)
    for (int i = 0; i < s->prims[k].n_args; i++) {
      int a = s->prims[k].args[i].arg;
      if (a != DNNL_ARG_DIFF_WEIGHTS_LAYER && a != DNNL_ARG_DIFF_WEIGHTS_ITER &&
          a != DNNL_ARG_DIFF_BIAS)
        continue;
      dnnl_memory_t mem = s->prims[k].args[i].memory;
      const dnnl_memory_desc_t *md;
      void *p;
      dnnl_memory_get_memory_desc(mem, &md);
      dnnl_memory_get_data_handle(mem, &p);
      memset(p, 0, dnnl_memory_desc_get_size(md));
    }
  return dn_step_prims(s, e);
}

nnb_status dn_prep_lstm_bwd_rnn(dn_step *s, const dn_graph_info *gi, const dn_step *fwd,
                                nnb_error *e) {
  rnn_mds m;
  mds_of(&m, s->ti[1], s->ti[3]);
  dnnl_rnn_desc_t fd, d;
  dnnl_primitive_desc_t hint, pd;
  nnb_status r = fwd_desc(s, &m, true, &fd, e);
  if (r == NNB_OK) r = dn_hint(s, &fd, &hint, e);
  if (r != NNB_OK) return r;
  dnnl_status_t st = dnnl_lstm_backward_desc_init(
      &d, dnnl_backward, dnnl_unidirectional_left2right, &m.x, NULL, NULL, &m.wl, &m.wi, &m.b, &m.y,
      NULL, NULL, &m.x, NULL, NULL, &m.wl, &m.wi, &m.b, &m.y, NULL, NULL, dnnl_rnn_flags_undef);
  r = st == dnnl_success ? dn_make_pd(s, &d, NULL, hint, &pd, e)
                         : dn_check(st, "describing an LSTM's backward", s->n, e);
  const dnnl_memory_desc_t *wsq =
      r == NNB_OK ? dnnl_primitive_desc_query_md(hint, dnnl_query_workspace_md, 0) : NULL;
  dnnl_memory_desc_t wsmd;
  if (wsq) wsmd = *wsq;
  dnnl_primitive_desc_destroy(hint);
  if (r != NNB_OK) return r;
  const dn_operand ops[] = {
      {DNNL_ARG_SRC_LAYER, dnnl_query_src_md, 0, m.x, s->in[1], false},
      {DNNL_ARG_WEIGHTS_LAYER, dnnl_query_weights_md, 0, m.wl_user, s->in[2], false},
      {DNNL_ARG_WEIGHTS_ITER, dnnl_query_weights_md, 1, m.wi_user, s->in[3], false},
      {DNNL_ARG_DST_LAYER, dnnl_query_dst_md, 0, m.y, s->in[4], false},
      {DNNL_ARG_DIFF_DST_LAYER, dnnl_query_diff_dst_md, 0, m.y, s->in[0], false},
      {DNNL_ARG_DIFF_SRC_LAYER, dnnl_query_diff_src_md, 0, m.x, s->out[0], true},
      {DNNL_ARG_DIFF_WEIGHTS_LAYER, dnnl_query_diff_weights_md, 0, m.wl_user, s->out[1], true},
      {DNNL_ARG_DIFF_WEIGHTS_ITER, dnnl_query_diff_weights_md, 1, m.wi_user, s->out[2], true}};
  r = dn_add_reordered(s, pd, ops, 8, 0, e);
  if (r == NNB_OK) r = dn_bind_main(s, DNNL_ARG_DIFF_BIAS, &m.b, s->out[3], e);
  /* the bias the forward summed (its private memory's first bytes) */
  if (r == NNB_OK) r = dn_bind_main(s, DNNL_ARG_BIAS, &m.b, fwd->priv, e);
  if (r == NNB_OK) r = dn_bind_main(s, DNNL_ARG_WORKSPACE, &wsmd, fwd->shared, e);
  s->run = rnn_bwd;
  return r;
}
