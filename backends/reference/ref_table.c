/* Maps each op to its reference kernel. */
#include "ref.h"

ref_kernel ref_kernel_for(nnb_op op) {
  switch (op) {
  case NNB_OP_MATMUL: return ref_matmul;
  case NNB_OP_CONV2D: return ref_conv2d;
  case NNB_OP_MAXPOOL2D: return ref_maxpool2d;
  case NNB_OP_RELU: return ref_relu;
  case NNB_OP_GELU: return ref_gelu;
  case NNB_OP_TANH: return ref_tanh;
  case NNB_OP_SIGMOID: return ref_sigmoid;
  case NNB_OP_ADD: return ref_add;
  case NNB_OP_MUL: return ref_mul;
  case NNB_OP_SOFTMAX: return ref_softmax;
  case NNB_OP_LAYERNORM: return ref_layernorm;
  case NNB_OP_LSTM: return ref_lstm;
  case NNB_OP_ATTENTION: return ref_attention;
  case NNB_OP_PERMUTE: return ref_permute;
  case NNB_OP_RESHAPE: return ref_reshape;
  case NNB_OP_SLICE: return ref_slice;
  case NNB_OP_MEAN: return ref_mean;
  case NNB_OP_SOFTMAX_CE: return ref_softmax_ce;
  case NNB_OP_FILL: return ref_fill;
  case NNB_OP_SUM_TO: return ref_sum_to;
  case NNB_OP_CONV2D_BWD_DATA: return ref_conv2d_bwd_data;
  case NNB_OP_CONV2D_BWD_WEIGHT: return ref_conv2d_bwd_weight;
  case NNB_OP_MAXPOOL2D_BWD: return ref_maxpool2d_bwd;
  case NNB_OP_ACT_BWD: return ref_act_bwd;
  case NNB_OP_SOFTMAX_BWD: return ref_softmax_bwd;
  case NNB_OP_LAYERNORM_BWD: return ref_layernorm_bwd;
  case NNB_OP_LSTM_BWD: return ref_lstm_bwd;
  case NNB_OP_ATTENTION_BWD: return ref_attention_bwd;
  case NNB_OP_SLICE_BWD: return ref_slice_bwd;
  case NNB_OP_MEAN_BWD: return ref_mean_bwd;
  case NNB_OP_SOFTMAX_CE_BWD: return ref_softmax_ce_bwd;
  case NNB_OP_SGD_MOMENTUM: return ref_sgd_momentum;
  case NNB_OP_ADAM: return ref_adam;
  case NNB_OP_COUNT: break;
  }
  return 0;
}
