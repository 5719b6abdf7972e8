/* Primitives: descriptors for the graph's row-major tensors,
 * primitives created with a user scratchpad (the plan owns one buffer for
 * all of them), arguments bound to fixed memory once, in prepare. */
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl_debug.h>

#include "dn.h"

nnb_status dn_check(dnnl_status_t st, const char *what, const nnb_node *n, nnb_error *e) {
  if (st == dnnl_success) return NNB_OK;
  return nnb_fail(e, st == dnnl_unimplemented ? NNB_ERR_UNSUPPORTED : NNB_ERR_BACKEND,
                  "onednn: %s for node '%s' failed: %s", what, n ? n->name : "?",
                  dnnl_status2str(st));
}

void dn_md_strided(dnnl_memory_desc_t *md, int rank, const int64_t *dims, const int64_t *strides) {
  dnnl_dims_t d, st;
  for (int i = 0; i < rank; i++) d[i] = dims[i], st[i] = strides[i];
  dnnl_memory_desc_init_by_strides(md, rank, d, dnnl_f32, st);
}

void dn_md_plain(dnnl_memory_desc_t *md, int rank, const int64_t *dims) {
  int64_t st[DNNL_MAX_NDIMS];
  int64_t acc = 1;
  for (int i = rank - 1; i >= 0; i--) st[i] = acc, acc *= dims[i];
  dn_md_strided(md, rank, dims, st);
}

void dn_md_tensor(dnnl_memory_desc_t *md, const nnb_tensor_desc *t) {
  dn_md_plain(md, t->rank, t->dims);
}

nnb_status dn_attr(dnnl_primitive_attr_t *attr, const dnnl_memory_desc_t *add_md, bool relu,
                   bool sum, float scale, nnb_error *e) {
  dnnl_status_t st = dnnl_primitive_attr_create(attr);
  if (st == dnnl_success)
    st = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
  if (st == dnnl_success && scale != 1.0f)
    st = dnnl_primitive_attr_set_output_scales(*attr, 1, 0, &scale);
  if (st == dnnl_success && (relu || sum || add_md)) {
    dnnl_post_ops_t po;
    st = dnnl_post_ops_create(&po);
    if (st != dnnl_success) return dn_check(st, "creating post-ops", NULL, e);
    if (sum) st = dnnl_post_ops_append_sum(po, 1.0f);
    if (st == dnnl_success && add_md) st = dnnl_post_ops_append_binary(po, dnnl_binary_add, add_md);
    if (st == dnnl_success && relu)
      st = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(*attr, po);
    dnnl_post_ops_destroy(po);
  }
  return dn_check(st, "creating a primitive attribute", NULL, e);
}

nnb_status dn_add_pd(dn_step *s, dnnl_primitive_desc_t pd, dnnl_primitive_desc_t *keep,
                     nnb_error *e) {
  if (s->n_prims == DN_MAX_PRIMS) {
    dnnl_primitive_desc_destroy(pd);
    return nnb_fail(e, NNB_ERR_BACKEND, "onednn: node '%s' needs more than %d primitives",
                    s->n->name, DN_MAX_PRIMS);
  }
  dn_exec *x = &s->prims[s->n_prims];
  memset(x, 0, sizeof *x);
  dnnl_status_t st = dnnl_primitive_create(&x->prim, pd);
  const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (st == dnnl_success && smd && dnnl_memory_desc_get_size(smd) > 0) {
    x->scratch_bytes = dnnl_memory_desc_get_size(smd);
    st = dnnl_memory_create(&x->scratch, smd, s->env->engine, DNNL_MEMORY_NONE);
    if (st == dnnl_success) {
      x->args[x->n_args].arg = DNNL_ARG_SCRATCHPAD;
      x->args[x->n_args++].memory = x->scratch;
    }
  }
  const char *impl = NULL;
  if (st == dnnl_success &&
      dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl) {
    /* the step's kernel names: the first primitive's, then any others' */
    size_t len = strlen(s->kernel);
    if (!len)
      snprintf(s->kernel, sizeof s->kernel, "%s", impl);
    else if (!strstr(s->kernel, impl) && len + strlen(impl) + 2 < sizeof s->kernel)
      snprintf(s->kernel + len, sizeof s->kernel - len, "+%s", impl);
  }
  if (keep && st == dnnl_success)
    *keep = pd;
  else
    dnnl_primitive_desc_destroy(pd);
  s->n_prims++;
  return dn_check(st, "creating a primitive", s->n, e);
}

nnb_status dn_add_prim(dn_step *s, const void *op_desc, dnnl_primitive_attr_t attr,
                       const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, nnb_error *e) {
  dnnl_primitive_desc_t p;
  nnb_status r = dn_make_pd(s, op_desc, attr, hint, &p, e);
  return r == NNB_OK ? dn_add_pd(s, p, pd, e) : r;
}

nnb_status dn_make_pd(const dn_step *s, const void *op_desc, dnnl_primitive_attr_t attr,
                      const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, nnb_error *e) {
  dnnl_primitive_attr_t own = NULL;
  if (!attr) {
    nnb_status r = dn_attr(&own, NULL, false, false, 1.0f, e);
    if (r != NNB_OK) return r;
    attr = own;
  }
  dnnl_status_t st = dnnl_primitive_desc_create(pd, op_desc, attr, s->env->engine, hint);
  if (own) dnnl_primitive_attr_destroy(own);
  return dn_check(st, "creating a primitive descriptor", s->n, e);
}

nnb_status dn_add_reorder(dn_step *s, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst,
                          nnb_error *e) {
  dnnl_primitive_attr_t attr;
  nnb_status r = dn_attr(&attr, NULL, false, false, 1.0f, e);
  if (r != NNB_OK) return r;
  dnnl_primitive_desc_t p;
  dnnl_status_t st =
      dnnl_reorder_primitive_desc_create(&p, src, s->env->engine, dst, s->env->engine, attr);
  dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success) return dn_check(st, "creating a reorder", s->n, e);
  return dn_add_pd(s, p, NULL, e);
}

static nnb_status bind_to(dn_step *s, dn_exec *x, int arg, const dnnl_memory_desc_t *md, void *ptr,
                          nnb_error *e) {
  if (x->n_args == DN_MAX_ARGS)
    return nnb_fail(e, NNB_ERR_BACKEND, "onednn: too many arguments for node '%s'", s->n->name);
  dnnl_memory_t m;
  dnnl_status_t st = dnnl_memory_create(&m, md, s->env->engine, ptr ? ptr : DNNL_MEMORY_NONE);
  if (st != dnnl_success) return dn_check(st, "binding memory", s->n, e);
  x->args[x->n_args].arg = arg;
  x->args[x->n_args++].memory = m;
  return NNB_OK;
}

nnb_status dn_bind(dn_step *s, int arg, const dnnl_memory_desc_t *md, void *ptr, nnb_error *e) {
  return bind_to(s, &s->prims[s->n_prims - 1], arg, md, ptr, e);
}

nnb_status dn_bind_main(dn_step *s, int arg, const dnnl_memory_desc_t *md, void *ptr,
                        nnb_error *e) {
  for (int k = s->n_prims - 1; k >= 0; k--) {
    const_dnnl_primitive_desc_t pd;
    dnnl_primitive_kind_t kind = dnnl_undefined_primitive;
    if (dnnl_primitive_get_primitive_desc(s->prims[k].prim, &pd) == dnnl_success)
      dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &kind);
    if (kind != dnnl_reorder) return bind_to(s, &s->prims[k], arg, md, ptr, e);
  }
  return nnb_fail(e, NNB_ERR_BACKEND, "onednn: node '%s' has no primitive but reorders",
                  s->n->name);
}

void dn_exec_point(dn_exec *x, int arg, void *ptr) {
  for (int i = 0; i < x->n_args; i++)
    if (x->args[i].arg == arg) dnnl_memory_set_data_handle(x->args[i].memory, ptr);
}

nnb_status dn_exec_run(const dn_env *env, dn_exec *x, nnb_error *e) {
  dnnl_status_t st = dnnl_primitive_execute(x->prim, env->stream, x->n_args, x->args);
  return st == dnnl_success ? NNB_OK : dn_check(st, "executing a primitive", NULL, e);
}

nnb_status dn_step_prims(dn_step *s, nnb_error *e) {
  for (int i = 0; i < s->n_prims; i++) {
    dnnl_status_t st = dnnl_primitive_execute(s->prims[i].prim, s->env->stream, s->prims[i].n_args,
                                              s->prims[i].args);
    if (st != dnnl_success) return dn_check(st, "executing", s->n, e);
  }
  return NNB_OK;
}

void dn_exec_free(dn_exec *x) {
  for (int i = 0; i < x->n_args; i++) dnnl_memory_destroy(x->args[i].memory);
  if (x->prim) dnnl_primitive_destroy(x->prim);
  memset(x, 0, sizeof *x);
}

nnb_status dn_step_priv(dn_step *s, size_t bytes, nnb_error *e) {
  if (s->priv)
    return nnb_fail(e, NNB_ERR_BACKEND, "onednn: node '%s' asked for a second workspace",
                    s->n->name);
  size_t n = (bytes + 63) / 64 * 64 + 64;
  s->priv = aligned_alloc(64, n);
  if (!s->priv)
    return nnb_fail(e, NNB_ERR_NOMEM, "onednn: cannot allocate a %zu-byte workspace for '%s'",
                    bytes, s->n->name);
  memset(s->priv, 0, n);
  s->priv_bytes = n;
  return NNB_OK;
}

int dn_producer(const nnb_graph *g, int t) {
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_out; j++)
      if (g->nodes[i].out[j] == t) return i;
  return -1;
}

nnb_status dn_step_attr(const dn_step *s, const dnnl_memory_desc_t *dst_md,
                        dnnl_primitive_attr_t *attr, nnb_error *e) {
  return dn_attr(attr, s->post_add ? dst_md : NULL, s->post_relu, false, 1.0f, e);
}

nnb_status dn_bind_post(dn_step *s, const dnnl_memory_desc_t *dst_md, float **dst, nnb_error *e) {
  *dst = s->post_out ? s->post_out : s->out[0];
  if (!s->post_add) return NNB_OK;
  return dn_bind(s, DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, dst_md, (void *)s->post_add,
                 e);
}

nnb_status dn_hint(const dn_step *s, const void *op_desc, dnnl_primitive_desc_t *pd, nnb_error *e) {
  dnnl_status_t st = dnnl_primitive_desc_create(pd, op_desc, NULL, s->env->engine, NULL);
  return dn_check(st, "describing the forward pass", s->n, e);
}

nnb_status dn_c_kernel(dn_step *s, dn_run_fn fn) {
  s->run = fn;
  snprintf(s->kernel, sizeof s->kernel, "c:omp");
  return NNB_OK;
}

void dn_md_of(const dn_graph_info *gi, int t, dnnl_memory_desc_t *md) {
  if (gi->md[t].ndims > 0)
    *md = gi->md[t];
  else
    dn_md_tensor(md, &gi->g->tensors[t]);
}

bool dn_is_plain(const nnb_tensor_desc *t, const dnnl_memory_desc_t *md) {
  dnnl_memory_desc_t plain;
  dn_md_tensor(&plain, t);
  return dnnl_memory_desc_equal(&plain, md) != 0;
}

/* Whether the graph has the forward of maxpool2d_bwd node bwd: the
 * backward then runs in C on any layout, with the forward's workspace
 * (dn_pool_c.c). */
static bool pooled(const nnb_graph *g, const nnb_node *bwd) {
  for (int i = 0; i < g->n_nodes; i++) {
    const nnb_node *n = &g->nodes[i];
    if (n->op == NNB_OP_MAXPOOL2D && n->in[0] == bwd->in[1] &&
        !memcmp(&n->attr.pool, &bwd->attr.pool, sizeof n->attr.pool))
      return true;
  }
  return false;
}

/* Whether input j of node n reads any layout: the activations and
 * gradients of a convolution, pooling and relu chain, forward and
 * backward. */
static bool knows_layout(const nnb_graph *g, const nnb_node *n, int j);

static bool blockable(const nnb_graph *g, int t) {
  if (g->tensors[t].rank != 4 || g->tensors[t].view_of >= 0) return false;
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == t) return false;
  for (int i = 0; i < g->n_tensors; i++)
    if (g->tensors[i].view_of == t) return false;
  for (int i = 0; i < g->n_nodes; i++) {
    const nnb_node *n = &g->nodes[i];
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] == t && !knows_layout(g, n, j)) return false;
  }
  return true;
}

static bool knows_layout(const nnb_graph *g, const nnb_node *n, int j) {
  switch (n->op) {
  case NNB_OP_MAXPOOL2D:
  case NNB_OP_CONV2D_BWD_WEIGHT: /* dy and x */ return j < 2;
  case NNB_OP_CONV2D:
  case NNB_OP_CONV2D_BWD_DATA: /* x, dy; not the weights */ return j == 0;
  case NNB_OP_RELU: /* y takes x's layout */ return blockable(g, n->out[0]);
  case NNB_OP_ACT_BWD: /* reorders what differs */ return true;
  case NNB_OP_MAXPOOL2D_BWD: /* dy and x, on its forward's layout */
    return pooled(g, n) && dn_pool_c_fits(n);
  default: return false;
  }
}

bool dn_blockable(const dn_step *s, const dn_graph_info *gi, int t) {
  return s->env->blocked && blockable(gi->g, t);
}

bool dn_set_layout(const dn_graph_info *gi, int t, const dnnl_memory_desc_t *md) {
  if (dnnl_memory_desc_get_size(md) > nnb_nbytes(&gi->g->tensors[t])) return false;
  gi->md[t] = *md;
  return true;
}

void dn_md_any(dnnl_memory_desc_t *md, const dnnl_memory_desc_t *like) {
  dnnl_dims_t d;
  for (int i = 0; i < like->ndims; i++) d[i] = like->dims[i];
  dnnl_memory_desc_init_by_tag(md, like->ndims, d, dnnl_f32, dnnl_format_tag_any);
}

static nnb_status add_copy(dn_step *s, const dnnl_memory_desc_t *from, void *src,
                           const dnnl_memory_desc_t *to, void *dst, nnb_error *e) {
  nnb_status r = dn_add_reorder(s, from, to, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_FROM, from, src, e);
  if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_TO, to, dst, e);
  return r;
}

nnb_status dn_add_reordered(dn_step *s, dnnl_primitive_desc_t pd, const dn_operand *ops, int n,
                            size_t at, nnb_error *e) {
  enum { MAX = 8 };
  dnnl_memory_desc_t want[MAX];
  size_t off[MAX], total = at;
  bool via[MAX];
  if (n > MAX) n = MAX;
  for (int i = 0; i < n; i++) {
    const dnnl_memory_desc_t *q = dnnl_primitive_desc_query_md(pd, ops[i].query, ops[i].index);
    if (!q) {
      dnnl_primitive_desc_destroy(pd);
      return nnb_fail(e, NNB_ERR_BACKEND, "onednn: node '%s': no layout for argument %d",
                      s->n->name, ops[i].arg);
    }
    want[i] = *q;
    via[i] = !dnnl_memory_desc_equal(&want[i], &ops[i].user);
    off[i] = total;
    if (via[i]) total += (dnnl_memory_desc_get_size(&want[i]) + 63) / 64 * 64;
  }
  nnb_status r = total > 0 ? dn_step_priv(s, total, e) : NNB_OK;
  void *at_[MAX];
  for (int i = 0; r == NNB_OK && i < n; i++)
    at_[i] = via[i] ? (char *)s->priv + off[i] : ops[i].ptr;
  for (int i = 0; r == NNB_OK && i < n; i++)
    if (via[i] && !ops[i].out) r = add_copy(s, &ops[i].user, ops[i].ptr, &want[i], at_[i], e);
  if (r == NNB_OK)
    r = dn_add_pd(s, pd, NULL, e);
  else
    dnnl_primitive_desc_destroy(pd);
  for (int i = 0; r == NNB_OK && i < n; i++) r = dn_bind(s, ops[i].arg, &want[i], at_[i], e);
  for (int i = 0; r == NNB_OK && i < n; i++)
    if (via[i] && ops[i].out) r = add_copy(s, &want[i], at_[i], &ops[i].user, ops[i].ptr, e);
  return r;
}
