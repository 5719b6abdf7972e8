/* Row kernels whose speed depends on the vector width: the transcendental
 * functions (sigmoid, tanh, exp in softmax), the LSTM gate passes, layernorm
 * rows, Adam, the convolutions' and pooling's data movement and a GEMM for
 * small products. ob_vec.c is compiled once per ISA (AVX-512, AVX2+FMA and
 * the x86-64 baseline); init() picks the widest table the CPU runs, so no
 * ISA-specific code runs before that choice and none at load time. */
#ifndef NNB_OB_VEC_H
#define NNB_OB_VEC_H

#include <stdbool.h>
#include <stdint.h>

/* The largest m, n and k of a product gemm_small takes. */
#define OB_GEMM_SMALL_MAX 64
/* Columns per panel of pack_panels' layout. */
#define OB_PANEL 16

typedef struct ob_vec {
  const char *isa; /* "avx512", "avx2", "baseline" */
  void (*sigmoid)(int64_t n, const float *x, float *y);
  void (*tanh)(int64_t n, const float *x, float *y);
  /* dx = dy * f'(x) for sigmoid and tanh */
  void (*sigmoid_bwd)(int64_t n, const float *dy, const float *x, float *dx);
  void (*tanh_bwd)(int64_t n, const float *dy, const float *x, float *dx);
  /* Row r of `rows` rows (leading dimension n): y = softmax(x) over its
   * first k_r = causal ? min(r + 1, n) : n entries, max-subtracted, and 0
   * after them. y may be x. */
  void (*softmax)(int64_t rows, int64_t n, const float *x, float *y, bool causal);
  /* Row by row: dx = y * (dy - sum(dy * y)), the softmax backward. dx may
   * be dy. */
  void (*softmax_bwd)(int64_t rows, int64_t n, const float *dy, const float *y, float *dx);
  /* max(x) over n >= 1 elements, NaN only when x[0] is NaN (as fmax) */
  float (*max)(int64_t n, const float *x);
  /* y = exp(x - shift) (y may be NULL); returns sum(exp(x - shift)) in
   * double, so that 1 - p stays exact where p rounds to 1 in f32 */
  double (*expsum)(int64_t n, const float *x, float shift, float *y);
  /* One step of one sequence, for n units with gate stride h (n = h for
   * all of them; pointers start at the first unit): z holds the gate
   * pre-activations without bias (i, f, g, o at 0, h, 2h, 3h), bias = b_ih
   * + b_hh likewise, cprev = c_{t-1} (NULL at t = 0). Writes cache (i, f,
   * g, o, c at stride h) and h_t. */
  void (*lstm_fwd)(int64_t n, int64_t h, const float *z, const float *bias, const float *cprev,
                   float *cache, float *hout);
  /* The same step backwards: dh = dy + dh_next (dh_next NULL: zero), dc
   * holds the gradient flowing into c_t from step t+1 and leaves with the
   * one flowing into c_{t-1}; writes dz (gate pre-activations, stride h). */
  void (*lstm_bwd)(int64_t n, int64_t h, const float *dy, const float *dh_next, float *dc,
                   const float *cache, const float *cprev, float *dz);
  /* One row of layernorm, and of its backward (dgamma, dbeta accumulate). */
  void (*layernorm)(int64_t f, const float *x, const float *gamma, const float *beta, float eps,
                    float *y);
  void (*layernorm_bwd)(int64_t f, const float *dy, const float *x, const float *gamma, float eps,
                        float *dx, float *dgamma, float *dbeta);
  /* PyTorch's Adam on n elements; step_size = lr / (1 - b1^t),
   * inv_bc2 = 1 / sqrt(1 - b2^t). */
  void (*adam)(int64_t n, float *p, const float *g, float *m, float *v, float b1, float b2,
               float step_size, float inv_bc2, float eps);
  /* dst[r, 0:cols] = src[r, 0:cols] (add_rows: +=) for r < rows, leading
   * dimensions ldd and lds: im2col and col2im's short rows. */
  void (*copy_rows)(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t rows,
                    int64_t cols);
  void (*add_rows)(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t rows,
                   int64_t cols);
  /* 2x2, stride-2 max pooling of one h x w plane into (h/2) x (w/2), and its
   * backward (every dx written; relu_mask: times (max > 0), a following
   * relu's backward folded in). */
  void (*pool2)(int64_t h, int64_t w, const float *x, float *y);
  void (*pool2_bwd)(int64_t h, int64_t w, const float *x, const float *dy, float *dx,
                    bool relu_mask);
  /* C [m, n] = alpha op(A) op(B), row-major, op(X) = X^T when t is set;
   * m, n, k <= OB_GEMM_SMALL_MAX; C is written, never read. */
  void (*gemm_small)(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                     int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc);
  /* Packs W, n columns of C = A W^T by k, element (j, p) at w[j * sj +
   * p * sp] (W [n, k] row-major: sj = ldw, sp = 1; W^T [k, n]: sj = 1,
   * sp = ldw), into panels of OB_PANEL columns, each kp x OB_PANEL floats,
   * p-major, the last one zero-padded: W's k values go to p = 0 .. k-1 of
   * each panel (bp may start inside a panel, at p = k0, to pack [W1 W2]
   * side by side along k). bp holds ceil(n / OB_PANEL) * OB_PANEL * kp
   * floats. */
  void (*pack_panels)(int64_t n, int64_t k, const float *w, int64_t sj, int64_t sp, float *bp,
                      int64_t kp);
  /* C [m, n] = A [m, k] W^T (acc: C +=) with W packed by pack_panels
   * (kp = k); A and C row-major, leading dimensions lda and ldc. */
  void (*gemm_packed)(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *bp,
                      float *c, int64_t ldc, bool acc);
  /* Products against a large operand that OpenBLAS would pack on every
   * call, read in place, C written once (acc: C +=), row-major
   * (ob_vec_fgemm.c): C [m, n] = alpha A [m, k] B [n, k]^T with few rows m;
   * C [m, n] = alpha A^T B, A [k, m], B [k, n], with a short k. */
  void (*gemm_nt_dot)(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                      const float *b, int64_t ldb, float *c, int64_t ldc, bool acc);
  void (*gemm_tn_short)(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float *c, int64_t ldc, bool acc);
} ob_vec;

extern const ob_vec ob_vec_avx512, ob_vec_avx2, ob_vec_baseline;

#endif
