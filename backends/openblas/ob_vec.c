/* The row kernels of ob_vec.h, written as plain loops the compiler
 * vectorises (`omp simd`), on <nnbench/cpu_math.h>'s exp, sigmoid and tanh
 * and its LSTM step, so the loops stay vectorised.
 * CMake compiles this file once per ISA with OB_VEC_TABLE naming the table
 * (ob_vec_avx512, ob_vec_avx2, ob_vec_baseline) and OB_VEC_ISA its name. */
#include <math.h>
#include <string.h>

#include <nnbench/cpu_math.h>

#include "ob_vec_isa.h"

#if !defined(OB_VEC_TABLE) || !defined(OB_VEC_ISA)
#error "ob_vec.c is compiled with -DOB_VEC_TABLE=<table> -DOB_VEC_ISA=<name>"
#endif

static void k_sigmoid(int64_t n, const float *x, float *y) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) y[i] = nnb_vsigmoid(x[i]);
}

static void k_tanh(int64_t n, const float *x, float *y) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) y[i] = nnb_vtanh(x[i]);
}

static void k_sigmoid_bwd(int64_t n, const float *dy, const float *x, float *dx) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float s = nnb_vsigmoid(x[i]);
    dx[i] = dy[i] * (s * (1.0f - s));
  }
}

static void k_tanh_bwd(int64_t n, const float *dy, const float *x, float *dx) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float t = nnb_vtanh(x[i]);
    dx[i] = dy[i] * (1.0f - t * t);
  }
}

static inline float row_max(int64_t n, const float *x) {
  float m = x[0];
#pragma omp simd reduction(max : m)
  for (int64_t i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

/* One function for a whole block of rows: for the short rows of
 * attention (16 keys) the per-row work is a few vectors, and a call and
 * loop set-up per row would cost more than it. */
static void k_softmax(int64_t rows, int64_t n, const float *x, float *y, bool causal) {
  /* row maxima subtracted row by row, then exp over the whole block in one
   * long vector loop, then the sums and scaling row by row */
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * n;
    float *yr = y + r * n;
    int64_t k = causal && r + 1 < n ? r + 1 : n;
    float m = row_max(k, xr);
#pragma omp simd
    for (int64_t i = 0; i < n; i++) yr[i] = i < k ? xr[i] - m : -INFINITY;
  }
  int64_t all = rows * n;
#pragma omp simd
  for (int64_t i = 0; i < all; i++) y[i] = nnb_vexp(y[i]);
  for (int64_t r = 0; r < rows; r++) {
    float *yr = y + r * n, sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++) sum += yr[i];
    float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t i = 0; i < n; i++) yr[i] *= inv;
  }
}

static void k_softmax_bwd(int64_t rows, int64_t n, const float *dy, const float *y, float *dx) {
  for (int64_t r = 0; r < rows; r++) {
    const float *dyr = dy + r * n, *yr = y + r * n;
    float *dxr = dx + r * n, dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t i = 0; i < n; i++) dot += dyr[i] * yr[i];
#pragma omp simd
    for (int64_t i = 0; i < n; i++) dxr[i] = yr[i] * (dyr[i] - dot);
  }
}

static double k_expsum(int64_t n, const float *x, float shift, float *y) {
  double sum = 0.0;
  if (y) {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++) {
      float v = nnb_vexp(x[i] - shift);
      y[i] = v;
      sum += (double)v;
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++) sum += (double)nnb_vexp(x[i] - shift);
  }
  return sum;
}

/* Mean and 1/sqrt(var + eps) of one row, two-pass (no cancellation). */
static void row_moments(int64_t f, const float *x, float eps, float *mean, float *rstd) {
  float s = 0.0f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < f; i++) s += x[i];
  float m = s / (float)f, v = 0.0f;
#pragma omp simd reduction(+ : v)
  for (int64_t i = 0; i < f; i++) v += (x[i] - m) * (x[i] - m);
  *mean = m;
  *rstd = 1.0f / sqrtf(v / (float)f + eps);
}

static void k_layernorm(int64_t f, const float *x, const float *gamma, const float *beta, float eps,
                        float *y) {
  float mean, rstd;
  row_moments(f, x, eps, &mean, &rstd);
#pragma omp simd
  for (int64_t i = 0; i < f; i++) y[i] = (x[i] - mean) * rstd * gamma[i] + beta[i];
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma. */
static void k_layernorm_bwd(int64_t f, const float *dy, const float *x, const float *gamma,
                            float eps, float *dx, float *dgamma, float *dbeta) {
  float mean, rstd, mg = 0.0f, mgx = 0.0f;
  row_moments(f, x, eps, &mean, &rstd);
#pragma omp simd reduction(+ : mg, mgx)
  for (int64_t i = 0; i < f; i++) {
    float g = dy[i] * gamma[i], xhat = (x[i] - mean) * rstd;
    mg += g;
    mgx += g * xhat;
    dgamma[i] += dy[i] * xhat;
    dbeta[i] += dy[i];
  }
  mg /= (float)f;
  mgx /= (float)f;
#pragma omp simd
  for (int64_t i = 0; i < f; i++) {
    float g = dy[i] * gamma[i], xhat = (x[i] - mean) * rstd;
    dx[i] = rstd * (g - mg - xhat * mgx);
  }
}

static void k_adam(int64_t n, float *p, const float *g, float *m, float *v, float b1, float b2,
                   float step_size, float inv_bc2, float eps) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float mi = b1 * m[i] + (1.0f - b1) * g[i];
    float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] -= step_size * mi / (sqrtf(vi) * inv_bc2 + eps);
  }
}

const ob_vec OB_VEC_TABLE = {
    .isa = OB_VEC_ISA,
    .sigmoid = k_sigmoid,
    .tanh = k_tanh,
    .sigmoid_bwd = k_sigmoid_bwd,
    .tanh_bwd = k_tanh_bwd,
    .softmax = k_softmax,
    .softmax_bwd = k_softmax_bwd,
    .max = row_max,
    .expsum = k_expsum,
    .lstm_fwd = nnb_lstm_step_fwd,
    .lstm_bwd = nnb_lstm_step_bwd,
    .layernorm = k_layernorm,
    .layernorm_bwd = k_layernorm_bwd,
    .adam = k_adam,
    .copy_rows = OB_VEC_FN(ob_vk_copy_rows),
    .add_rows = OB_VEC_FN(ob_vk_add_rows),
    .pool2 = OB_VEC_FN(ob_vk_pool2),
    .pool2_bwd = OB_VEC_FN(ob_vk_pool2_bwd),
    .gemm_small = OB_VEC_FN(ob_vk_gemm_small),
    .pack_panels = OB_VEC_FN(ob_vk_pack_panels),
    .gemm_packed = OB_VEC_FN(ob_vk_gemm_packed),
    .gemm_nt_dot = OB_VEC_FN(ob_vk_gemm_nt_dot),
    .gemm_tn_short = OB_VEC_FN(ob_vk_gemm_tn_short),
};
