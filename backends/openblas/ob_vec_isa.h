/* Names of the kernels that ob_vec.c's table gathers from the other files
 * compiled once per ISA (ob_vec_move.c, ob_vec_gemm.c, ob_vec_pgemm.c,
 * ob_vec_fgemm.c):
 * each ISA's build gets its own symbols (ob_vk_copy_rows_avx2, ...),
 * CMake's OB_VEC_SUFFIX naming the ISA. Included only by those files. */
#ifndef NNB_OB_VEC_ISA_H
#define NNB_OB_VEC_ISA_H

#include "ob_vec.h"

#if !defined(OB_VEC_SUFFIX)
#error "the per-ISA kernels are compiled with -DOB_VEC_SUFFIX=<isa>"
#endif

#define OB_VEC_CAT2(a, b) a##_##b
#define OB_VEC_CAT(a, b) OB_VEC_CAT2(a, b)
#define OB_VEC_FN(name) OB_VEC_CAT(name, OB_VEC_SUFFIX)

void OB_VEC_FN(ob_vk_copy_rows)(float *dst, int64_t ldd, const float *src, int64_t lds,
                                int64_t rows, int64_t cols);
void OB_VEC_FN(ob_vk_add_rows)(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t rows,
                               int64_t cols);
void OB_VEC_FN(ob_vk_pool2)(int64_t h, int64_t w, const float *x, float *y);
void OB_VEC_FN(ob_vk_pool2_bwd)(int64_t h, int64_t w, const float *x, const float *dy, float *dx,
                                bool relu_mask);
void OB_VEC_FN(ob_vk_gemm_small)(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha,
                                 const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
                                 int64_t ldc);
void OB_VEC_FN(ob_vk_pack_panels)(int64_t n, int64_t k, const float *w, int64_t sj, int64_t sp,
                                  float *bp, int64_t kp);
void OB_VEC_FN(ob_vk_gemm_packed)(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                                  const float *bp, float *c, int64_t ldc, bool acc);
void OB_VEC_FN(ob_vk_gemm_nt_dot)(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                                  int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                                  bool acc);
void OB_VEC_FN(ob_vk_gemm_tn_short)(int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                                    int64_t lda, const float *b, int64_t ldb, float *c, int64_t ldc,
                                    bool acc);

#endif
