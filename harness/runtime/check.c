/* Conformance checks (see check.h). Every case is a small graph built from a
 * seed: the op under test on random shapes (odd sizes on purpose), random
 * inputs, and the tensors to compare. */
#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#define MAX_CASE_TENSORS 96
#define GUARD_BYTES 256
#define FD_STEP 1e-2
#define FD_SAMPLES 10
#define FD_TOLERANCE 1e-2

/* NMSE thresholds (benchdnn/test-backend-ops practice): ops with no
 * accumulation must agree to f32 rounding; ops that sum many products may
 * differ by summation order. */
#define NMSE_EXACT 1e-7
#define NMSE_ACCUMULATE 1e-5

typedef struct fillspec {
  float lo, hi;
  int64_t int_max; /* > 0: integers in [0, int_max) */
  int distinct;    /* values 0.05 apart, shuffled: no ties for maxpool */
  int away;        /* |x| in [0.1, 1): no relu kink within the FD step */
} fillspec;

typedef struct ccase {
  nnb_graph g;
  fillspec fill[MAX_CASE_TENSORS];
  int cmp[NNB_MAX_OUT + NNB_MAX_IN];
  int n_cmp;
  int node; /* the op under test */
} ccase;

const char *nnb_verdict_name(nnb_verdict v) {
  switch (v) {
  case NNB_PASS: return "PASS";
  case NNB_FAIL: return "FAIL";
  case NNB_UNSUPPORTED: return "UNSUPPORTED";
  case NNB_NOT_CHECKED: return "-";
  }
  return "?";
}

static int64_t ri(nnb_rng *r, int64_t lo, int64_t hi) {
  return lo + (int64_t)nnb_rng_below(r, (uint64_t)(hi - lo + 1));
}

static int leaf(ccase *c, const char *name, nnb_role role, int rank, int64_t d0, int64_t d1,
                int64_t d2, int64_t d3) {
  int64_t d[4] = {d0, d1, d2, d3};
  int t = nnb_tensor(&c->g, name, role, role == NNB_ROLE_LABEL ? NNB_I32 : NNB_F32, rank, d);
  if (t >= 0 && t < MAX_CASE_TENSORS) c->fill[t] = (fillspec){-1.0f, 1.0f, 0, 0, 0};
  return t;
}

static int node(ccase *c, nnb_op op, const int *in, int n_in, const nnb_attr *at) {
  int outs[NNB_MAX_OUT];
  int first = nnb_node_add(&c->g, op, in, n_in, at, nnb_op_name(op), outs);
  if (first < 0) return -1;
  c->node = c->g.n_nodes - 1;
  const nnb_node *n = &c->g.nodes[c->node];
  for (int i = 0; i < n->n_out; i++) c->cmp[c->n_cmp++] = n->out[i];
  if (nnb_op_is_update(op)) /* compare what the update wrote */
    for (int i = 0; i < n_in; i++)
      if (c->g.tensors[in[i]].role != NNB_ROLE_INPUT) c->cmp[c->n_cmp++] = in[i];
  /* what is compared is read after the run: a backend may leave a tensor
   * that is no graph output and that no node reads unwritten */
  for (int i = 0; i < c->n_cmp; i++) nnb_graph_mark_output(&c->g, c->cmp[i]);
  return first;
}

int nnb_check_variants(nnb_op op) { return op == NNB_OP_ACT_BWD ? 4 : 3; }

/* conv shapes per variant: x[N,C,H,W], w[O,C,KH,KW], stride, pad, bias */
static void conv_shape(int v, nnb_rng *r, int64_t *x, int64_t *w, nnb_attr *at, int *bias) {
  static const int stride[3] = {1, 2, 1}, pad[3] = {0, 1, 1};
  x[0] = ri(r, 1, 3), x[1] = ri(r, 1, 4), x[2] = ri(r, 7, 13), x[3] = ri(r, 7, 13);
  w[0] = ri(r, 1, 6), w[1] = x[1], w[2] = v == 1 ? 5 : 3, w[3] = v == 1 ? 3 : 3;
  *at = (nnb_attr){.conv = {.stride_h = stride[v],
                            .stride_w = stride[v],
                            .pad_h = pad[v],
                            .pad_w = pad[v],
                            .kernel_h = (int)w[2],
                            .kernel_w = (int)w[3],
                            .in_h = (int)x[2],
                            .in_w = (int)x[3],
                            .has_bias = v != 1}};
  *bias = v != 1;
}

static int64_t conv_out(int64_t in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

/* Builds the case for op/variant. Differentiable inputs get role `prole`
 * (PARAM for gradient checks, INPUT otherwise). */
static void build(ccase *c, nnb_op op, int v, nnb_rng *r, nnb_role prole) {
  nnb_graph_init(&c->g);
  c->n_cmp = 0;
  nnb_graph *g = &c->g;
  nnb_attr at = {0};
  const nnb_role P = prole;
  switch (op) {
  case NNB_OP_MATMUL: {
    int64_t m = ri(r, 1, 33), k = ri(r, 1, 47), n = ri(r, 1, 29), b = ri(r, 2, 3);
    if (v == 0) { /* a linear layer */
      int in[3] = {leaf(c, "a", P, 2, m, k, 0, 0), leaf(c, "b", P, 2, n, k, 0, 0),
                   leaf(c, "bias", P, 1, n, 0, 0, 0)};
      at.matmul.trans_b = 1;
      node(c, op, in, 3, &at);
    } else if (v == 1) { /* batched a, shared b */
      int in[2] = {leaf(c, "a", P, 3, b, m, k, 0), leaf(c, "b", P, 2, k, n, 0, 0)};
      node(c, op, in, 2, &at);
    } else { /* batched both, both transposed */
      int in[2] = {leaf(c, "a", P, 3, b, k, m, 0), leaf(c, "b", P, 3, b, n, k, 0)};
      at.matmul.trans_a = at.matmul.trans_b = 1;
      node(c, op, in, 2, &at);
    }
    break;
  }
  case NNB_OP_CONV2D:
  case NNB_OP_CONV2D_BWD_DATA:
  case NNB_OP_CONV2D_BWD_WEIGHT: {
    int64_t x[4], w[4];
    int bias;
    conv_shape(v, r, x, w, &at, &bias);
    int64_t oh = conv_out(x[2], (int)w[2], at.conv.stride_h, at.conv.pad_h);
    int64_t ow = conv_out(x[3], (int)w[3], at.conv.stride_w, at.conv.pad_w);
    if (op == NNB_OP_CONV2D) {
      int in[3] = {leaf(c, "x", P, 4, x[0], x[1], x[2], x[3]),
                   leaf(c, "w", P, 4, w[0], w[1], w[2], w[3]),
                   bias ? leaf(c, "bias", P, 1, w[0], 0, 0, 0) : -1};
      node(c, op, in, bias ? 3 : 2, &at);
    } else {
      int dy = leaf(c, "dy", P, 4, x[0], w[0], oh, ow);
      int other = op == NNB_OP_CONV2D_BWD_DATA ? leaf(c, "w", P, 4, w[0], w[1], w[2], w[3])
                                               : leaf(c, "x", P, 4, x[0], x[1], x[2], x[3]);
      int in[2] = {dy, other};
      node(c, op, in, 2, &at);
    }
    break;
  }
  case NNB_OP_MAXPOOL2D:
  case NNB_OP_MAXPOOL2D_BWD: {
    static const int k[3] = {2, 3, 3}, s[3] = {2, 1, 2};
    int64_t n = ri(r, 1, 2), ch = ri(r, 1, 4), h = ri(r, 5, 11), w = ri(r, 5, 11);
    at.pool = (struct nnb_pool_attr){k[v], k[v], s[v], s[v]};
    int x = leaf(c, "x", P, 4, n, ch, h, w);
    if (x >= 0) c->fill[x].distinct = 1;
    if (op == NNB_OP_MAXPOOL2D) {
      node(c, op, &x, 1, &at);
    } else {
      int in[2] = {leaf(c, "dy", P, 4, n, ch, (h - k[v]) / s[v] + 1, (w - k[v]) / s[v] + 1), x};
      node(c, op, in, 2, &at);
    }
    break;
  }
  case NNB_OP_RELU:
  case NNB_OP_GELU:
  case NNB_OP_TANH:
  case NNB_OP_SIGMOID:
  case NNB_OP_SOFTMAX:
  case NNB_OP_ACT_BWD:
  case NNB_OP_SOFTMAX_BWD: {
    int rank = 2 + v % 3;
    int64_t d[4] = {ri(r, 1, 5), ri(r, 1, 9), ri(r, 1, 7), ri(r, 1, 37)};
    int x = leaf(c, "x", P, rank, d[0], d[1], rank > 2 ? d[2] : 0, rank > 3 ? d[3] : 0);
    if (x >= 0 && (op == NNB_OP_RELU || op == NNB_OP_ACT_BWD)) c->fill[x].away = 1;
    if (x >= 0 && op == NNB_OP_SOFTMAX && v == 2) c->fill[x] = (fillspec){-30, 30, 0, 0, 0};
    if (op == NNB_OP_ACT_BWD || op == NNB_OP_SOFTMAX_BWD) {
      static const nnb_op acts[4] = {NNB_OP_RELU, NNB_OP_GELU, NNB_OP_TANH, NNB_OP_SIGMOID};
      at.act_bwd.act = acts[v];
      int in[2] = {leaf(c, "dy", P, rank, d[0], d[1], rank > 2 ? d[2] : 0, rank > 3 ? d[3] : 0), x};
      node(c, op, in, 2, &at);
    } else {
      node(c, op, &x, 1, &at);
    }
    break;
  }
  case NNB_OP_ADD:
  case NNB_OP_MUL:
  case NNB_OP_SUM_TO: {
    int64_t b = ri(r, 1, 3), t = ri(r, 1, 7), f = ri(r, 1, 19);
    int a = leaf(c, "a", P, 3, b, t, f, 0);
    int64_t bd[3][2] = {{t, f}, {f, 0}, {t, 1}}; /* same trailing shape, row vector, column */
    int brank = v == 1 ? 1 : 2;
    if (op == NNB_OP_SUM_TO) {
      at.shape.rank = brank;
      at.shape.dims[0] = bd[v][0], at.shape.dims[1] = bd[v][1];
      node(c, op, &a, 1, &at);
    } else {
      int in[2] = {a, leaf(c, "b", P, brank, bd[v][0], bd[v][1], 0, 0)};
      node(c, op, in, 2, &at);
    }
    break;
  }
  case NNB_OP_LAYERNORM:
  case NNB_OP_LAYERNORM_BWD: {
    int64_t b = ri(r, 1, 4), t = ri(r, 1, 6), f = ri(r, 2, 41);
    int x = v == 0 ? leaf(c, "x", P, 2, b, f, 0, 0) : leaf(c, "x", P, 3, b, t, f, 0);
    int gm = leaf(c, "gamma", P, 1, f, 0, 0, 0);
    at.layernorm.eps = 1e-5f;
    if (op == NNB_OP_LAYERNORM) {
      int in[3] = {x, gm, leaf(c, "beta", P, 1, f, 0, 0, 0)};
      node(c, op, in, 3, &at);
    } else {
      const nnb_tensor_desc *xd = &g->tensors[x];
      int in[3] = {leaf(c, "dy", P, xd->rank, xd->dims[0], xd->dims[1], xd->dims[2], 0), x, gm};
      node(c, op, in, 3, &at);
    }
    break;
  }
  case NNB_OP_LSTM:
  case NNB_OP_LSTM_BWD: {
    int64_t b = ri(r, 1, 3), t = ri(r, 1, 6), i = ri(r, 1, 7), h = ri(r, 1, 9);
    int x = leaf(c, "x", P, 3, b, t, i, 0);
    int wih = leaf(c, "w_ih", P, 2, 4 * h, i, 0, 0), whh = leaf(c, "w_hh", P, 2, 4 * h, h, 0, 0);
    if (op == NNB_OP_LSTM) {
      int in[5] = {x, wih, whh, leaf(c, "b_ih", P, 1, 4 * h, 0, 0, 0),
                   leaf(c, "b_hh", P, 1, 4 * h, 0, 0, 0)};
      node(c, op, in, 5, &at);
    } else {
      int cache = leaf(c, "cache", P, 3, b, t, 5 * h, 0);
      if (cache >= 0) c->fill[cache] = (fillspec){0.0f, 1.0f, 0, 0, 0}; /* gate values */
      int in[6] = {leaf(c, "dy", P, 3, b, t, h, 0), x,    wih, whh,
                   leaf(c, "y", P, 3, b, t, h, 0),  cache};
      node(c, op, in, 6, &at);
    }
    break;
  }
  case NNB_OP_ATTENTION:
  case NNB_OP_ATTENTION_BWD: {
    static const int heads[3] = {1, 2, 3};
    int64_t b = ri(r, 1, 3), t = v == 2 ? 1 : ri(r, 2, 9), d = heads[v] * ri(r, 1, 5);
    at.attention.heads = heads[v];
    at.attention.causal = v == 1;
    int qkv = leaf(c, "qkv", P, 3, b, t, 3 * d, 0);
    if (op == NNB_OP_ATTENTION) {
      node(c, op, &qkv, 1, &at);
    } else {
      int p = leaf(c, "probs", P, 4, b, heads[v], t, t);
      if (p >= 0) c->fill[p] = (fillspec){0.0f, 1.0f, 0, 0, 0};
      int in[3] = {leaf(c, "dy", P, 3, b, t, d, 0), qkv, p};
      node(c, op, in, 3, &at);
    }
    break;
  }
  case NNB_OP_PERMUTE: {
    static const int perms[3][4] = {{1, 0}, {0, 2, 1, 3}, {3, 1, 0, 2}};
    int rank = v == 0 ? 2 : 4;
    int x = leaf(c, "x", P, rank, ri(r, 1, 7), ri(r, 1, 6), ri(r, 1, 5), ri(r, 1, 4));
    memcpy(at.permute.perm, perms[v], sizeof at.permute.perm);
    node(c, op, &x, 1, &at);
    break;
  }
  case NNB_OP_RESHAPE: {
    int64_t a = ri(r, 1, 6), b = ri(r, 1, 7), d = ri(r, 1, 5);
    int x = leaf(c, "x", P, 3, a, b, d, 0);
    at.shape.rank = v + 1;
    int64_t to[3][3] = {{a * b * d}, {a, b * d}, {a * b, d, 1}};
    memcpy(at.shape.dims, to[v], sizeof to[v]);
    node(c, op, &x, 1, &at);
    break;
  }
  case NNB_OP_SLICE:
  case NNB_OP_SLICE_BWD: {
    int64_t d[3] = {ri(r, 1, 4), ri(r, 2, 9), ri(r, 1, 6)};
    int axis = v == 0 ? 1 : v == 1 ? 0 : 2;
    int64_t len = v == 0 ? 1 : ri(r, 1, d[axis]);
    int64_t start = v == 0 ? d[1] - 1 : ri(r, 0, d[axis] - len);
    at.slice = (struct nnb_slice_attr){axis, start, len, d[axis]};
    if (op == NNB_OP_SLICE) {
      int x = leaf(c, "x", P, 3, d[0], d[1], d[2], 0);
      node(c, op, &x, 1, &at);
    } else {
      d[axis] = len;
      int dy = leaf(c, "dy", P, 3, d[0], d[1], d[2], 0);
      node(c, op, &dy, 1, &at);
    }
    break;
  }
  case NNB_OP_MEAN:
  case NNB_OP_MEAN_BWD: {
    int64_t d[3] = {ri(r, 1, 5), ri(r, 1, 9), ri(r, 1, 7)};
    int rank = v == 2 ? 1 : 3, axis = v == 0 ? 1 : v == 1 ? 2 : 0;
    at.mean.axis = axis;
    at.mean.n = d[axis];
    if (op == NNB_OP_MEAN) {
      int x = leaf(c, "x", P, rank, d[0], d[1], d[2], 0);
      node(c, op, &x, 1, &at);
    } else {
      int64_t o[3];
      int k = 0;
      for (int i = 0; i < rank; i++)
        if (i != axis) o[k++] = d[i];
      int dy = rank == 1 ? leaf(c, "dy", P, 1, 1, 0, 0, 0) : leaf(c, "dy", P, 2, o[0], o[1], 0, 0);
      node(c, op, &dy, 1, &at);
    }
    break;
  }
  case NNB_OP_SOFTMAX_CE:
  case NNB_OP_SOFTMAX_CE_BWD: {
    int64_t b = ri(r, 1, 9), k = ri(r, 2, 13);
    int lg = leaf(c, "logits", P, 2, b, k, 0, 0);
    if (lg >= 0 && v == 2) c->fill[lg] = (fillspec){-20, 20, 0, 0, 0};
    int lb = leaf(c, "labels", NNB_ROLE_LABEL, 1, b, 0, 0, 0);
    if (lb >= 0) c->fill[lb].int_max = k;
    if (op == NNB_OP_SOFTMAX_CE) {
      int in[2] = {lg, lb};
      node(c, op, in, 2, &at);
    } else {
      int in[3] = {leaf(c, "dloss", P, 1, 1, 0, 0, 0), lg, lb};
      node(c, op, in, 3, &at);
    }
    break;
  }
  case NNB_OP_FILL:
    at.shape.rank = v + 1;
    for (int i = 0; i <= v; i++) at.shape.dims[i] = ri(r, 1, 9);
    at.shape.value = (float)(v - 1) * 2.5f;
    node(c, op, NULL, 0, &at);
    break;
  case NNB_OP_SGD_MOMENTUM:
  case NNB_OP_ADAM: {
    int64_t a = ri(r, 1, 17), b = ri(r, 1, 13);
    int p = leaf(c, "param", NNB_ROLE_PARAM, 2, a, b, 0, 0);
    int gr = leaf(c, "grad", NNB_ROLE_INPUT, 2, a, b, 0, 0);
    if (op == NNB_OP_SGD_MOMENTUM) {
      at.sgd.lr = 0.01f * (float)(v + 1);
      at.sgd.momentum = v == 2 ? 0.0f : 0.9f;
      int in[3] = {p, gr, leaf(c, "velocity", NNB_ROLE_OPTSTATE, 2, a, b, 0, 0)};
      node(c, op, in, 3, &at);
    } else {
      at.adam = (struct nnb_adam_attr){1e-3f * (float)(v + 1), 0.9f, 0.999f, 1e-8f};
      int m = leaf(c, "m", NNB_ROLE_OPTSTATE, 2, a, b, 0, 0);
      int vv = leaf(c, "v", NNB_ROLE_OPTSTATE, 2, a, b, 0, 0);
      int st = leaf(c, "step", NNB_ROLE_OPTSTATE, 1, 1, 0, 0, 0);
      if (vv >= 0) c->fill[vv] = (fillspec){0.0f, 1.0f, 0, 0, 0};
      if (st >= 0) c->fill[st] = (fillspec){0, 0, v * 5 + 1, 0, 0}; /* an integer count */
      int in[5] = {p, gr, m, vv, st};
      node(c, op, in, 5, &at);
    }
    break;
  }
  case NNB_OP_COUNT: break;
  }
}

static float *fill_values(const fillspec *f, int64_t n, nnb_rng *r) {
  float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
  if (!v) return NULL;
  if (f->distinct) {
    for (int64_t i = 0; i < n; i++) v[i] = (float)(0.05 * (double)(i - n / 2));
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
      int64_t j = (int64_t)nnb_rng_below(r, (uint64_t)i + 1);
      float t = v[i];
      v[i] = v[j], v[j] = t;
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      if (f->int_max > 0) {
        int32_t k = (int32_t)nnb_rng_below(r, (uint64_t)f->int_max);
        memcpy(&v[i], &k, sizeof k); /* i32 labels share the float array's storage */
      } else if (f->away) {
        float m = nnb_rng_uniform(r, 0.1f, 1.0f);
        v[i] = nnb_rng_u64(r) & 1 ? m : -m;
      } else {
        v[i] = nnb_rng_uniform(r, f->lo, f->hi);
      }
    }
  }
  return v;
}

/* Step counts are integers stored as f32. */
static void fix_integer_floats(const ccase *c, int t, float *v, int64_t n) {
  if (c->g.tensors[t].dtype != NNB_F32 || c->fill[t].int_max <= 0) return;
  for (int64_t i = 0; i < n; i++) {
    int32_t k;
    memcpy(&k, &v[i], sizeof k);
    v[i] = (float)k;
  }
}

/* Uploads every leaf tensor (no producer) of the case from the seed. */
static nnb_status upload_inputs(const ccase *c, nnb_session *s, uint64_t seed, nnb_error *e) {
  nnb_rng r;
  nnb_rng_seed(&r, seed ^ 0x5eedf00dULL);
  const nnb_graph *g = &c->g;
  for (int t = 0; t < g->n_tensors && t < MAX_CASE_TENSORS; t++) {
    if (s->mem.first_use[t] >= 0 || g->tensors[t].view_of >= 0) continue;
    int64_t n = nnb_numel(&g->tensors[t]);
    float *v = fill_values(&c->fill[t], n, &r);
    if (!v) return nnb_fail(e, NNB_ERR_NOMEM, "out of host memory");
    fix_integer_floats(c, t, v, n);
    nnb_status st = nnb_session_upload(s, t, v, e);
    free(v);
    if (st != NNB_OK) return st;
  }
  return NNB_OK;
}

static double op_threshold(nnb_op op) {
  switch (op) {
  case NNB_OP_MATMUL:
  case NNB_OP_CONV2D:
  case NNB_OP_CONV2D_BWD_DATA:
  case NNB_OP_CONV2D_BWD_WEIGHT:
  case NNB_OP_LAYERNORM:
  case NNB_OP_LAYERNORM_BWD:
  case NNB_OP_LSTM:
  case NNB_OP_LSTM_BWD:
  case NNB_OP_ATTENTION:
  case NNB_OP_ATTENTION_BWD:
  case NNB_OP_SOFTMAX:
  case NNB_OP_SOFTMAX_BWD:
  case NNB_OP_SOFTMAX_CE:
  case NNB_OP_SOFTMAX_CE_BWD:
  case NNB_OP_MEAN:
  case NNB_OP_SUM_TO:
  case NNB_OP_ADAM: return NMSE_ACCUMULATE;
  default: return NMSE_EXACT;
  }
}

static uint64_t case_seed(uint64_t base, nnb_op op, int v) {
  return base * 1000003ULL + (uint64_t)op * 131ULL + (uint64_t)v;
}

/* Runs a case on one backend and downloads the compared tensors. */
static nnb_status run_case(nnb_backend *b, const ccase *c, uint64_t seed, int guard, float **outs,
                           nnb_error *e) {
  nnb_session s;
  nnb_status st = nnb_session_create_guarded(b, &c->g, guard ? GUARD_BYTES : 0, &s, e);
  if (st != NNB_OK) return st;
  st = upload_inputs(c, &s, seed, e);
  if (st == NNB_OK) st = nnb_session_run(&s, e);
  if (st == NNB_OK && guard) st = nnb_session_check_guards(&s, e);
  for (int i = 0; st == NNB_OK && i < c->n_cmp; i++) {
    outs[i] = malloc(nnb_nbytes(&c->g.tensors[c->cmp[i]]) + 4);
    st = outs[i] ? nnb_session_download(&s, c->cmp[i], outs[i], e)
                 : nnb_fail(e, NNB_ERR_NOMEM, "out of host memory");
  }
  nnb_session_free(&s);
  return st;
}

static void compare(const float *a, const float *ref, int64_t n, double *nmse, double *rel,
                    int *nan_mismatch) {
  double num = 0, den = 0, maxdiff = 0, maxref = 0;
  *nan_mismatch = 0;
  for (int64_t i = 0; i < n; i++) {
    if (isnan(a[i]) != isnan(ref[i]) || isinf(a[i]) != isinf(ref[i])) *nan_mismatch = 1;
    if (!isfinite(ref[i]) || !isfinite(a[i])) continue;
    double d = (double)a[i] - (double)ref[i];
    num += d * d;
    den += (double)ref[i] * ref[i];
    if (fabs(d) > maxdiff) maxdiff = fabs(d);
    if (fabs(ref[i]) > maxref) maxref = fabs(ref[i]);
  }
  *nmse = den > 0 ? num / den : num;
  *rel = maxref > 0 ? maxdiff / maxref : maxdiff;
}

static void record_failure(nnb_check_result *out, uint64_t seed, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void record_failure(nnb_check_result *out, uint64_t seed, const char *fmt, ...) {
  if (out->verdict == NNB_FAIL) return; /* keep the first */
  out->verdict = NNB_FAIL;
  out->seed = seed;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->detail, sizeof out->detail, fmt, ap);
  va_end(ap);
}

void nnb_check_op(nnb_backend *ref, nnb_backend *b, nnb_op op, uint64_t base_seed,
                  nnb_check_result *out) {
  memset(out, 0, sizeof *out);
  out->threshold = op_threshold(op);
  out->seed = case_seed(base_seed, op, 0);
  for (int v = 0; v < nnb_check_variants(op); v++) {
    uint64_t seed = case_seed(base_seed, op, v);
    nnb_rng r;
    nnb_rng_seed(&r, seed);
    ccase c;
    build(&c, op, v, &r, NNB_ROLE_INPUT);
    nnb_error e = {{0}};
    if (nnb_graph_status(&c.g, &e) != NNB_OK) {
      record_failure(out, seed, "building the case failed: %s", e.msg);
      nnb_graph_free(&c.g);
      break;
    }
    nnb_error why = {{0}};
    bool ok = b->vt->supports(b->ctx, &c.g, &c.g.nodes[c.node], &why);
    nnb_plugin_status(NNB_OK, &why); /* the plugin's text, bounded */
    if (!ok) {
      out->verdict = NNB_UNSUPPORTED;
      snprintf(out->detail, sizeof out->detail, "%s", why.msg[0] ? why.msg : "not supported");
      nnb_graph_free(&c.g);
      return;
    }
    float *want[NNB_MAX_OUT + NNB_MAX_IN] = {0}, *got[NNB_MAX_OUT + NNB_MAX_IN] = {0};
    nnb_status st = run_case(ref, &c, seed, 0, want, &e);
    if (st != NNB_OK) {
      record_failure(out, seed, "reference failed: %s", e.msg);
    } else if ((st = run_case(b, &c, seed, 1, got, &e)) != NNB_OK) {
      record_failure(out, seed, "%s", e.msg);
    } else {
      out->cases++;
      for (int i = 0; i < c.n_cmp; i++) {
        const nnb_tensor_desc *d = &c.g.tensors[c.cmp[i]];
        double nmse, rel;
        int nan_mismatch;
        compare(got[i], want[i], nnb_numel(d), &nmse, &rel, &nan_mismatch);
        if (nmse > out->nmse) out->nmse = nmse;
        if (rel > out->max_rel_err) out->max_rel_err = rel;
        char shape[64];
        if (nan_mismatch)
          record_failure(
              out, seed,
              "variant %d, output '%s' %s: NaN/Inf where the reference has none (or the reverse)",
              v, d->name, nnb_dims_str(d->rank, d->dims, shape, sizeof shape));
        else if (!(nmse <= out->threshold))
          record_failure(out, seed,
                         "variant %d, output '%s' %s: NMSE %.3g > %.1g (max rel err %.3g)", v,
                         d->name, nnb_dims_str(d->rank, d->dims, shape, sizeof shape), nmse,
                         out->threshold, rel);
      }
    }
    for (int i = 0; i < c.n_cmp; i++) free(want[i]), free(got[i]);
    nnb_graph_free(&c.g);
  }
}

/* ---- finite differences on the reference ---------------------------------- */

/* The forward op whose derived backward uses a backward op; for forward ops,
 * the op itself. NNB_OP_COUNT when there is nothing to differentiate. */
static int fd_forward_ops(nnb_op op, nnb_op *fwd) {
  switch (op) {
  case NNB_OP_CONV2D_BWD_DATA:
  case NNB_OP_CONV2D_BWD_WEIGHT: fwd[0] = NNB_OP_CONV2D; return 1;
  case NNB_OP_MAXPOOL2D_BWD: fwd[0] = NNB_OP_MAXPOOL2D; return 1;
  case NNB_OP_ACT_BWD:
    fwd[0] = NNB_OP_RELU, fwd[1] = NNB_OP_GELU, fwd[2] = NNB_OP_TANH, fwd[3] = NNB_OP_SIGMOID;
    return 4;
  case NNB_OP_SOFTMAX_BWD: fwd[0] = NNB_OP_SOFTMAX; return 1;
  case NNB_OP_LAYERNORM_BWD: fwd[0] = NNB_OP_LAYERNORM; return 1;
  case NNB_OP_LSTM_BWD: fwd[0] = NNB_OP_LSTM; return 1;
  case NNB_OP_ATTENTION_BWD: fwd[0] = NNB_OP_ATTENTION; return 1;
  case NNB_OP_SLICE_BWD: fwd[0] = NNB_OP_SLICE; return 1;
  case NNB_OP_MEAN_BWD: fwd[0] = NNB_OP_MEAN; return 1;
  case NNB_OP_SOFTMAX_CE_BWD: fwd[0] = NNB_OP_SOFTMAX_CE; return 1;
  case NNB_OP_SUM_TO: fwd[0] = NNB_OP_ADD; return 1;      /* the backward of broadcasting */
  case NNB_OP_FILL: fwd[0] = NNB_OP_SOFTMAX_CE; return 1; /* seeds every backward pass */
  case NNB_OP_SGD_MOMENTUM:
  case NNB_OP_ADAM:
  case NNB_OP_COUNT: return 0;
  default: fwd[0] = op; return 1; /* a forward op: check its derived backward */
  }
}

static double loss_of(nnb_session *s, int loss, nnb_error *e, nnb_status *st) {
  float v = NAN;
  *st = nnb_session_run(s, e);
  if (*st == NNB_OK) *st = nnb_session_download(s, loss, &v, e);
  return v;
}

/* One forward case with loss = sum(out0 * r): autodiff, then compare every
 * parameter's gradient with central differences on sampled elements. */
static void fd_case(nnb_backend *ref, nnb_op fwd, int v, uint64_t seed, nnb_check_result *out) {
  nnb_rng r;
  nnb_rng_seed(&r, seed);
  ccase c;
  build(&c, fwd, v, &r, NNB_ROLE_PARAM);
  nnb_graph *g = &c.g;
  int y = g->n_nodes ? g->nodes[c.node].out[0] : -1;
  const nnb_tensor_desc *yd = y >= 0 ? &g->tensors[y] : NULL;
  int proj = yd ? leaf(&c, "r", NNB_ROLE_INPUT, yd->rank, yd->dims[0], yd->dims[1], yd->dims[2],
                       yd->dims[3])
                : -1;
  nnb_attr one = {.shape = {.rank = 1, .dims = {1}}};
  int prod = nnb_binary(g, NNB_OP_MUL, y, proj, "y*r");
  int loss = nnb_node_add(g, NNB_OP_SUM_TO, &prod, 1, &one, "loss", NULL);
  int n_t0 = g->n_tensors;
  int *grad = malloc((size_t)n_t0 * sizeof *grad);
  nnb_error e = {{0}};
  nnb_status st = grad ? nnb_autodiff(g, loss, NULL, grad, &e) : NNB_ERR_NOMEM;
  nnb_session s = {0};
  if (st == NNB_OK) {
    nnb_graph_mark_output(g, loss);
    for (int t = 0; t < n_t0; t++)
      if (grad[t] >= 0 && g->tensors[t].role == NNB_ROLE_PARAM) nnb_graph_mark_output(g, grad[t]);
    st = nnb_session_create(ref, g, &s, &e);
  }
  if (st == NNB_OK) st = upload_inputs(&c, &s, seed, &e);
  if (st == NNB_OK) st = nnb_session_run(&s, &e);
  for (int t = 0; st == NNB_OK && t < n_t0; t++) {
    if (g->tensors[t].role != NNB_ROLE_PARAM) continue;
    if (grad[t] < 0) {
      record_failure(out, seed, "%s variant %d: no gradient reached '%s'", nnb_op_name(fwd), v,
                     g->tensors[t].name);
      break;
    }
    int64_t n = nnb_numel(&g->tensors[t]);
    float *x = malloc((size_t)n * sizeof *x), *an = malloc((size_t)n * sizeof *an);
    if (!x || !an) st = nnb_fail(&e, NNB_ERR_NOMEM, "out of host memory");
    if (st == NNB_OK) st = nnb_session_download(&s, t, x, &e);
    if (st == NNB_OK) st = nnb_session_download(&s, grad[t], an, &e);
    for (int k = 0; st == NNB_OK && k < FD_SAMPLES && k < n; k++) {
      int64_t i = n <= FD_SAMPLES ? k : (int64_t)nnb_rng_below(&r, (uint64_t)n);
      float keep = x[i];
      x[i] = keep + (float)FD_STEP;
      st = nnb_session_upload(&s, t, x, &e);
      double lp = loss_of(&s, loss, &e, &st);
      x[i] = keep - (float)FD_STEP;
      if (st == NNB_OK) st = nnb_session_upload(&s, t, x, &e);
      double lm = st == NNB_OK ? loss_of(&s, loss, &e, &st) : 0;
      x[i] = keep;
      if (st == NNB_OK) st = nnb_session_upload(&s, t, x, &e);
      /* the perturbation actually applied, after rounding to f32 */
      double h2 = (double)(keep + (float)FD_STEP) - (double)(keep - (float)FD_STEP);
      double fd = (lp - lm) / h2, err = fabs(fd - an[i]) / fmax(fmax(fabs(fd), fabs(an[i])), 0.1);
      if (err > out->max_rel_err) out->max_rel_err = err;
      if (st == NNB_OK && !(err <= FD_TOLERANCE))
        record_failure(
            out, seed,
            "%s variant %d: d loss / d %s[%lld] is %.6g by autodiff, %.6g by finite differences",
            nnb_op_name(fwd), v, g->tensors[t].name, (long long)i, an[i], fd);
    }
    /* Re-run with every value restored: the next parameter's analytic
     * gradient is read from the session's last run. */
    if (st == NNB_OK) st = nnb_session_run(&s, &e);
    free(x);
    free(an);
  }
  if (st != NNB_OK)
    record_failure(out, seed, "%s variant %d: %s", nnb_op_name(fwd), v, e.msg);
  else
    out->cases++;
  nnb_session_free(&s);
  free(grad);
  nnb_graph_free(g);
}

void nnb_check_gradient(nnb_backend *ref, nnb_op op, uint64_t base_seed, nnb_check_result *out) {
  memset(out, 0, sizeof *out);
  out->threshold = FD_TOLERANCE;
  nnb_op fwd[4];
  int n = fd_forward_ops(op, fwd);
  if (!n) {
    out->verdict = NNB_NOT_CHECKED;
    snprintf(out->detail, sizeof out->detail,
             "the reference defines this op; its tests check it against worked examples");
    return;
  }
  out->seed = case_seed(base_seed, op, 0);
  for (int k = 0; k < n; k++)
    for (int v = 0; v < nnb_check_variants(fwd[k]); v++)
      fd_case(ref, fwd[k], v, case_seed(base_seed, op, k * 8 + v), out);
}
