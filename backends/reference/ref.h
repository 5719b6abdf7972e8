/* Reference kernels: one function per op, naive and obviously correct,
 * accumulating in double. Each reads io->in[i] / writes io->out[i] (host
 * pointers to contiguous row-major data described by io->ti[i] / io->to[i])
 * and the node's attributes. Semantics: docs/ops.md. */
#ifndef NNB_REF_H
#define NNB_REF_H

#include <nnbench/graph.h>

typedef struct ref_io {
  const nnb_node *n;
  const nnb_tensor_desc *ti[NNB_MAX_IN];
  const nnb_tensor_desc *to[NNB_MAX_OUT];
  void *in[NNB_MAX_IN];
  void *out[NNB_MAX_OUT];
} ref_io;

typedef nnb_status (*ref_kernel)(const ref_io *io, nnb_error *e);

/* The kernel for an op, or NULL. */
ref_kernel ref_kernel_for(nnb_op op);

/* ref_dense.c */
nnb_status ref_matmul(const ref_io *io, nnb_error *e);
nnb_status ref_add(const ref_io *io, nnb_error *e);
nnb_status ref_mul(const ref_io *io, nnb_error *e);
nnb_status ref_permute(const ref_io *io, nnb_error *e);
nnb_status ref_reshape(const ref_io *io, nnb_error *e);
nnb_status ref_slice(const ref_io *io, nnb_error *e);
nnb_status ref_slice_bwd(const ref_io *io, nnb_error *e);
nnb_status ref_mean(const ref_io *io, nnb_error *e);
nnb_status ref_mean_bwd(const ref_io *io, nnb_error *e);
nnb_status ref_fill(const ref_io *io, nnb_error *e);
nnb_status ref_sum_to(const ref_io *io, nnb_error *e);

/* ref_conv.c */
nnb_status ref_conv2d(const ref_io *io, nnb_error *e);
nnb_status ref_conv2d_bwd_data(const ref_io *io, nnb_error *e);
nnb_status ref_conv2d_bwd_weight(const ref_io *io, nnb_error *e);
nnb_status ref_maxpool2d(const ref_io *io, nnb_error *e);
nnb_status ref_maxpool2d_bwd(const ref_io *io, nnb_error *e);

/* ref_act.c */
nnb_status ref_relu(const ref_io *io, nnb_error *e);
nnb_status ref_gelu(const ref_io *io, nnb_error *e);
nnb_status ref_tanh(const ref_io *io, nnb_error *e);
nnb_status ref_sigmoid(const ref_io *io, nnb_error *e);
nnb_status ref_act_bwd(const ref_io *io, nnb_error *e);
nnb_status ref_softmax(const ref_io *io, nnb_error *e);
nnb_status ref_softmax_bwd(const ref_io *io, nnb_error *e);
nnb_status ref_layernorm(const ref_io *io, nnb_error *e);
nnb_status ref_layernorm_bwd(const ref_io *io, nnb_error *e);
nnb_status ref_softmax_ce(const ref_io *io, nnb_error *e);
nnb_status ref_softmax_ce_bwd(const ref_io *io, nnb_error *e);

/* ref_seq.c */
nnb_status ref_lstm(const ref_io *io, nnb_error *e);
nnb_status ref_lstm_bwd(const ref_io *io, nnb_error *e);
nnb_status ref_attention(const ref_io *io, nnb_error *e);
nnb_status ref_attention_bwd(const ref_io *io, nnb_error *e);

/* ref_optim.c */
nnb_status ref_sgd_momentum(const ref_io *io, nnb_error *e);
nnb_status ref_adam(const ref_io *io, nnb_error *e);

#endif
