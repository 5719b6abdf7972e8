/* FLOP and byte counts per node (docs/ops.md, "Work formulas"). A
 * multiply-add counts as 2 FLOPs; elementwise work as 1 per element. */
#include <nnbench/graph.h>

static double numel(const nnb_graph *g, int t) { return (double)nnb_numel(&g->tensors[t]); }

static double matmul_flops(const nnb_graph *g, const nnb_node *n) {
  const nnb_tensor_desc *a = &g->tensors[n->in[0]];
  double k = (double)(n->attr.matmul.trans_a ? a->dims[a->rank - 2] : a->dims[a->rank - 1]);
  double f = 2.0 * numel(g, n->out[0]) * k;
  if (n->n_in == 3) f += numel(g, n->out[0]);
  return f;
}

double nnb_node_flops(const nnb_graph *g, const nnb_node *n) {
  switch (n->op) {
  case NNB_OP_MATMUL: return matmul_flops(g, n);
  case NNB_OP_CONV2D: {
    const nnb_tensor_desc *w = &g->tensors[n->in[1]];
    double per_out = 2.0 * (double)(w->dims[1] * w->dims[2] * w->dims[3]);
    return numel(g, n->out[0]) * (per_out + (n->n_in == 3 ? 1 : 0));
  }
  case NNB_OP_CONV2D_BWD_DATA: {
    /* The same multiply-adds as the forward: every dy element meets every weight of its O. */
    const nnb_tensor_desc *w = &g->tensors[n->in[1]];
    return 2.0 * numel(g, n->in[0]) * (double)(w->dims[1] * w->dims[2] * w->dims[3]);
  }
  case NNB_OP_CONV2D_BWD_WEIGHT: {
    const nnb_tensor_desc *dw = &g->tensors[n->out[0]];
    double f = 2.0 * numel(g, n->in[0]) * (double)(dw->dims[1] * dw->dims[2] * dw->dims[3]);
    return f + (n->n_out == 2 ? numel(g, n->in[0]) : 0);
  }
  case NNB_OP_MAXPOOL2D: {
    const nnb_attr *a = &n->attr;
    return numel(g, n->out[0]) * a->pool.kernel_h * a->pool.kernel_w;
  }
  case NNB_OP_MAXPOOL2D_BWD: {
    const nnb_attr *a = &n->attr;
    return numel(g, n->in[0]) * a->pool.kernel_h * a->pool.kernel_w;
  }
  case NNB_OP_RELU:
  case NNB_OP_GELU:
  case NNB_OP_TANH:
  case NNB_OP_SIGMOID:
  case NNB_OP_ADD:
  case NNB_OP_MUL: return numel(g, n->out[0]);
  case NNB_OP_ACT_BWD: return 2 * numel(g, n->out[0]);
  case NNB_OP_SOFTMAX: return 4 * numel(g, n->out[0]); /* max, exp, sum, divide */
  case NNB_OP_SOFTMAX_BWD: return 4 * numel(g, n->out[0]);
  case NNB_OP_LAYERNORM: return 8 * numel(g, n->out[0]);
  case NNB_OP_LAYERNORM_BWD: return 14 * numel(g, n->out[0]);
  case NNB_OP_LSTM: {
    const nnb_tensor_desc *x = &g->tensors[n->in[0]], *whh = &g->tensors[n->in[2]];
    double bt = (double)(x->dims[0] * x->dims[1]), h = (double)whh->dims[1], i = (double)x->dims[2];
    return bt * (2.0 * 4 * h * (i + h) + 4 * 4 * h + 6 * h); /* GEMMs, biases, gate math */
  }
  case NNB_OP_LSTM_BWD: {
    const nnb_tensor_desc *x = &g->tensors[n->in[1]], *whh = &g->tensors[n->in[3]];
    double bt = (double)(x->dims[0] * x->dims[1]), h = (double)whh->dims[1], i = (double)x->dims[2];
    return bt * (2.0 * 2 * 4 * h * (i + h) + 20 * h); /* data and weight GEMMs, gate math */
  }
  case NNB_OP_ATTENTION: {
    const nnb_tensor_desc *y = &g->tensors[n->out[0]], *p = &g->tensors[n->out[1]];
    double b = (double)y->dims[0], t = (double)y->dims[1], d = (double)y->dims[2];
    return b * 2.0 * 2.0 * t * t * d + 5 * (double)nnb_numel(p); /* QK^T, PV, scale+softmax */
  }
  case NNB_OP_ATTENTION_BWD: {
    const nnb_tensor_desc *dy = &g->tensors[n->in[0]], *p = &g->tensors[n->in[2]];
    double b = (double)dy->dims[0], t = (double)dy->dims[1], d = (double)dy->dims[2];
    return b * 4.0 * 2.0 * t * t * d + 4 * (double)nnb_numel(p);
  }
  case NNB_OP_MEAN: return numel(g, n->in[0]);
  case NNB_OP_MEAN_BWD: return numel(g, n->out[0]);
  case NNB_OP_SUM_TO: return numel(g, n->in[0]);
  case NNB_OP_SOFTMAX_CE:
  case NNB_OP_SOFTMAX_CE_BWD: return 4 * numel(g, n->in[n->op == NNB_OP_SOFTMAX_CE ? 0 : 1]);
  case NNB_OP_SGD_MOMENTUM: return 4 * numel(g, n->in[0]);
  case NNB_OP_ADAM: return 12 * numel(g, n->in[0]);
  case NNB_OP_PERMUTE:
  case NNB_OP_RESHAPE:
  case NNB_OP_SLICE:
  case NNB_OP_SLICE_BWD:
  case NNB_OP_FILL:
  case NNB_OP_COUNT: return 0;
  }
  return 0;
}

double nnb_node_bytes(const nnb_graph *g, const nnb_node *n) {
  if (n->op == NNB_OP_RESHAPE) return 0;
  double b = 0;
  for (int i = 0; i < n->n_in; i++) b += (double)nnb_nbytes(&g->tensors[n->in[i]]);
  for (int i = 0; i < n->n_out; i++) b += (double)nnb_nbytes(&g->tensors[n->out[i]]);
  /* Updates write back what they read (param and optimizer state). */
  if (n->op == NNB_OP_SGD_MOMENTUM) b += 2.0 * (double)nnb_nbytes(&g->tensors[n->in[0]]);
  if (n->op == NNB_OP_ADAM) b += 3.0 * (double)nnb_nbytes(&g->tensors[n->in[0]]);
  return b;
}
