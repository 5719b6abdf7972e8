/* What the host description (sysinfo.c), its conditions (conditions.c) and
 * the peak measurement (peak.c) share: reading small /proc and /sys files,
 * the process's CPU mask, and JSON numbers that may be unknown. */
#ifndef NNB_SYSINFO_UTIL_H
#define NNB_SYSINFO_UTIL_H

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysinfo.h"

/* Copies src into dst[n], truncating, always terminated. */
static inline void set_str(char *dst, size_t n, const char *src) {
  if (!n) return;
  size_t len = src ? strnlen(src, n - 1) : 0;
  if (len) memcpy(dst, src, len);
  dst[len] = '\0';
}

static inline char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
  return s;
}

/* Reads the first line of a small file, trimmed; false when unreadable. */
static inline bool read_line(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char tmp[512];
  bool ok = fgets(tmp, sizeof tmp, f) != NULL;
  fclose(f);
  if (ok) set_str(buf, n, trim(tmp));
  return ok;
}

static inline bool read_long(const char *path, long *v) {
  char buf[64], *end;
  if (!read_line(path, buf, sizeof buf)) return false;
  errno = 0;
  long x = strtol(buf, &end, 10);
  if (errno || end == buf) return false;
  *v = x;
  return true;
}

/* The process's CPU mask, grown until the kernel's fits. NULL on failure;
 * CPU_FREE it. */
static inline cpu_set_t *get_affinity(size_t *size, int *ncpu_out) {
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

/* Adds a number, or null when `known` is false; false when out of memory. */
static inline bool add_num(cJSON *o, const char *key, double v, bool known) {
  return known ? cJSON_AddNumberToObject(o, key, v) != NULL : cJSON_AddNullToObject(o, key) != NULL;
}

static inline bool add_str(cJSON *o, const char *key, const char *v) {
  return cJSON_AddStringToObject(o, key, v) != NULL;
}

/* Fills the conditions that change timings: governor and boost, load, ASLR,
 * affinity and the speed-affecting environment (conditions.c). */
void nnb_sysinfo_collect_conditions(nnb_sysinfo *s);

#endif
