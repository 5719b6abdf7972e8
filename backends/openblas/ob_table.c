/* Which kernel runs each op. Every op of the graph IR has one: the backend
 * reports none as unsupported. */
#include "ob.h"

ob_kernel ob_kernel_for(nnb_op op) {
  switch (op) {
  case NNB_OP_MATMUL: return (ob_kernel){ob_matmul, NULL};
  case NNB_OP_CONV2D: return (ob_kernel){ob_conv2d, ob_conv2d_ws};
  case NNB_OP_MAXPOOL2D: return (ob_kernel){ob_maxpool2d, NULL};
  case NNB_OP_RELU: return (ob_kernel){ob_relu, NULL};
  case NNB_OP_GELU: return (ob_kernel){ob_gelu, NULL};
  case NNB_OP_TANH: return (ob_kernel){ob_tanh, NULL};
  case NNB_OP_SIGMOID: return (ob_kernel){ob_sigmoid, NULL};
  case NNB_OP_ADD: return (ob_kernel){ob_add, NULL};
  case NNB_OP_MUL: return (ob_kernel){ob_mul, NULL};
  case NNB_OP_SOFTMAX: return (ob_kernel){ob_softmax, NULL};
  case NNB_OP_LAYERNORM: return (ob_kernel){ob_layernorm, NULL};
  case NNB_OP_LSTM: return (ob_kernel){ob_lstm, ob_lstm_ws};
  case NNB_OP_ATTENTION: return (ob_kernel){ob_attention, NULL};
  case NNB_OP_PERMUTE: return (ob_kernel){ob_permute, NULL};
  case NNB_OP_RESHAPE: return (ob_kernel){ob_reshape, NULL};
  case NNB_OP_SLICE: return (ob_kernel){ob_slice, NULL};
  case NNB_OP_MEAN: return (ob_kernel){ob_mean, NULL};
  case NNB_OP_SOFTMAX_CE: return (ob_kernel){ob_softmax_ce, NULL};
  case NNB_OP_FILL: return (ob_kernel){ob_fill, NULL};
  case NNB_OP_SUM_TO: return (ob_kernel){ob_sum_to, ob_sum_to_ws};
  case NNB_OP_CONV2D_BWD_DATA: return (ob_kernel){ob_conv2d_bwd_data, ob_conv2d_bwd_data_ws};
  case NNB_OP_CONV2D_BWD_WEIGHT: return (ob_kernel){ob_conv2d_bwd_weight, ob_conv2d_bwd_weight_ws};
  case NNB_OP_MAXPOOL2D_BWD: return (ob_kernel){ob_maxpool2d_bwd, NULL};
  case NNB_OP_ACT_BWD: return (ob_kernel){ob_act_bwd, NULL};
  case NNB_OP_SOFTMAX_BWD: return (ob_kernel){ob_softmax_bwd, NULL};
  case NNB_OP_LAYERNORM_BWD: return (ob_kernel){ob_layernorm_bwd, ob_layernorm_bwd_ws};
  case NNB_OP_LSTM_BWD: return (ob_kernel){ob_lstm_bwd, ob_lstm_bwd_ws};
  case NNB_OP_ATTENTION_BWD: return (ob_kernel){ob_attention_bwd, ob_attention_bwd_ws};
  case NNB_OP_SLICE_BWD: return (ob_kernel){ob_slice_bwd, NULL};
  case NNB_OP_MEAN_BWD: return (ob_kernel){ob_mean_bwd, NULL};
  case NNB_OP_SOFTMAX_CE_BWD: return (ob_kernel){ob_softmax_ce_bwd, NULL};
  case NNB_OP_SGD_MOMENTUM: return (ob_kernel){ob_sgd_momentum, NULL};
  case NNB_OP_ADAM: return (ob_kernel){ob_adam, NULL};
  default: return (ob_kernel){NULL, NULL};
  }
}
