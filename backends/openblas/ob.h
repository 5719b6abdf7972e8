/* The openblas backend's internals: the OpenBLAS entry points it loads at
 * init (see ob_blas.c for why it loads them itself), the per-node view each
 * kernel gets, and the kernel table. Kernels are f32, GEMM-shaped work goes to
 * cblas_sgemm, the rest is OpenMP-parallel C. */
#ifndef NNB_OB_H
#define NNB_OB_H

#include <stdbool.h>
#include <stddef.h>

#include <nnbench/backend.h>

/* Row-major, as CBLAS's enums spell it (CblasRowMajor = 101, CblasNoTrans =
 * 111, CblasTrans = 112): fixed by the CBLAS standard. */
enum { OB_ROW_MAJOR = 101, OB_NO_TRANS = 111, OB_TRANS = 112 };

typedef void (*ob_sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha,
                            const float *a, int lda, const float *b, int ldb, float beta, float *c,
                            int ldc);

typedef struct ob_blas {
  void *handle;
  ob_sgemm_fn sgemm;
  void (*set_num_threads)(int);
  int (*get_num_threads)(void);
  char *(*get_config)(void);
  char *(*get_corename)(void);
  char path[256];     /* the library file loaded */
  char variant[16];   /* "openmp" or "pthread" (threading of the library) */
  char coretype[32];  /* the kernels in use, as the library reports them */
  char core_why[256]; /* how that core type was chosen */
} ob_blas;

/* Chooses the OPENBLAS_CORETYPE to load the library with. `mode` is "auto"
 * (the fastest kernels this CPU supports), "env" (whatever the environment
 * says) or a core name. avx512: the CPU has AVX512F, BW, DQ, CD and VL;
 * avx2: AVX2 and FMA. Returns the name to set, or NULL to leave the
 * environment as it is; `why` says which and why. Pure, for tests. */
const char *ob_choose_coretype(const char *mode, const char *env, bool avx512, bool avx2, char *why,
                               size_t why_len);

/* Loads OpenBLAS (the OpenMP build first, so BLAS and the other kernels
 * share one thread pool) with the chosen core type and `threads` threads. */
nnb_status ob_blas_load(ob_blas *b, const char *coretype_mode, int threads, nnb_error *e);
void ob_blas_unload(ob_blas *b);

/* One node as a kernel sees it: tensors, host pointers, threads, BLAS. */
typedef struct ob_io {
  const nnb_node *n;
  const nnb_tensor_desc *ti[NNB_MAX_IN];
  const nnb_tensor_desc *to[NNB_MAX_OUT];
  void *in[NNB_MAX_IN];
  void *out[NNB_MAX_OUT];
  float *ws; /* the plan's workspace: at least what the op's ws() asked for */
  bool relu; /* matmul, conv2d: the ReLU that is the only consumer of out[0] is
                fused in, and out[0] points at the ReLU's output */
  int nt;    /* threads */
  const ob_blas *blas;
} ob_io;

typedef nnb_status (*ob_kernel_fn)(const ob_io *io, nnb_error *e);
/* Workspace bytes a node needs (prepared once, never allocated in execute). */
typedef size_t (*ob_ws_fn)(const ob_io *io);

typedef struct ob_kernel {
  ob_kernel_fn run;
  ob_ws_fn ws; /* NULL: none */
} ob_kernel;

/* The kernel for an op; run is NULL when the op has none. */
ob_kernel ob_kernel_for(nnb_op op);

/* Parallel loops below this many elements run on one thread: forking a team
 * costs more than the work. */
#define OB_PAR_MIN 16384

static inline const float *ob_in(const ob_io *io, int i) { return (const float *)io->in[i]; }
static inline float *ob_out(const ob_io *io, int i) { return (float *)io->out[i]; }

/* C = alpha * op(A) op(B) + beta * C, row-major, on the plan's thread count. */
static inline void ob_gemm(const ob_io *io, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                           float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                           float beta, float *c, int64_t ldc) {
  io->blas->sgemm(OB_ROW_MAJOR, ta ? OB_TRANS : OB_NO_TRANS, tb ? OB_TRANS : OB_NO_TRANS, (int)m,
                  (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* ob_dense.c */
nnb_status ob_matmul(const ob_io *io, nnb_error *e);
nnb_status ob_add(const ob_io *io, nnb_error *e);
nnb_status ob_mul(const ob_io *io, nnb_error *e);
nnb_status ob_sum_to(const ob_io *io, nnb_error *e);
size_t ob_sum_to_ws(const ob_io *io);
nnb_status ob_permute(const ob_io *io, nnb_error *e);
nnb_status ob_reshape(const ob_io *io, nnb_error *e);
nnb_status ob_slice(const ob_io *io, nnb_error *e);
nnb_status ob_slice_bwd(const ob_io *io, nnb_error *e);
nnb_status ob_mean(const ob_io *io, nnb_error *e);
nnb_status ob_mean_bwd(const ob_io *io, nnb_error *e);
nnb_status ob_fill(const ob_io *io, nnb_error *e);

/* ob_conv.c */
nnb_status ob_conv2d(const ob_io *io, nnb_error *e);
size_t ob_conv2d_ws(const ob_io *io);
nnb_status ob_conv2d_bwd_data(const ob_io *io, nnb_error *e);
size_t ob_conv2d_bwd_data_ws(const ob_io *io);
nnb_status ob_conv2d_bwd_weight(const ob_io *io, nnb_error *e);
size_t ob_conv2d_bwd_weight_ws(const ob_io *io);
nnb_status ob_maxpool2d(const ob_io *io, nnb_error *e);
nnb_status ob_maxpool2d_bwd(const ob_io *io, nnb_error *e);

/* ob_act.c */
nnb_status ob_relu(const ob_io *io, nnb_error *e);
nnb_status ob_gelu(const ob_io *io, nnb_error *e);
nnb_status ob_tanh(const ob_io *io, nnb_error *e);
nnb_status ob_sigmoid(const ob_io *io, nnb_error *e);
nnb_status ob_act_bwd(const ob_io *io, nnb_error *e);
nnb_status ob_softmax(const ob_io *io, nnb_error *e);
nnb_status ob_softmax_bwd(const ob_io *io, nnb_error *e);
nnb_status ob_layernorm(const ob_io *io, nnb_error *e);
nnb_status ob_layernorm_bwd(const ob_io *io, nnb_error *e);
size_t ob_layernorm_bwd_ws(const ob_io *io);
nnb_status ob_softmax_ce(const ob_io *io, nnb_error *e);
nnb_status ob_softmax_ce_bwd(const ob_io *io, nnb_error *e);

/* ob_seq.c */
nnb_status ob_lstm(const ob_io *io, nnb_error *e);
size_t ob_lstm_ws(const ob_io *io);
nnb_status ob_lstm_bwd(const ob_io *io, nnb_error *e);
size_t ob_lstm_bwd_ws(const ob_io *io);
nnb_status ob_attention(const ob_io *io, nnb_error *e);
nnb_status ob_attention_bwd(const ob_io *io, nnb_error *e);
size_t ob_attention_bwd_ws(const ob_io *io);

/* ob_optim.c */
nnb_status ob_sgd_momentum(const ob_io *io, nnb_error *e);
nnb_status ob_adam(const ob_io *io, nnb_error *e);

#endif
