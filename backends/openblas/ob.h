/* The openblas backend's internals: the environment every kernel runs in
 * (thread count, the OpenBLAS entry points, the vector kernels chosen for
 * this CPU), the prepared step of one node, and the kernels of ob_*.c.
 * Semantics of every op: docs/ops.md; the reference backend is the oracle. */
#ifndef NNB_OB_H
#define NNB_OB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nnbench/backend.h>
#include <nnbench/host_buffer.h>

#include "ob_blas.h"
#include "ob_vec.h"

/* What the kernels need from the context. Read-only during execute. */
typedef struct ob_env {
  int threads;       /* the one thread count: OpenMP teams; OpenBLAS runs single-threaded */
  ob_blas blas;      /* OpenBLAS, loaded by ob_blas_load in init */
  const ob_vec *vec; /* vector kernels: the CPU's widest ISA, or NNB_OPENBLAS_VEC's */
  int lstm_split;    /* option lstm_split: -1 auto, 0 by sequences, 1 by units */
  int lstm_input;    /* option lstm_input: -1 auto, 0 all steps' x w_ih^T at once, 1 per step */
  int lstm_packed;   /* option lstm_packed: -1 auto, 0 OpenBLAS per step, 1 weights packed once */
  int fewrow;        /* option fewrow: -1 auto, 0 OpenBLAS, 1 few-row products in place */
  int prepack;       /* option prepack: -1 auto, 0 OpenBLAS, 1 unwritten weights packed once */
} ob_env;

/* Whether one of the backend's own GEMMs runs (options lstm_packed,
 * prepack, fewrow: -1 auto, 0 OpenBLAS, 1 own): by default only on the
 * AVX2 table, the one they were measured on (Zen 3); elsewhere OpenBLAS's
 * kernels stay unless the option asks. */
static inline bool ob_own_gemm(const ob_env *env, int option) {
  return option >= 0 ? option == 1 : env->vec == &ob_vec_avx2;
}

/* A weight kept packed across steps (ob_prepack.c). */
typedef struct ob_prepack {
  nnb_host_watch watch; /* set when the weight was written since it was packed */
  nnb_buffer *buf;      /* the weight's buffer, which holds the watch */
  float *panels;
  size_t bytes;
} ob_prepack;

/* How a node finishes its output when the node after it is folded in. */
typedef enum ob_fuse {
  OB_FUSE_NONE = 0,
  OB_FUSE_RELU_BOTH, /* matmul, conv2d: write the pre-activation and relu(it) */
  OB_FUSE_RELU_ONLY, /* matmul, conv2d: write relu(it) only (nothing else reads the
                        pre-activation) */
  OB_FUSE_RELU_BWD   /* maxpool2d_bwd of a relu's output: write the relu's act_bwd */
} ob_fuse;

/* One node, prepared: its tensors' host pointers and shapes, its share of
 * the plan's workspace and any fusion decided in prepare. */
typedef struct ob_step {
  nnb_status (*run)(const struct ob_step *s, nnb_error *e); /* the op's kernel */
  const ob_env *env;
  const nnb_node *n;
  const nnb_tensor_desc *ti[NNB_MAX_IN];
  const nnb_tensor_desc *to[NNB_MAX_OUT];
  float *in[NNB_MAX_IN];
  float *out[NNB_MAX_OUT];
  float *ws; /* scratch of ws_floats floats (64-byte aligned), valid during the step */
  size_t ws_floats;
  ob_fuse fuse;    /* the next node folded into this step */
  float *relu_out; /* where that node's output goes when fuse != OB_FUSE_NONE */
  bool skip;       /* folded into the step before it */
  ob_prepack *pp;  /* matmul: its weight packed once, or NULL */
} ob_step;

typedef nnb_status (*ob_kernel)(const ob_step *s, nnb_error *e);
/* Floats of workspace a step needs (0: none). Called in prepare. */
typedef size_t (*ob_ws_fn)(const ob_step *s);

typedef struct ob_op_impl {
  ob_kernel run;
  ob_ws_fn ws; /* NULL: no workspace */
} ob_op_impl;

/* ob_table.c: the kernel for each op ({NULL, NULL} when there is none). */
ob_op_impl ob_op_lookup(nnb_op op);
/* Whether this backend runs the node; fills why when not. */
bool ob_supports_node(const nnb_graph *g, const nnb_node *n, nnb_error *why);

/* Per-thread slices of a step's workspace: slice t of `per` floats each,
 * rounded up to whole cache lines. */
static inline size_t ob_round16(size_t n) { return (n + 15) / 16 * 16; }
static inline float *ob_ws_slice(const ob_step *s, size_t base, size_t per, int t) {
  return s->ws + base + (size_t)t * ob_round16(per);
}

/* ob_par.c: threads worth using for `units` independent pieces of work
 * totalling `work` (elements touched, about): 1 when the job is too small
 * to repay a parallel region. */
int ob_threads_for(const ob_env *env, int64_t units, double work);
/* Calls fn(s, arg, lo, hi) on consecutive ranges covering [0, n), split over
 * the team (range bounds multiples of `align`, except n) when worth it. */
typedef void (*ob_range_fn)(const ob_step *s, void *arg, int64_t lo, int64_t hi);
void ob_par_range(const ob_step *s, int64_t n, int64_t align, double work, ob_range_fn fn,
                  void *arg);

/* ob_gemm.c ------------------------------------------------------------- */

/* What a GEMM's caller wants done to each block of C right after it is
 * computed, while it is still in cache: add a bias per column (col_bias,
 * [N]) or per row (row_bias, [M]), then optionally relu into relu_out
 * (same layout as C, leading dimension ldr) or in place. */
typedef struct ob_epilogue {
  const float *col_bias;
  const float *row_bias;
  float *relu_out; /* NULL: no relu, unless relu_inplace */
  int64_t ldr;
  bool relu_inplace;
} ob_epilogue;

/* C = alpha op(A) op(B) + beta C, row-major, on the calling thread. */
void ob_sgemm(const ob_env *env, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc);
/* Block [i0,i1) x [j0,j1) of that C on the calling thread, then the
 * epilogue (may be NULL) on it; a bias is where C starts when beta = 0. */
void ob_sgemm_block(const ob_env *env, bool ta, bool tb, int64_t i0, int64_t i1, int64_t j0,
                    int64_t j1, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                    int64_t ldb, float beta, float *c, int64_t ldc, const ob_epilogue *ep);
/* The same, split over the team (rows or columns of C, whichever keeps the
 * duplicated packing smaller) when it is big enough, then the epilogue (may
 * be NULL) on each block. Must not be called from inside a parallel region. */
void ob_gemm(const ob_env *env, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
             const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
             int64_t ldc, const ob_epilogue *ep);
/* The epilogue on rows [i0,i1) x columns [j0,j1) of C (ldc). */
void ob_epilogue_apply(const ob_epilogue *ep, float *c, int64_t ldc, int64_t i0, int64_t i1,
                       int64_t j0, int64_t j1);

nnb_status ob_matmul(const ob_step *s, nnb_error *e);

/* ob_prepack.c: whether node's weight is kept packed across steps (a
 * matmul X W^T whose W no node of g writes: option prepack), the packed
 * copy's life, and C = A W^T on it, split over the team by panels, the
 * epilogue (may be NULL) on each block; A [m, k], C [m, n]. */
bool ob_prepack_on(const ob_env *env);
/* The tensors node n writes into out[] (NNB_MAX_IN + NNB_MAX_OUT): its
 * outputs, and the inputs of the updates, which write them in place. */
int ob_node_writes(const nnb_node *n, int *out);
bool ob_prepack_wanted(const ob_env *env, const nnb_graph *g, const nnb_binding *bind, int node);
nnb_status ob_prepack_create(ob_step *s, const nnb_graph *g, const nnb_binding *bind,
                             const void *owner, nnb_memory_stats *mem, nnb_error *e);
void ob_prepack_free(ob_prepack *pp, nnb_memory_stats *mem);
void ob_prepack_gemm(const ob_step *s, int64_t m, int64_t n, int64_t k, const float *a,
                     const float *w, float *c, const ob_epilogue *ep);

/* ob_conv.c -------------------------------------------------------------- */
nnb_status ob_conv2d(const ob_step *s, nnb_error *e);
nnb_status ob_conv2d_bwd_data(const ob_step *s, nnb_error *e);
nnb_status ob_conv2d_bwd_weight(const ob_step *s, nnb_error *e);
size_t ob_conv2d_ws(const ob_step *s);
size_t ob_conv2d_bwd_data_ws(const ob_step *s);
size_t ob_conv2d_bwd_weight_ws(const ob_step *s);

/* ob_pool.c -------------------------------------------------------------- */
nnb_status ob_maxpool2d(const ob_step *s, nnb_error *e);
nnb_status ob_maxpool2d_bwd(const ob_step *s, nnb_error *e);

/* ob_act.c: activations, softmax, layernorm, the loss ----------------------- */
nnb_status ob_relu(const ob_step *s, nnb_error *e);
nnb_status ob_gelu(const ob_step *s, nnb_error *e);
nnb_status ob_tanh(const ob_step *s, nnb_error *e);
nnb_status ob_sigmoid(const ob_step *s, nnb_error *e);
nnb_status ob_act_bwd(const ob_step *s, nnb_error *e);
nnb_status ob_softmax(const ob_step *s, nnb_error *e);
nnb_status ob_softmax_bwd(const ob_step *s, nnb_error *e);
nnb_status ob_softmax_ce(const ob_step *s, nnb_error *e);
nnb_status ob_softmax_ce_bwd(const ob_step *s, nnb_error *e);

/* ob_norm.c -------------------------------------------------------------- */
nnb_status ob_layernorm(const ob_step *s, nnb_error *e);
nnb_status ob_layernorm_bwd(const ob_step *s, nnb_error *e);
size_t ob_layernorm_bwd_ws(const ob_step *s);

/* ob_dense.c: broadcasting arithmetic and reductions ------------------------- */
nnb_status ob_add(const ob_step *s, nnb_error *e);
nnb_status ob_mul(const ob_step *s, nnb_error *e);
nnb_status ob_sum_to(const ob_step *s, nnb_error *e);
size_t ob_sum_to_ws(const ob_step *s);
nnb_status ob_mean(const ob_step *s, nnb_error *e);
nnb_status ob_mean_bwd(const ob_step *s, nnb_error *e);

/* ob_move.c: data movement ------------------------------------------------ */
nnb_status ob_permute(const ob_step *s, nnb_error *e);
nnb_status ob_reshape(const ob_step *s, nnb_error *e);
nnb_status ob_slice(const ob_step *s, nnb_error *e);
nnb_status ob_slice_bwd(const ob_step *s, nnb_error *e);
nnb_status ob_fill(const ob_step *s, nnb_error *e);

/* ob_lstm.c -------------------------------------------------------------- */
nnb_status ob_lstm(const ob_step *s, nnb_error *e);
nnb_status ob_lstm_bwd(const ob_step *s, nnb_error *e);
size_t ob_lstm_ws(const ob_step *s);
size_t ob_lstm_bwd_ws(const ob_step *s);
/* Whether the LSTM's per-step products run on weights packed once per op
 * (ob_vec_pgemm.c) rather than as OpenBLAS's calls: option lstm_packed. */
bool ob_lstm_packed(const ob_env *env);
/* Whether products with few rows or a short k against a large operand run
 * the vector table's in-place kernels (ob_vec_fgemm.c) rather than
 * OpenBLAS: option fewrow. */
bool ob_fewrow(const ob_env *env);

/* ob_attn.c -------------------------------------------------------------- */
nnb_status ob_attention(const ob_step *s, nnb_error *e);
nnb_status ob_attention_bwd(const ob_step *s, nnb_error *e);
size_t ob_attention_bwd_ws(const ob_step *s);

/* ob_optim.c ------------------------------------------------------------- */
nnb_status ob_sgd_momentum(const ob_step *s, nnb_error *e);
nnb_status ob_adam(const ob_step *s, nnb_error *e);

#endif
