/* The gate passes of dn_vec.h as plain loops the compiler vectorises
 * (`omp simd`), with exp and tanh as polynomials of arithmetic and bit
 * operations only, so that no libm call keeps a loop scalar. CMake compiles
 * this file once per ISA with DN_VEC_TABLE naming the table and DN_VEC_ISA
 * its name. */
#include <math.h>
#include <string.h>

#include "dn_vec.h"

#if !defined(DN_VEC_TABLE) || !defined(DN_VEC_ISA)
#error "dn_vec.c is compiled with -DDN_VEC_TABLE=<table> -DDN_VEC_ISA=<name>"
#endif

static inline float from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

/* e^x for x in [-87, 88]: x = n ln2 + r with |r| <= ln2/2, e^r by Cephes'
 * degree-6 polynomial (about 1 ulp), 2^n one normal float. */
static inline float exp_in_range(float x) {
  const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float t = x * 1.44269504088896341f + magic;
  float n = t - magic;
  uint32_t tb;
  memcpy(&tb, &t, sizeof tb);
  int32_t ni = (int32_t)(tb - 0x4B400000u); /* the bits of magic */
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return (p * (r * r) + r + 1.0f) * from_bits((uint32_t)(ni + 127) << 23);
}

/* 1 / (1 + e^-x), e^-x clamped to [e^-87, e^87]: beyond, sigmoid is 1 in
 * f32, or below 2e-38. */
static inline float sigm(float x) {
  float a = -x;
  a = a < -87.0f ? -87.0f : a;
  a = a > 87.0f ? 87.0f : a;
  return 1.0f / (1.0f + exp_in_range(a));
}

/* tanh: Cephes' odd polynomial below |x| = 0.625 (no cancellation near 0),
 * 1 - 2 / (e^{2|x|} + 1) above, saturated at |x| = 9 (1 in f32). */
static inline float tanh_v(float x) {
  float a = fabsf(x), z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * x + x;
  float ac = a > 9.0f ? 9.0f : a;
  float big = copysignf(1.0f - 2.0f / (exp_in_range(2.0f * ac) + 1.0f), x);
  return a < 0.625f ? small : big;
}

/* One unit u of a forward step; cp = c_{t-1} of the unit. */
static inline void fwd_unit(int64_t n, int64_t u, const float *z, const float *b, float cp,
                            float *cache, float *hout) {
  float i = sigm(z[u] + b[u]), f = sigm(z[n + u] + b[n + u]);
  float g = tanh_v(z[2 * n + u] + b[2 * n + u]), o = sigm(z[3 * n + u] + b[3 * n + u]);
  float c = f * cp + i * g;
  cache[u] = i, cache[n + u] = f, cache[2 * n + u] = g, cache[3 * n + u] = o;
  cache[4 * n + u] = c;
  hout[u] = o * tanh_v(c);
}

/* Two loops, with and without c_{t-1}: neither has a test inside. */
static void k_lstm_fwd(int64_t n, const float *z, const float *bias, const float *cprev,
                       float *cache, float *hout) {
  if (cprev) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) fwd_unit(n, u, z, bias, cprev[u], cache, hout);
  } else {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) fwd_unit(n, u, z, bias, 0.0f, cache, hout);
  }
}

static inline void bwd_unit(int64_t n, int64_t u, float dh, float cprev, float *dc, const float *ct,
                            float *dz) {
  float gi = ct[u], gf = ct[n + u], gg = ct[2 * n + u], go = ct[3 * n + u];
  float tc = tanh_v(ct[4 * n + u]);
  float dcu = dc[u] + dh * go * (1.0f - tc * tc);
  /* sigmoid' = s (1 - s), tanh' = 1 - t^2 */
  dz[u] = dcu * gg * gi * (1.0f - gi);
  dz[n + u] = dcu * cprev * gf * (1.0f - gf);
  dz[2 * n + u] = dcu * gi * (1.0f - gg * gg);
  dz[3 * n + u] = dh * tc * go * (1.0f - go);
  dc[u] = dcu * gf; /* c_t = f c_{t-1} + ... */
}

static void k_lstm_bwd(int64_t n, const float *dy, const float *dhn, float *dc, const float *ct,
                       const float *cp, float *dz) {
  if (dhn && cp) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) bwd_unit(n, u, dy[u] + dhn[u], cp[u], dc, ct, dz);
  } else if (dhn) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) bwd_unit(n, u, dy[u] + dhn[u], 0.0f, dc, ct, dz);
  } else if (cp) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) bwd_unit(n, u, dy[u], cp[u], dc, ct, dz);
  } else {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) bwd_unit(n, u, dy[u], 0.0f, dc, ct, dz);
  }
}

const dn_vec DN_VEC_TABLE = {
    .isa = DN_VEC_ISA,
    .lstm_fwd = k_lstm_fwd,
    .lstm_bwd = k_lstm_bwd,
};
