/* A GEMM on weights packed once and used many times: the LSTM's per-step
 * products C [m, n] = A [m, k] W^T (forward: W the gate weights [n, k];
 * backward: W^T = w_hh [k, n]), where OpenBLAS would pack all of W again
 * on every call (every step and thread). Compiled once per ISA like
 * ob_vec.c.
 *
 * Packed layout: panels of OB_PANEL (16) columns of C, each k x 16 floats
 * with the 16 columns of one p contiguous (p-major), the last panel
 * zero-padded, so the micro-kernel loads each p's 16 weights as whole
 * vectors. A is read in place, one broadcast per row and p. The
 * micro-kernel holds a block of rows x 16 columns of C in registers:
 * 6 x 16 on AVX2 and AVX-512 (12 ymm accumulators, the classic AVX2
 * shape; AVX-512 builds run the same ymm code), 4 x 16 in plain C on the
 * baseline. Panels are the outer loop so one panel (16 x k floats)
 * stays in L1 while the rows' blocks stream from L2. */
#include "ob_vec_isa.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MR 6
#else
#define MR 4
#endif

void OB_VEC_FN(ob_vk_pack_panels)(int64_t n, int64_t k, const float *w, int64_t sj, int64_t sp,
                                  float *bp, int64_t kp) {
  for (int64_t j = 0; j < n; j += OB_PANEL) {
    int64_t nc = n - j < OB_PANEL ? n - j : OB_PANEL;
    float *panel = bp + j * kp;
    for (int64_t p = 0; p < k; p++)
      for (int64_t c = 0; c < OB_PANEL; c++)
        panel[p * OB_PANEL + c] = c < nc ? w[(j + c) * sj + p * sp] : 0.0f;
  }
}

#if defined(__AVX2__) && defined(__FMA__)

/* Rows [0, mr) x 16 columns of C from one panel; mr a constant where
 * inlined, so the accumulators stay in registers. nc < 16: the block goes
 * through a buffer and only nc columns are written. */
static inline __attribute__((always_inline)) void block(int mr, int64_t k, const float *a,
                                                        int64_t lda, const float *bp, float *c,
                                                        int64_t ldc, int64_t nc, bool acc) {
  __m256 c0[MR], c1[MR];
  const float *ar[MR];
#pragma GCC unroll 6
  for (int r = 0; r < mr; r++) {
    c0[r] = _mm256_setzero_ps(), c1[r] = _mm256_setzero_ps();
    ar[r] = a + r * lda;
  }
  for (int64_t p = 0; p < k; p++) {
    __m256 b0 = _mm256_loadu_ps(bp + p * OB_PANEL), b1 = _mm256_loadu_ps(bp + p * OB_PANEL + 8);
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
      __m256 av = _mm256_broadcast_ss(ar[r] + p);
      c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
    }
  }
  if (nc == OB_PANEL) {
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
      float *cr = c + r * ldc;
      if (acc) {
        c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(cr));
        c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(cr + 8));
      }
      _mm256_storeu_ps(cr, c0[r]);
      _mm256_storeu_ps(cr + 8, c1[r]);
    }
  } else {
    float buf[OB_PANEL];
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) {
      _mm256_storeu_ps(buf, c0[r]);
      _mm256_storeu_ps(buf + 8, c1[r]);
      float *cr = c + r * ldc;
      for (int64_t j = 0; j < nc; j++) cr[j] = acc ? cr[j] + buf[j] : buf[j];
    }
  }
}

#else

static inline void block(int mr, int64_t k, const float *a, int64_t lda, const float *bp, float *c,
                         int64_t ldc, int64_t nc, bool acc) {
  float t[MR][OB_PANEL] = {{0}};
  for (int64_t p = 0; p < k; p++) {
    const float *br = bp + p * OB_PANEL;
    for (int r = 0; r < mr; r++) {
      float av = a[r * lda + p];
#pragma omp simd
      for (int j = 0; j < OB_PANEL; j++) t[r][j] += av * br[j];
    }
  }
  for (int r = 0; r < mr; r++) {
    float *cr = c + r * ldc;
    for (int64_t j = 0; j < nc; j++) cr[j] = acc ? cr[j] + t[r][j] : t[r][j];
  }
}

#endif

void OB_VEC_FN(ob_vk_gemm_packed)(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                  const float *bp, float *c, int64_t ldc, bool acc) {
  for (int64_t j = 0; j < n; j += OB_PANEL) {
    int64_t nc = n - j < OB_PANEL ? n - j : OB_PANEL;
    const float *panel = bp + j * k;
    int64_t i = 0;
    for (; i + MR <= m; i += MR)
      block(MR, k, a + i * lda, lda, panel, c + i * ldc + j, ldc, nc, acc);
    switch (m - i) { /* the last rows, each count its own unrolled copy */
#if MR > 5
    case 5: block(5, k, a + i * lda, lda, panel, c + i * ldc + j, ldc, nc, acc); break;
    case 4: block(4, k, a + i * lda, lda, panel, c + i * ldc + j, ldc, nc, acc); break;
#endif
    case 3: block(3, k, a + i * lda, lda, panel, c + i * ldc + j, ldc, nc, acc); break;
    case 2: block(2, k, a + i * lda, lda, panel, c + i * ldc + j, ldc, nc, acc); break;
    case 1: block(1, k, a + i * lda, lda, panel, c + i * ldc + j, ldc, nc, acc); break;
    default: break;
    }
  }
}
