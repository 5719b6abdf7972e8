/* Header-only kernels for CPU plugins' vector code: exp, sigmoid and tanh
 * as polynomials of arithmetic and bit operations only (no libm call keeps
 * a loop scalar), and the LSTM's gate pass and its backward for one step
 * of one sequence. Plain loops the compiler vectorises (`omp simd`): a
 * plugin includes this from the files it compiles once per ISA (with
 * -fopenmp-simd, -ffp-contract=fast and -fno-trapping-math, without which
 * GCC leaves the selects, and so every loop, scalar on AVX2), so each ISA's
 * build gets its own copy. */
#ifndef NNBENCH_CPU_MATH_H
#define NNBENCH_CPU_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float nnb_bits_to_float(uint32_t b) {
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

static inline uint32_t nnb_float_to_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

/* e^r for |r| <= ln2/2 (Cephes' degree-6 polynomial, about 1 ulp) and n,
 * for x = n ln2 + r; x is finite and within [-103, 88.72] (or NaN). */
static inline float nnb_exp_reduced(float x, int32_t *n_out) {
  const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
  float t = x * 1.44269504088896341f + magic;
  float n = t - magic;
  *n_out = (int32_t)(nnb_float_to_bits(t) - nnb_float_to_bits(magic));
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
static inline float nnb_vexp(float x) {
  const float hi = 88.72283935546875f, lo = -103.0f;
  float xc = x > hi ? hi : x;
  xc = xc < lo ? lo : xc;
  int32_t ni;
  float p = nnb_exp_reduced(xc, &ni);
  int32_t n1 = ni / 2, n2 = ni - n1;
  float y = p * nnb_bits_to_float((uint32_t)(n1 + 127) << 23) *
            nnb_bits_to_float((uint32_t)(n2 + 127) << 23);
  y = x > hi ? INFINITY : y;
  return x < lo ? 0.0f : y;
}

/* exp(x) for x in [-87, 88] (NaN propagates), where 2^n is one normal
 * float: one scaling and no edge cases, for the gates' hot loops. */
static inline float nnb_vexp_normal(float x) {
  int32_t ni;
  float p = nnb_exp_reduced(x, &ni);
  return p * nnb_bits_to_float((uint32_t)(ni + 127) << 23);
}

/* 1 / (1 + e^-x) with e^-x clamped to [e^-87, e^87]: outside, sigmoid is 1
 * in f32, or below 2e-38 (returned as 1.6e-38). */
static inline float nnb_vsigmoid(float x) {
  float a = -x;
  a = a < -87.0f ? -87.0f : a;
  a = a > 87.0f ? 87.0f : a;
  return 1.0f / (1.0f + nnb_vexp_normal(a));
}

/* tanh(x): Cephes' odd polynomial below |x| = 0.625 (no cancellation near
 * 0), 1 - 2 / (e^{2|x|} + 1) above, saturating at |x| = 9 where tanh is 1
 * in f32. */
static inline float nnb_vtanh(float x) {
  float a = fabsf(x), z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  float small = p * z * x + x;
  float ac = a > 9.0f ? 9.0f : a;
  float big = copysignf(1.0f - 2.0f / (nnb_vexp_normal(2.0f * ac) + 1.0f), x);
  return a < 0.625f ? small : big;
}

/* One LSTM step of one sequence for n units with gate stride h (n = h for
 * all of them; pointers start at the first unit): z holds the gate
 * pre-activations without bias (i, f, g, o at 0, h, 2h, 3h), b = b_ih +
 * b_hh likewise, cp = c_{t-1} (NULL at t = 0). Writes cache (i, f, g, o, c
 * at stride h) and h_t.
 *
 * One loop per gate and one for c and h: a single loop with all five
 * transcendental functions needs more constants than AVX2 has registers
 * (they were reloaded on every iteration), and the split ran about 20%
 * faster on Zen 3 (the gates then go through L1). The last loop with and
 * without a previous cell state, so neither has a test inside. */
static inline void nnb_lstm_step_fwd(int64_t n, int64_t h, const float *z, const float *b,
                                     const float *cp, float *cache, float *hout) {
  const float *zi = z, *zf = z + h, *zg = z + 2 * h, *zo = z + 3 * h;
  const float *bi = b, *bf = b + h, *bg = b + 2 * h, *bo = b + 3 * h;
  float *ci = cache, *cf = cache + h, *cg = cache + 2 * h, *co = cache + 3 * h, *cc = cache + 4 * h;
#pragma omp simd
  for (int64_t u = 0; u < n; u++) ci[u] = nnb_vsigmoid(zi[u] + bi[u]);
#pragma omp simd
  for (int64_t u = 0; u < n; u++) cf[u] = nnb_vsigmoid(zf[u] + bf[u]);
#pragma omp simd
  for (int64_t u = 0; u < n; u++) cg[u] = nnb_vtanh(zg[u] + bg[u]);
#pragma omp simd
  for (int64_t u = 0; u < n; u++) co[u] = nnb_vsigmoid(zo[u] + bo[u]);
  if (cp) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) {
      float c = cf[u] * cp[u] + ci[u] * cg[u];
      cc[u] = c;
      hout[u] = co[u] * nnb_vtanh(c);
    }
  } else {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) {
      float c = ci[u] * cg[u];
      cc[u] = c;
      hout[u] = co[u] * nnb_vtanh(c);
    }
  }
}

static inline void nnb_lstm_unit_bwd(int64_t h, int64_t u, float dh, float cprev, float *dc,
                                     const float *ct, float *dz) {
  float gi = ct[u], gf = ct[h + u], gg = ct[2 * h + u], go = ct[3 * h + u];
  float tc = nnb_vtanh(ct[4 * h + u]);
  float dcu = dc[u] + dh * go * (1.0f - tc * tc);
  /* sigmoid' = s(1-s), tanh' = 1-t^2 */
  dz[u] = dcu * gg * gi * (1.0f - gi);
  dz[h + u] = dcu * cprev * gf * (1.0f - gf);
  dz[2 * h + u] = dcu * gi * (1.0f - gg * gg);
  dz[3 * h + u] = dh * tc * go * (1.0f - go);
  dc[u] = dcu * gf; /* c_t = f * c_{t-1} + ... */
}

/* The same step backwards: dh = dy + dhn (dhn NULL: zero), dc holds the
 * gradient flowing into c_t from step t+1 and leaves with the one flowing
 * into c_{t-1}; writes dz (gate pre-activations, stride h). One loop per
 * combination of what is present, so none has a test inside. */
static inline void nnb_lstm_step_bwd(int64_t n, int64_t h, const float *dy, const float *dhn,
                                     float *dc, const float *ct, const float *cp, float *dz) {
  if (dhn && cp) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) nnb_lstm_unit_bwd(h, u, dy[u] + dhn[u], cp[u], dc, ct, dz);
  } else if (dhn) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) nnb_lstm_unit_bwd(h, u, dy[u] + dhn[u], 0.0f, dc, ct, dz);
  } else if (cp) {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) nnb_lstm_unit_bwd(h, u, dy[u], cp[u], dc, ct, dz);
  } else {
#pragma omp simd
    for (int64_t u = 0; u < n; u++) nnb_lstm_unit_bwd(h, u, dy[u], 0.0f, dc, ct, dz);
  }
}

#endif
