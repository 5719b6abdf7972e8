/* A direct GEMM for small products (every side at most OB_GEMM_SMALL_MAX),
 * such as attention's 16 x 16 x 16 per (sequence, head) pair, where
 * OpenBLAS's per-call work (zeroing C for beta = 0, packing both operands)
 * costs about as much as the product. Compiled once per ISA like ob_vec.c.
 * C is computed in 4 x 16 blocks held in registers, each row of a block a
 * broadcast element of A times a row of B; op(B) = B^T is first copied
 * transposed so that its rows are contiguous. */
#include "ob_vec_isa.h"

#define MB 4  /* rows of C per block */
#define NB 16 /* columns of C per block: two AVX2 vectors, one AVX-512 */

/* C[i0:i0+mr, j0:j0+nc] = alpha * sum_p A(i, p) B[p, j], A(i, p) =
 * a[i * sar + p * sac]; MR and NC are the full block when the caller knows
 * it, so that the compiler unrolls the block into registers. */
static inline void block(int64_t mr, int64_t nc, int64_t k, float alpha, const float *a,
                         int64_t sar, int64_t sac, const float *b, int64_t ldb, float *c,
                         int64_t ldc) {
  float acc[MB][NB] = {{0}};
  for (int64_t p = 0; p < k; p++) {
    const float *br = b + p * ldb;
    for (int64_t r = 0; r < mr; r++) {
      float av = a[r * sar + p * sac];
#pragma omp simd
      for (int64_t j = 0; j < nc; j++) acc[r][j] += av * br[j];
    }
  }
  for (int64_t r = 0; r < mr; r++) {
#pragma omp simd
    for (int64_t j = 0; j < nc; j++) c[r * ldc + j] = alpha * acc[r][j];
  }
}

void OB_VEC_FN(ob_vk_gemm_small)(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                                 const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
                                 int64_t ldc) {
  float bt[OB_GEMM_SMALL_MAX * OB_GEMM_SMALL_MAX];
  if (tb) { /* B is [n, k]: its transpose [k, n] */
    for (int64_t p = 0; p < k; p++)
      for (int64_t j = 0; j < n; j++) bt[p * n + j] = b[j * ldb + p];
    b = bt, ldb = n;
  }
  int64_t sar = ta ? 1 : lda, sac = ta ? lda : 1;
  for (int64_t i = 0; i < m; i += MB) {
    int64_t mr = m - i < MB ? m - i : MB;
    for (int64_t j = 0; j < n; j += NB) {
      int64_t nc = n - j < NB ? n - j : NB;
      const float *ai = a + i * sar;
      if (mr == MB && nc == NB)
        block(MB, NB, k, alpha, ai, sar, sac, b + j, ldb, c + i * ldc + j, ldc);
      else
        block(mr, nc, k, alpha, ai, sar, sac, b + j, ldb, c + i * ldc + j, ldc);
    }
  }
}
