/* Reverse-mode autodiff over the graph IR: walks the forward nodes backwards
 * and appends, for each, the nodes of its backward (docs/ops.md). Gradients
 * of a tensor read by several nodes are summed with `add` nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nnbench/graph.h>

typedef struct ad {
  nnb_graph *g;
  int *grad;  /* per forward tensor: its gradient, -1 while none */
  char *need; /* per forward tensor: depends on a parameter */
  int n_t0;
} ad;

static const char *gname(nnb_graph *g, int t, const char *suffix, char *buf, size_t len) {
  snprintf(buf, len, "%.70s%s", g->tensors[t].name, suffix);
  return buf;
}

/* Adds `gr` to the gradient of forward tensor t. */
static void accumulate(ad *a, int t, int gr) {
  if (gr < 0 || t < 0 || t >= a->n_t0 || !a->need[t]) return;
  if (a->grad[t] < 0) {
    a->grad[t] = gr;
    return;
  }
  char nm[NNB_NAME_LEN];
  a->grad[t] =
      nnb_binary(a->g, NNB_OP_ADD, a->grad[t], gr, gname(a->g, t, ".grad_sum", nm, sizeof nm));
}

static int same_shape(const nnb_tensor_desc *x, const nnb_tensor_desc *y) {
  if (x->rank != y->rank) return 0;
  for (int i = 0; i < x->rank; i++)
    if (x->dims[i] != y->dims[i]) return 0;
  return 1;
}

/* Sums dy down to tensor t's shape when t was broadcast. */
static int reduce_to(ad *a, int dy, int t, const char *name) {
  const nnb_tensor_desc *td = &a->g->tensors[t];
  if (dy < 0 || same_shape(&a->g->tensors[dy], td)) return dy;
  nnb_attr at = {.shape = {.rank = td->rank}};
  memcpy(at.shape.dims, td->dims, sizeof td->dims);
  return nnb_node_add(a->g, NNB_OP_SUM_TO, &dy, 1, &at, name, NULL);
}

static int flatten2(nnb_graph *g, int t, const char *name) {
  const nnb_tensor_desc *d = &g->tensors[t];
  if (d->rank == 2) return t;
  int64_t dims[2] = {nnb_numel(d) / d->dims[d->rank - 1], d->dims[d->rank - 1]};
  return nnb_reshape(g, t, 2, dims, name);
}

static nnb_status backward_matmul(ad *a, const nnb_node *n, int dy, nnb_error *e) {
  nnb_graph *g = a->g;
  int ta = n->attr.matmul.trans_a, tb = n->attr.matmul.trans_b;
  int A = n->in[0], B = n->in[1];
  int shared_b = g->tensors[B].rank == 2 && g->tensors[A].rank > 2;
  char nm[NNB_NAME_LEN];
  if (shared_b && ta)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED,
                    "node '%s' (matmul): no backward for trans_a with a batched a and a shared b",
                    n->name);
  if (a->need[A]) {
    int da = ta ? nnb_matmul(g, B, dy, -1, tb, 1, gname(g, A, ".grad", nm, sizeof nm))
                : nnb_matmul(g, dy, B, -1, 0, !tb, gname(g, A, ".grad", nm, sizeof nm));
    accumulate(a, A, da);
  }
  if (a->need[B]) {
    int a2 = A, d2 = dy;
    if (shared_b) { /* the weight's gradient sums over every leading index */
      a2 = flatten2(g, A, gname(g, A, ".flat", nm, sizeof nm));
      d2 = flatten2(g, dy, gname(g, dy, ".flat", nm, sizeof nm));
    }
    int db = tb ? nnb_matmul(g, d2, a2, -1, 1, ta, gname(g, B, ".grad", nm, sizeof nm))
                : nnb_matmul(g, a2, d2, -1, !ta, 0, gname(g, B, ".grad", nm, sizeof nm));
    accumulate(a, B, db);
  }
  if (n->n_in == 3 && a->need[n->in[2]])
    accumulate(a, n->in[2], reduce_to(a, dy, n->in[2], gname(g, n->in[2], ".grad", nm, sizeof nm)));
  return NNB_OK;
}

static nnb_status backward_node(ad *a, const nnb_node *n, nnb_error *e) {
  nnb_graph *g = a->g;
  int dy = a->grad[n->out[0]];
  char nm[NNB_NAME_LEN];
  const int *in = n->in;
#define GN(t) gname(g, (t), ".grad", nm, sizeof nm)
  switch (n->op) {
  case NNB_OP_MATMUL: return backward_matmul(a, n, dy, e);
  case NNB_OP_CONV2D: {
    const nnb_tensor_desc *x = &g->tensors[in[0]], *w = &g->tensors[in[1]];
    nnb_attr at = n->attr;
    at.conv.kernel_h = (int)w->dims[2];
    at.conv.kernel_w = (int)w->dims[3];
    at.conv.in_h = (int)x->dims[2];
    at.conv.in_w = (int)x->dims[3];
    at.conv.has_bias = n->n_in == 3 && a->need[in[2]];
    if (a->need[in[0]]) {
      int din[2] = {dy, in[1]};
      accumulate(a, in[0], nnb_node_add(g, NNB_OP_CONV2D_BWD_DATA, din, 2, &at, GN(in[0]), NULL));
    }
    if (a->need[in[1]] || at.conv.has_bias) {
      int win[2] = {dy, in[0]}, outs[2] = {-1, -1};
      nnb_node_add(g, NNB_OP_CONV2D_BWD_WEIGHT, win, 2, &at, GN(in[1]), outs);
      accumulate(a, in[1], outs[0]);
      if (at.conv.has_bias) accumulate(a, in[2], outs[1]);
    }
    return NNB_OK;
  }
  case NNB_OP_MAXPOOL2D:
  case NNB_OP_SOFTMAX: {
    int bin[2] = {dy, n->op == NNB_OP_SOFTMAX ? n->out[0] : in[0]};
    nnb_op op = n->op == NNB_OP_SOFTMAX ? NNB_OP_SOFTMAX_BWD : NNB_OP_MAXPOOL2D_BWD;
    accumulate(a, in[0], nnb_node_add(g, op, bin, 2, &n->attr, GN(in[0]), NULL));
    return NNB_OK;
  }
  case NNB_OP_RELU:
  case NNB_OP_GELU:
  case NNB_OP_TANH:
  case NNB_OP_SIGMOID: {
    nnb_attr at = {.act_bwd = {n->op}};
    int bin[2] = {dy, in[0]};
    accumulate(a, in[0], nnb_node_add(g, NNB_OP_ACT_BWD, bin, 2, &at, GN(in[0]), NULL));
    return NNB_OK;
  }
  case NNB_OP_ADD:
    accumulate(a, in[0], dy);
    if (a->need[in[1]]) accumulate(a, in[1], reduce_to(a, dy, in[1], GN(in[1])));
    return NNB_OK;
  case NNB_OP_MUL:
    if (a->need[in[0]]) accumulate(a, in[0], nnb_binary(g, NNB_OP_MUL, dy, in[1], GN(in[0])));
    if (a->need[in[1]]) {
      int p = nnb_binary(g, NNB_OP_MUL, dy, in[0], gname(g, in[1], ".grad_full", nm, sizeof nm));
      accumulate(a, in[1], reduce_to(a, p, in[1], GN(in[1])));
    }
    return NNB_OK;
  case NNB_OP_LAYERNORM: {
    int bin[3] = {dy, in[0], in[1]}, outs[3] = {-1, -1, -1};
    nnb_node_add(g, NNB_OP_LAYERNORM_BWD, bin, 3, &n->attr, GN(in[0]), outs);
    for (int i = 0; i < 3; i++) accumulate(a, in[i], outs[i]);
    return NNB_OK;
  }
  case NNB_OP_LSTM: {
    if (dy < 0) return NNB_OK; /* only the cache was used: it carries no gradient */
    int bin[6] = {dy, in[0], in[1], in[2], n->out[0], n->out[1]}, outs[4] = {-1, -1, -1, -1};
    nnb_node_add(g, NNB_OP_LSTM_BWD, bin, 6, NULL, GN(in[0]), outs);
    for (int i = 0; i < 3; i++) accumulate(a, in[i], outs[i]);
    accumulate(a, in[3], outs[3]); /* b_ih and b_hh have the same gradient */
    accumulate(a, in[4], outs[3]);
    return NNB_OK;
  }
  case NNB_OP_ATTENTION: {
    if (dy < 0) return NNB_OK;
    int bin[3] = {dy, in[0], n->out[1]};
    accumulate(a, in[0], nnb_node_add(g, NNB_OP_ATTENTION_BWD, bin, 3, &n->attr, GN(in[0]), NULL));
    return NNB_OK;
  }
  case NNB_OP_PERMUTE: {
    nnb_attr at = {0};
    for (int i = 0; i < g->tensors[in[0]].rank; i++) at.permute.perm[n->attr.permute.perm[i]] = i;
    accumulate(a, in[0], nnb_node_add(g, NNB_OP_PERMUTE, &dy, 1, &at, GN(in[0]), NULL));
    return NNB_OK;
  }
  case NNB_OP_RESHAPE: {
    const nnb_tensor_desc *x = &g->tensors[in[0]];
    accumulate(a, in[0], nnb_reshape(g, dy, x->rank, x->dims, GN(in[0])));
    return NNB_OK;
  }
  case NNB_OP_SLICE: {
    nnb_attr at = n->attr;
    at.slice.full = g->tensors[in[0]].dims[at.slice.axis];
    accumulate(a, in[0], nnb_node_add(g, NNB_OP_SLICE_BWD, &dy, 1, &at, GN(in[0]), NULL));
    return NNB_OK;
  }
  case NNB_OP_MEAN: {
    nnb_attr at = n->attr;
    at.mean.n = g->tensors[in[0]].dims[at.mean.axis];
    accumulate(a, in[0], nnb_node_add(g, NNB_OP_MEAN_BWD, &dy, 1, &at, GN(in[0]), NULL));
    return NNB_OK;
  }
  case NNB_OP_SOFTMAX_CE: {
    int bin[3] = {dy, in[0], in[1]};
    accumulate(a, in[0], nnb_node_add(g, NNB_OP_SOFTMAX_CE_BWD, bin, 3, NULL, GN(in[0]), NULL));
    return NNB_OK;
  }
  case NNB_OP_SUM_TO: { /* the backward of a sum is a broadcast: zeros + dy */
    const nnb_tensor_desc *x = &g->tensors[in[0]];
    nnb_attr z = {.shape = {.rank = x->rank, .value = 0.0f}};
    memcpy(z.shape.dims, x->dims, sizeof z.shape.dims);
    int zeros =
        nnb_node_add(g, NNB_OP_FILL, NULL, 0, &z, gname(g, in[0], ".zeros", nm, sizeof nm), NULL);
    accumulate(a, in[0], nnb_binary(g, NNB_OP_ADD, zeros, dy, GN(in[0])));
    return NNB_OK;
  }
  case NNB_OP_FILL: return NNB_OK;
  default:
    return nnb_fail(e, NNB_ERR_UNSUPPORTED, "node '%s' (%s): autodiff has no backward for this op",
                    n->name, nnb_op_name(n->op));
  }
#undef GN
}

static int opt_state(nnb_graph *g, int p, const char *suffix, int scalar) {
  char nm[NNB_NAME_LEN];
  const nnb_tensor_desc *d = &g->tensors[p];
  int64_t one = 1;
  int64_t dims[NNB_MAX_RANK];
  memcpy(dims, d->dims, sizeof dims);
  return nnb_tensor(g, gname(g, p, suffix, nm, sizeof nm), NNB_ROLE_OPTSTATE, NNB_F32,
                    scalar ? 1 : d->rank, scalar ? &one : dims);
}

static void add_update(nnb_graph *g, const nnb_opt_config *o, int p, int gr) {
  char nm[NNB_NAME_LEN];
  if (o->kind == NNB_OPT_SGD) {
    nnb_attr at = {.sgd = {o->lr, o->momentum}};
    int in[3] = {p, gr, opt_state(g, p, ".momentum_buffer", 0)};
    nnb_node_add(g, NNB_OP_SGD_MOMENTUM, in, 3, &at, gname(g, p, ".sgd", nm, sizeof nm), NULL);
  } else {
    nnb_attr at = {.adam = {o->lr, o->beta1, o->beta2, o->eps}};
    /* PyTorch's names for Adam's state, so state dicts line up. */
    int in[5] = {p, gr, opt_state(g, p, ".exp_avg", 0), opt_state(g, p, ".exp_avg_sq", 0),
                 opt_state(g, p, ".step", 1)};
    nnb_node_add(g, NNB_OP_ADAM, in, 5, &at, gname(g, p, ".adam", nm, sizeof nm), NULL);
  }
}

nnb_status nnb_autodiff(nnb_graph *g, int loss, const nnb_opt_config *opt, int *grad_of,
                        nnb_error *e) {
  if (nnb_graph_status(g, e) != NNB_OK) return g->status;
  if (loss < 0 || loss >= g->n_tensors || nnb_numel(&g->tensors[loss]) != 1)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "autodiff: the loss must be a one-element tensor (got id %d)", loss);
  ad a = {.g = g, .n_t0 = g->n_tensors};
  a.grad = malloc((size_t)a.n_t0 * sizeof *a.grad);
  a.need = calloc((size_t)a.n_t0, 1);
  if (!a.grad || !a.need) {
    free(a.grad);
    free(a.need);
    return nnb_fail(e, NNB_ERR_NOMEM, "autodiff: out of memory");
  }
  for (int t = 0; t < a.n_t0; t++) {
    a.grad[t] = -1;
    a.need[t] = g->tensors[t].role == NNB_ROLE_PARAM;
  }
  int n_fwd = g->n_nodes;
  for (int i = 0; i < n_fwd; i++) {
    const nnb_node *n = &g->nodes[i];
    int any = 0;
    for (int j = 0; j < n->n_in; j++) any |= a.need[n->in[j]];
    for (int j = 0; j < n->n_out; j++) a.need[n->out[j]] = (char)any;
  }
  nnb_status s = NNB_OK;
  nnb_role saved_role = g->out_role;
  g->out_role = NNB_ROLE_GRADIENT;
  if (a.need[loss]) {
    nnb_attr seed = {.shape = {.rank = 1, .dims = {1}, .value = 1.0f}};
    char nm[NNB_NAME_LEN];
    a.grad[loss] =
        nnb_node_add(g, NNB_OP_FILL, NULL, 0, &seed, gname(g, loss, ".grad", nm, sizeof nm), NULL);
  }
  for (int i = n_fwd - 1; i >= 0 && s == NNB_OK && g->status == NNB_OK; i--) {
    nnb_node n = g->nodes[i]; /* a copy: adding nodes may move the array */
    int has = 0;
    for (int j = 0; j < n.n_out; j++) has |= a.grad[n.out[j]] >= 0;
    if (has) s = backward_node(&a, &n, e);
  }
  if (s == NNB_OK && opt && opt->kind != NNB_OPT_NONE) {
    g->out_role = NNB_ROLE_OPTSTATE;
    for (int t = 0; t < a.n_t0; t++)
      if (g->tensors[t].role == NNB_ROLE_PARAM && a.grad[t] >= 0) add_update(g, opt, t, a.grad[t]);
  }
  g->out_role = saved_role;
  if (s == NNB_OK) s = nnb_graph_status(g, e);
  if (s == NNB_OK && grad_of) memcpy(grad_of, a.grad, (size_t)a.n_t0 * sizeof *a.grad);
  free(a.grad);
  free(a.need);
  return s;
}
