/* Loading OpenBLAS with the right kernels (ob_blas.h). */
#include "ob_blas.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef NNB_OPENBLAS_SONAME
#define NNB_OPENBLAS_SONAME "libopenblas.so.0"
#endif

static nnb_status sym(void *h, const char *name, void *fn, size_t size, nnb_error *e) {
  void *p = dlsym(h, name);
  if (!p)
    return nnb_fail(e, NNB_ERR_UNAVAILABLE, "openblas: %s has no symbol '%s' (%s)",
                    NNB_OPENBLAS_SONAME, name, dlerror());
  memcpy(fn, &p, size); /* ISO C has no object-to-function pointer conversion */
  return NNB_OK;
}

static nnb_status open_lib(ob_blas *b, nnb_error *e) {
  b->handle = dlopen(NNB_OPENBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!b->handle)
    return nnb_fail(e, NNB_ERR_UNAVAILABLE, "openblas: cannot load %s: %s", NNB_OPENBLAS_SONAME,
                    dlerror());
  nnb_status s = sym(b->handle, "cblas_sgemm", &b->sgemm, sizeof b->sgemm, e);
  if (s == NNB_OK) s = sym(b->handle, "cblas_sgemv", &b->sgemv, sizeof b->sgemv, e);
  if (s == NNB_OK)
    s = sym(b->handle, "openblas_set_num_threads", &b->set_num_threads, sizeof b->set_num_threads,
            e);
  if (s == NNB_OK)
    s = sym(b->handle, "openblas_get_corename", &b->get_corename, sizeof b->get_corename, e);
  if (s == NNB_OK)
    s = sym(b->handle, "openblas_get_config", &b->get_config, sizeof b->get_config, e);
  if (s == NNB_OK)
    s = sym(b->handle, "openblas_get_parallel", &b->get_parallel, sizeof b->get_parallel, e);
  if (s != NNB_OK) {
    dlclose(b->handle);
    b->handle = NULL;
    return s;
  }
  struct link_map *lm = NULL;
  if (dlinfo(b->handle, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name)
    snprintf(b->path, sizeof b->path, "%s", lm->l_name);
  snprintf(b->core, sizeof b->core, "%s", b->get_corename());
  return NNB_OK;
}

static int loaded_now(void) {
  void *h = dlopen(NNB_OPENBLAS_SONAME, RTLD_NOW | RTLD_NOLOAD);
  if (h) dlclose(h);
  return h != NULL;
}

/* Loads with OPENBLAS_CORETYPE=core for OpenBLAS's constructor, then puts
 * the variable back as it was, so the process environment is unchanged. */
static nnb_status open_with(ob_blas *b, const char *core, nnb_error *e) {
  const char *old = getenv("OPENBLAS_CORETYPE");
  char *saved = old ? strdup(old) : NULL;
  if ((old && !saved) || setenv("OPENBLAS_CORETYPE", core, 1) != 0) {
    free(saved);
    return nnb_fail(e, NNB_ERR_NOMEM, "openblas: cannot set OPENBLAS_CORETYPE");
  }
  nnb_status s = open_lib(b, e);
  if (saved)
    setenv("OPENBLAS_CORETYPE", saved, 1);
  else
    unsetenv("OPENBLAS_CORETYPE");
  free(saved);
  if (s == NNB_OK && strcasecmp(b->core, core) != 0) {
    size_t at = strlen(b->core_why);
    snprintf(b->core_why + at, sizeof b->core_why - at, "; asked for %s, OpenBLAS reports %s", core,
             b->core);
  }
  return s;
}

nnb_status ob_blas_load(ob_blas *b, const ob_cpu *cpu, nnb_error *e) {
  memset(b, 0, sizeof *b);
  const char *nnb = getenv("NNB_OPENBLAS_CORETYPE"), *env = getenv("OPENBLAS_CORETYPE");
  bool avx512 = ob_cpu_has_avx512(cpu);
  /* Loaded before us (by the program or another library), its constructor
   * has already chosen: the kernels cannot change, only be reported. */
  if (loaded_now()) {
    nnb_status s = open_lib(b, e);
    if (s != NNB_OK) return s;
    const char *want =
        ob_coretype_decide(nnb, env, avx512, b->core, b->core_why, sizeof b->core_why);
    size_t at = strlen(b->core_why);
    snprintf(b->core_why + at, sizeof b->core_why - at,
             want ? "; but OpenBLAS was loaded earlier in this process with %s kernels, which "
                    "cannot change now"
                  : "; OpenBLAS was loaded earlier in this process (%s kernels)",
             b->core);
  } else if (nnb && nnb[0]) {
    const char *want = ob_coretype_decide(nnb, env, avx512, NULL, b->core_why, sizeof b->core_why);
    nnb_status s = open_with(b, want, e);
    if (s != NNB_OK) return s;
  } else {
    nnb_status s = open_lib(b, e);
    if (s != NNB_OK) return s;
    snprintf(b->core_default, sizeof b->core_default, "%s", b->core);
    const char *want =
        ob_coretype_decide(nnb, env, avx512, b->core, b->core_why, sizeof b->core_why);
    if (want) { /* unload, and load again for the constructor to see `want` */
      dlclose(b->handle);
      b->handle = NULL;
      if (loaded_now())
        return nnb_fail(e, NNB_ERR_BACKEND,
                        "openblas: %s stayed loaded after dlclose, so its %s kernels cannot be "
                        "replaced by %s",
                        NNB_OPENBLAS_SONAME, b->core_default, want);
      s = open_with(b, want, e);
      if (s != NNB_OK) return s;
    }
  }
  b->set_num_threads(1);
  return NNB_OK;
}

void ob_blas_unload(ob_blas *b) {
  if (b->handle) dlclose(b->handle);
  b->handle = NULL;
}
