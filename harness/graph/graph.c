/* The graph builder: tensors, nodes, the sticky error, convenience builders. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <nnbench/graph.h>

static const char *const op_names[NNB_OP_COUNT] = {
    [NNB_OP_MATMUL] = "matmul",
    [NNB_OP_CONV2D] = "conv2d",
    [NNB_OP_MAXPOOL2D] = "maxpool2d",
    [NNB_OP_RELU] = "relu",
    [NNB_OP_GELU] = "gelu",
    [NNB_OP_TANH] = "tanh",
    [NNB_OP_SIGMOID] = "sigmoid",
    [NNB_OP_ADD] = "add",
    [NNB_OP_MUL] = "mul",
    [NNB_OP_SOFTMAX] = "softmax",
    [NNB_OP_LAYERNORM] = "layernorm",
    [NNB_OP_LSTM] = "lstm",
    [NNB_OP_ATTENTION] = "attention",
    [NNB_OP_PERMUTE] = "permute",
    [NNB_OP_RESHAPE] = "reshape",
    [NNB_OP_SLICE] = "slice",
    [NNB_OP_MEAN] = "mean",
    [NNB_OP_SOFTMAX_CE] = "softmax_ce",
    [NNB_OP_FILL] = "fill",
    [NNB_OP_SUM_TO] = "sum_to",
    [NNB_OP_CONV2D_BWD_DATA] = "conv2d_bwd_data",
    [NNB_OP_CONV2D_BWD_WEIGHT] = "conv2d_bwd_weight",
    [NNB_OP_MAXPOOL2D_BWD] = "maxpool2d_bwd",
    [NNB_OP_ACT_BWD] = "act_bwd",
    [NNB_OP_SOFTMAX_BWD] = "softmax_bwd",
    [NNB_OP_LAYERNORM_BWD] = "layernorm_bwd",
    [NNB_OP_LSTM_BWD] = "lstm_bwd",
    [NNB_OP_ATTENTION_BWD] = "attention_bwd",
    [NNB_OP_SLICE_BWD] = "slice_bwd",
    [NNB_OP_MEAN_BWD] = "mean_bwd",
    [NNB_OP_SOFTMAX_CE_BWD] = "softmax_ce_bwd",
    [NNB_OP_SGD_MOMENTUM] = "sgd_momentum",
    [NNB_OP_ADAM] = "adam",
};

const char *nnb_op_name(nnb_op op) { return (unsigned)op < NNB_OP_COUNT ? op_names[op] : "?"; }

nnb_op nnb_op_from_name(const char *name) {
  for (int i = 0; i < NNB_OP_COUNT; i++)
    if (!strcmp(op_names[i], name)) return (nnb_op)i;
  return NNB_OP_COUNT;
}

int nnb_op_is_update(nnb_op op) { return op == NNB_OP_SGD_MOMENTUM || op == NNB_OP_ADAM; }

void nnb_graph_init(nnb_graph *g) {
  memset(g, 0, sizeof *g);
  g->out_role = NNB_ROLE_ACTIVATION;
}

void nnb_graph_free(nnb_graph *g) {
  free(g->tensors);
  free(g->nodes);
  free(g->outputs);
  memset(g, 0, sizeof *g);
}

nnb_status nnb_graph_status(const nnb_graph *g, nnb_error *e) {
  if (g->status != NNB_OK && e) *e = g->err;
  return g->status;
}

/* Records the first error only: later ones are usually its consequences. */
static int graph_fail(nnb_graph *g, nnb_status s, const char *fmt, ...) {
  if (g->status == NNB_OK) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err.msg, sizeof g->err.msg, fmt, ap);
    va_end(ap);
    g->status = s;
  }
  return -1;
}

static int grow(void **p, int *cap, int need, size_t elem) {
  if (need <= *cap) return 1;
  int ncap = *cap ? *cap * 2 : 16;
  while (ncap < need) ncap *= 2;
  void *q = realloc(*p, (size_t)ncap * elem);
  if (!q) return 0;
  *p = q;
  *cap = ncap;
  return 1;
}

static int add_tensor_desc(nnb_graph *g, const nnb_tensor_desc *d) {
  if (!grow((void **)&g->tensors, &g->cap_tensors, g->n_tensors + 1, sizeof *g->tensors))
    return graph_fail(g, NNB_ERR_NOMEM, "out of memory adding tensor '%s'", d->name);
  g->tensors[g->n_tensors] = *d;
  return g->n_tensors++;
}

int nnb_tensor(nnb_graph *g, const char *name, nnb_role role, nnb_dtype dt, int rank,
               const int64_t *dims) {
  if (g->status != NNB_OK) return -1;
  char buf[64];
  if (rank < 1 || rank > NNB_MAX_RANK)
    return graph_fail(g, NNB_ERR_SHAPE, "tensor '%s': rank %d, expected 1..%d", name, rank,
                      NNB_MAX_RANK);
  for (int i = 0; i < rank; i++)
    if (dims[i] < 1)
      return graph_fail(g, NNB_ERR_SHAPE, "tensor '%s': shape %s has a dimension < 1", name,
                        nnb_dims_str(rank, dims, buf, sizeof buf));
  nnb_tensor_desc d = {.dtype = dt, .role = role, .rank = rank, .view_of = -1};
  snprintf(d.name, sizeof d.name, "%s", name);
  memcpy(d.dims, dims, (size_t)rank * sizeof *dims);
  return add_tensor_desc(g, &d);
}

int nnb_tensor_f32(nnb_graph *g, const char *name, nnb_role role, int rank, ...) {
  int64_t dims[NNB_MAX_RANK] = {0};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank && i < NNB_MAX_RANK; i++) dims[i] = va_arg(ap, int64_t);
  va_end(ap);
  return nnb_tensor(g, name, role, NNB_F32, rank, dims);
}

void nnb_graph_mark_output(nnb_graph *g, int tensor) {
  if (g->status != NNB_OK) return;
  if (tensor < 0 || tensor >= g->n_tensors) {
    graph_fail(g, NNB_ERR_INVALID, "mark_output: no tensor %d", tensor);
    return;
  }
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == tensor) return;
  if (!grow((void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof *g->outputs)) {
    graph_fail(g, NNB_ERR_NOMEM, "out of memory marking an output");
    return;
  }
  g->outputs[g->n_outputs++] = tensor;
}

int nnb_graph_find(const nnb_graph *g, const char *name) {
  for (int i = 0; i < g->n_tensors; i++)
    if (!strcmp(g->tensors[i].name, name)) return i;
  return -1;
}

int nnb_node_add(nnb_graph *g, nnb_op op, const int *in, int n_in, const nnb_attr *attr,
                 const char *name, int *out_ids) {
  if (g->status != NNB_OK) return -1;
  nnb_tensor_desc outs[NNB_MAX_OUT];
  int n_out = 0;
  nnb_error e;
  nnb_status s = nnb_infer(g, op, in, n_in, attr, name, outs, &n_out, &e);
  if (s != NNB_OK) return graph_fail(g, s, "%s", e.msg);
  if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes))
    return graph_fail(g, NNB_ERR_NOMEM, "out of memory adding node '%s'", name);
  nnb_node n = {.op = op, .n_in = n_in, .n_out = n_out};
  if (attr) n.attr = *attr;
  snprintf(n.name, sizeof n.name, "%s", name);
  if (n_in) memcpy(n.in, in, (size_t)n_in * sizeof *in); /* fill has no inputs (in may be NULL) */
  for (int i = 0; i < n_out; i++) {
    outs[i].role = g->out_role;
    if (n_out == 1)
      snprintf(outs[i].name, sizeof outs[i].name, "%s", name);
    else
      snprintf(outs[i].name, sizeof outs[i].name, "%.80s:%d", name, i);
    int id = add_tensor_desc(g, &outs[i]);
    if (id < 0) return -1;
    n.out[i] = id;
    if (out_ids) out_ids[i] = id;
  }
  g->nodes[g->n_nodes++] = n;
  return n_out ? n.out[0] : 0;
}

/* ---- convenience builders ---------------------------------------------- */

static int add1(nnb_graph *g, nnb_op op, const int *in, int n_in, const nnb_attr *a,
                const char *name) {
  return nnb_node_add(g, op, in, n_in, a, name, NULL);
}

int nnb_matmul(nnb_graph *g, int a, int b, int bias, int trans_a, int trans_b, const char *name) {
  nnb_attr at = {.matmul = {trans_a, trans_b}};
  int in[3] = {a, b, bias};
  return add1(g, NNB_OP_MATMUL, in, bias >= 0 ? 3 : 2, &at, name);
}

int nnb_linear(nnb_graph *g, int x, int weight, int bias, const char *name) {
  return nnb_matmul(g, x, weight, bias, 0, 1, name); /* PyTorch weights are [out, in] */
}

int nnb_conv2d(nnb_graph *g, int x, int w, int bias, int stride, int pad, const char *name) {
  nnb_attr at = {.conv = {.stride_h = stride, .stride_w = stride, .pad_h = pad, .pad_w = pad}};
  int in[3] = {x, w, bias};
  return add1(g, NNB_OP_CONV2D, in, bias >= 0 ? 3 : 2, &at, name);
}

int nnb_maxpool2d(nnb_graph *g, int x, int kernel, int stride, const char *name) {
  nnb_attr at = {.pool = {kernel, kernel, stride, stride}};
  return add1(g, NNB_OP_MAXPOOL2D, &x, 1, &at, name);
}

int nnb_unary(nnb_graph *g, nnb_op op, int x, const char *name) {
  return add1(g, op, &x, 1, NULL, name);
}

int nnb_binary(nnb_graph *g, nnb_op op, int a, int b, const char *name) {
  int in[2] = {a, b};
  return add1(g, op, in, 2, NULL, name);
}

int nnb_softmax(nnb_graph *g, int x, const char *name) {
  return add1(g, NNB_OP_SOFTMAX, &x, 1, NULL, name);
}

int nnb_layernorm(nnb_graph *g, int x, int gamma, int beta, float eps, const char *name) {
  nnb_attr at = {.layernorm = {eps}};
  int in[3] = {x, gamma, beta};
  return add1(g, NNB_OP_LAYERNORM, in, 3, &at, name);
}

int nnb_lstm(nnb_graph *g, int x, int w_ih, int w_hh, int b_ih, int b_hh, const char *name) {
  int in[5] = {x, w_ih, w_hh, b_ih, b_hh};
  return add1(g, NNB_OP_LSTM, in, 5, NULL, name); /* first output: y */
}

int nnb_attention(nnb_graph *g, int qkv, int heads, int causal, const char *name) {
  nnb_attr at = {.attention = {heads, causal}};
  return add1(g, NNB_OP_ATTENTION, &qkv, 1, &at, name);
}

int nnb_permute(nnb_graph *g, int x, const int *perm, const char *name) {
  nnb_attr at = {0};
  int rank = (x >= 0 && x < g->n_tensors) ? g->tensors[x].rank : 0;
  for (int i = 0; i < rank; i++) at.permute.perm[i] = perm[i];
  return add1(g, NNB_OP_PERMUTE, &x, 1, &at, name);
}

int nnb_reshape(nnb_graph *g, int x, int rank, const int64_t *dims, const char *name) {
  nnb_attr at = {.shape = {.rank = rank}};
  for (int i = 0; i < rank && i < NNB_MAX_RANK; i++) at.shape.dims[i] = dims[i];
  return add1(g, NNB_OP_RESHAPE, &x, 1, &at, name);
}

int nnb_slice(nnb_graph *g, int x, int axis, int64_t start, int64_t length, const char *name) {
  nnb_attr at = {.slice = {axis, start, length, 0}};
  return add1(g, NNB_OP_SLICE, &x, 1, &at, name);
}

int nnb_mean(nnb_graph *g, int x, int axis, const char *name) {
  nnb_attr at = {.mean = {axis, 0}};
  return add1(g, NNB_OP_MEAN, &x, 1, &at, name);
}

int nnb_softmax_ce(nnb_graph *g, int logits, int labels, const char *name) {
  int in[2] = {logits, labels};
  return add1(g, NNB_OP_SOFTMAX_CE, in, 2, NULL, name);
}
