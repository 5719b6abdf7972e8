/* The graph IR: a topologically ordered array of nodes over tensor ids.
 *
 * Builder functions infer output shapes. They use a sticky error: the first
 * failure is kept in the graph, later calls return -1 without doing anything,
 * and nnb_graph_status() reports it. Model code can then build a whole
 * network and check once, and the message still names the first bad node. */
#ifndef NNBENCH_GRAPH_H
#define NNBENCH_GRAPH_H

#include "status.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NNB_MAX_IN 6
#define NNB_MAX_OUT 5

/* Keep this order: it is part of the plugin ABI (append only). */
typedef enum nnb_op {
  /* forward */
  NNB_OP_MATMUL = 0, /* in: a, b [, bias]; batched over leading dims */
  NNB_OP_CONV2D,     /* in: x[N,C,H,W], w[O,C,KH,KW] [, bias[O]] */
  NNB_OP_MAXPOOL2D,  /* in: x[N,C,H,W]; no padding, floor */
  NNB_OP_RELU,       /* in: x */
  NNB_OP_GELU,       /* in: x (erf form, as PyTorch's default) */
  NNB_OP_TANH,       /* in: x */
  NNB_OP_SIGMOID,    /* in: x */
  NNB_OP_ADD,        /* in: a, b; b broadcasts to a (trailing-aligned) */
  NNB_OP_MUL,        /* in: a, b; b broadcasts to a (trailing-aligned) */
  NNB_OP_SOFTMAX,    /* in: x; last axis */
  NNB_OP_LAYERNORM,  /* in: x, gamma, beta; last axis */
  NNB_OP_LSTM,       /* in: x[B,T,I], w_ih[4H,I], w_hh[4H,H], b_ih[4H], b_hh[4H];
                        out: y[B,T,H], cache[B,T,5H] (i,f,g,o,c for backward) */
  NNB_OP_ATTENTION,  /* in: qkv[B,T,3D] packed as PyTorch's in_proj;
                        out: y[B,T,D], probs[B,heads,T,T] */
  NNB_OP_PERMUTE,    /* in: x; out[i] = x dims[perm[i]] */
  NNB_OP_RESHAPE,    /* in: x; a view, no data moves */
  NNB_OP_SLICE,      /* in: x; [start, start+length) along axis */
  NNB_OP_MEAN,       /* in: x; mean over axis, which is removed */
  NNB_OP_SOFTMAX_CE, /* in: logits[B,C], labels[B] (i32); out: loss[1], the batch mean */
  NNB_OP_FILL,       /* no input; out (attr.shape) filled with attr.shape.value */
  NNB_OP_SUM_TO,     /* in: x; sums x down to a shape that broadcasts to x */
  /* backward */
  NNB_OP_CONV2D_BWD_DATA,   /* in: dy, w; out: dx */
  NNB_OP_CONV2D_BWD_WEIGHT, /* in: dy, x; out: dw [, dbias] */
  NNB_OP_MAXPOOL2D_BWD,     /* in: dy, x; out: dx */
  NNB_OP_ACT_BWD,           /* in: dy, x (forward input); out: dx */
  NNB_OP_SOFTMAX_BWD,       /* in: dy, y (forward output); out: dx */
  NNB_OP_LAYERNORM_BWD,     /* in: dy, x, gamma; out: dx, dgamma, dbeta */
  NNB_OP_LSTM_BWD,          /* in: dy, x, w_ih, w_hh, y, cache;
                               out: dx, dw_ih, dw_hh, db (one bias gradient) */
  NNB_OP_ATTENTION_BWD,     /* in: dy, qkv, probs; out: dqkv */
  NNB_OP_SLICE_BWD,         /* in: dy; out: dx (zero outside the slice) */
  NNB_OP_MEAN_BWD,          /* in: dy; out: dx (dy / n spread along axis) */
  NNB_OP_SOFTMAX_CE_BWD,    /* in: dloss[1], logits, labels; out: dlogits */
  /* optimizer updates: modify their inputs in place, no outputs */
  NNB_OP_SGD_MOMENTUM, /* in: param, grad, velocity */
  NNB_OP_ADAM,         /* in: param, grad, m, v, step[1] */
  NNB_OP_COUNT
} nnb_op;

typedef union nnb_attr {
  struct {
    int trans_a, trans_b;
  } matmul;
  /* Forward sets stride and pad; autodiff fills the rest for the backward ops
   * (kernel size, the forward input's H and W, whether a bias exists). */
  struct nnb_conv_attr {
    int stride_h, stride_w, pad_h, pad_w, kernel_h, kernel_w, in_h, in_w, has_bias;
  } conv;
  struct nnb_pool_attr {
    int kernel_h, kernel_w, stride_h, stride_w;
  } pool;
  struct {
    float eps;
  } layernorm;
  struct {
    int heads, causal;
  } attention;
  struct {
    int perm[NNB_MAX_RANK];
  } permute;
  /* RESHAPE, SUM_TO: the output shape. FILL: the output shape and value. */
  struct {
    int rank;
    int64_t dims[NNB_MAX_RANK];
    float value;
  } shape;
  /* full: the axis's size before slicing (SLICE_BWD's output). */
  struct nnb_slice_attr {
    int axis;
    int64_t start, length, full;
  } slice;
  /* n: the reduced axis's size (MEAN_BWD's output). */
  struct {
    int axis;
    int64_t n;
  } mean;
  struct {
    nnb_op act;
  } act_bwd; /* RELU, GELU, TANH or SIGMOID */
  struct {
    float lr, momentum;
  } sgd;
  struct nnb_adam_attr {
    float lr, beta1, beta2, eps;
  } adam;
} nnb_attr;

typedef struct nnb_node {
  nnb_op op;
  int n_in, n_out;
  int in[NNB_MAX_IN];
  int out[NNB_MAX_OUT];
  nnb_attr attr;
  char name[NNB_NAME_LEN];
} nnb_node;

/* Plugins read this struct (prepare, supports) but never modify it. */
typedef struct nnb_graph {
  int n_tensors, n_nodes, n_outputs;
  nnb_tensor_desc *tensors;
  nnb_node *nodes;
  int *outputs; /* tensors read after execution: kept live to the end */
  /* builder state */
  int cap_tensors, cap_nodes, cap_outputs;
  nnb_role out_role; /* role given to new node outputs */
  nnb_status status;
  nnb_error err;
} nnb_graph;

const char *nnb_op_name(nnb_op op);
/* Returns the op with that name, or NNB_OP_COUNT. */
nnb_op nnb_op_from_name(const char *name);
/* True for ops whose only effect is on their inputs (optimizer updates). */
int nnb_op_is_update(nnb_op op);

void nnb_graph_init(nnb_graph *g);
void nnb_graph_free(nnb_graph *g);
nnb_status nnb_graph_status(const nnb_graph *g, nnb_error *e);

/* Leaf tensors. Return the tensor id, or -1 after an error. */
int nnb_tensor(nnb_graph *g, const char *name, nnb_role role, nnb_dtype dt, int rank,
               const int64_t *dims);
int nnb_tensor_f32(nnb_graph *g, const char *name, nnb_role role, int rank, ...);
void nnb_graph_mark_output(nnb_graph *g, int tensor);
int nnb_graph_find(const nnb_graph *g, const char *name);

/* The general node builder: infers and creates the outputs. Returns the
 * first output id (or 0 for update ops), -1 after an error; all outputs are
 * written to out_ids when it is not NULL. */
int nnb_node_add(nnb_graph *g, nnb_op op, const int *in, int n_in, const nnb_attr *attr,
                 const char *name, int *out_ids);

/* Shape inference alone: fills the output descriptors (name and role left
 * empty). Used by the builder and by `nnbench check`. */
nnb_status nnb_infer(const nnb_graph *g, nnb_op op, const int *in, int n_in, const nnb_attr *attr,
                     const char *name, nnb_tensor_desc *outs, int *n_out, nnb_error *e);

/* Convenience builders (bias < 0 means none). */
int nnb_matmul(nnb_graph *g, int a, int b, int bias, int trans_a, int trans_b, const char *name);
int nnb_linear(nnb_graph *g, int x, int weight, int bias, const char *name);
int nnb_conv2d(nnb_graph *g, int x, int w, int bias, int stride, int pad, const char *name);
int nnb_maxpool2d(nnb_graph *g, int x, int kernel, int stride, const char *name);
int nnb_unary(nnb_graph *g, nnb_op op, int x, const char *name);
int nnb_binary(nnb_graph *g, nnb_op op, int a, int b, const char *name);
int nnb_softmax(nnb_graph *g, int x, const char *name);
int nnb_layernorm(nnb_graph *g, int x, int gamma, int beta, float eps, const char *name);
int nnb_lstm(nnb_graph *g, int x, int w_ih, int w_hh, int b_ih, int b_hh, const char *name);
int nnb_attention(nnb_graph *g, int qkv, int heads, int causal, const char *name);
int nnb_permute(nnb_graph *g, int x, const int *perm, const char *name);
int nnb_reshape(nnb_graph *g, int x, int rank, const int64_t *dims, const char *name);
int nnb_slice(nnb_graph *g, int x, int axis, int64_t start, int64_t length, const char *name);
int nnb_mean(nnb_graph *g, int x, int axis, const char *name);
int nnb_softmax_ce(nnb_graph *g, int logits, int labels, const char *name);

/* Work per node, for throughput and roofline figures. Bytes are the
 * compulsory traffic: every input read once, every output written once. */
double nnb_node_flops(const nnb_graph *g, const nnb_node *n);
double nnb_node_bytes(const nnb_graph *g, const nnb_node *n);

/* Autodiff: appends the backward graph of `loss` (a [1] tensor) and, when
 * opt is not NULL, one optimizer update per parameter. grad_of (n_tensors
 * entries as they were before the call, may be NULL) receives each
 * tensor's gradient id or -1. Parameters are the tensors of role PARAM. */
typedef enum nnb_optimizer { NNB_OPT_NONE = 0, NNB_OPT_SGD, NNB_OPT_ADAM } nnb_optimizer;
typedef struct nnb_opt_config {
  nnb_optimizer kind;
  float lr, momentum, beta1, beta2, eps;
} nnb_opt_config;
nnb_status nnb_autodiff(nnb_graph *g, int loss, const nnb_opt_config *opt, int *grad_of,
                        nnb_error *e);

#ifdef __cplusplus
}
#endif
#endif
