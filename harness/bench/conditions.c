/* The conditions that change timings (sysinfo.h): frequency governor and
 * boost, load average, ASLR, the CPUs this process may use, the
 * speed-affecting environment, and the warnings they call for. */
#include <stdarg.h>
#include <strings.h>
#include <unistd.h>

#include "sysinfo.h"
#include "sysinfo_util.h"

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

void nnb_sysinfo_collect_conditions(nnb_sysinfo *s) {
  collect_power(s);
  collect_affinity(s);
  collect_env(s);
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
