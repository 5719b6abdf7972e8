/* Each op's kernel and workspace size, and what this backend can run. */
#include <limits.h>
#include <stdio.h>

#include "ob.h"

ob_op_impl ob_op_lookup(nnb_op op) {
  switch (op) {
  case NNB_OP_MATMUL: return (ob_op_impl){ob_matmul, NULL};
  case NNB_OP_CONV2D: return (ob_op_impl){ob_conv2d, ob_conv2d_ws};
  case NNB_OP_MAXPOOL2D: return (ob_op_impl){ob_maxpool2d, NULL};
  case NNB_OP_RELU: return (ob_op_impl){ob_relu, NULL};
  case NNB_OP_GELU: return (ob_op_impl){ob_gelu, NULL};
  case NNB_OP_TANH: return (ob_op_impl){ob_tanh, NULL};
  case NNB_OP_SIGMOID: return (ob_op_impl){ob_sigmoid, NULL};
  case NNB_OP_ADD: return (ob_op_impl){ob_add, NULL};
  case NNB_OP_MUL: return (ob_op_impl){ob_mul, NULL};
  case NNB_OP_SOFTMAX: return (ob_op_impl){ob_softmax, NULL};
  case NNB_OP_LAYERNORM: return (ob_op_impl){ob_layernorm, NULL};
  case NNB_OP_LSTM: return (ob_op_impl){ob_lstm, ob_lstm_ws};
  case NNB_OP_ATTENTION: return (ob_op_impl){ob_attention, NULL};
  case NNB_OP_PERMUTE: return (ob_op_impl){ob_permute, NULL};
  case NNB_OP_RESHAPE: return (ob_op_impl){ob_reshape, NULL};
  case NNB_OP_SLICE: return (ob_op_impl){ob_slice, NULL};
  case NNB_OP_MEAN: return (ob_op_impl){ob_mean, NULL};
  case NNB_OP_SOFTMAX_CE: return (ob_op_impl){ob_softmax_ce, NULL};
  case NNB_OP_FILL: return (ob_op_impl){ob_fill, NULL};
  case NNB_OP_SUM_TO: return (ob_op_impl){ob_sum_to, ob_sum_to_ws};
  case NNB_OP_CONV2D_BWD_DATA: return (ob_op_impl){ob_conv2d_bwd_data, ob_conv2d_bwd_data_ws};
  case NNB_OP_CONV2D_BWD_WEIGHT: return (ob_op_impl){ob_conv2d_bwd_weight, ob_conv2d_bwd_weight_ws};
  case NNB_OP_MAXPOOL2D_BWD: return (ob_op_impl){ob_maxpool2d_bwd, NULL};
  case NNB_OP_ACT_BWD: return (ob_op_impl){ob_act_bwd, NULL};
  case NNB_OP_SOFTMAX_BWD: return (ob_op_impl){ob_softmax_bwd, NULL};
  case NNB_OP_LAYERNORM_BWD: return (ob_op_impl){ob_layernorm_bwd, ob_layernorm_bwd_ws};
  case NNB_OP_LSTM_BWD: return (ob_op_impl){ob_lstm_bwd, ob_lstm_bwd_ws};
  case NNB_OP_ATTENTION_BWD: return (ob_op_impl){ob_attention_bwd, ob_attention_bwd_ws};
  case NNB_OP_SLICE_BWD: return (ob_op_impl){ob_slice_bwd, NULL};
  case NNB_OP_MEAN_BWD: return (ob_op_impl){ob_mean_bwd, NULL};
  case NNB_OP_SOFTMAX_CE_BWD: return (ob_op_impl){ob_softmax_ce_bwd, NULL};
  case NNB_OP_SGD_MOMENTUM: return (ob_op_impl){ob_sgd_momentum, NULL};
  case NNB_OP_ADAM: return (ob_op_impl){ob_adam, NULL};
  case NNB_OP_COUNT: break;
  }
  return (ob_op_impl){NULL, NULL};
}

static bool is_label_slot(nnb_op op, int i) {
  return (op == NNB_OP_SOFTMAX_CE && i == 1) || (op == NNB_OP_SOFTMAX_CE_BWD && i == 2);
}

static bool refuse(nnb_error *why, const char *what) {
  nnb_fail(why, NNB_ERR_UNSUPPORTED, "%s", what);
  return false;
}

bool ob_supports_node(const nnb_graph *g, const nnb_node *n, nnb_error *why) {
  char msg[256];
  if (!ob_op_lookup(n->op).run) {
    snprintf(msg, sizeof msg, "openblas has no kernel for op %d", (int)n->op);
    return refuse(why, msg);
  }
  for (int i = 0; i < n->n_in + n->n_out; i++) {
    bool is_in = i < n->n_in;
    const nnb_tensor_desc *t = &g->tensors[is_in ? n->in[i] : n->out[i - n->n_in]];
    nnb_dtype want = is_in && is_label_slot(n->op, i) ? NNB_I32 : NNB_F32;
    if (t->dtype != want) {
      snprintf(msg, sizeof msg, "openblas runs f32 tensors (i32 labels) only; '%.96s' is %s",
               t->name, nnb_dtype_name(t->dtype));
      return refuse(why, msg);
    }
    if (nnb_numel(t) > INT_MAX) { /* OpenBLAS takes 32-bit sizes and leading dimensions */
      snprintf(msg, sizeof msg, "tensor '%.96s' has more than 2^31-1 elements", t->name);
      return refuse(why, msg);
    }
  }
  if (n->op == NNB_OP_ACT_BWD) {
    nnb_op a = n->attr.act_bwd.act;
    if (a != NNB_OP_RELU && a != NNB_OP_GELU && a != NNB_OP_TANH && a != NNB_OP_SIGMOID)
      return refuse(why, "act_bwd: the activation must be relu, gelu, tanh or sigmoid");
  }
  return true;
}
