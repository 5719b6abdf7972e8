/* Two GEMMs against a large operand that OpenBLAS would pack on every
 * call: a linear layer at a small batch, X W^T (few rows against W of
 * megabytes) and its weight gradient dY^T X (a short k, C of megabytes).
 * At 32 rows against a 2816 x 2816 weight, OpenBLAS's packing and, for
 * beta = 0, its zeroing pass over C were about 40% of its time on Zen 3.
 * Compiled once per ISA like ob_vec.c; the AVX2 code also serves the
 * AVX-512 build (ymm), plain loops the baseline.
 *
 * gemm_nt_dot: C = alpha A B^T, A [m, k], B [n, k], both read in place,
 * contiguous along k: each element of C a dot product, 3 rows of A x 4
 * rows of B in 12 accumulators over 8 k at a time, k in blocks that keep
 * the 4 rows of B in L1 while every row of A streams past them from L2.
 *
 * gemm_tn_short: C = alpha A^T B, A [k, m], B [k, n], k short: blocks of
 * 6 rows x 16 columns of C in registers, each row a broadcast element of
 * A^T times 16 floats of a row of B, C written once, row block by row
 * block, never zeroed first. B is read in place; each block of A's
 * columns is copied first (see there). */
#include "ob_vec_isa.h"

#define KB_DOT 512 /* k per block of gemm_nt_dot: 4 rows of B, 8 KiB */
#define TN_KB 64   /* k per block of gemm_tn_short */

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#define MR 6

/* Lanes [0, n) set (n in 0..8). */
static inline __m256i lane_mask(int64_t n) {
  static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256((const __m256i *)(m + 8 - n));
}

/* The four sums of four vectors, in order. */
static inline __m128 sum4(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
  __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(v0, v1), _mm256_hadd_ps(v2, v3));
  return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/* C[0:mr, 0:nr] (+)= alpha A[0:mr, 0:k] B[0:nr, 0:k]^T, mr <= 3, nr <= 4;
 * constants where inlined, so the accumulators stay in registers. */
static inline __attribute__((always_inline)) void dot_tile(int mr, int nr, int64_t k, float alpha,
                                                           const float *a, int64_t lda,
                                                           const float *b, int64_t ldb, float *c,
                                                           int64_t ldc, bool acc) {
  __m256 s[3][4];
#pragma GCC unroll 3
  for (int r = 0; r < 3; r++)
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) s[r][q] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 bv[4];
#pragma GCC unroll 4
    for (int q = 0; q < nr; q++) bv[q] = _mm256_loadu_ps(b + q * ldb + p);
#pragma GCC unroll 3
    for (int r = 0; r < mr; r++) {
      __m256 av = _mm256_loadu_ps(a + r * lda + p);
#pragma GCC unroll 4
      for (int q = 0; q < nr; q++) s[r][q] = _mm256_fmadd_ps(av, bv[q], s[r][q]);
    }
  }
  if (p < k) {
    __m256i msk = lane_mask(k - p);
    __m256 bv[4];
#pragma GCC unroll 4
    for (int q = 0; q < nr; q++) bv[q] = _mm256_maskload_ps(b + q * ldb + p, msk);
#pragma GCC unroll 3
    for (int r = 0; r < mr; r++) {
      __m256 av = _mm256_maskload_ps(a + r * lda + p, msk);
#pragma GCC unroll 4
      for (int q = 0; q < nr; q++) s[r][q] = _mm256_fmadd_ps(av, bv[q], s[r][q]);
    }
  }
  __m128 al = _mm_set1_ps(alpha);
#pragma GCC unroll 3
  for (int r = 0; r < mr; r++) {
    __m128 v = _mm_mul_ps(al, sum4(s[r][0], s[r][1], s[r][2], s[r][3]));
    float *cr = c + r * ldc;
    if (nr == 4) {
      if (acc) v = _mm_add_ps(v, _mm_loadu_ps(cr));
      _mm_storeu_ps(cr, v);
    } else {
      float t[4];
      _mm_storeu_ps(t, v);
      for (int q = 0; q < nr; q++) cr[q] = acc ? cr[q] + t[q] : t[q];
    }
  }
}

/* Rows [0, m) of C against nr rows of B, the full tiles unrolled. */
static inline __attribute__((always_inline)) void dot_rows(int nr, int64_t m, int64_t k,
                                                           float alpha, const float *a, int64_t lda,
                                                           const float *b, int64_t ldb, float *c,
                                                           int64_t ldc, bool acc) {
  int64_t i = 0;
  for (; i + 3 <= m; i += 3)
    dot_tile(3, nr, k, alpha, a + i * lda, lda, b, ldb, c + i * ldc, ldc, acc);
  if (m - i == 2) dot_tile(2, nr, k, alpha, a + i * lda, lda, b, ldb, c + i * ldc, ldc, acc);
  if (m - i == 1) dot_tile(1, nr, k, alpha, a + i * lda, lda, b, ldb, c + i * ldc, ldc, acc);
}

void OB_VEC_FN(ob_vk_gemm_nt_dot)(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                                  int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                                  bool acc) {
  for (int64_t j = 0; j < n; j += 4) {
    int64_t nr = n - j < 4 ? n - j : 4;
    for (int64_t p = 0; p < k; p += KB_DOT) {
      int64_t kb = k - p < KB_DOT ? k - p : KB_DOT;
      bool ac = acc || p > 0;
      const float *bj = b + j * ldb + p, *ap = a + p;
      float *cj = c + j;
      switch (nr) {
      case 4: dot_rows(4, m, kb, alpha, ap, lda, bj, ldb, cj, ldc, ac); break;
      case 3: dot_rows(3, m, kb, alpha, ap, lda, bj, ldb, cj, ldc, ac); break;
      case 2: dot_rows(2, m, kb, alpha, ap, lda, bj, ldb, cj, ldc, ac); break;
      default: dot_rows(1, m, kb, alpha, ap, lda, bj, ldb, cj, ldc, ac); break;
      }
    }
  }
}

/* C[0:mr, 0:nc] (+)= alpha op(A)[0:mr, 0:k] B[0:k, 0:nc], op(A)(i, p) =
 * a[i * sar + p * sac], nc <= 16 (fewer: masked loads and stores). */
static inline __attribute__((always_inline)) void xn_block(int mr, int64_t k, float alpha,
                                                           const float *a, int64_t sar, int64_t sac,
                                                           const float *b, int64_t ldb, float *c,
                                                           int64_t ldc, int64_t nc, bool acc) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++) c0[r] = _mm256_setzero_ps(), c1[r] = _mm256_setzero_ps();
  if (nc == 16) {
    for (int64_t p = 0; p < k; p++) {
      __m256 b0 = _mm256_loadu_ps(b + p * ldb), b1 = _mm256_loadu_ps(b + p * ldb + 8);
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++) {
        __m256 av = _mm256_broadcast_ss(a + r * sar + p * sac);
        c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
        c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
      }
    }
  } else {
    __m256i m0 = lane_mask(nc < 8 ? nc : 8), m1 = lane_mask(nc > 8 ? nc - 8 : 0);
    for (int64_t p = 0; p < k; p++) {
      __m256 b0 = _mm256_maskload_ps(b + p * ldb, m0), b1 = _mm256_maskload_ps(b + p * ldb + 8, m1);
#pragma GCC unroll 6
      for (int r = 0; r < mr; r++) {
        __m256 av = _mm256_broadcast_ss(a + r * sar + p * sac);
        c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
        c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
      }
    }
  }
  __m256 al = _mm256_set1_ps(alpha);
  __m256i m0 = lane_mask(nc < 8 ? nc : 8), m1 = lane_mask(nc > 8 ? nc - 8 : 0);
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++) {
    float *cr = c + r * ldc;
    __m256 v0 = _mm256_mul_ps(al, c0[r]), v1 = _mm256_mul_ps(al, c1[r]);
    if (nc == 16) {
      if (acc) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));
      }
      _mm256_storeu_ps(cr, v0);
      _mm256_storeu_ps(cr + 8, v1);
    } else {
      if (acc) {
        v0 = _mm256_add_ps(v0, _mm256_maskload_ps(cr, m0));
        v1 = _mm256_add_ps(v1, _mm256_maskload_ps(cr + 8, m1));
      }
      _mm256_maskstore_ps(cr, m0, v0);
      _mm256_maskstore_ps(cr + 8, m1, v1);
    }
  }
}

#else /* the baseline: plain loops the compiler vectorises as it can */

#define MR 4

static void dot_plain(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                      const float *b, int64_t ldb, float *c, int64_t ldc, bool acc) {
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int64_t p = 0; p < k; p++) s += a[i * lda + p] * b[j * ldb + p];
      c[i * ldc + j] = acc ? c[i * ldc + j] + alpha * s : alpha * s;
    }
}

void OB_VEC_FN(ob_vk_gemm_nt_dot)(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                                  int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                                  bool acc) {
  for (int64_t p = 0; p < k; p += KB_DOT) {
    int64_t kb = k - p < KB_DOT ? k - p : KB_DOT;
    dot_plain(m, n, kb, alpha, a + p, lda, b + p, ldb, c, ldc, acc || p > 0);
  }
}

static inline void xn_block(int mr, int64_t k, float alpha, const float *a, int64_t sar,
                            int64_t sac, const float *b, int64_t ldb, float *c, int64_t ldc,
                            int64_t nc, bool acc) {
  float t[MR][16] = {{0}};
  for (int64_t p = 0; p < k; p++)
    for (int r = 0; r < mr; r++) {
      float av = a[r * sar + p * sac];
#pragma omp simd
      for (int64_t j = 0; j < nc; j++) t[r][j] += av * b[p * ldb + j];
    }
  for (int r = 0; r < mr; r++)
    for (int64_t j = 0; j < nc; j++)
      c[r * ldc + j] = acc ? c[r * ldc + j] + alpha * t[r][j] : alpha * t[r][j];
}

#endif

/* Rows [0, m) of one 16-column strip, full blocks of MR rows unrolled. */
static void xn_rows(int64_t m, int64_t k, float alpha, const float *a, int64_t sar, int64_t sac,
                    const float *b, int64_t ldb, float *c, int64_t ldc, int64_t nc, bool acc) {
  int64_t i = 0;
  for (; i + MR <= m; i += MR)
    xn_block(MR, k, alpha, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, nc, acc);
  switch (m - i) { /* the last rows, each count its own unrolled copy */
#if MR > 5
  case 5: xn_block(5, k, alpha, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, nc, acc); break;
  case 4: xn_block(4, k, alpha, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, nc, acc); break;
#endif
  case 3: xn_block(3, k, alpha, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, nc, acc); break;
  case 2: xn_block(2, k, alpha, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, nc, acc); break;
  case 1: xn_block(1, k, alpha, a + i * sar, sar, sac, b, ldb, c + i * ldc, ldc, nc, acc); break;
  default: break;
  }
}

void OB_VEC_FN(ob_vk_gemm_tn_short)(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                                    int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                                    bool acc) {
  /* A's rows lie a whole number of KiB apart in the shapes that matter
   * (2816 floats: 11 KiB): the 6 columns a block of rows broadcasts from,
   * over k rows, fall into few of L1's sets, where B's rows are too, and
   * thrash them (C = dY^T X at 32 rows: 58% of peak against 76% with the
   * copy, one Zen 3 core, best of 15). */
  float ab[TN_KB * MR] __attribute__((aligned(64)));
  for (int64_t p0 = 0; p0 < k; p0 += TN_KB) {
    int64_t kb = k - p0 < TN_KB ? k - p0 : TN_KB;
    for (int64_t i = 0; i < m; i += MR) {
      int64_t mr = m - i < MR ? m - i : MR;
      for (int64_t p = 0; p < kb; p++)
        for (int64_t r = 0; r < mr; r++) ab[p * MR + r] = a[(p0 + p) * lda + i + r];
      for (int64_t j = 0; j < n; j += 16)
        xn_rows(mr, kb, alpha, ab, 1, MR, b + p0 * ldb + j, ldb, c + i * ldc + j, ldc,
                n - j < 16 ? n - j : 16, acc || p0 > 0);
    }
  }
}
