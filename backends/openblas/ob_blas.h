/* OpenBLAS, loaded with dlopen from init() rather than linked: its own
 * constructor picks the kernel set (core type) from OPENBLAS_CORETYPE when
 * the library is loaded, so a plugin linked against it would be too late to
 * choose. See ob_coretype.h for the choice. */
#ifndef NNB_OB_BLAS_H
#define NNB_OB_BLAS_H

#include <cblas.h>

#include <nnbench/status.h>

#include "ob_coretype.h"

typedef void (*ob_sgemm_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE,
                            const enum CBLAS_TRANSPOSE, const blasint m, const blasint n,
                            const blasint k, const float alpha, const float *a, const blasint lda,
                            const float *b, const blasint ldb, const float beta, float *c,
                            const blasint ldc);

typedef void (*ob_sgemv_fn)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE, const blasint m,
                            const blasint n, const float alpha, const float *a, const blasint lda,
                            const float *x, const blasint incx, const float beta, float *y,
                            const blasint incy);

typedef struct ob_blas {
  void *handle;
  ob_sgemm_fn sgemm;
  ob_sgemv_fn sgemv;
  void (*set_num_threads)(int);
  char *(*get_corename)(void);
  char *(*get_config)(void);
  int (*get_parallel)(void); /* 0 sequential, 1 pthreads, 2 OpenMP */
  char path[256];            /* the file the dynamic linker loaded */
  char core_default[32];     /* what OpenBLAS chose at first ("" if not known) */
  char core[32];             /* the kernels in use */
  char core_why[256];        /* why: a variable, a reload, or OpenBLAS's own choice */
} ob_blas;

/* Loads OpenBLAS (soname NNB_OPENBLAS_SONAME), choosing the core type as
 * ob_coretype_decide says (a second load when OpenBLAS's first choice is to
 * be replaced), and makes it single-threaded: this backend runs
 * its own OpenMP team and calls OpenBLAS from it (README: threads). Fails
 * with NNB_ERR_UNAVAILABLE and dlerror()'s text when it cannot be loaded. */
nnb_status ob_blas_load(ob_blas *b, const ob_cpu *cpu, nnb_error *e);
void ob_blas_unload(ob_blas *b);

#endif
