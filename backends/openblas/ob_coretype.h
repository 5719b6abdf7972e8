/* Which OpenBLAS core type (kernel set) to load. OpenBLAS picks its kernels
 * in its own load-time constructor from the CPU model; on CPUs it does not
 * know (this project's AMD EPYC with AVX-512) it falls back to Haswell's
 * AVX2 kernels, about half the SGEMM speed of its SkylakeX (AVX-512) ones.
 * The decision is a pure function of what the user set, what the CPU can
 * do and what OpenBLAS chose, so it is tested without a CPU of each kind. */
#ifndef NNB_OB_CORETYPE_H
#define NNB_OB_CORETYPE_H

#include <stdbool.h>
#include <stddef.h>

/* What CPUID (and XGETBV: whether the OS saves the registers) says. */
typedef struct ob_cpu {
  char vendor[13];
  char brand[49];
  unsigned family, model;
  bool avx2, fma, avx512f, avx512bw, avx512dq, avx512vl;
  bool os_ymm, os_zmm; /* XCR0: the OS saves AVX / AVX-512 state */
} ob_cpu;

void ob_cpu_detect(ob_cpu *c);
/* AVX-512 F, BW, DQ and VL, enabled by the OS: what SkylakeX kernels use. */
bool ob_cpu_has_avx512(const ob_cpu *c);
bool ob_cpu_has_avx2(const ob_cpu *c);

/* Whether an OpenBLAS core name is one of its AVX-512 kernel sets. */
bool ob_coretype_is_avx512(const char *corename);

/* The core type to load OpenBLAS with, or NULL to keep what it chose.
 * nnb: NNB_OPENBLAS_CORETYPE, this backend's explicit setting (NULL or ""
 * when unset): always respected. env: OPENBLAS_CORETYPE as found in the
 * environment: respected, except that on a CPU with AVX-512 (cpu_avx512 =
 * ob_cpu_has_avx512()) kernels without it are replaced by SkylakeX's, since
 * the backend must run the fastest kernels the CPU has unless told
 * otherwise through nnb. chosen: the core OpenBLAS loaded with
 * (openblas_get_corename(); NULL before loading). Writes a one-line reason. */
const char *ob_coretype_decide(const char *nnb, const char *env, bool cpu_avx512,
                               const char *chosen, char *why, size_t why_len);

/* The ISA of the vector kernels (ob_vec.h): "avx512", "avx2" or
 * "baseline". want: NNB_OPENBLAS_VEC (NULL or "" when unset), which lets a
 * wider CPU run a narrower table (an AVX-512 machine the AVX2 paths);
 * otherwise the widest the CPU runs. Returns NULL when want is not one of
 * the three or the CPU cannot run it. Writes a one-line reason. */
const char *ob_vec_isa_decide(const char *want, bool cpu_avx512, bool cpu_avx2, char *why,
                              size_t why_len);

#endif
