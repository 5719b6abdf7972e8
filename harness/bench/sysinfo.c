/* Host description and peak measurements (sysinfo.h). Linux first: every
 * source is a file under /proc or /sys, uname, sysconf or sched_getaffinity,
 * and a missing one leaves "unknown" or -1 rather than failing. */
#include "sysinfo.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <nnbench/nnbench.h>

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#define NNB_X86 1
#include <immintrin.h>
#endif

#ifndef NNB_BUILD_TYPE
#define NNB_BUILD_TYPE "unknown"
#endif
#ifndef NNB_COMPILER
#define NNB_COMPILER "unknown"
#endif
#ifndef NNB_SANITIZED
#define NNB_SANITIZED 0
#endif

/* ---- small helpers --------------------------------------------------------------------- */

/* Copies src into dst[n], truncating, always terminated. */
static void set_str(char *dst, size_t n, const char *src) {
  if (!n) return;
  size_t len = src ? strnlen(src, n - 1) : 0;
  if (len) memcpy(dst, src, len);
  dst[len] = '\0';
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

/* Reads the first line of a small file, trimmed; false when unreadable. */
static bool read_line(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char tmp[512];
  bool ok = fgets(tmp, sizeof tmp, f) != NULL;
  fclose(f);
  if (ok) set_str(buf, n, trim(tmp));
  return ok;
}

static bool read_long(const char *path, long *v) {
  char buf[64], *end;
  if (!read_line(path, buf, sizeof buf)) return false;
  errno = 0;
  long x = strtol(buf, &end, 10);
  if (errno || end == buf) return false;
  *v = x;
  return true;
}

/* True when the space-separated list `line` holds the word `tok`. */
static bool has_token(const char *line, const char *tok) {
  size_t n = strlen(tok);
  for (const char *p = line; (p = strstr(p, tok)) != NULL; p += n) {
    bool start = p == line || isspace((unsigned char)p[-1]);
    bool end = p[n] == '\0' || isspace((unsigned char)p[n]);
    if (start && end) return true;
  }
  return false;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The process's CPU mask, grown until the kernel's fits. NULL on failure;
 * CPU_FREE it. */
static cpu_set_t *get_affinity(size_t *size, int *ncpu_out) {
  for (int ncpu = 1024; ncpu <= (1 << 16); ncpu *= 2) {
    cpu_set_t *set = CPU_ALLOC(ncpu);
    if (!set) return NULL;
    size_t sz = CPU_ALLOC_SIZE(ncpu);
    CPU_ZERO_S(sz, set);
    if (sched_getaffinity(0, sz, set) == 0) {
      *size = sz;
      *ncpu_out = ncpu;
      return set;
    }
    CPU_FREE(set);
    if (errno != EINVAL) return NULL;
  }
  return NULL;
}

/* ---- collection ------------------------------------------------------------------------ */

/* The ISA extensions reported, in this order, when /proc/cpuinfo lists them
 * (x86 "flags", then Arm "Features"). */
static const char *const isa_of_interest[] = {
    "sse4_2",      "avx",      "avx2",     "fma",        "f16c",       "avx512f",     "avx512dq",
    "avx512cd",    "avx512bw", "avx512vl", "avx512ifma", "avx512vbmi", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "avx_vnni", "amx_tile", "amx_bf16",   "amx_int8",   "asimd",       "asimdhp",
    "asimddp",     "sve",      "sve2",     "bf16",       "i8mm",       "sme"};

typedef struct core_key {
  long pkg, core;
} core_key;

static void collect_cpuinfo(nnb_sysinfo *s) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char *line = NULL, *flags = NULL;
  size_t cap = 0;
  core_key *keys = NULL;
  size_t nkeys = 0, keycap = 0;
  long pkg = -1;
  bool keys_ok = true;
  while (getline(&line, &cap, f) > 0) {
    char *colon = strchr(line, ':');
    if (!colon) continue;
    *colon = '\0';
    char *key = trim(line), *val = trim(colon + 1);
    if (!strcmp(key, "model name") && !strcmp(s->cpu_model, "unknown"))
      set_str(s->cpu_model, sizeof s->cpu_model, val);
    else if ((!strcmp(key, "vendor_id") || !strcmp(key, "CPU implementer")) &&
             !strcmp(s->cpu_vendor, "unknown"))
      set_str(s->cpu_vendor, sizeof s->cpu_vendor, val);
    else if ((!strcmp(key, "flags") || !strcmp(key, "Features")) && !flags)
      flags = strdup(val);
    else if (!strcmp(key, "physical id"))
      pkg = strtol(val, NULL, 10);
    else if (!strcmp(key, "core id") && keys_ok) {
      if (nkeys == keycap) {
        size_t nc = keycap ? 2 * keycap : 64;
        core_key *k = realloc(keys, nc * sizeof *k);
        if (!k) {
          keys_ok = false;
          continue;
        }
        keys = k;
        keycap = nc;
      }
      keys[nkeys++] = (core_key){pkg, strtol(val, NULL, 10)};
    }
  }
  free(line);
  fclose(f);

  if (flags) {
    size_t used = 0;
    for (size_t i = 0; i < sizeof isa_of_interest / sizeof *isa_of_interest; i++) {
      const char *t = isa_of_interest[i];
      if (!has_token(flags, t)) continue;
      int w = snprintf(s->isa_flags + used, sizeof s->isa_flags - used, "%s%s", used ? " " : "", t);
      if (w < 0 || (size_t)w >= sizeof s->isa_flags - used) break;
      used += (size_t)w;
    }
    s->has_avx2 = has_token(flags, "avx2");
    s->has_fma = has_token(flags, "fma");
    s->has_avx512f = has_token(flags, "avx512f");
    free(flags);
  }

  if (keys_ok && nkeys) {
    size_t cores = 0, pkgs = 0;
    for (size_t i = 0; i < nkeys; i++) {
      bool seen_core = false, seen_pkg = false;
      for (size_t j = 0; j < i; j++) {
        if (keys[j].pkg == keys[i].pkg) {
          seen_pkg = true;
          if (keys[j].core == keys[i].core) seen_core = true;
        }
      }
      cores += !seen_core;
      pkgs += !seen_pkg;
    }
    s->physical_cores = (int)cores;
    s->sockets = pkgs && keys[0].pkg >= 0 ? (int)pkgs : -1;
  }
  free(keys);
}

/* "32K", "1024K", "32M" or a plain byte count. */
static int64_t parse_size(const char *v) {
  char *end;
  long long x = strtoll(v, &end, 10);
  if (end == v || x < 0) return -1;
  switch (toupper((unsigned char)*end)) {
  case 'K': return (int64_t)x << 10;
  case 'M': return (int64_t)x << 20;
  case 'G': return (int64_t)x << 30;
  default: return (int64_t)x;
  }
}

static void collect_caches(nnb_sysinfo *s) {
  for (int i = 0; i < 16; i++) {
    char path[128], level[16], type[32], size[32];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    if (!read_line(path, level, sizeof level)) break;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
    if (!read_line(path, type, sizeof type)) continue;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    if (!read_line(path, size, sizeof size)) continue;
    int64_t bytes = parse_size(size);
    long lv = strtol(level, NULL, 10);
    if (lv == 1 && !strcmp(type, "Data"))
      s->cache_l1d_bytes = bytes;
    else if (lv == 1 && !strcmp(type, "Instruction"))
      s->cache_l1i_bytes = bytes;
    else if (lv == 2)
      s->cache_l2_bytes = bytes;
    else if (lv == 3)
      s->cache_l3_bytes = bytes;
  }
  /* glibc answers these from cpuid on x86 when sysfs has no cache folder (VMs). */
  struct {
    int64_t *dst;
    int name;
  } fallback[] = {
#ifdef _SC_LEVEL1_DCACHE_SIZE
      {&s->cache_l1d_bytes, _SC_LEVEL1_DCACHE_SIZE},
      {&s->cache_l1i_bytes, _SC_LEVEL1_ICACHE_SIZE},
      {&s->cache_l2_bytes, _SC_LEVEL2_CACHE_SIZE},
      {&s->cache_l3_bytes, _SC_LEVEL3_CACHE_SIZE},
#endif
      {NULL, 0}};
  for (size_t i = 0; fallback[i].dst; i++) {
    if (*fallback[i].dst > 0) continue;
    long v = sysconf(fallback[i].name);
    if (v > 0) *fallback[i].dst = v;
  }
}

static void collect_memory(nnb_sysinfo *s) {
  FILE *f = fopen("/proc/meminfo", "r");
  if (f) {
    char line[256];
    long long kb;
    while (fgets(line, sizeof line, f)) {
      if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
        s->mem_total_bytes = (int64_t)kb * 1024;
      else if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
        s->mem_available_bytes = (int64_t)kb * 1024;
    }
    fclose(f);
  }
  if (s->mem_total_bytes <= 0) {
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    s->mem_total_bytes = pages > 0 && psz > 0 ? (int64_t)pages * psz : -1;
  }
}

static void collect_os_release(nnb_sysinfo *s) {
  const char *paths[] = {"/etc/os-release", "/usr/lib/os-release"};
  for (size_t i = 0; i < 2; i++) {
    FILE *f = fopen(paths[i], "r");
    if (!f) continue;
    char line[512];
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "PRETTY_NAME=", 12)) continue;
      char *v = trim(line + 12);
      size_t n = strlen(v);
      if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v[n - 1] = '\0';
        v++;
      }
      set_str(s->os_release, sizeof s->os_release, v);
      break;
    }
    fclose(f);
    return;
  }
}

static void collect_power(nnb_sysinfo *s) {
  if (!read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", s->governor,
                 sizeof s->governor) ||
      !s->governor[0])
    set_str(s->governor, sizeof s->governor, "unknown");
  long v;
  if (read_long("/sys/devices/system/cpu/cpufreq/boost", &v))
    set_str(s->boost, sizeof s->boost, v ? "on" : "off");
  else if (read_long("/sys/devices/system/cpu/intel_pstate/no_turbo", &v))
    set_str(s->boost, sizeof s->boost, v ? "off" : "on");
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    double l[3];
    if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) == 3)
      for (int i = 0; i < 3; i++) s->loadavg[i] = l[i];
    fclose(f);
  }
  if (read_long("/proc/sys/kernel/randomize_va_space", &v)) s->aslr = (int)v;
}

static void collect_affinity(nnb_sysinfo *s) {
  size_t sz;
  int ncpu;
  cpu_set_t *set = get_affinity(&sz, &ncpu);
  if (!set) {
    s->affinity_count = s->logical_cores;
    return;
  }
  s->affinity_count = CPU_COUNT_S(sz, set);
  size_t used = 0;
  for (int c = 0; c < ncpu; c++) {
    if (!CPU_ISSET_S((size_t)c, sz, set)) continue;
    int hi = c;
    while (hi + 1 < ncpu && CPU_ISSET_S((size_t)(hi + 1), sz, set)) hi++;
    char part[32];
    if (hi == c)
      snprintf(part, sizeof part, "%s%d", used ? "," : "", c);
    else
      snprintf(part, sizeof part, "%s%d-%d", used ? "," : "", c, hi);
    size_t n = strlen(part);
    if (used + n + 4 >= sizeof s->affinity_list) {
      memcpy(s->affinity_list + used, ",...", 5);
      break;
    }
    memcpy(s->affinity_list + used, part, n + 1);
    used += n;
    c = hi;
  }
  CPU_FREE(set);
}

static const char *const env_prefixes[] = {"OPENBLAS_", "OMP_",    "GOMP_", "KMP_", "GOTO",
                                           "DNNL_",     "ONEDNN_", "MKL_",  "VK_",  "MESA_"};

static int cmp_env(const void *a, const void *b) { return strcmp(a, b); }

static void collect_env(nnb_sysinfo *s) {
  for (char **ep = environ; ep && *ep; ep++) {
    bool match = false;
    for (size_t i = 0; i < sizeof env_prefixes / sizeof *env_prefixes && !match; i++)
      match = !strncmp(*ep, env_prefixes[i], strlen(env_prefixes[i]));
    if (!match || s->n_env == NNB_SYSINFO_MAX_ENV) continue;
    set_str(s->env[s->n_env++], NNB_SYSINFO_ENV_LEN, *ep);
  }
  qsort(s->env, (size_t)s->n_env, NNB_SYSINFO_ENV_LEN, cmp_env);
}

nnb_status nnb_sysinfo_collect(nnb_sysinfo *out, nnb_error *e) {
  if (!out) return nnb_fail(e, NNB_ERR_INVALID, "nnb_sysinfo_collect: out is NULL");
  nnb_sysinfo *s = out;
  memset(s, 0, sizeof *s);
  char *unknown_fields[] = {s->hostname,  s->os,        s->os_release, s->kernel,   s->kernel_build,
                            s->arch,      s->cpu_model, s->cpu_vendor, s->governor, s->boost,
                            s->lib_cjson, s->lib_zlib,  s->lib_glibc};
  for (size_t i = 0; i < sizeof unknown_fields / sizeof *unknown_fields; i++)
    strcpy(unknown_fields[i], "unknown");
  s->physical_cores = s->sockets = -1;
  s->cache_l1d_bytes = s->cache_l1i_bytes = s->cache_l2_bytes = s->cache_l3_bytes = -1;
  s->mem_total_bytes = s->mem_available_bytes = -1;
  s->loadavg[0] = s->loadavg[1] = s->loadavg[2] = -1;
  s->aslr = -1;

  struct utsname u;
  if (uname(&u) != 0)
    return nnb_fail(e, NNB_ERR_IO, "sysinfo: uname() failed: %s", strerror(errno));
  set_str(s->os, sizeof s->os, u.sysname);
  set_str(s->kernel, sizeof s->kernel, u.release);
  set_str(s->kernel_build, sizeof s->kernel_build, u.version);
  set_str(s->arch, sizeof s->arch, u.machine);
  char host[256];
  if (gethostname(host, sizeof host) == 0) {
    host[sizeof host - 1] = '\0';
    set_str(s->hostname, sizeof s->hostname, host);
  } else {
    set_str(s->hostname, sizeof s->hostname, u.nodename);
  }
  collect_os_release(s);

  long online = sysconf(_SC_NPROCESSORS_ONLN);
  s->logical_cores = online > 0 ? (int)online : 1;
  collect_cpuinfo(s);
  if (!strcmp(s->cpu_model, "unknown") || !s->cpu_model[0])
    set_str(s->cpu_model, sizeof s->cpu_model, s->arch); /* e.g. Arm without "model name" */
  collect_caches(s);
  collect_memory(s);
  collect_power(s);
  collect_affinity(s);
  collect_env(s);

  set_str(s->nnbench_version, sizeof s->nnbench_version, NNB_VERSION_STRING);
  set_str(s->build_type, sizeof s->build_type, NNB_BUILD_TYPE[0] ? NNB_BUILD_TYPE : "none");
  set_str(s->compiler, sizeof s->compiler, NNB_COMPILER);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
  s->sanitized = true;
#else
  s->sanitized = NNB_SANITIZED != 0;
#endif
  set_str(s->lib_cjson, sizeof s->lib_cjson, cJSON_Version());
  set_str(s->lib_zlib, sizeof s->lib_zlib, zlibVersion());
#if defined(__GLIBC__)
  set_str(s->lib_glibc, sizeof s->lib_glibc, gnu_get_libc_version());
#endif
  return NNB_OK;
}

/* ---- warnings -------------------------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
warn(nnb_warning_list *w, const char *fmt, ...) {
  if (w->n == NNB_SYSINFO_MAX_WARN) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->msg[w->n++], NNB_SYSINFO_WARN_LEN, fmt, ap);
  va_end(ap);
}

int nnb_sysinfo_warnings(const nnb_sysinfo *s, nnb_warning_list *out) {
  out->n = 0;
  if (!strcasecmp(s->build_type, "Debug"))
    warn(out, "this is a Debug build: timings are not representative "
              "(configure with -DCMAKE_BUILD_TYPE=Release)");
  if (s->sanitized)
    warn(out, "this is a sanitized build (ASan/UBSan): timings are not representative "
              "(configure without -DNNB_SANITIZE=ON)");
  if (strcmp(s->governor, "unknown") && strcmp(s->governor, "performance"))
    warn(out,
         "CPU frequency governor is '%s', not 'performance': clock speed may vary "
         "(e.g. 'sudo cpupower frequency-set -g performance')",
         s->governor);
  if (s->loadavg[0] >= 0 && s->loadavg[0] > 0.5 * s->logical_cores)
    warn(out, "load average is %.2f on %d logical cores: other work is competing for the CPU",
         s->loadavg[0], s->logical_cores);
  if (s->affinity_count > 0 && s->affinity_count < s->logical_cores)
    warn(out, "this process may run on only %d of %d online CPUs (affinity %s)", s->affinity_count,
         s->logical_cores, s->affinity_list);
  if (s->n_env) {
    char list[NNB_SYSINFO_WARN_LEN];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < s->n_env; i++) {
      if (!strcmp(s->env[i], "GOMP_SPINCOUNT=" NNB_GOMP_SPINCOUNT)) continue; /* nnbench's own */
      int n = snprintf(list + used, sizeof list - used, "%s%s", used ? " " : "", s->env[i]);
      if (n < 0 || (size_t)n >= sizeof list - used) break;
      used += (size_t)n;
    }
    if (used) warn(out, "speed-affecting environment variables are set: %s", list);
  }
  return out->n;
}

/* ---- peak FLOP/s ----------------------------------------------------------------------- */

/* Each kernel runs `iters` steps of independent multiply-add chains, enough
 * of them to hide the FMA latency, and returns a value depending on all of
 * them so that nothing is optimised away. x <- x*a + c converges to 1, so
 * the values stay normal. */
typedef float (*fma_kernel)(uint64_t iters);

typedef struct kernel_info {
  const char *isa;
  fma_kernel fn;
  double flops_per_iter;
} kernel_info;

#define REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define REP16(X) REP12(X) X(12) X(13) X(14) X(15)

#ifdef NNB_X86
#define D512(i) __m512 x##i = _mm512_set1_ps(0.5f + 0.01f * (i));
#define S512(i) x##i = _mm512_fmadd_ps(x##i, a, c);
#define R512(i) r = _mm512_add_ps(r, x##i);
__attribute__((target("avx512f"))) static float fma_avx512(uint64_t iters) {
  const __m512 a = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
  REP16(D512)
  for (uint64_t i = 0; i < iters; i++) {
    REP16(S512)
  }
  __m512 r = _mm512_setzero_ps();
  REP16(R512)
  return _mm512_reduce_add_ps(r);
}

#define D256(i) __m256 x##i = _mm256_set1_ps(0.5f + 0.01f * (i));
#define S256(i) x##i = _mm256_fmadd_ps(x##i, a, c);
#define R256(i) r = _mm256_add_ps(r, x##i);
__attribute__((target("avx2,fma"))) static float fma_avx2(uint64_t iters) {
  const __m256 a = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  REP12(D256)
  for (uint64_t i = 0; i < iters; i++) {
    REP12(S256)
  }
  __m256 r = _mm256_setzero_ps();
  REP12(R256)
  float v[8];
  _mm256_storeu_ps(v, r);
  return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}
#endif

/* The baseline: GCC vector extensions, a multiply then an add (no FMA is
 * assumed), 4 lanes (SSE2 on x86-64, NEON on Arm). */
typedef float v4f __attribute__((vector_size(16)));
#define DGEN(i) v4f x##i = {0.5f + 0.01f * (i), 0.5f, 0.5f, 0.5f};
#define SGEN(i) x##i = x##i * a + c;
#define RGEN(i) r += x##i;
static float fma_generic(uint64_t iters) {
  const v4f a = {0.999999f, 0.999999f, 0.999999f, 0.999999f};
  const v4f c = {1e-6f, 1e-6f, 1e-6f, 1e-6f};
  REP12(DGEN)
  for (uint64_t i = 0; i < iters; i++) {
    REP12(SGEN)
  }
  v4f r = {0, 0, 0, 0};
  REP12(RGEN)
  return r[0] + r[1] + r[2] + r[3];
}

static kernel_info pick_kernel(void) {
#ifdef NNB_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return (kernel_info){"avx512f", fma_avx512, 16 * 16 * 2};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return (kernel_info){"avx2+fma", fma_avx2, 12 * 8 * 2};
  return (kernel_info){"sse2", fma_generic, 12 * 4 * 2};
#else
  return (kernel_info){"generic", fma_generic, 12 * 4 * 2};
#endif
}

/* ---- threads --------------------------------------------------------------------------- */

typedef enum work_kind { WORK_FMA, WORK_TOUCH, WORK_COPY } work_kind;

typedef struct par_shared {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int gate; /* 0 wait, 1 go, -1 abort */
  pthread_barrier_t bar;
  work_kind kind;
  int reps;
  fma_kernel fn;
  uint64_t iters;
} par_shared;

typedef struct par_worker {
  par_shared *sh;
  pthread_t tid;
  int cpu; /* pinned to this CPU; -1 not pinned */
  char *src, *dst;
  size_t len;
  double t_start, t_end; /* of its work in the current repetition (CLOCK_MONOTONIC) */
  volatile float sink;
} par_worker;

static void pin_self(int cpu) {
  if (cpu < 0) return;
  cpu_set_t *set = CPU_ALLOC(cpu + 1);
  if (!set) return;
  size_t sz = CPU_ALLOC_SIZE(cpu + 1);
  CPU_ZERO_S(sz, set);
  CPU_SET_S((size_t)cpu, sz, set);
  (void)pthread_setaffinity_np(pthread_self(), sz, set); /* best effort */
  CPU_FREE(set);
}

static void *worker_main(void *arg) {
  par_worker *w = arg;
  par_shared *sh = w->sh;
  pthread_mutex_lock(&sh->mu);
  while (sh->gate == 0) pthread_cond_wait(&sh->cv, &sh->mu);
  int gate = sh->gate;
  pthread_mutex_unlock(&sh->mu);
  if (gate < 0) return NULL;
  pin_self(w->cpu);
  for (int r = 0; r < sh->reps; r++) {
    pthread_barrier_wait(&sh->bar);
    w->t_start = now_s();
    switch (sh->kind) {
    case WORK_FMA: w->sink = sh->fn(sh->iters); break;
    case WORK_TOUCH:
      memset(w->src, 1, w->len);
      memset(w->dst, 0, w->len);
      break;
    case WORK_COPY: memcpy(w->dst, w->src, w->len); break;
    }
    w->t_end = now_s();
    pthread_barrier_wait(&sh->bar);
  }
  return NULL;
}

/* Runs the work `reps` times on every worker at once; *best is the shortest
 * repetition, from the first worker starting to the last one finishing.
 * The workers take the timestamps themselves: the calling thread may have
 * no CPU to run on while they work. */
static nnb_status run_parallel(par_shared *sh, par_worker *w, int n, int reps, double *best,
                               nnb_error *e) {
  sh->reps = reps;
  sh->gate = 0;
  if (pthread_mutex_init(&sh->mu, NULL) || pthread_cond_init(&sh->cv, NULL))
    return nnb_fail(e, NNB_ERR_NOMEM, "sysinfo: cannot create a mutex for the measuring threads");
  nnb_status st = NNB_OK;
  if (pthread_barrier_init(&sh->bar, NULL, (unsigned)n + 1)) {
    pthread_cond_destroy(&sh->cv);
    pthread_mutex_destroy(&sh->mu);
    return nnb_fail(e, NNB_ERR_NOMEM, "sysinfo: cannot create a barrier for %d threads", n + 1);
  }
  int created = 0;
  for (; created < n; created++) {
    w[created].sh = sh;
    int rc = pthread_create(&w[created].tid, NULL, worker_main, &w[created]);
    if (rc) {
      st = nnb_fail(e, NNB_ERR_NOMEM, "sysinfo: cannot start measuring thread %d of %d: %s",
                    created + 1, n, strerror(rc));
      break;
    }
  }
  pthread_mutex_lock(&sh->mu);
  sh->gate = st == NNB_OK ? 1 : -1;
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
  if (st == NNB_OK) {
    *best = INFINITY;
    for (int r = 0; r < reps; r++) {
      pthread_barrier_wait(&sh->bar); /* go */
      pthread_barrier_wait(&sh->bar); /* all done: their timestamps are visible */
      double t0 = w[0].t_start, t1 = w[0].t_end;
      for (int i = 1; i < n; i++) {
        t0 = fmin(t0, w[i].t_start);
        t1 = fmax(t1, w[i].t_end);
      }
      if (t1 - t0 < *best) *best = t1 - t0;
    }
  }
  for (int i = 0; i < created; i++) pthread_join(w[i].tid, NULL);
  pthread_barrier_destroy(&sh->bar);
  pthread_cond_destroy(&sh->cv);
  pthread_mutex_destroy(&sh->mu);
  return st;
}

/* One entry per CPU in the affinity mask (at least one entry, -1 when the
 * mask cannot be read). */
static int *affinity_cpus(int *n_out) {
  size_t sz;
  int ncpu;
  cpu_set_t *set = get_affinity(&sz, &ncpu);
  int n = set ? CPU_COUNT_S(sz, set) : 0;
  if (n < 1) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = online > 0 ? (int)online : 1;
  }
  int *cpus = malloc((size_t)n * sizeof *cpus);
  if (cpus) {
    int k = 0;
    for (int c = 0; set && c < ncpu && k < n; c++)
      if (CPU_ISSET_S((size_t)c, sz, set)) cpus[k++] = c;
    for (; k < n; k++) cpus[k] = -1;
  }
  if (set) CPU_FREE(set);
  *n_out = n;
  return cpus;
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Copy bandwidth: a source and a destination of `bytes` each (huge pages
 * asked for: faulting 4 KiB pages in costs more than the copies in VMs),
 * first-touched by the threads that copy them; read + write bytes counted. */
static nnb_status measure_copy(nnb_peak *out, par_worker *w, int n, size_t bytes, double S,
                               nnb_error *e) {
  const size_t huge = (size_t)2 << 20;
  size_t chunk = bytes / (size_t)n / 4096 * 4096;
  if (chunk == 0)
    return nnb_fail(e, NNB_ERR_NOMEM, "peak measurement: too little memory for a copy test");
  bytes = chunk * (size_t)n;
  size_t map = (bytes + huge - 1) / huge * huge;
  char *src = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *dst = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (src == MAP_FAILED || dst == MAP_FAILED) {
    if (src != MAP_FAILED) munmap(src, map);
    if (dst != MAP_FAILED) munmap(dst, map);
    return nnb_fail(e, NNB_ERR_NOMEM,
                    "peak measurement: cannot map 2 x %zu MiB for the copy test; "
                    "a budget under 1 second uses 64 MiB buffers",
                    bytes >> 20);
  }
#ifdef MADV_HUGEPAGE
  (void)madvise(src, map, MADV_HUGEPAGE); /* best effort */
  (void)madvise(dst, map, MADV_HUGEPAGE);
#endif
  out->copy_buffer_bytes = (int64_t)bytes;
  par_shared sh = {.kind = WORK_TOUCH};
  for (int i = 0; i < n; i++) {
    w[i].src = src + (size_t)i * chunk;
    w[i].dst = dst + (size_t)i * chunk;
    w[i].len = chunk;
  }
  double one = 0, best = 0;
  nnb_status st = run_parallel(&sh, w, n, 1, &best, e);
  if (st == NNB_OK) {
    /* One thread, on the first CPU, copying everything: one repetition
     * sizes the rest. */
    par_worker w1 = {.cpu = w[0].cpu, .src = src, .dst = dst, .len = bytes};
    sh.kind = WORK_COPY;
    st = run_parallel(&sh, &w1, 1, 1, &one, e);
    int reps = (int)clampd(0.25 * S / fmax(one, 1e-6), 2, 20);
    if (st == NNB_OK) st = run_parallel(&sh, &w1, 1, reps, &best, e);
    if (st == NNB_OK) out->single_thread_copy_gbs = 2.0 * (double)bytes / fmin(one, best) / 1e9;
    /* Every thread copying its share at once. */
    reps = (int)clampd(0.2 * S / fmax(one, 1e-6), 3, 20);
    if (st == NNB_OK) st = run_parallel(&sh, w, n, reps, &best, e);
    if (st == NNB_OK) out->all_thread_copy_gbs = 2.0 * (double)bytes / best / 1e9;
  }
  munmap(src, map);
  munmap(dst, map);
  return st;
}

nnb_status nnb_measure_peak(nnb_peak *out, double seconds_budget, nnb_error *e) {
  if (!out) return nnb_fail(e, NNB_ERR_INVALID, "nnb_measure_peak: out is NULL");
  if (!isfinite(seconds_budget) || seconds_budget < 0.05 || seconds_budget > 600)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "peak measurement: the time budget must be between 0.05 and 600 seconds, "
                    "not %g",
                    seconds_budget);
  const double S = seconds_budget, t_start = now_s();
  memset(out, 0, sizeof *out);
  out->budget_s = S;
  kernel_info k = pick_kernel();
  set_str(out->isa, sizeof out->isa, k.isa);

  int n;
  int *cpus = affinity_cpus(&n);
  par_worker *w = calloc((size_t)n, sizeof *w);
  if (!cpus || !w) {
    free(cpus);
    free(w);
    return nnb_fail(e, NNB_ERR_NOMEM, "peak measurement: out of memory for %d threads", n);
  }
  for (int i = 0; i < n; i++) w[i].cpu = cpus[i];
  free(cpus);
  out->threads = n;
  nnb_status st = NNB_OK;

  /* Single core, on the calling thread: calibrate (this also ramps the
   * clock up), then the best of 3 runs of about S/12 each. */
  volatile float sink;
  uint64_t iters = 1024;
  double t = 0;
  for (;;) {
    double t0 = now_s();
    sink = k.fn(iters);
    t = now_s() - t0;
    if (t >= 0.01 || iters >= (UINT64_C(1) << 40)) break;
    iters *= 4;
  }
  double rate = (double)iters / (t > 0 ? t : 1e-9); /* iterations per second */
  iters = (uint64_t)fmax(1.0, rate * 0.25 * S / 3);
  double best = INFINITY;
  for (int r = 0; r < 3; r++) {
    double t0 = now_s();
    sink = k.fn(iters);
    double dt = now_s() - t0;
    if (dt < best) best = dt;
  }
  (void)sink;
  out->single_core_gflops = (double)iters * k.flops_per_iter / best / 1e9;

  /* All cores: every thread runs what one did above, 3 times; best wall. */
  par_shared sh = {.kind = WORK_FMA, .fn = k.fn, .iters = iters};
  st = run_parallel(&sh, w, n, 3, &best, e);
  if (st == NNB_OK) {
    out->all_core_gflops = (double)n * (double)iters * k.flops_per_iter / best / 1e9;
    /* 256 MiB (64 MiB on short budgets), at most an eighth of RAM. */
    size_t bytes = S >= 1.0 ? (size_t)256 << 20 : (size_t)64 << 20;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0 && (double)bytes > (double)pages * (double)psz / 8)
      bytes = (size_t)((double)pages * (double)psz / 8);
    st = measure_copy(out, w, n, bytes, S, e);
  }
  free(w);
  out->elapsed_s = now_s() - t_start;
  return st;
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* Adds a number, or null when `known` is false; false when out of memory. */
static bool add_num(cJSON *o, const char *key, double v, bool known) {
  return known ? cJSON_AddNumberToObject(o, key, v) != NULL : cJSON_AddNullToObject(o, key) != NULL;
}

static bool add_str(cJSON *o, const char *key, const char *v) {
  return cJSON_AddStringToObject(o, key, v) != NULL;
}

cJSON *nnb_sysinfo_to_json(const nnb_sysinfo *s) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  bool ok = true;
  cJSON *host = cJSON_AddObjectToObject(o, "host");
  ok = ok && host && add_str(host, "hostname", s->hostname) && add_str(host, "os", s->os) &&
       add_str(host, "os_release", s->os_release) && add_str(host, "kernel", s->kernel) &&
       add_str(host, "kernel_build", s->kernel_build) && add_str(host, "arch", s->arch);

  cJSON *cpu = ok ? cJSON_AddObjectToObject(o, "cpu") : NULL;
  ok = ok && cpu && add_str(cpu, "model", s->cpu_model) && add_str(cpu, "vendor", s->cpu_vendor) &&
       add_str(cpu, "isa_flags", s->isa_flags) && cJSON_AddBoolToObject(cpu, "avx2", s->has_avx2) &&
       cJSON_AddBoolToObject(cpu, "fma", s->has_fma) &&
       cJSON_AddBoolToObject(cpu, "avx512f", s->has_avx512f) &&
       add_num(cpu, "logical_cores", s->logical_cores, true) &&
       add_num(cpu, "physical_cores", s->physical_cores, s->physical_cores > 0) &&
       add_num(cpu, "sockets", s->sockets, s->sockets > 0) &&
       add_num(cpu, "l1d_cache_bytes", (double)s->cache_l1d_bytes, s->cache_l1d_bytes > 0) &&
       add_num(cpu, "l1i_cache_bytes", (double)s->cache_l1i_bytes, s->cache_l1i_bytes > 0) &&
       add_num(cpu, "l2_cache_bytes", (double)s->cache_l2_bytes, s->cache_l2_bytes > 0) &&
       add_num(cpu, "l3_cache_bytes", (double)s->cache_l3_bytes, s->cache_l3_bytes > 0) &&
       add_str(cpu, "governor", s->governor) && add_str(cpu, "boost", s->boost) &&
       add_num(cpu, "affinity_count", s->affinity_count, true) &&
       add_str(cpu, "affinity_list", s->affinity_list);

  cJSON *mem = ok ? cJSON_AddObjectToObject(o, "memory") : NULL;
  ok = ok && mem &&
       add_num(mem, "total_bytes", (double)s->mem_total_bytes, s->mem_total_bytes > 0) &&
       add_num(mem, "available_bytes", (double)s->mem_available_bytes, s->mem_available_bytes >= 0);

  cJSON *load = ok ? cJSON_AddArrayToObject(o, "load_average") : NULL;
  for (int i = 0; ok && load && i < 3; i++) {
    cJSON *v = s->loadavg[i] >= 0 ? cJSON_CreateNumber(s->loadavg[i]) : cJSON_CreateNull();
    ok = v && cJSON_AddItemToArray(load, v);
  }
  ok = ok && load && add_num(o, "aslr", s->aslr, s->aslr >= 0);

  cJSON *env = ok ? cJSON_AddArrayToObject(o, "environment") : NULL;
  for (int i = 0; ok && env && i < s->n_env; i++) {
    cJSON *v = cJSON_CreateString(s->env[i]);
    ok = v && cJSON_AddItemToArray(env, v);
  }
  ok = ok && env;

  cJSON *build = ok ? cJSON_AddObjectToObject(o, "build") : NULL;
  ok = ok && build && add_str(build, "nnbench_version", s->nnbench_version) &&
       add_str(build, "type", s->build_type) && add_str(build, "compiler", s->compiler) &&
       cJSON_AddBoolToObject(build, "sanitized", s->sanitized);

  cJSON *libs = ok ? cJSON_AddObjectToObject(o, "libraries") : NULL;
  ok = ok && libs && add_str(libs, "cjson", s->lib_cjson) && add_str(libs, "zlib", s->lib_zlib) &&
       add_str(libs, "glibc", s->lib_glibc);

  nnb_warning_list *w = ok ? malloc(sizeof *w) : NULL;
  cJSON *warr = w ? cJSON_AddArrayToObject(o, "warnings") : NULL;
  ok = ok && warr;
  if (ok) nnb_sysinfo_warnings(s, w);
  for (int i = 0; ok && i < w->n; i++) {
    cJSON *v = cJSON_CreateString(w->msg[i]);
    ok = v && cJSON_AddItemToArray(warr, v);
  }
  free(w);
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

cJSON *nnb_peak_to_json(const nnb_peak *p) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  bool ok = add_str(o, "isa", p->isa) && add_num(o, "threads", p->threads, true) &&
            add_num(o, "single_core_gflops", p->single_core_gflops, true) &&
            add_num(o, "all_core_gflops", p->all_core_gflops, true) &&
            add_num(o, "copy_buffer_bytes", (double)p->copy_buffer_bytes, true) &&
            add_num(o, "single_thread_copy_gbs", p->single_thread_copy_gbs, true) &&
            add_num(o, "all_thread_copy_gbs", p->all_thread_copy_gbs, true) &&
            add_num(o, "budget_s", p->budget_s, true) &&
            add_num(o, "elapsed_s", p->elapsed_s, true);
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}
