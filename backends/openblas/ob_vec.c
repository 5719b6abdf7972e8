/* The row kernels of ob_vec.h, written as plain loops the compiler
 * vectorises (`omp simd`), with exp and tanh as polynomials built from
 * arithmetic and bit operations only, so the loops stay vectorised.
 * CMake compiles this file once per ISA with OB_VEC_TABLE naming the table
 * (ob_vec_avx512, ob_vec_avx2, ob_vec_baseline) and OB_VEC_ISA its name. */
#include <math.h>
#include <string.h>

#include "ob_vec_isa.h"

#if !defined(OB_VEC_TABLE) || !defined(OB_VEC_ISA)
#error "ob_vec.c is compiled with -DOB_VEC_TABLE=<table> -DOB_VEC_ISA=<name>"
#endif

static inline float bits_to_float(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

static inline uint32_t float_to_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

/* e^r for |r| <= ln2/2 (Cephes' degree-6 polynomial) and n, for
 * x = n ln2 + r; x is finite and within [-103, 88.72] (or NaN). */
static inline float exp_reduced(float x, int32_t *n_out) {
  const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float t = x * 1.44269504088896341f + magic;
  float n = t - magic;
  *n_out = (int32_t)(float_to_bits(t) - float_to_bits(magic));
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return p * (r * r) + r + 1.0f;
}

/* exp(x) to about 1 ulp: 2^n applied as two exponent scalings so that
 * n = 128 (results near FLT_MAX) and denormal results are exact. NaN
 * propagates (the comparisons are false for it); beyond the range the
 * result is 0 or +inf, as expf's. */
static inline float vexp(float x) {
  const float hi = 88.72283935546875f, lo = -103.0f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  int32_t ni;
  float p = exp_reduced(xc, &ni);
  int32_t n1 = ni / 2, n2 = ni - n1;
  float y =
      p * bits_to_float((uint32_t)(n1 + 127) << 23) * bits_to_float((uint32_t)(n2 + 127) << 23);
  y = x > hi ? INFINITY : y;
  return x < lo ? 0.0f : y;
}

/* exp(x) for x in [-87, 88] (NaN propagates), where 2^n is one normal
 * float: one scaling and no edge cases, for the gates' hot loops. */
static inline float vexp_normal(float x) {
  int32_t ni;
  float p = exp_reduced(x, &ni);
  return p * bits_to_float((uint32_t)(ni + 127) << 23);
}

/* 1 / (1 + e^-x) with e^-x clamped to [e^-87, e^87]: outside, sigmoid is 1
 * in f32, or below 2e-38 (returned as 1.6e-38). */
static inline float vsigmoid(float x) {
  float a = -x;
  a = a < -87.0f ? -87.0f : a;
  a = a > 87.0f ? 87.0f : a;
  return 1.0f / (1.0f + vexp_normal(a));
}

/* tanh(x): Cephes' odd polynomial below |x| = 0.625 (no cancellation near
 * 0), 1 - 2 / (e^{2|x|} + 1) above, saturating at |x| = 9 where tanh is 1
 * in f32. */
static inline float vtanh(float x) {
  float a = fabsf(x), z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * x + x;
  float ac = a > 9.0f ? 9.0f : a;
  float big = copysignf(1.0f - 2.0f / (vexp_normal(2.0f * ac) + 1.0f), x);
  return a < 0.625f ? small : big;
}

static void k_sigmoid(int64_t n, const float *x, float *y) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) y[i] = vsigmoid(x[i]);
}

static void k_tanh(int64_t n, const float *x, float *y) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) y[i] = vtanh(x[i]);
}

static void k_sigmoid_bwd(int64_t n, const float *dy, const float *x, float *dx) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float s = vsigmoid(x[i]);
    dx[i] = dy[i] * (s * (1.0f - s));
  }
}

static void k_tanh_bwd(int64_t n, const float *dy, const float *x, float *dx) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) {
    float t = vtanh(x[i]);
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
  for (int64_t i = 0; i < all; i++) y[i] = vexp(y[i]);
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
      float v = vexp(x[i] - shift);
      y[i] = v;
      sum += (double)v;
    }
  } else {
#pragma omp simd reduction(+ : sum)
    for (int64_t i = 0; i < n; i++) sum += (double)vexp(x[i] - shift);
  }
  return sum;
}

/* The gate pass, one loop per gate and one for c and h: a single loop
 * with all five transcendental functions needs more constants than AVX2
 * has registers (they were reloaded on every iteration), and the split
 * ran about 20% faster on Zen 3 (the gates then go through L1). The last
 * loop with and without a previous cell state, so neither has a test
 * inside. */
static void k_lstm_fwd(int64_t n, int64_t h, const float *z, const float *b, const float *cp,
                       float *cache, float *hout) {
  const float *zi = z, *zf = z + h, *zg = z + 2 * h, *zo = z + 3 * h;
  const float *bi = b, *bf = b + h, *bg = b + 2 * h, *bo = b + 3 * h;
  float *ci = cache, *cf = cache + h, *cg = cache + 2 * h, *co = cache + 3 * h, *cc = cache + 4 * h;
#pragma omp simd
  for (int64_t u = 0; u < n; u++) ci[u] = vsigmoid(zi[u] + bi[u]);
#pragma omp simd
  for (int64_t u = 0; u < n; u++) cf[u] = vsigmoid(zf[u] + bf[u]);
#pragma omp simd
  for (int64_t u = 0; u < n; u++) cg[u] = vtanh(zg[u] + bg[u]);
#pragma omp simd
  for (int64_t u = 0; u < n; u++) co[u] = vsigmoid(zo[u] + bo[u]);
  if (cp) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) {
      float c = cf[u] * cp[u] + ci[u] * cg[u];
      cc[u] = c;
      hout[u] = co[u] * vtanh(c);
    }
  } else {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) {
      float c = ci[u] * cg[u];
      cc[u] = c;
      hout[u] = co[u] * vtanh(c);
    }
  }
}

static inline void lstm_bwd_unit(int64_t h, int64_t u, float dh, float cprev, float *dc,
                                 const float *ct, float *dz) {
  float gi = ct[u], gf = ct[h + u], gg = ct[2 * h + u], go = ct[3 * h + u];
  float tc = vtanh(ct[4 * h + u]);
  float dcu = dc[u] + dh * go * (1.0f - tc * tc);
  /* sigmoid' = s(1-s), tanh' = 1-t^2 */
  dz[u] = dcu * gg * gi * (1.0f - gi);
  dz[h + u] = dcu * cprev * gf * (1.0f - gf);
  dz[2 * h + u] = dcu * gi * (1.0f - gg * gg);
  dz[3 * h + u] = dh * tc * go * (1.0f - go);
  dc[u] = dcu * gf; /* c_t = f * c_{t-1} + ... */
}

static void k_lstm_bwd(int64_t n, int64_t h, const float *dy, const float *dhn, float *dc,
                       const float *ct, const float *cp, float *dz) {
  if (dhn && cp) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) lstm_bwd_unit(h, u, dy[u] + dhn[u], cp[u], dc, ct, dz);
  } else if (dhn) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) lstm_bwd_unit(h, u, dy[u] + dhn[u], 0.0f, dc, ct, dz);
  } else if (cp) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) lstm_bwd_unit(h, u, dy[u], cp[u], dc, ct, dz);
  } else {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) lstm_bwd_unit(h, u, dy[u], 0.0f, dc, ct, dz);
  }
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
    .lstm_fwd = k_lstm_fwd,
    .lstm_bwd = k_lstm_bwd,
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
