/* Loading OpenBLAS. The plugin does not link the library: it opens it in
 * init(), for two reasons.
 * - Core type. OpenBLAS picks its kernels in its own load-time constructor
 *   from CPUID or OPENBLAS_CORETYPE. 0.3.21 does not know AMD's AVX-512 CPUs
 *   and falls back to Haswell (AVX2) kernels, about half the SGEMM speed of
 *   its SkylakeX kernels on them. A library linked to the plugin is
 *   initialised before any plugin code runs, so the choice must be made
 *   before the library is opened.
 * - Threads. Debian ships a pthread and an OpenMP build. The OpenMP build
 *   shares libgomp's thread pool with this plugin's own OpenMP loops, so one
 *   thread count governs both and the two pools never compete for cores. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ob.h"

#ifndef NNB_OPENBLAS_OPENMP_LIB
#define NNB_OPENBLAS_OPENMP_LIB ""
#endif

const char *ob_choose_coretype(const char *mode, const char *env, bool avx512, bool avx2, char *why,
                               size_t why_len) {
  if (!mode || !*mode) mode = "auto";
  if (!strcmp(mode, "env")) {
    snprintf(why, why_len, "%s",
             env && *env ? "OPENBLAS_CORETYPE from the environment"
                         : "the library's own CPU detection");
    return NULL;
  }
  if (strcmp(mode, "auto")) {
    snprintf(why, why_len, "asked for (coretype=%s)", mode);
    return mode;
  }
  const char *best = avx512 ? "SkylakeX" : avx2 ? "Haswell" : NULL;
  if (!best) {
    snprintf(why, why_len, "the library's own CPU detection (no AVX2 here)%s",
             env && *env ? "; OPENBLAS_CORETYPE from the environment kept" : "");
    return NULL;
  }
  int overridden = env && *env && strcasecmp(env, best);
  snprintf(why, why_len, "auto: the CPU has %s%s%s%s",
           avx512 ? "AVX-512 (F, BW, DQ, CD, VL)" : "AVX2 and FMA",
           overridden ? "; the environment's OPENBLAS_CORETYPE=" : "", overridden ? env : "",
           overridden ? " overridden (NNBENCH_OPENBLAS_CORETYPE=env keeps it)" : "");
  return best;
}

static bool cpu_avx512(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512vl");
}

static bool cpu_avx2(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static void *sym(ob_blas *b, const char *name, nnb_error *e, int *missing) {
  void *p = dlsym(b->handle, name);
  if (!p && !*missing) {
    *missing = 1;
    nnb_fail(e, NNB_ERR_UNAVAILABLE, "openblas: %s has no symbol %s", b->path, name);
  }
  return p;
}

nnb_status ob_blas_load(ob_blas *b, const char *mode, int threads, nnb_error *e) {
  memset(b, 0, sizeof *b);
  const char *env = getenv("OPENBLAS_CORETYPE");
  char *saved = env ? strdup(env) : NULL;
  const char *core =
      ob_choose_coretype(mode, env, cpu_avx512(), cpu_avx2(), b->core_why, sizeof b->core_why);
  if (core) setenv("OPENBLAS_CORETYPE", core, 1);
  const char *candidates[] = {NNB_OPENBLAS_OPENMP_LIB, "libopenblas.so.0"};
  char errs[512] = "";
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates && !b->handle; i++) {
    if (!*candidates[i]) continue;
    b->handle = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
    if (b->handle)
      snprintf(b->path, sizeof b->path, "%s", candidates[i]);
    else
      snprintf(errs + strlen(errs), sizeof errs - strlen(errs), "%s%s", *errs ? "; " : "",
               dlerror());
  }
  /* Restore the environment: the choice was for the library's constructor. */
  if (saved)
    setenv("OPENBLAS_CORETYPE", saved, 1);
  else
    unsetenv("OPENBLAS_CORETYPE");
  free(saved);
  if (!b->handle)
    return nnb_fail(e, NNB_ERR_UNAVAILABLE,
                    "openblas: cannot open the library (%s); scripts/install-deps.sh installs it",
                    errs);
  int missing = 0;
  *(void **)&b->sgemm = sym(b, "cblas_sgemm", e, &missing);
  *(void **)&b->set_num_threads = sym(b, "openblas_set_num_threads", e, &missing);
  *(void **)&b->get_num_threads = sym(b, "openblas_get_num_threads", e, &missing);
  *(void **)&b->get_config = sym(b, "openblas_get_config", e, &missing);
  *(void **)&b->get_corename = sym(b, "openblas_get_corename", e, &missing);
  if (missing) {
    ob_blas_unload(b);
    return NNB_ERR_UNAVAILABLE;
  }
  int (*parallel)(void) = NULL;
  *(void **)&parallel = dlsym(b->handle, "openblas_get_parallel");
  snprintf(b->variant, sizeof b->variant, "%s",
           parallel && parallel() == 2   ? "openmp"
           : parallel && parallel() == 1 ? "pthread"
                                         : "serial");
  b->set_num_threads(threads);
  snprintf(b->coretype, sizeof b->coretype, "%s", b->get_corename());
  if (core && strcasecmp(core, b->coretype))
    snprintf(b->core_why + strlen(b->core_why), sizeof b->core_why - strlen(b->core_why),
             "; asked for %s, but the library runs %s (it was already loaded, or has no such "
             "kernels)",
             core, b->coretype);
  return NNB_OK;
}

void ob_blas_unload(ob_blas *b) {
  /* Never dlclose: OpenBLAS's threads and atexit handlers outlive a close. */
  memset(b, 0, sizeof *b);
}
