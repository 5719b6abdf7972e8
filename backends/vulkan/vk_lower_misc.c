/* Lowerings of the element-wise, data-movement, reduction, row-wise, loss,
 * pooling and optimizer ops onto pointwise.comp, reduce.comp, rows.comp,
 * ce.comp and pool.comp. */
#include <math.h>
#include <string.h>

#include "vk.h"

/* pointwise.comp's push constants and op codes */
typedef struct pw_pc {
  uint32_t op, n, d[4], s[4], goff;
  int32_t wax;
  uint32_t wlo, whi;
  float f[6];
} pw_pc;
enum {
  PW_GATHER = 0,
  PW_RELU,
  PW_GELU,
  PW_TANH,
  PW_SIGMOID,
  PW_RELU_BWD,
  PW_GELU_BWD,
  PW_TANH_BWD,
  PW_SIGMOID_BWD,
  PW_ADD,
  PW_MUL,
  PW_FILL,
  PW_SGD,
  PW_ADAM,
  PW_INC
};

static const nnb_tensor_desc *T(const vk_rec *r, int t) { return &r->g->tensors[t]; }

static nnb_status pw(vk_rec *r, pw_pc pc, const vk_arg *args, int n_args, uint32_t wmask,
                     nnb_error *e) {
  uint32_t g[3];
  vk_grid(pc.n, 256, g);
  return vk_dispatch(r, VK_SH_POINTWISE, args, n_args, wmask, &pc, sizeof pc, g, e);
}

/* dims of t padded to four with leading 1s */
static void dims4(const nnb_tensor_desc *t, int64_t d[4]) {
  int pad = 4 - t->rank;
  for (int k = 0; k < 4; k++) d[k] = k < pad ? 1 : t->dims[k - pad];
}

/* row-major strides of a rank-r shape */
static void strides(int rank, const int64_t *dims, int64_t *s) {
  int64_t acc = 1;
  for (int k = rank - 1; k >= 0; k--) s[k] = acc, acc *= dims[k];
}

static void set_out_dims(pw_pc *pc, const nnb_tensor_desc *t) {
  int64_t d[4];
  dims4(t, d);
  for (int k = 0; k < 4; k++) pc->d[k] = (uint32_t)d[k];
  pc->n = (uint32_t)nnb_numel(t);
  pc->wax = -1;
}

static nnb_status lower_unary(vk_rec *r, const nnb_node *n, nnb_error *e) {
  pw_pc pc = {0};
  set_out_dims(&pc, T(r, n->out[0]));
  pc.op = n->op == NNB_OP_RELU   ? PW_RELU
          : n->op == NNB_OP_GELU ? PW_GELU
          : n->op == NNB_OP_TANH ? PW_TANH
                                 : PW_SIGMOID;
  vk_arg a[2] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->out[0])};
  return pw(r, pc, a, 2, 2u, e);
}

static nnb_status lower_act_bwd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  pw_pc pc = {0};
  set_out_dims(&pc, T(r, n->out[0]));
  switch (n->attr.act_bwd.act) {
  case NNB_OP_RELU: pc.op = PW_RELU_BWD; break;
  case NNB_OP_GELU: pc.op = PW_GELU_BWD; break;
  case NNB_OP_TANH: pc.op = PW_TANH_BWD; break;
  case NNB_OP_SIGMOID: pc.op = PW_SIGMOID_BWD; break;
  default:
    return nnb_fail(e, NNB_ERR_UNSUPPORTED, "node '%s': act_bwd of op %d", n->name,
                    (int)n->attr.act_bwd.act);
  }
  vk_arg a[3] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->in[1]), vk_tensor(r, n->out[0])};
  return pw(r, pc, a, 3, 4u, e);
}

/* c = a op b, b broadcast to a (trailing-aligned: stride 0 where b has 1). */
static nnb_status binary(vk_rec *r, uint32_t op, vk_arg a, const nnb_tensor_desc *ad, vk_arg b,
                         const nnb_tensor_desc *bd, vk_arg c, nnb_error *e) {
  pw_pc pc = {0};
  set_out_dims(&pc, ad);
  pc.op = op;
  int64_t bs[NNB_MAX_RANK];
  strides(bd->rank, bd->dims, bs);
  for (int k = 0; k < 4; k++) {
    int bk = k - (4 - bd->rank);
    pc.s[k] = bk >= 0 && bd->dims[bk] != 1 ? (uint32_t)bs[bk] : 0;
  }
  vk_arg args[3] = {a, b, c};
  return pw(r, pc, args, 3, 4u, e);
}

nnb_status vk_add_run(vk_rec *r, vk_arg a, const nnb_tensor_desc *ad, vk_arg b,
                      const nnb_tensor_desc *bd, vk_arg c, nnb_error *e) {
  return binary(r, PW_ADD, a, ad, b, bd, c, e);
}

static nnb_status lower_binary(vk_rec *r, const nnb_node *n, nnb_error *e) {
  return binary(r, n->op == NNB_OP_ADD ? PW_ADD : PW_MUL, vk_tensor(r, n->in[0]), T(r, n->in[0]),
                vk_tensor(r, n->in[1]), T(r, n->in[1]), vk_tensor(r, n->out[0]), e);
}

/* y (out) gathers x through per-output-axis strides s (rank of y). */
static nnb_status gather(vk_rec *r, int x, int y, const int64_t *s, int64_t goff, int wax,
                         int64_t wlo, int64_t whi, float scale, nnb_error *e) {
  pw_pc pc = {0};
  const nnb_tensor_desc *yd = T(r, y);
  set_out_dims(&pc, yd);
  int pad = 4 - yd->rank;
  for (int k = 0; k < yd->rank; k++) pc.s[k + pad] = (uint32_t)s[k];
  pc.op = PW_GATHER;
  pc.goff = (uint32_t)goff;
  pc.wax = wax < 0 ? -1 : wax + pad;
  pc.wlo = (uint32_t)wlo, pc.whi = (uint32_t)whi;
  pc.f[0] = scale;
  vk_arg a[2] = {vk_tensor(r, x), vk_tensor(r, y)};
  return pw(r, pc, a, 2, 2u, e);
}

static nnb_status lower_permute(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *xd = T(r, n->in[0]);
  int64_t xs[NNB_MAX_RANK], s[NNB_MAX_RANK];
  strides(xd->rank, xd->dims, xs);
  for (int k = 0; k < xd->rank; k++) s[k] = xs[n->attr.permute.perm[k]];
  return gather(r, n->in[0], n->out[0], s, 0, -1, 0, 0, 1.0f, e);
}

static nnb_status lower_slice(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *xd = T(r, n->in[0]);
  int64_t xs[NNB_MAX_RANK];
  strides(xd->rank, xd->dims, xs);
  const struct nnb_slice_attr *a = &n->attr.slice;
  return gather(r, n->in[0], n->out[0], xs, a->start * xs[a->axis], -1, 0, 0, 1.0f, e);
}

static nnb_status lower_slice_bwd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *dy = T(r, n->in[0]);
  int64_t s[NNB_MAX_RANK];
  strides(dy->rank, dy->dims, s);
  const struct nnb_slice_attr *a = &n->attr.slice;
  return gather(r, n->in[0], n->out[0], s, 0, a->axis, a->start, a->start + a->length, 1.0f, e);
}

static nnb_status lower_mean_bwd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *dx = T(r, n->out[0]);
  int axis = n->attr.mean.axis;
  int64_t s[NNB_MAX_RANK], acc = 1;
  for (int k = dx->rank - 1; k >= 0; k--) {
    s[k] = k == axis ? 0 : acc;
    if (k != axis) acc *= dx->dims[k];
  }
  return gather(r, n->in[0], n->out[0], s, 0, -1, 0, 0, 1.0f / (float)n->attr.mean.n, e);
}

static nnb_status lower_reshape(vk_rec *r, const nnb_node *n, nnb_error *e) {
  if (T(r, n->out[0])->view_of < 0)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED, "reshape '%s' is not a view of its input", n->name);
  return NNB_OK; /* a view: no data moves */
}

static nnb_status lower_fill(vk_rec *r, const nnb_node *n, nnb_error *e) {
  pw_pc pc = {0};
  set_out_dims(&pc, T(r, n->out[0]));
  pc.op = PW_FILL;
  pc.f[0] = n->attr.shape.value;
  vk_arg a = vk_tensor(r, n->out[0]);
  return pw(r, pc, &a, 1, 1u, e);
}

static nnb_status lower_sgd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  pw_pc pc = {0};
  set_out_dims(&pc, T(r, n->in[0]));
  pc.op = PW_SGD;
  pc.f[0] = n->attr.sgd.lr, pc.f[1] = n->attr.sgd.momentum;
  vk_arg a[3] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->in[1]), vk_tensor(r, n->in[2])};
  return pw(r, pc, a, 3, 5u, e);
}

/* The update reads step and uses step + 1; a second dispatch, after it,
 * increments step (every invocation of the first reads the old value). */
static nnb_status lower_adam(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const struct nnb_adam_attr *at = &n->attr.adam;
  pw_pc pc = {0};
  set_out_dims(&pc, T(r, n->in[0]));
  pc.op = PW_ADAM;
  pc.f[0] = at->lr, pc.f[1] = at->beta1, pc.f[2] = at->beta2, pc.f[3] = at->eps;
  pc.f[4] = (float)log((double)at->beta1), pc.f[5] = (float)log((double)at->beta2);
  vk_arg a[5];
  for (int i = 0; i < 5; i++) a[i] = vk_tensor(r, n->in[i]);
  nnb_status s = pw(r, pc, a, 5, 1u | 4u | 8u, e);
  if (s != NNB_OK) return s;
  pw_pc inc = {.op = PW_INC, .n = 1, .d = {1, 1, 1, 1}, .wax = -1};
  return pw(r, inc, &a[4], 1, 1u, e);
}

nnb_status vk_reduce_run(vk_rec *r, vk_arg x, vk_arg y, const int64_t dims[4], uint32_t mask,
                         float scale, nnb_error *e) {
  struct {
    uint32_t n_out, n_red, d[4], mask;
    float scale;
  } pc = {1, 1, {0}, mask, scale};
  for (int k = 0; k < 4; k++) {
    pc.d[k] = (uint32_t)dims[k];
    if ((mask >> k) & 1u)
      pc.n_red *= (uint32_t)dims[k];
    else
      pc.n_out *= (uint32_t)dims[k];
  }
  if (pc.n_red / 256 > VK_LOOP_BUDGET)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED,
                    "a reduction over %u elements per output exceeds the per-invocation loop "
                    "budget (%d iterations of 256)",
                    pc.n_red, VK_LOOP_BUDGET);
  uint32_t g[3];
  vk_grid(pc.n_out, 1, g);
  vk_arg a[2] = {x, y};
  return vk_dispatch(r, VK_SH_REDUCE, a, 2, 2u, &pc, sizeof pc, g, e);
}

static nnb_status lower_mean(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *xd = T(r, n->in[0]);
  int64_t d[4];
  dims4(xd, d);
  int axis = n->attr.mean.axis + 4 - xd->rank;
  return vk_reduce_run(r, vk_tensor(r, n->in[0]), vk_tensor(r, n->out[0]), d, 1u << axis,
                       1.0f / (float)xd->dims[n->attr.mean.axis], e);
}

static nnb_status lower_sum_to(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *xd = T(r, n->in[0]), *yd = T(r, n->out[0]);
  int64_t d[4];
  dims4(xd, d);
  uint32_t mask = 0;
  for (int k = 0; k < 4; k++) {
    int yk = k - (4 - yd->rank);
    int64_t target = yk >= 0 ? yd->dims[yk] : 1;
    if (target == 1 && d[k] != 1) mask |= 1u << k;
  }
  return vk_reduce_run(r, vk_tensor(r, n->in[0]), vk_tensor(r, n->out[0]), d, mask, 1.0f, e);
}

nnb_status vk_rows_run(vk_rec *r, vk_rows_pc pc, const vk_arg *args, int n_args,
                       uint32_t write_mask, nnb_error *e) {
  if ((uint64_t)pc.f / 64 * 6 > VK_LOOP_BUDGET)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED,
                    "rows of %u elements exceed the per-invocation loop budget", pc.f);
  uint32_t g[3];
  vk_grid(pc.rows, 1, g);
  return vk_dispatch(r, VK_SH_ROWS, args, n_args, write_mask, &pc, sizeof pc, g, e);
}

static uint32_t last_dim(const nnb_tensor_desc *t) { return (uint32_t)t->dims[t->rank - 1]; }

static nnb_status lower_softmax(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[0]);
  vk_rows_pc pc = {VK_ROWS_SOFTMAX, (uint32_t)(nnb_numel(x) / last_dim(x)), last_dim(x), 0, 0};
  vk_arg a[2] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->out[0])};
  return vk_rows_run(r, pc, a, 2, 2u, e);
}

static nnb_status lower_softmax_bwd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[0]);
  vk_rows_pc pc = {VK_ROWS_SOFTMAX_BWD, (uint32_t)(nnb_numel(x) / last_dim(x)), last_dim(x), 0,
                   1.0f};
  vk_arg a[3] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->in[1]), vk_tensor(r, n->out[0])};
  return vk_rows_run(r, pc, a, 3, 4u, e);
}

static nnb_status lower_layernorm(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[0]);
  vk_rows_pc pc = {VK_ROWS_LAYERNORM, (uint32_t)(nnb_numel(x) / last_dim(x)), last_dim(x), 0,
                   n->attr.layernorm.eps};
  vk_arg a[4] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->in[1]), vk_tensor(r, n->in[2]),
                 vk_tensor(r, n->out[0])};
  return vk_rows_run(r, pc, a, 4, 8u, e);
}

/* dx row by row; dgamma and dbeta as column sums of dy*xhat and dy. */
static nnb_status lower_layernorm_bwd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[1]);
  uint32_t f = last_dim(x), rows = (uint32_t)(nnb_numel(x) / f);
  vk_rows_pc pc = {VK_ROWS_LAYERNORM_BWD, rows, f, 0, n->attr.layernorm.eps};
  vk_arg dyx = vk_ws(r, nnb_nbytes(x));
  vk_arg a[5] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->in[1]), vk_tensor(r, n->in[2]),
                 vk_tensor(r, n->out[0]), dyx};
  nnb_status s = vk_rows_run(r, pc, a, 5, 8u | 16u, e);
  const int64_t d[4] = {1, 1, rows, f};
  if (s == NNB_OK) s = vk_reduce_run(r, dyx, vk_tensor(r, n->out[1]), d, 4u, 1.0f, e);
  if (s == NNB_OK) s = vk_reduce_run(r, a[0], vk_tensor(r, n->out[2]), d, 4u, 1.0f, e);
  return s;
}

typedef struct ce_pc {
  uint32_t op, rows, c, node;
} ce_pc;

static nnb_status ce_rows(vk_rec *r, ce_pc pc, const vk_arg *a, int n_args, nnb_error *e) {
  if ((uint64_t)pc.c / 64 * 3 > VK_LOOP_BUDGET)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED, "%u classes exceed the per-invocation loop budget",
                    pc.c);
  uint32_t g[3];
  vk_grid(pc.rows, 1, g);
  return vk_dispatch(r, VK_SH_CE, a, n_args, 4u, &pc, sizeof pc, g, e);
}

static nnb_status lower_softmax_ce(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[0]);
  uint32_t rows = (uint32_t)x->dims[0];
  vk_arg loss_rows = vk_ws(r, (uint64_t)rows * 4);
  vk_arg a[3] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->in[1]), loss_rows};
  nnb_status s = ce_rows(r, (ce_pc){0, rows, (uint32_t)x->dims[1], (uint32_t)r->node}, a, 3, e);
  const int64_t d[4] = {1, 1, 1, rows};
  if (s == NNB_OK)
    s = vk_reduce_run(r, loss_rows, vk_tensor(r, n->out[0]), d, 8u, 1.0f / (float)rows, e);
  return s;
}

static nnb_status lower_softmax_ce_bwd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[1]);
  vk_arg a[4] = {vk_tensor(r, n->in[1]), vk_tensor(r, n->in[2]), vk_tensor(r, n->out[0]),
                 vk_tensor(r, n->in[0])};
  return ce_rows(r, (ce_pc){1, (uint32_t)x->dims[0], (uint32_t)x->dims[1], (uint32_t)r->node}, a, 4,
                 e);
}

typedef struct pool_pc {
  uint32_t op, n, h, w, oh, ow, kh, kw, sh, sw;
} pool_pc;

static nnb_status pool(vk_rec *r, const nnb_node *n, bool bwd, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[bwd ? 1 : 0]), *y = T(r, bwd ? n->in[0] : n->out[0]);
  const struct nnb_pool_attr *p = &n->attr.pool;
  pool_pc pc = {bwd,
                (uint32_t)nnb_numel(bwd ? x : y),
                (uint32_t)x->dims[2],
                (uint32_t)x->dims[3],
                (uint32_t)y->dims[2],
                (uint32_t)y->dims[3],
                (uint32_t)p->kernel_h,
                (uint32_t)p->kernel_w,
                (uint32_t)p->stride_h,
                (uint32_t)p->stride_w};
  uint64_t trips = (uint64_t)(p->kernel_h / p->stride_h + 1) * (p->kernel_w / p->stride_w + 1) *
                   p->kernel_h * p->kernel_w;
  if (trips > VK_LOOP_BUDGET)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED, "a %dx%d pooling window exceeds the loop budget",
                    p->kernel_h, p->kernel_w);
  uint32_t g[3];
  vk_grid(pc.n, 256, g);
  if (!bwd) {
    vk_arg a[2] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->out[0])};
    return vk_dispatch(r, VK_SH_POOL, a, 2, 2u, &pc, sizeof pc, g, e);
  }
  vk_arg a[3] = {vk_tensor(r, n->in[0]), vk_tensor(r, n->in[1]), vk_tensor(r, n->out[0])};
  return vk_dispatch(r, VK_SH_POOL, a, 3, 4u, &pc, sizeof pc, g, e);
}

static nnb_status lower_pool(vk_rec *r, const nnb_node *n, nnb_error *e) {
  return pool(r, n, false, e);
}
static nnb_status lower_pool_bwd(vk_rec *r, const nnb_node *n, nnb_error *e) {
  return pool(r, n, true, e);
}

/* vk_lower_gemm.c, vk_lower_seq.c */
nnb_status vk_lower_matmul(vk_rec *r, const nnb_node *n, nnb_error *e);
nnb_status vk_lower_conv2d(vk_rec *r, const nnb_node *n, nnb_error *e);
nnb_status vk_lower_conv2d_bwd_data(vk_rec *r, const nnb_node *n, nnb_error *e);
nnb_status vk_lower_conv2d_bwd_weight(vk_rec *r, const nnb_node *n, nnb_error *e);
nnb_status vk_lower_lstm(vk_rec *r, const nnb_node *n, nnb_error *e);
nnb_status vk_lower_lstm_bwd(vk_rec *r, const nnb_node *n, nnb_error *e);
nnb_status vk_lower_attention(vk_rec *r, const nnb_node *n, nnb_error *e);
nnb_status vk_lower_attention_bwd(vk_rec *r, const nnb_node *n, nnb_error *e);

vk_lower_fn vk_lower_for(nnb_op op) {
  switch (op) {
  case NNB_OP_MATMUL: return vk_lower_matmul;
  case NNB_OP_CONV2D: return vk_lower_conv2d;
  case NNB_OP_MAXPOOL2D: return lower_pool;
  case NNB_OP_RELU:
  case NNB_OP_GELU:
  case NNB_OP_TANH:
  case NNB_OP_SIGMOID: return lower_unary;
  case NNB_OP_ADD:
  case NNB_OP_MUL: return lower_binary;
  case NNB_OP_SOFTMAX: return lower_softmax;
  case NNB_OP_LAYERNORM: return lower_layernorm;
  case NNB_OP_LSTM: return vk_lower_lstm;
  case NNB_OP_ATTENTION: return vk_lower_attention;
  case NNB_OP_PERMUTE: return lower_permute;
  case NNB_OP_RESHAPE: return lower_reshape;
  case NNB_OP_SLICE: return lower_slice;
  case NNB_OP_MEAN: return lower_mean;
  case NNB_OP_SOFTMAX_CE: return lower_softmax_ce;
  case NNB_OP_FILL: return lower_fill;
  case NNB_OP_SUM_TO: return lower_sum_to;
  case NNB_OP_CONV2D_BWD_DATA: return vk_lower_conv2d_bwd_data;
  case NNB_OP_CONV2D_BWD_WEIGHT: return vk_lower_conv2d_bwd_weight;
  case NNB_OP_MAXPOOL2D_BWD: return lower_pool_bwd;
  case NNB_OP_ACT_BWD: return lower_act_bwd;
  case NNB_OP_SOFTMAX_BWD: return lower_softmax_bwd;
  case NNB_OP_LAYERNORM_BWD: return lower_layernorm_bwd;
  case NNB_OP_LSTM_BWD: return vk_lower_lstm_bwd;
  case NNB_OP_ATTENTION_BWD: return vk_lower_attention_bwd;
  case NNB_OP_SLICE_BWD: return lower_slice_bwd;
  case NNB_OP_MEAN_BWD: return lower_mean_bwd;
  case NNB_OP_SOFTMAX_CE_BWD: return lower_softmax_ce_bwd;
  case NNB_OP_SGD_MOMENTUM: return lower_sgd;
  case NNB_OP_ADAM: return lower_adam;
  default: return NULL;
  }
}
