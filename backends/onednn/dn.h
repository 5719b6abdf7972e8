/* The onednn backend's internals: the engine every primitive runs on, the
 * prepared step of one node (its primitives with their bound arguments, or
 * a C kernel that may call them), and the per-op preparers of dn_*.c.
 * Semantics of every op: docs/ops.md; the reference backend is the oracle. */
#ifndef NNB_DN_H
#define NNB_DN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include <nnbench/backend.h>

#include "dn_vec.h"

/* Where an LSTM runs (option lstm=): auto takes the LSTM primitive where
 * oneDNN has an optimised implementation for the case and the own path
 * where the primitive would run its generic `ref` one. */
typedef enum { DN_LSTM_AUTO, DN_LSTM_PRIMITIVE, DN_LSTM_OWN } dn_lstm_mode;

/* What every step needs from the context. Read-only during execute. */
typedef struct dn_env {
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  int threads;
  bool fuse;         /* option fuse=0: every node on its own primitive */
  bool blocked;      /* option layout=plain turns blocked layouts for plan-internal tensors off */
  dn_lstm_mode lstm; /* option lstm= */
  const dn_vec *vec; /* the gate passes of the own LSTM path, for the effective ISA */
} dn_env;

#define DN_MAX_ARGS 14
#define DN_MAX_PRIMS 8
#define DN_KERNEL_LEN 96

/* One primitive with its arguments bound to fixed memory. */
typedef struct dn_exec {
  dnnl_primitive_t prim;
  int n_args;
  dnnl_exec_arg_t args[DN_MAX_ARGS];
  dnnl_memory_t scratch; /* the plan's scratchpad, bound once it is allocated */
  size_t scratch_bytes;
} dn_exec;

/* Per-node facts from the whole graph, decided in prepare. */
typedef struct dn_graph_info {
  const nnb_graph *g;
  const nnb_binding *bind;
  const int *readers;    /* per tensor: nodes reading it, plus 1 for a graph output */
  struct dn_step *steps; /* the steps prepared so far (those of earlier nodes) */
  /* Per tensor: the layout its writer chose (ndims 0: plain row-major).
   * Only tensors dn_blockable() allows are ever given another. */
  dnnl_memory_desc_t *md;
} dn_graph_info;

struct dn_step;
typedef nnb_status (*dn_run_fn)(struct dn_step *s, nnb_error *e);

/* One node, prepared. */
typedef struct dn_step {
  const dn_env *env;
  const nnb_node *n;
  const nnb_tensor_desc *ti[NNB_MAX_IN];
  const nnb_tensor_desc *to[NNB_MAX_OUT];
  float *in[NNB_MAX_IN];
  float *out[NNB_MAX_OUT];
  dn_run_fn run; /* NULL: execute prims in order */
  int n_prims;
  dn_exec prims[DN_MAX_PRIMS];
  float *priv; /* private workspace owned by the step (priv_bytes) */
  size_t priv_bytes;
  float *shared; /* the part of priv a later step reads (the LSTM primitive's workspace) */
  bool skip;     /* folded into the step before it */
  int threads;   /* OpenMP threads of the step's primitives and loops (1 for small work) */
  /* Fusion decided by the plan (matmul, conv2d): write post_out instead of
   * out[0], after adding post_add (same shape) and then relu when asked. */
  float *post_out;
  const float *post_add;
  bool post_relu;
  int dst; /* the tensor the step writes as its main output (post_out's when fused) */
  /* what a C kernel of the step reads (dn_pool_c.c) */
  int64_t aux[3];
  void *aux_p[3];
  char kernel[DN_KERNEL_LEN];
} dn_step;

/* Prepares step s for node n: primitives, arguments, workspace sizes. */
typedef nnb_status (*dn_prep_fn)(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);

/* dn_table.c */
dn_prep_fn dn_prep_lookup(nnb_op op);
/* Threads worth using for node n: 1 when its work (elements touched plus
 * multiply-adds) would not repay a parallel region's start-up. */
int dn_threads_for(const nnb_graph *g, const nnb_node *n, int threads);
bool dn_supports_node(const nnb_graph *g, const nnb_node *n, nnb_error *why);

/* dn_prim.c: primitives ------------------------------------------ */

/* A plain row-major descriptor for the given dims. */
void dn_md_plain(dnnl_memory_desc_t *md, int rank, const int64_t *dims);
/* A descriptor with explicit strides (in elements). */
void dn_md_strided(dnnl_memory_desc_t *md, int rank, const int64_t *dims, const int64_t *strides);
/* A tensor descriptor's own plain descriptor. */
void dn_md_tensor(dnnl_memory_desc_t *md, const nnb_tensor_desc *t);

/* Tensor t's descriptor: the layout chosen by its writer, or plain. */
void dn_md_of(const dn_graph_info *gi, int t, dnnl_memory_desc_t *md);
/* Whether tensor t may be stored in a blocked layout in its own binding:
 * the option allows it, it is 4-D, no graph output, no view and not
 * viewed, and every node reading it reads any layout: a conv2d (as x), its
 * two backwards (dy, x), a maxpool2d and its backward, a relu whose output
 * is blockable too, an act_bwd. */
bool dn_blockable(const dn_step *s, const dn_graph_info *gi, int t);
/* Records md as t's layout when it fits t's binding; false otherwise. */
bool dn_set_layout(const dn_graph_info *gi, int t, const dnnl_memory_desc_t *md);
/* Whether md is t's plain row-major layout. */
bool dn_is_plain(const nnb_tensor_desc *t, const dnnl_memory_desc_t *md);
/* Appends the primitive of an already created descriptor (taking it over;
 * kept in *keep when keep is not NULL). */
nnb_status dn_add_pd(dn_step *s, dnnl_primitive_desc_t pd, dnnl_primitive_desc_t *keep,
                     nnb_error *e);

/* One operand of a primitive whose descriptor chose its own layouts: the
 * graph's plain memory (user, ptr) and what the primitive wants (query). */
typedef struct dn_operand {
  int arg;
  dnnl_query_t query;
  int index; /* of query (a bias is the second diff_weights) */
  dnnl_memory_desc_t user;
  void *ptr;
  bool out; /* written by the primitive */
} dn_operand;
/* Appends pd's primitive with every operand bound: where the primitive's
 * layout differs from the plain one, through the step's private memory,
 * with a reorder before the primitive (inputs) or after it (outputs). The
 * private memory starts `at` bytes into the step's workspace, which this
 * allocates (at bytes stay the caller's). Takes pd over. */
nnb_status dn_add_reordered(dn_step *s, dnnl_primitive_desc_t pd, const dn_operand *ops, int n,
                            size_t at, nnb_error *e);
/* A descriptor with format_tag_any: the primitive chooses. */
void dn_md_any(dnnl_memory_desc_t *md, const dnnl_memory_desc_t *like);

/* Creates a primitive descriptor for op_desc (attr may be NULL; hint may be
 * NULL) with a user scratchpad, its primitive, appends it to s->prims and
 * records its kernel name. *pd receives the descriptor when pd is not NULL
 * (the caller destroys it), otherwise it is destroyed here. */
nnb_status dn_add_prim(dn_step *s, const void *op_desc, dnnl_primitive_attr_t attr,
                       const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, nnb_error *e);
/* A primitive descriptor only (attr NULL: a user scratchpad, nothing else). */
nnb_status dn_make_pd(const dn_step *s, const void *op_desc, dnnl_primitive_attr_t attr,
                      const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, nnb_error *e);
/* A forward primitive descriptor only, as the hint of a backward one. */
nnb_status dn_hint(const dn_step *s, const void *op_desc, dnnl_primitive_desc_t *pd, nnb_error *e);
/* A reorder from src to dst descriptors. */
nnb_status dn_add_reorder(dn_step *s, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst,
                          nnb_error *e);
/* Binds argument `arg` of the step's last primitive to memory at ptr. */
nnb_status dn_bind(dn_step *s, int arg, const dnnl_memory_desc_t *md, void *ptr, nnb_error *e);
/* The same for the step's last primitive that is no reorder (the op's own,
 * among the reorders dn_add_reordered puts around it). */
nnb_status dn_bind_main(dn_step *s, int arg, const dnnl_memory_desc_t *md, void *ptr, nnb_error *e);
/* An attribute with user scratchpad, optional post-ops in this order: sum
 * (accumulate into dst), binary add of add_md (post-op index sum ? 1 : 0),
 * relu; and an output scale (1 means none). */
nnb_status dn_attr(dnnl_primitive_attr_t *attr, const dnnl_memory_desc_t *add_md, bool relu,
                   bool sum, float scale, nnb_error *e);
/* The attribute of a matmul or convolution step: its planned fusion. */
nnb_status dn_step_attr(const dn_step *s, const dnnl_memory_desc_t *dst_md,
                        dnnl_primitive_attr_t *attr, nnb_error *e);
/* Binds the planned fusion's operand and returns where dst goes. */
nnb_status dn_bind_post(dn_step *s, const dnnl_memory_desc_t *dst_md, float **dst, nnb_error *e);
/* Fails with the oneDNN status's name. */
nnb_status dn_check(dnnl_status_t st, const char *what, const nnb_node *n, nnb_error *e);

nnb_status dn_exec_run(const dn_env *env, dn_exec *x, nnb_error *e);
nnb_status dn_step_prims(dn_step *s, nnb_error *e);
/* Points argument `arg` of primitive x at ptr (for loops over views). */
void dn_exec_point(dn_exec *x, int arg, void *ptr);
void dn_exec_free(dn_exec *x);

/* The step runs fn, an OpenMP C kernel. */
nnb_status dn_c_kernel(dn_step *s, dn_run_fn fn);
/* Private workspace of `bytes`, 64-byte aligned, owned by the step. */
nnb_status dn_step_priv(dn_step *s, size_t bytes, nnb_error *e);

/* The node of this graph that produces tensor t (its index), or -1. */
int dn_producer(const nnb_graph *g, int t);

/* A strided matrix operand: element (r, c) of batch (i, j) is at
 * p[i*bs[0] + j*bs[1] + r*rs + c*cs]; a transpose swaps rs and cs. */
typedef struct dn_mat {
  float *p;
  int64_t rs, cs;
  int64_t bs[2];
} dn_mat;
/* Appends the primitive C (+)= scale * A B (+ bias[n]) over nb (0..2)
 * batch dims bd: A [m,k], B [k,n], C [m,n]. accumulate adds to C. */
nnb_status dn_add_gemm(dn_step *s, int nb, const int64_t *bd, int64_t m, int64_t n, int64_t k,
                       dn_mat a, dn_mat b, dn_mat c, const float *bias, bool accumulate,
                       float scale, nnb_error *e);

/* Preparers, one per op family --------------------------------------------- */
/* dn_dense.c */
nnb_status dn_prep_matmul(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_binary(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_eltwise(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_act_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_softmax(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_softmax_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
/* dn_norm.c */
nnb_status dn_prep_layernorm(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_layernorm_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
/* dn_conv.c */
nnb_status dn_prep_conv2d(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_conv2d_bwd_data(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_conv2d_bwd_weight(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
/* dn_pool.c */
nnb_status dn_prep_maxpool2d(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_maxpool2d_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
/* dn_cloop.c: what the C loops read */
/* The block of tensor t's layout: 1 plain, 8 or 16 (nChw8c, nChw16c), 0 any other. */
int64_t dn_loop_block(const dn_graph_info *gi, int t);
/* Input `in` of step s as a loop reads it (aux_p[in]): itself when its
 * layout is known (*blk its block), else reordered into plain private
 * memory at byte `off` by a primitive of the step (*blk = 1). */
nnb_status dn_loop_input(dn_step *s, const dn_graph_info *gi, int in, size_t off, int64_t *blk,
                         nnb_error *e);
/* Four floats in a vector (GCC's and Clang's vector extensions: SSE on
 * x86-64, NEON on arm64), for loops the compiler leaves scalar. */
typedef float dn_v4f __attribute__((vector_size(16)));
typedef int32_t dn_v4i __attribute__((vector_size(16)));
static inline dn_v4f dn_v4f_load(const float *p) {
  dn_v4f v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void dn_v4f_store(float *p, dn_v4f v) { memcpy(p, &v, sizeof v); }
static inline dn_v4f dn_v4f_splat(float f) { return (dn_v4f){f, f, f, f}; }
/* dn_conv_c.c: the weight gradient of a convolution with fewer input
 * channels than a block, in C, where dy is channel-blocked */
bool dn_conv_wgrad_c_fits(const dn_step *s, const dn_graph_info *gi);
nnb_status dn_prep_conv2d_bwd_weight_c(dn_step *s, const dn_graph_info *gi, nnb_error *e);
/* dn_pool_c.c: training pooling in C on plain or channel-blocked layouts */
bool dn_pool_c_fits(const nnb_node *n); /* a window index fits the u8 workspace */
nnb_status dn_prep_maxpool2d_c(dn_step *s, const dn_graph_info *gi, nnb_error *e);
nnb_status dn_prep_maxpool2d_bwd_c(dn_step *s, const dn_graph_info *gi, const dn_step *fwd,
                                   nnb_error *e);
bool dn_pool_c_ran(const dn_step *fwd);
/* dn_move.c */
nnb_status dn_prep_permute(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_reshape(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_slice(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_slice_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
/* dn_reduce.c */
nnb_status dn_prep_sum_to(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_mean(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_mean_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_fill(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
/* dn_loss.c */
nnb_status dn_prep_softmax_ce(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_softmax_ce_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
/* dn_optim.c */
nnb_status dn_prep_sgd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_adam(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
/* dn_lstm.c */
nnb_status dn_prep_lstm(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_lstm_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
/* dn_rnn.c: the LSTM primitive, where the graph allows it */
/* Whether the primitive may replace the cache (the graph allows it) and the
 * option asks for it, or (auto) oneDNN runs the case on more than `ref`. */
bool dn_rnn_usable(const dn_step *s, const dn_graph_info *gi, int node);
nnb_status dn_prep_lstm_rnn(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_lstm_bwd_rnn(dn_step *s, const dn_graph_info *gi, const dn_step *fwd,
                                nnb_error *e);
/* dn_attn.c */
nnb_status dn_prep_attention(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);
nnb_status dn_prep_attention_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e);

#endif
