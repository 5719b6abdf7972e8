/* Each op's preparer, and what this backend can run. */
#include <stdio.h>

#include "dn.h"

dn_prep_fn dn_prep_lookup(nnb_op op) {
  switch (op) {
  case NNB_OP_MATMUL: return dn_prep_matmul;
  case NNB_OP_CONV2D: return dn_prep_conv2d;
  case NNB_OP_MAXPOOL2D: return dn_prep_maxpool2d;
  case NNB_OP_RELU:
  case NNB_OP_GELU:
  case NNB_OP_TANH:
  case NNB_OP_SIGMOID: return dn_prep_eltwise;
  case NNB_OP_ADD:
  case NNB_OP_MUL: return dn_prep_binary;
  case NNB_OP_SOFTMAX: return dn_prep_softmax;
  case NNB_OP_LAYERNORM: return dn_prep_layernorm;
  case NNB_OP_LSTM: return dn_prep_lstm;
  case NNB_OP_ATTENTION: return dn_prep_attention;
  case NNB_OP_PERMUTE: return dn_prep_permute;
  case NNB_OP_RESHAPE: return dn_prep_reshape;
  case NNB_OP_SLICE: return dn_prep_slice;
  case NNB_OP_MEAN: return dn_prep_mean;
  case NNB_OP_SOFTMAX_CE: return dn_prep_softmax_ce;
  case NNB_OP_FILL: return dn_prep_fill;
  case NNB_OP_SUM_TO: return dn_prep_sum_to;
  case NNB_OP_CONV2D_BWD_DATA: return dn_prep_conv2d_bwd_data;
  case NNB_OP_CONV2D_BWD_WEIGHT: return dn_prep_conv2d_bwd_weight;
  case NNB_OP_MAXPOOL2D_BWD: return dn_prep_maxpool2d_bwd;
  case NNB_OP_ACT_BWD: return dn_prep_act_bwd;
  case NNB_OP_SOFTMAX_BWD: return dn_prep_softmax_bwd;
  case NNB_OP_LAYERNORM_BWD: return dn_prep_layernorm_bwd;
  case NNB_OP_LSTM_BWD: return dn_prep_lstm_bwd;
  case NNB_OP_ATTENTION_BWD: return dn_prep_attention_bwd;
  case NNB_OP_SLICE_BWD: return dn_prep_slice_bwd;
  case NNB_OP_MEAN_BWD: return dn_prep_mean_bwd;
  case NNB_OP_SOFTMAX_CE_BWD: return dn_prep_softmax_ce_bwd;
  case NNB_OP_SGD_MOMENTUM: return dn_prep_sgd;
  case NNB_OP_ADAM: return dn_prep_adam;
  case NNB_OP_COUNT: break;
  }
  return NULL;
}

static bool is_label_slot(nnb_op op, int i) {
  return (op == NNB_OP_SOFTMAX_CE && i == 1) || (op == NNB_OP_SOFTMAX_CE_BWD && i == 2);
}

bool dn_supports_node(const nnb_graph *g, const nnb_node *n, nnb_error *why) {
  if (!dn_prep_lookup(n->op)) {
    nnb_fail(why, NNB_ERR_UNSUPPORTED, "onednn has no primitive or kernel for op %d", (int)n->op);
    return false;
  }
  for (int i = 0; i < n->n_in + n->n_out; i++) {
    bool is_in = i < n->n_in;
    const nnb_tensor_desc *t = &g->tensors[is_in ? n->in[i] : n->out[i - n->n_in]];
    nnb_dtype want = is_in && is_label_slot(n->op, i) ? NNB_I32 : NNB_F32;
    if (t->dtype != want) {
      nnb_fail(why, NNB_ERR_UNSUPPORTED, "onednn runs f32 tensors (i32 labels) only; '%.96s' is %s",
               t->name, nnb_dtype_name(t->dtype));
      return false;
    }
  }
  if (n->op == NNB_OP_ACT_BWD) {
    nnb_op a = n->attr.act_bwd.act;
    if (a != NNB_OP_RELU && a != NNB_OP_GELU && a != NNB_OP_TANH && a != NNB_OP_SIGMOID) {
      nnb_fail(why, NNB_ERR_UNSUPPORTED,
               "act_bwd: the activation must be relu, gelu, tanh or sigmoid");
      return false;
    }
  }
  return true;
}

/* About 50 us of work on one thread: below it a parallel region of two
 * costs a large part of the node (and milliseconds on a busy machine,
 * where the second thread must first be scheduled). */
#define PAR_MIN_WORK 262144.0

int dn_threads_for(const nnb_graph *g, const nnb_node *n, int threads) {
  double work = 0;
  for (int i = 0; i < n->n_in; i++) work += (double)nnb_numel(&g->tensors[n->in[i]]);
  for (int i = 0; i < n->n_out; i++) work += (double)nnb_numel(&g->tensors[n->out[i]]);
  const nnb_tensor_desc *a = n->n_in ? &g->tensors[n->in[0]] : NULL;
  const nnb_tensor_desc *b = n->n_in > 1 ? &g->tensors[n->in[1]] : NULL;
  const nnb_tensor_desc *y = n->n_out ? &g->tensors[n->out[0]] : NULL;
  switch (n->op) { /* multiply-adds of the GEMM-shaped ops */
  case NNB_OP_MATMUL:
    work += (double)nnb_numel(y) * (double)a->dims[a->rank - (n->attr.matmul.trans_a ? 2 : 1)];
    break;
  case NNB_OP_CONV2D: work += (double)nnb_numel(y) * (double)(nnb_numel(b) / b->dims[0]); break;
  case NNB_OP_CONV2D_BWD_DATA:
  case NNB_OP_CONV2D_BWD_WEIGHT: /* dy's elements times a filter's (C of w and of x alike) */
    work += (double)nnb_numel(a) * (double)(n->attr.conv.kernel_h * n->attr.conv.kernel_w) *
            (double)b->dims[1];
    break;
  case NNB_OP_LSTM: /* x [B,T,I], w_hh [4H,H]: every step's gates */
  case NNB_OP_LSTM_BWD: {
    const nnb_tensor_desc *x = &g->tensors[n->in[n->op == NNB_OP_LSTM ? 0 : 1]];
    const nnb_tensor_desc *whh = &g->tensors[n->in[n->op == NNB_OP_LSTM ? 2 : 3]];
    work += (double)(x->dims[0] * x->dims[1]) * (double)whh->dims[0] *
            (double)(x->dims[2] + whh->dims[1]);
    break;
  }
  case NNB_OP_ATTENTION: /* qkv [B,T,3D]: two T x T x D products */
  case NNB_OP_ATTENTION_BWD: {
    const nnb_tensor_desc *q = &g->tensors[n->in[n->op == NNB_OP_ATTENTION ? 0 : 1]];
    work += 2.0 * (double)(q->dims[0] * q->dims[1] * q->dims[1]) * (double)(q->dims[2] / 3);
    break;
  }
  default: break;
  }
  return work < PAR_MIN_WORK ? 1 : threads;
}
