/* The data movement of convolutions and 2x2 max pooling (ob_vec.h), compiled
 * once per ISA like ob_vec.c: the rows are short (11 to 26 floats in the
 * seed CNN), so the vector width decides how much of each is a tail. */
#include <string.h>

#include "ob_vec_isa.h"

/* Rows of 8 floats and more as 32-byte blocks, the last one overlapping the
 * one before it (writing the same values twice): a row of 11 (the seed
 * CNN's conv2) is two block moves instead of a vector and three scalar
 * iterations. The compiler turns each fixed-size memcpy into the ISA's
 * vector moves. dst and src do not overlap. */
void OB_VEC_FN(ob_vk_copy_rows)(float *dst, int64_t ldd, const float *src, int64_t lds,
                                int64_t rows, int64_t cols) {
  enum { B = 8 };
  if (cols < B) {
    for (int64_t r = 0; r < rows; r++, dst += ldd, src += lds)
      for (int64_t j = 0; j < cols; j++) dst[j] = src[j];
    return;
  }
  for (int64_t r = 0; r < rows; r++, dst += ldd, src += lds) {
    for (int64_t j = 0; j < cols - B; j += B) memcpy(dst + j, src + j, B * sizeof *dst);
    memcpy(dst + cols - B, src + cols - B, B * sizeof *dst);
  }
}

void OB_VEC_FN(ob_vk_add_rows)(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t rows,
                               int64_t cols) {
  for (int64_t r = 0; r < rows; r++, dst += ldd, src += lds) {
#pragma omp simd
    for (int64_t j = 0; j < cols; j++) dst[j] += src[j];
  }
}

/* The maximum is the first one in row-major order, found with the same
 * comparisons as the reference (so NaN behaves the same). */
void OB_VEC_FN(ob_vk_pool2)(int64_t h, int64_t w, const float *x, float *y) {
  int64_t oh = h / 2, ow = w / 2;
  for (int64_t i = 0; i < oh; i++) {
    const float *r0 = x + 2 * i * w, *r1 = r0 + w;
    float *yr = y + i * ow;
#pragma omp simd
    for (int64_t j = 0; j < ow; j++) {
      float m = r0[2 * j];
      m = r0[2 * j + 1] > m ? r0[2 * j + 1] : m;
      m = r1[2 * j] > m ? r1[2 * j] : m;
      m = r1[2 * j + 1] > m ? r1[2 * j + 1] : m;
      yr[j] = m;
    }
  }
}

/* The windows do not overlap: each window's four gradients are written at
 * once, dy at the maximum and 0 elsewhere (times max > 0 when a relu's
 * backward is folded in), so no zeroing pass. */
void OB_VEC_FN(ob_vk_pool2_bwd)(int64_t h, int64_t w, const float *x, const float *dy, float *dx,
                                bool relu_mask) {
  int64_t oh = h / 2, ow = w / 2;
  float below_zero = relu_mask ? 0.0f : 1.0f; /* dy's factor where the maximum is <= 0 */
  for (int64_t i = 0; i < oh; i++) {
    const float *r0 = x + 2 * i * w, *r1 = r0 + w, *gy = dy + i * ow;
    float *d0 = dx + 2 * i * w, *d1 = d0 + w;
#pragma omp simd
    for (int64_t j = 0; j < ow; j++) {
      /* the first maximum in row-major order, its position as a float:
       * GCC vectorises this form (with the interleaved stores below), not
       * one with an int or bool position */
      float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
      float m = a, k = 0.0f;
      k = b > m ? 1.0f : k;
      m = b > m ? b : m;
      k = c > m ? 2.0f : k;
      m = c > m ? c : m;
      k = d > m ? 3.0f : k;
      m = d > m ? d : m;
      float v = gy[j] * (m > 0.0f ? 1.0f : below_zero);
      d0[2 * j] = k == 0.0f ? v : 0.0f;
      d0[2 * j + 1] = k == 1.0f ? v : 0.0f;
      d1[2 * j] = k == 2.0f ? v : 0.0f;
      d1[2 * j + 1] = k == 3.0f ? v : 0.0f;
    }
    for (int64_t col = 2 * ow; col < w; col++)
      d0[col] = d1[col] = 0.0f; /* no window covers these */
  }
  for (int64_t r = 2 * oh; r < h; r++) memset(dx + r * w, 0, (size_t)w * sizeof *dx);
}
