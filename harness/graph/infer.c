/* Shape inference: checks every op's inputs against docs/ops.md and derives
 * its outputs. A failure names the node, the op and the shapes involved. */
#include <stdarg.h>
#include <string.h>

#include <nnbench/graph.h>

typedef struct ctx {
  const nnb_graph *g;
  const char *name;
  nnb_op op;
  nnb_error *e;
  char shapes[4][64]; /* a message shows at most four shapes */
  unsigned next;
} ctx;

/* A function, not a macro: several calls in one argument list are then
 * sequenced, each getting its own buffer. */
static const char *shape_str(ctx *c, const nnb_tensor_desc *t) {
  char *buf = c->shapes[c->next++ % 4];
  return nnb_dims_str(t->rank, t->dims, buf, sizeof c->shapes[0]);
}
#define SH(t) shape_str(&c, (t))

static nnb_status fail(const ctx *c, nnb_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static nnb_status fail(const ctx *c, nnb_status s, const char *fmt, ...) {
  char detail[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  return nnb_fail(c->e, s, "node '%s' (%s): %s", c->name, nnb_op_name(c->op), detail);
}

static nnb_tensor_desc desc(nnb_dtype dt, int rank, const int64_t *dims) {
  nnb_tensor_desc d = {.dtype = dt, .rank = rank, .view_of = -1};
  memcpy(d.dims, dims, (size_t)rank * sizeof *dims);
  return d;
}

static nnb_tensor_desc like(const nnb_tensor_desc *t) { return desc(t->dtype, t->rank, t->dims); }

static int same_shape(const nnb_tensor_desc *a, const nnb_tensor_desc *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

/* b broadcasts to a: rank <= a's, trailing-aligned, each dim equal or 1. */
static int broadcasts(const nnb_tensor_desc *b, const nnb_tensor_desc *a) {
  if (b->rank > a->rank) return 0;
  for (int i = 1; i <= b->rank; i++) {
    int64_t bd = b->dims[b->rank - i], ad = a->dims[a->rank - i];
    if (bd != ad && bd != 1) return 0;
  }
  return 1;
}

static int arity_ok(nnb_op op, int n_in) {
  switch (op) {
  case NNB_OP_MATMUL:
  case NNB_OP_CONV2D: return n_in == 2 || n_in == 3;
  case NNB_OP_MAXPOOL2D:
  case NNB_OP_RELU:
  case NNB_OP_GELU:
  case NNB_OP_TANH:
  case NNB_OP_SIGMOID:
  case NNB_OP_SOFTMAX:
  case NNB_OP_ATTENTION:
  case NNB_OP_PERMUTE:
  case NNB_OP_RESHAPE:
  case NNB_OP_SLICE:
  case NNB_OP_MEAN:
  case NNB_OP_SUM_TO:
  case NNB_OP_SLICE_BWD:
  case NNB_OP_MEAN_BWD: return n_in == 1;
  case NNB_OP_FILL: return n_in == 0;
  case NNB_OP_ADD:
  case NNB_OP_MUL:
  case NNB_OP_SOFTMAX_CE:
  case NNB_OP_CONV2D_BWD_DATA:
  case NNB_OP_CONV2D_BWD_WEIGHT:
  case NNB_OP_MAXPOOL2D_BWD:
  case NNB_OP_ACT_BWD:
  case NNB_OP_SOFTMAX_BWD: return n_in == 2;
  case NNB_OP_LAYERNORM:
  case NNB_OP_LAYERNORM_BWD:
  case NNB_OP_ATTENTION_BWD:
  case NNB_OP_SOFTMAX_CE_BWD:
  case NNB_OP_SGD_MOMENTUM: return n_in == 3;
  case NNB_OP_LSTM:
  case NNB_OP_ADAM: return n_in == 5;
  case NNB_OP_LSTM_BWD: return n_in == 6;
  case NNB_OP_COUNT: break;
  }
  return 0;
}

nnb_status nnb_infer(const nnb_graph *g, nnb_op op, const int *in, int n_in, const nnb_attr *attr,
                     const char *name, nnb_tensor_desc *outs, int *n_out, nnb_error *e) {
  ctx c = {.g = g, .name = name ? name : "?", .op = op, .e = e};
  nnb_attr none = {0};
  const nnb_attr *at = attr ? attr : &none;
  *n_out = 0;

  if ((unsigned)op >= NNB_OP_COUNT)
    return nnb_fail(e, NNB_ERR_INVALID, "node '%s': op %d does not exist", c.name, (int)op);
  if (n_in < 0 || n_in > NNB_MAX_IN || !arity_ok(op, n_in))
    return fail(&c, NNB_ERR_INVALID, "%d inputs is not a valid count for this op (docs/ops.md)",
                n_in);
  const nnb_tensor_desc *t[NNB_MAX_IN] = {0};
  for (int i = 0; i < n_in; i++) {
    if (in[i] < 0 || in[i] >= g->n_tensors)
      return fail(&c, NNB_ERR_INVALID, "input %d is tensor id %d, which does not exist", i, in[i]);
    t[i] = &g->tensors[in[i]];
    int label_slot = (op == NNB_OP_SOFTMAX_CE && i == 1) || (op == NNB_OP_SOFTMAX_CE_BWD && i == 2);
    nnb_dtype want = label_slot ? NNB_I32 : NNB_F32;
    if (t[i]->dtype != want)
      return fail(&c, NNB_ERR_INVALID, "input %d ('%s') is %s, expected %s", i, t[i]->name,
                  nnb_dtype_name(t[i]->dtype), nnb_dtype_name(want));
  }

  switch (op) {
  case NNB_OP_MATMUL: {
    const nnb_tensor_desc *a = t[0], *b = t[1];
    if (a->rank < 2 || b->rank < 2)
      return fail(&c, NNB_ERR_SHAPE, "a %s and b %s must both have rank >= 2", SH(a), SH(b));
    int64_t m = at->matmul.trans_a ? a->dims[a->rank - 1] : a->dims[a->rank - 2];
    int64_t ka = at->matmul.trans_a ? a->dims[a->rank - 2] : a->dims[a->rank - 1];
    int64_t kb = at->matmul.trans_b ? b->dims[b->rank - 1] : b->dims[b->rank - 2];
    int64_t nn = at->matmul.trans_b ? b->dims[b->rank - 2] : b->dims[b->rank - 1];
    if (ka != kb)
      return fail(
          &c, NNB_ERR_SHAPE,
          "inner dimensions differ: a %s gives k=%lld, b %s gives k=%lld (trans_a=%d, trans_b=%d)",
          SH(a), (long long)ka, SH(b), (long long)kb, at->matmul.trans_a, at->matmul.trans_b);
    if (b->rank > 2) {
      int ok = a->rank == b->rank;
      for (int i = 0; ok && i < a->rank - 2; i++) ok = a->dims[i] == b->dims[i];
      if (!ok)
        return fail(&c, NNB_ERR_SHAPE,
                    "batched b %s needs a of the same rank and leading dims, a is %s", SH(b),
                    SH(a));
    }
    if (n_in == 3 && !(t[2]->rank == 1 && t[2]->dims[0] == nn))
      return fail(&c, NNB_ERR_SHAPE, "bias %s must be [%lld] for output columns n=%lld", SH(t[2]),
                  (long long)nn, (long long)nn);
    nnb_tensor_desc o = like(a);
    o.dims[a->rank - 2] = m;
    o.dims[a->rank - 1] = nn;
    outs[(*n_out)++] = o;
    break;
  }
  case NNB_OP_CONV2D: {
    const nnb_tensor_desc *x = t[0], *w = t[1];
    if (x->rank != 4 || w->rank != 4)
      return fail(&c, NNB_ERR_SHAPE, "x %s and w %s must be rank 4 (NCHW, OIHW)", SH(x), SH(w));
    if (x->dims[1] != w->dims[1])
      return fail(&c, NNB_ERR_SHAPE, "x %s has %lld channels, w %s expects %lld", SH(x),
                  (long long)x->dims[1], SH(w), (long long)w->dims[1]);
    if (n_in == 3 && !(t[2]->rank == 1 && t[2]->dims[0] == w->dims[0]))
      return fail(&c, NNB_ERR_SHAPE, "bias %s must be [%lld]", SH(t[2]), (long long)w->dims[0]);
    const struct nnb_conv_attr *cv = &at->conv;
    if (cv->stride_h < 1 || cv->stride_w < 1 || cv->pad_h < 0 || cv->pad_w < 0)
      return fail(&c, NNB_ERR_INVALID, "stride %dx%d must be >= 1 and padding %dx%d >= 0",
                  cv->stride_h, cv->stride_w, cv->pad_h, cv->pad_w);
    int64_t oh = (x->dims[2] + 2 * cv->pad_h - w->dims[2]) / cv->stride_h + 1;
    int64_t ow = (x->dims[3] + 2 * cv->pad_w - w->dims[3]) / cv->stride_w + 1;
    if (x->dims[2] + 2 * cv->pad_h < w->dims[2] || x->dims[3] + 2 * cv->pad_w < w->dims[3])
      return fail(&c, NNB_ERR_SHAPE, "kernel %s is larger than the padded input %s", SH(w), SH(x));
    int64_t d[4] = {x->dims[0], w->dims[0], oh, ow};
    outs[(*n_out)++] = desc(NNB_F32, 4, d);
    break;
  }
  case NNB_OP_MAXPOOL2D: {
    const nnb_tensor_desc *x = t[0];
    const struct nnb_pool_attr *p = &at->pool;
    if (x->rank != 4) return fail(&c, NNB_ERR_SHAPE, "x %s must be rank 4 (NCHW)", SH(x));
    if (p->kernel_h < 1 || p->kernel_w < 1 || p->stride_h < 1 || p->stride_w < 1)
      return fail(&c, NNB_ERR_INVALID, "kernel %dx%d and stride %dx%d must be >= 1", p->kernel_h,
                  p->kernel_w, p->stride_h, p->stride_w);
    if (x->dims[2] < p->kernel_h || x->dims[3] < p->kernel_w)
      return fail(&c, NNB_ERR_SHAPE, "window %dx%d is larger than the input %s", p->kernel_h,
                  p->kernel_w, SH(x));
    int64_t d[4] = {x->dims[0], x->dims[1], (x->dims[2] - p->kernel_h) / p->stride_h + 1,
                    (x->dims[3] - p->kernel_w) / p->stride_w + 1};
    outs[(*n_out)++] = desc(NNB_F32, 4, d);
    break;
  }
  case NNB_OP_RELU:
  case NNB_OP_GELU:
  case NNB_OP_TANH:
  case NNB_OP_SIGMOID:
  case NNB_OP_SOFTMAX: outs[(*n_out)++] = like(t[0]); break;
  case NNB_OP_ADD:
  case NNB_OP_MUL:
    if (!broadcasts(t[1], t[0]))
      return fail(&c, NNB_ERR_SHAPE, "b %s does not broadcast to a %s (trailing-aligned)", SH(t[1]),
                  SH(t[0]));
    outs[(*n_out)++] = like(t[0]);
    break;
  case NNB_OP_LAYERNORM: {
    int64_t f = t[0]->dims[t[0]->rank - 1];
    for (int i = 1; i < 3; i++)
      if (!(t[i]->rank == 1 && t[i]->dims[0] == f))
        return fail(&c, NNB_ERR_SHAPE, "%s %s must be [%lld] to match x %s",
                    i == 1 ? "gamma" : "beta", SH(t[i]), (long long)f, SH(t[0]));
    if (!(at->layernorm.eps > 0))
      return fail(&c, NNB_ERR_INVALID, "eps %g must be > 0", (double)at->layernorm.eps);
    outs[(*n_out)++] = like(t[0]);
    break;
  }
  case NNB_OP_LSTM: {
    const nnb_tensor_desc *x = t[0];
    if (x->rank != 3) return fail(&c, NNB_ERR_SHAPE, "x %s must be [B,T,I]", SH(x));
    if (t[2]->rank != 2 || t[2]->dims[0] != 4 * t[2]->dims[1])
      return fail(&c, NNB_ERR_SHAPE, "w_hh %s must be [4H,H]", SH(t[2]));
    int64_t h = t[2]->dims[1];
    if (!(t[1]->rank == 2 && t[1]->dims[0] == 4 * h && t[1]->dims[1] == x->dims[2]))
      return fail(&c, NNB_ERR_SHAPE, "w_ih %s must be [%lld,%lld] (4H, I of x %s)", SH(t[1]),
                  (long long)(4 * h), (long long)x->dims[2], SH(x));
    for (int i = 3; i < 5; i++)
      if (!(t[i]->rank == 1 && t[i]->dims[0] == 4 * h))
        return fail(&c, NNB_ERR_SHAPE, "%s %s must be [%lld]", i == 3 ? "b_ih" : "b_hh", SH(t[i]),
                    (long long)(4 * h));
    int64_t y[3] = {x->dims[0], x->dims[1], h}, cache[3] = {x->dims[0], x->dims[1], 5 * h};
    outs[(*n_out)++] = desc(NNB_F32, 3, y);
    outs[(*n_out)++] = desc(NNB_F32, 3, cache);
    break;
  }
  case NNB_OP_ATTENTION: {
    const nnb_tensor_desc *x = t[0];
    int heads = at->attention.heads;
    if (x->rank != 3 || x->dims[2] % 3)
      return fail(&c, NNB_ERR_SHAPE, "qkv %s must be [B,T,3D]", SH(x));
    int64_t d = x->dims[2] / 3;
    if (heads < 1 || d % heads)
      return fail(&c, NNB_ERR_INVALID, "heads=%d must divide the model width D=%lld", heads,
                  (long long)d);
    int64_t y[3] = {x->dims[0], x->dims[1], d}, p[4] = {x->dims[0], heads, x->dims[1], x->dims[1]};
    outs[(*n_out)++] = desc(NNB_F32, 3, y);
    outs[(*n_out)++] = desc(NNB_F32, 4, p);
    break;
  }
  case NNB_OP_PERMUTE: {
    const nnb_tensor_desc *x = t[0];
    int seen[NNB_MAX_RANK] = {0};
    nnb_tensor_desc o = like(x);
    for (int i = 0; i < x->rank; i++) {
      int p = at->permute.perm[i];
      if (p < 0 || p >= x->rank || seen[p]++)
        return fail(&c, NNB_ERR_INVALID, "perm is not a permutation of 0..%d for x %s", x->rank - 1,
                    SH(x));
      o.dims[i] = x->dims[p];
    }
    outs[(*n_out)++] = o;
    break;
  }
  case NNB_OP_RESHAPE: {
    const nnb_tensor_desc *x = t[0];
    if (at->shape.rank < 1 || at->shape.rank > NNB_MAX_RANK)
      return fail(&c, NNB_ERR_INVALID, "target rank %d, expected 1..%d", at->shape.rank,
                  NNB_MAX_RANK);
    nnb_tensor_desc o = desc(x->dtype, at->shape.rank, at->shape.dims);
    if (nnb_numel(&o) != nnb_numel(x) || o.dims[0] < 1)
      return fail(&c, NNB_ERR_SHAPE, "cannot view x %s (%lld elements) as %s", SH(x),
                  (long long)nnb_numel(x), SH(&o));
    o.view_of = x->view_of >= 0 ? x->view_of : in[0];
    outs[(*n_out)++] = o;
    break;
  }
  case NNB_OP_SLICE:
  case NNB_OP_SLICE_BWD: {
    const nnb_tensor_desc *x = t[0];
    const struct nnb_slice_attr *s = &at->slice;
    if (s->axis < 0 || s->axis >= x->rank)
      return fail(&c, NNB_ERR_INVALID, "axis %d outside x %s", s->axis, SH(x));
    nnb_tensor_desc o = like(x);
    if (op == NNB_OP_SLICE) {
      if (s->start < 0 || s->length < 1 || s->start + s->length > x->dims[s->axis])
        return fail(&c, NNB_ERR_SHAPE, "[%lld, %lld) is outside axis %d of x %s",
                    (long long)s->start, (long long)(s->start + s->length), s->axis, SH(x));
      o.dims[s->axis] = s->length;
    } else {
      if (x->dims[s->axis] != s->length || s->start < 0 || s->start + s->length > s->full)
        return fail(&c, NNB_ERR_SHAPE, "dy %s does not fit slice [%lld, %lld) of an axis of %lld",
                    SH(x), (long long)s->start, (long long)(s->start + s->length),
                    (long long)s->full);
      o.dims[s->axis] = s->full;
    }
    outs[(*n_out)++] = o;
    break;
  }
  case NNB_OP_MEAN: {
    const nnb_tensor_desc *x = t[0];
    int ax = at->mean.axis;
    if (ax < 0 || ax >= x->rank)
      return fail(&c, NNB_ERR_INVALID, "axis %d outside x %s", ax, SH(x));
    nnb_tensor_desc o = like(x);
    if (x->rank == 1) {
      o.dims[0] = 1;
    } else {
      for (int i = ax; i < x->rank - 1; i++) o.dims[i] = x->dims[i + 1];
      o.rank--;
    }
    outs[(*n_out)++] = o;
    break;
  }
  case NNB_OP_MEAN_BWD: {
    const nnb_tensor_desc *dy = t[0];
    int ax = at->mean.axis;
    if (at->mean.n < 1)
      return fail(&c, NNB_ERR_INVALID, "axis size n=%lld must be >= 1", (long long)at->mean.n);
    nnb_tensor_desc o = like(dy);
    if (ax == 0 && dy->rank == 1 && dy->dims[0] == 1) {
      o.dims[0] = at->mean.n; /* the backward of a rank-1 mean */
    } else {
      if (ax < 0 || ax > dy->rank || dy->rank + 1 > NNB_MAX_RANK)
        return fail(&c, NNB_ERR_INVALID, "axis %d cannot be inserted into dy %s", ax, SH(dy));
      for (int i = dy->rank; i > ax; i--) o.dims[i] = dy->dims[i - 1];
      o.dims[ax] = at->mean.n;
      o.rank++;
    }
    outs[(*n_out)++] = o;
    break;
  }
  case NNB_OP_SOFTMAX_CE:
  case NNB_OP_SOFTMAX_CE_BWD: {
    const nnb_tensor_desc *lg = t[op == NNB_OP_SOFTMAX_CE ? 0 : 1];
    const nnb_tensor_desc *lb = t[op == NNB_OP_SOFTMAX_CE ? 1 : 2];
    if (lg->rank != 2) return fail(&c, NNB_ERR_SHAPE, "logits %s must be [B,C]", SH(lg));
    if (!(lb->rank == 1 && lb->dims[0] == lg->dims[0]))
      return fail(&c, NNB_ERR_SHAPE, "labels %s must be [%lld] for logits %s", SH(lb),
                  (long long)lg->dims[0], SH(lg));
    if (op == NNB_OP_SOFTMAX_CE) {
      int64_t one = 1;
      outs[(*n_out)++] = desc(NNB_F32, 1, &one);
    } else {
      if (nnb_numel(t[0]) != 1) return fail(&c, NNB_ERR_SHAPE, "dloss %s must be [1]", SH(t[0]));
      outs[(*n_out)++] = like(lg);
    }
    break;
  }
  case NNB_OP_FILL:
  case NNB_OP_SUM_TO: {
    if (at->shape.rank < 1 || at->shape.rank > NNB_MAX_RANK)
      return fail(&c, NNB_ERR_INVALID, "target rank %d, expected 1..%d", at->shape.rank,
                  NNB_MAX_RANK);
    nnb_tensor_desc o = desc(NNB_F32, at->shape.rank, at->shape.dims);
    for (int i = 0; i < o.rank; i++)
      if (o.dims[i] < 1) return fail(&c, NNB_ERR_SHAPE, "target %s has a dimension < 1", SH(&o));
    if (op == NNB_OP_SUM_TO && !broadcasts(&o, t[0]))
      return fail(&c, NNB_ERR_SHAPE, "target %s does not broadcast to x %s", SH(&o), SH(t[0]));
    outs[(*n_out)++] = o;
    break;
  }
  case NNB_OP_CONV2D_BWD_DATA:
  case NNB_OP_CONV2D_BWD_WEIGHT: {
    const nnb_tensor_desc *dy = t[0], *other = t[1];
    const struct nnb_conv_attr *cv = &at->conv;
    if (dy->rank != 4 || other->rank != 4)
      return fail(&c, NNB_ERR_SHAPE, "dy %s and %s %s must be rank 4", SH(dy),
                  op == NNB_OP_CONV2D_BWD_DATA ? "w" : "x", SH(other));
    if (cv->stride_h < 1 || cv->stride_w < 1 || cv->kernel_h < 1 || cv->kernel_w < 1)
      return fail(&c, NNB_ERR_INVALID, "stride and kernel size must be set (>= 1)");
    if (op == NNB_OP_CONV2D_BWD_DATA) {
      if (dy->dims[1] != other->dims[0])
        return fail(&c, NNB_ERR_SHAPE, "dy %s has %lld channels, w %s has %lld outputs", SH(dy),
                    (long long)dy->dims[1], SH(other), (long long)other->dims[0]);
      int64_t d[4] = {dy->dims[0], other->dims[1], cv->in_h, cv->in_w};
      if ((cv->in_h + 2 * cv->pad_h - other->dims[2]) / cv->stride_h + 1 != dy->dims[2] ||
          (cv->in_w + 2 * cv->pad_w - other->dims[3]) / cv->stride_w + 1 != dy->dims[3])
        return fail(&c, NNB_ERR_SHAPE, "dy %s is not the conv output of an input %lldx%lld", SH(dy),
                    (long long)cv->in_h, (long long)cv->in_w);
      outs[(*n_out)++] = desc(NNB_F32, 4, d);
    } else {
      const nnb_tensor_desc *x = other;
      if (dy->dims[0] != x->dims[0] ||
          (x->dims[2] + 2 * cv->pad_h - cv->kernel_h) / cv->stride_h + 1 != dy->dims[2] ||
          (x->dims[3] + 2 * cv->pad_w - cv->kernel_w) / cv->stride_w + 1 != dy->dims[3])
        return fail(&c, NNB_ERR_SHAPE, "dy %s is not the conv output of x %s with a %dx%d kernel",
                    SH(dy), SH(x), cv->kernel_h, cv->kernel_w);
      int64_t d[4] = {dy->dims[1], x->dims[1], cv->kernel_h, cv->kernel_w};
      outs[(*n_out)++] = desc(NNB_F32, 4, d);
      if (cv->has_bias) outs[(*n_out)++] = desc(NNB_F32, 1, &dy->dims[1]);
    }
    break;
  }
  case NNB_OP_MAXPOOL2D_BWD:
  case NNB_OP_ACT_BWD:
  case NNB_OP_SOFTMAX_BWD: {
    const nnb_tensor_desc *dy = t[0], *x = t[1];
    if (op == NNB_OP_MAXPOOL2D_BWD) {
      const struct nnb_pool_attr *p = &at->pool;
      if (x->rank != 4 || dy->rank != 4 || p->stride_h < 1 || p->stride_w < 1 ||
          dy->dims[2] != (x->dims[2] - p->kernel_h) / p->stride_h + 1 ||
          dy->dims[3] != (x->dims[3] - p->kernel_w) / p->stride_w + 1 || dy->dims[1] != x->dims[1])
        return fail(&c, NNB_ERR_SHAPE, "dy %s is not the pooled shape of x %s", SH(dy), SH(x));
    } else if (!same_shape(dy, x)) {
      return fail(&c, NNB_ERR_SHAPE, "dy %s and %s %s differ", SH(dy),
                  op == NNB_OP_ACT_BWD ? "x" : "y", SH(x));
    }
    if (op == NNB_OP_ACT_BWD) {
      nnb_op a = at->act_bwd.act;
      if (a != NNB_OP_RELU && a != NNB_OP_GELU && a != NNB_OP_TANH && a != NNB_OP_SIGMOID)
        return fail(&c, NNB_ERR_INVALID, "act must be relu, gelu, tanh or sigmoid, not %s",
                    nnb_op_name(a));
    }
    outs[(*n_out)++] = like(x);
    break;
  }
  case NNB_OP_LAYERNORM_BWD:
    if (!same_shape(t[0], t[1]) ||
        !(t[2]->rank == 1 && t[2]->dims[0] == t[1]->dims[t[1]->rank - 1]))
      return fail(&c, NNB_ERR_SHAPE, "dy %s, x %s and gamma %s do not fit", SH(t[0]), SH(t[1]),
                  SH(t[2]));
    outs[(*n_out)++] = like(t[1]);
    outs[(*n_out)++] = like(t[2]);
    outs[(*n_out)++] = like(t[2]);
    break;
  case NNB_OP_LSTM_BWD: {
    const nnb_tensor_desc *dy = t[0], *x = t[1], *wih = t[2], *whh = t[3];
    if (x->rank != 3 || wih->rank != 2 || whh->rank != 2)
      return fail(&c, NNB_ERR_SHAPE, "x %s, w_ih %s, w_hh %s: expected [B,T,I], [4H,I], [4H,H]",
                  SH(x), SH(wih), SH(whh));
    int64_t h = whh->dims[1];
    int64_t yd[3] = {x->dims[0], x->dims[1], h}, cd[3] = {x->dims[0], x->dims[1], 5 * h};
    nnb_tensor_desc ye = desc(NNB_F32, 3, yd), ce = desc(NNB_F32, 3, cd);
    if (!same_shape(dy, &ye) || !same_shape(t[4], &ye) || !same_shape(t[5], &ce) ||
        wih->dims[0] != 4 * h || wih->dims[1] != x->dims[2] || whh->dims[0] != 4 * h)
      return fail(&c, NNB_ERR_SHAPE, "dy %s, y %s, cache %s do not fit x %s and H=%lld", SH(dy),
                  SH(t[4]), SH(t[5]), SH(x), (long long)h);
    int64_t b4 = 4 * h;
    outs[(*n_out)++] = like(x);
    outs[(*n_out)++] = like(wih);
    outs[(*n_out)++] = like(whh);
    outs[(*n_out)++] = desc(NNB_F32, 1, &b4);
    break;
  }
  case NNB_OP_ATTENTION_BWD: {
    const nnb_tensor_desc *dy = t[0], *qkv = t[1], *p = t[2];
    int heads = at->attention.heads;
    if (qkv->rank != 3 || dy->rank != 3 || p->rank != 4 || heads < 1 ||
        qkv->dims[2] != 3 * dy->dims[2] || dy->dims[0] != qkv->dims[0] ||
        dy->dims[1] != qkv->dims[1] || p->dims[0] != qkv->dims[0] || p->dims[1] != heads ||
        p->dims[2] != qkv->dims[1] || p->dims[3] != qkv->dims[1] || dy->dims[2] % heads)
      return fail(&c, NNB_ERR_SHAPE, "dy %s, qkv %s, probs %s do not fit %d heads", SH(dy), SH(qkv),
                  SH(p), heads);
    outs[(*n_out)++] = like(qkv);
    break;
  }
  case NNB_OP_SGD_MOMENTUM:
  case NNB_OP_ADAM:
    for (int i = 1; i < (op == NNB_OP_ADAM ? 4 : 3); i++)
      if (!same_shape(t[0], t[i]))
        return fail(&c, NNB_ERR_SHAPE, "input %d ('%s') %s differs from param %s", i, t[i]->name,
                    SH(t[i]), SH(t[0]));
    if (op == NNB_OP_ADAM && nnb_numel(t[4]) != 1)
      return fail(&c, NNB_ERR_SHAPE, "step %s must be [1]", SH(t[4]));
    break;
  case NNB_OP_COUNT: break;
  }
  return NNB_OK;
}
