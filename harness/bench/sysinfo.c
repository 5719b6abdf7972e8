/* The host's description: OS, CPU, caches, memory, build and libraries
 * (sysinfo.h). Linux first: every source is a file under /proc or /sys,
 * uname or sysconf, and a missing one leaves "unknown" or -1 rather than
 * failing. The conditions that change timings are in conditions.c, the
 * measured peaks in peak.c. */
#include "sysinfo.h"

#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include <nnbench/nnbench.h>

#include "sysinfo_util.h"

#if defined(__GLIBC__)
#include <gnu/libc-version.h>
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
  nnb_sysinfo_collect_conditions(s);

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

/* ---- JSON ------------------------------------------------------------------------------ */

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
