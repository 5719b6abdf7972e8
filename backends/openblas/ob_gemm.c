/* GEMMs: the single call, the call split over the team with an epilogue
 * (bias, relu) applied to each block while it is in cache, and the matmul
 * op (linear layers, batched matmul; transposes are flags, never copies). */
#include <omp.h>
#include <string.h>

#include "ob.h"

/* Below about 20 us of one thread's work a split GEMM saves little: the
 * mlp's 6.4 MFLOP layer takes 43 us on one thread and 24 us split over
 * two cores (but more than on one when the two vCPUs share a core). */
#define GEMM_PAR_MIN_FLOPS 4.0e6

/* C (one row or one column) = alpha op(A) op(B) + beta C as one SGEMV.
 * SGEMM would pack the whole matrix operand on every call, which for a
 * single row costs as much as the product itself (a batch of one, an LSTM
 * step of one sequence: 4-5 GFLOP/s against the weights' size). */
static void sgemv(const ob_env *env, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                  int64_t ldc) {
  const float *mat, *x;
  int64_t ld, incx, incy, rows, cols;
  bool trans;
  if (m == 1) { /* c[0, :] = op(B)^T op(A)[0, :]; op(B) is [k, n] */
    mat = b, ld = ldb, trans = !tb, rows = tb ? n : k, cols = tb ? k : n;
    x = a, incx = ta ? lda : 1, incy = 1;
  } else { /* c[:, 0] = op(A) op(B)[:, 0]; op(A) is [m, k] */
    mat = a, ld = lda, trans = ta, rows = ta ? k : m, cols = ta ? m : k;
    x = b, incx = tb ? 1 : ldb, incy = ldc;
  }
  int64_t len = m == 1 ? n : m;
  if (beta == 0.0f) /* C need not hold numbers: never let 0 * NaN through */
    for (int64_t i = 0; i < len; i++) c[i * incy] = 0.0f;
  env->blas.sgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, (blasint)rows, (blasint)cols,
                  alpha, mat, (blasint)ld, x, (blasint)incx, beta, c, (blasint)incy);
}

/* A product with a short K and a C much larger than L2 (a weight gradient
 * at a small batch: 2816 x 2816 x 32) is bound by C's traffic: OpenBLAS
 * first scales all of C by beta (zeroes it), then accumulates into it,
 * two passes through memory. In blocks of rows of about 1 MiB the second
 * pass finds C still in cache: 10.0-11.2 ms against 13.3-13.9 ms for that
 * product on one Zen 3 core (OpenBLAS Zen kernels, medians of 11). */
#define SHORT_K 64
#define C_BLOCK_BYTES (1 << 20)

/* Few rows (or a short k) against an operand of megabytes: OpenBLAS would
 * pack that operand on every call (and zero C first for beta = 0), which at
 * 32 rows against a 2816 x 2816 weight was about 40% of its time on Zen 3;
 * the vector table's kernels read it in place (ob_vec_fgemm.c). */
#define FEW_ROWS 64
#define FEW_BIG_BYTES (4 << 20)

bool ob_fewrow(const ob_env *env) { return ob_own_gemm(env, env->fewrow); }

static bool fewrow(const ob_env *env, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                   float beta) {
  if ((beta != 0.0f && beta != 1.0f) || !ob_fewrow(env)) return false;
  double big = (double)sizeof(float);
  if (!ta && tb) /* A [m, k] B [n, k]^T: few rows of A against B */
    return m <= FEW_ROWS && big * (double)n * (double)k >= FEW_BIG_BYTES;
  if (ta && !tb) /* A [k, m]^T B [k, n], short k: C is the large one */
    return k <= FEW_ROWS && big * (double)m * (double)n >= FEW_BIG_BYTES;
  return false;
}

void ob_sgemm(const ob_env *env, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
              int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) { /* nothing to multiply: C = beta C (OpenBLAS refuses lda = 0) */
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  if (m == 1 || n == 1) { /* a matrix-vector product */
    sgemv(env, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  if (fewrow(env, ta, tb, m, n, k, beta)) {
    if (tb)
      env->vec->gemm_nt_dot(m, n, k, alpha, a, lda, b, ldb, c, ldc, beta == 1.0f);
    else
      env->vec->gemm_tn_short(m, n, k, alpha, a, lda, b, ldb, c, ldc, beta == 1.0f);
    return;
  }
  int64_t rows = m; /* rows of C per call */
  if (k <= SHORT_K && beta != 1.0f && (double)m * (double)n * sizeof *c > 2.0 * C_BLOCK_BYTES) {
    rows = C_BLOCK_BYTES / ((int64_t)sizeof *c * n) / 16 * 16;
    if (rows < 16) rows = 16;
  }
  for (int64_t i = 0; i < m; i += rows)
    env->blas.sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    (blasint)(m - i < rows ? m - i : rows), (blasint)n, (blasint)k, alpha,
                    ta ? a + i : a + i * lda, (blasint)lda, b, (blasint)ldb, beta, c + i * ldc,
                    (blasint)ldc);
}

void ob_epilogue_apply(const ob_epilogue *ep, float *c, int64_t ldc, int64_t i0, int64_t i1,
                       int64_t j0, int64_t j1) {
  if (!ep) return;
  for (int64_t i = i0; i < i1; i++) {
    float *row = c + i * ldc;
    if (ep->col_bias) {
      const float *bias = ep->col_bias;
#pragma omp simd
      for (int64_t j = j0; j < j1; j++) row[j] += bias[j];
    } else if (ep->row_bias) {
      float bias = ep->row_bias[i];
#pragma omp simd
      for (int64_t j = j0; j < j1; j++) row[j] += bias;
    }
    if (ep->relu_out) {
      float *r = ep->relu_out + i * ep->ldr;
#pragma omp simd
      for (int64_t j = j0; j < j1; j++) r[j] = row[j] > 0.0f ? row[j] : 0.0f;
    } else if (ep->relu_inplace) {
#pragma omp simd
      for (int64_t j = j0; j < j1; j++) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
    }
  }
}

/* With beta = 0 and a bias, C starts as the bias and OpenBLAS accumulates
 * into it (beta = 1): its own zeroing pass over C is skipped and the bias
 * needs no pass of its own (the transformer's linear layers at batch 256:
 * OpenBLAS's zeroing was 5% of the step, the bias pass as much again, on
 * Zen 3). */
void ob_sgemm_block(const ob_env *env, bool ta, bool tb, int64_t i0, int64_t i1, int64_t j0,
                    int64_t j1, int64_t k, float alpha, const float *a, int64_t lda, const float *b,
                    int64_t ldb, float beta, float *c, int64_t ldc, const ob_epilogue *ep) {
  ob_epilogue rest;
  if (ep && beta == 0.0f && (ep->col_bias || ep->row_bias)) {
    for (int64_t i = i0; i < i1; i++) {
      float *row = c + i * ldc;
      if (ep->col_bias) {
        memcpy(row + j0, ep->col_bias + j0, (size_t)(j1 - j0) * sizeof *row);
      } else {
        float v = ep->row_bias[i];
#pragma omp simd
        for (int64_t j = j0; j < j1; j++) row[j] = v;
      }
    }
    beta = 1.0f;
    rest = *ep;
    rest.col_bias = rest.row_bias = NULL;
    ep = rest.relu_out || rest.relu_inplace ? &rest : NULL;
  }
  ob_sgemm(env, ta, tb, i1 - i0, j1 - j0, k, alpha, ta ? a + i0 : a + i0 * lda, lda,
           tb ? b + j0 * ldb : b + j0, ldb, beta, c + i0 * ldc + j0, ldc);
  ob_epilogue_apply(ep, c, ldc, i0, i1, j0, j1);
}

void ob_gemm(const ob_env *env, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
             const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
             int64_t ldc, const ob_epilogue *ep) {
  /* Each thread packs the operand it shares in full: split the rows of C
   * when B is the smaller operand, its columns (in whole 16-float vectors)
   * otherwise. */
  bool rows = n <= m;
  int64_t dim = rows ? m : n, unit = rows ? 4 : 16;
  int nt = env->threads;
  if (2.0 * (double)m * (double)n * (double)k < GEMM_PAR_MIN_FLOPS) nt = 1;
  if (nt > dim / unit) nt = (int)(dim / unit);
  if (nt <= 1) {
    ob_sgemm_block(env, ta, tb, 0, m, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), nth = omp_get_num_threads();
    int64_t blocks = (dim + unit - 1) / unit;
    int64_t lo = blocks * t / nth * unit, hi = blocks * (t + 1) / nth * unit;
    if (hi > dim) hi = dim;
    if (rows)
      ob_sgemm_block(env, ta, tb, lo, hi, 0, n, k, alpha, a, lda, b, ldb, beta, c, ldc, ep);
    else
      ob_sgemm_block(env, ta, tb, 0, m, lo, hi, k, alpha, a, lda, b, ldb, beta, c, ldc, ep);
  }
}

nnb_status ob_matmul(const ob_step *s, nnb_error *e) {
  const nnb_tensor_desc *ad = s->ti[0], *bd = s->ti[1], *cd = s->to[0];
  bool ta = s->n->attr.matmul.trans_a, tb = s->n->attr.matmul.trans_b;
  int64_t m = cd->dims[cd->rank - 2], n = cd->dims[cd->rank - 1];
  int64_t k = ta ? ad->dims[ad->rank - 2] : ad->dims[ad->rank - 1];
  int64_t a_rows = ad->dims[ad->rank - 2], a_cols = ad->dims[ad->rank - 1];
  int64_t b_rows = bd->dims[bd->rank - 2], b_cols = bd->dims[bd->rank - 1];
  int64_t batches = m > 0 && n > 0 ? nnb_numel(cd) / (m * n) : 0;
  bool shared_b = bd->rank == 2;
  const float *a = s->in[0], *b = s->in[1];
  float *c = s->fuse == OB_FUSE_RELU_ONLY ? s->relu_out : s->out[0];
  ob_epilogue ep = {.col_bias = s->n->n_in == 3 ? s->in[2] : NULL,
                    .relu_out = s->fuse == OB_FUSE_RELU_BOTH ? s->relu_out : NULL,
                    .ldr = n,
                    .relu_inplace = s->fuse == OB_FUSE_RELU_ONLY};
  bool any_ep = ep.col_bias || s->fuse != OB_FUSE_NONE;

  if (s->pp) { /* (ob_prepack_wanted: shared_b, !ta, tb) */
    ob_prepack_gemm(s, batches * m, n, k, a, b, c, any_ep ? &ep : NULL);
    return NNB_OK;
  }
  if (shared_b && !ta) { /* the leading dims of a are just more rows: one GEMM */
    ob_gemm(s->env, false, tb, batches * m, n, k, 1.0f, a, a_cols, b, b_cols, 0.0f, c, n,
            any_ep ? &ep : NULL);
    return NNB_OK;
  }
  /* Many small products: one per thread at a time. Few large ones: each
   * split over the team. */
  double flops = 2.0 * (double)m * (double)n * (double)k;
  int nt = s->env->threads < batches ? s->env->threads : (int)batches;
  if (nt > 1 && flops * (double)batches >= GEMM_PAR_MIN_FLOPS / 4 &&
      flops < 8 * GEMM_PAR_MIN_FLOPS) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = 0; p < batches; p++) {
      float *cp = c + p * m * n;
      ob_sgemm(s->env, ta, tb, m, n, k, 1.0f, a + p * a_rows * a_cols, a_cols,
               shared_b ? b : b + p * b_rows * b_cols, b_cols, 0.0f, cp, n);
      ob_epilogue epp = ep;
      if (epp.relu_out) epp.relu_out += p * m * n;
      ob_epilogue_apply(any_ep ? &epp : NULL, cp, n, 0, m, 0, n);
    }
    return NNB_OK;
  }
  for (int64_t p = 0; p < batches; p++) {
    ob_epilogue epp = ep;
    if (epp.relu_out) epp.relu_out += p * m * n;
    ob_gemm(s->env, ta, tb, m, n, k, 1.0f, a + p * a_rows * a_cols, a_cols,
            shared_b ? b : b + p * b_rows * b_cols, b_cols, 0.0f, c + p * m * n, n,
            any_ep ? &epp : NULL);
  }
  return NNB_OK;
}
