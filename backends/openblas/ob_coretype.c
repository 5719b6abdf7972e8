/* CPU features and the core-type decision (ob_coretype.h). Runs from
 * init(), never at load time. */
#include "ob_coretype.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

void ob_cpu_detect(ob_cpu *c) {
  memset(c, 0, sizeof *c);
  unsigned a, b, cx, d;
  if (!__get_cpuid(0, &a, &b, &cx, &d)) return;
  unsigned max_leaf = a;
  memcpy(c->vendor, &b, 4);
  memcpy(c->vendor + 4, &d, 4);
  memcpy(c->vendor + 8, &cx, 4);
  if (__get_cpuid(1, &a, &b, &cx, &d)) {
    unsigned fam = (a >> 8) & 0xf, model = (a >> 4) & 0xf;
    if (fam == 0xf) fam += (a >> 20) & 0xff;
    if (fam == 0x6 || fam >= 0xf) model |= ((a >> 16) & 0xf) << 4;
    c->family = fam;
    c->model = model;
    c->fma = (cx >> 12) & 1;
    if ((cx >> 27) & 1) { /* OSXSAVE: XGETBV is available */
      uint64_t xcr0 = xgetbv0();
      c->os_ymm = (xcr0 & 0x6) == 0x6;                /* SSE and AVX state */
      c->os_zmm = c->os_ymm && (xcr0 & 0xe0) == 0xe0; /* opmask, ZMM0-15 high, ZMM16-31 */
    }
  }
  if (max_leaf >= 7 && __get_cpuid_count(7, 0, &a, &b, &cx, &d)) {
    c->avx2 = (b >> 5) & 1;
    c->avx512f = (b >> 16) & 1;
    c->avx512dq = (b >> 17) & 1;
    c->avx512bw = (b >> 30) & 1;
    c->avx512vl = (b >> 31) & 1;
  }
  if (__get_cpuid(0x80000000, &a, &b, &cx, &d) && a >= 0x80000004) {
    unsigned w[12] = {0};
    for (unsigned leaf = 0; leaf < 3; leaf++)
      __get_cpuid(0x80000002 + leaf, &w[4 * leaf], &w[4 * leaf + 1], &w[4 * leaf + 2],
                  &w[4 * leaf + 3]);
    memcpy(c->brand, w, 48);
    c->brand[48] = 0;
  }
}
#else
void ob_cpu_detect(ob_cpu *c) { memset(c, 0, sizeof *c); }
#endif

bool ob_cpu_has_avx512(const ob_cpu *c) {
  return c->os_zmm && c->avx512f && c->avx512bw && c->avx512dq && c->avx512vl;
}

bool ob_cpu_has_avx2(const ob_cpu *c) { return c->os_ymm && c->avx2 && c->fma; }

bool ob_coretype_is_avx512(const char *corename) {
  static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  if (!corename) return false;
  for (size_t i = 0; i < sizeof avx512 / sizeof avx512[0]; i++)
    if (!strcasecmp(corename, avx512[i])) return true;
  return false;
}

const char *ob_coretype_decide(const char *nnb, const char *env, bool cpu_avx512,
                               const char *chosen, char *why, size_t why_len) {
  const char *got = chosen && chosen[0] ? chosen : "unknown";
  bool env_set = env && env[0];
  if (nnb && nnb[0]) {
    snprintf(why, why_len, "NNB_OPENBLAS_CORETYPE=%s (this backend's explicit setting)", nnb);
    return nnb;
  }
  if (!cpu_avx512 || ob_coretype_is_avx512(got)) {
    if (env_set)
      snprintf(why, why_len, "OPENBLAS_CORETYPE=%s from the environment (respected)", env);
    else if (!cpu_avx512)
      snprintf(why, why_len, "OpenBLAS's own choice (the CPU has no usable AVX-512F/BW/DQ/VL)");
    else
      snprintf(why, why_len, "OpenBLAS's own choice (AVX-512 kernels already)");
    return NULL;
  }
  if (env_set)
    snprintf(why, why_len,
             "OPENBLAS_CORETYPE=%s from the environment selects %s kernels without AVX-512 on an "
             "AVX-512F/BW/DQ/VL CPU: loaded SkylakeX kernels instead (NNB_OPENBLAS_CORETYPE=%s "
             "keeps them)",
             env, got, env);
  else
    snprintf(why, why_len,
             "OpenBLAS chose %s kernels on an AVX-512F/BW/DQ/VL CPU (a model it does not know): "
             "loaded SkylakeX kernels instead",
             got);
  return "SkylakeX";
}

const char *ob_vec_isa_decide(const char *want, bool cpu_avx512, bool cpu_avx2, char *why,
                              size_t why_len) {
  const char *widest = cpu_avx512 ? "avx512" : cpu_avx2 ? "avx2" : "baseline";
  if (!want || !want[0]) {
    snprintf(why, why_len, "the widest this CPU runs");
    return widest;
  }
  bool ok = !strcasecmp(want, "baseline") || (!strcasecmp(want, "avx2") && cpu_avx2) ||
            (!strcasecmp(want, "avx512") && cpu_avx512);
  if (!ok) {
    bool known = !strcasecmp(want, "avx2") || !strcasecmp(want, "avx512");
    snprintf(why, why_len,
             known ? "NNB_OPENBLAS_VEC=%s: this CPU cannot run it (widest: %s)"
                   : "NNB_OPENBLAS_VEC=%s: expected avx512, avx2 or baseline (widest here: %s)",
             want, widest);
    return NULL;
  }
  snprintf(why, why_len, "NNB_OPENBLAS_VEC=%s (widest here: %s)", want, widest);
  return !strcasecmp(want, "avx512") ? "avx512" : !strcasecmp(want, "avx2") ? "avx2" : "baseline";
}
