#include "affinity.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int nnb_cpulist_parse(const char *list, void *cpus, char *err, size_t len) {
  cpu_set_t *set = cpus;
  if (set) CPU_ZERO(set);
  const char *p = list;
  if (!p || !*p) {
    snprintf(err, len, "expected a CPU list such as 0, 0-1 or 1,3; got an empty value");
    return -1;
  }
  while (*p) {
    char *end;
    errno = 0;
    long lo = strtol(p, &end, 10), hi = lo;
    if (end == p || errno || lo < 0) break;
    p = end;
    if (*p == '-') {
      const char *q = p + 1;
      hi = strtol(q, &end, 10);
      if (end == q || errno || hi < lo) break;
      p = end;
    }
    if (hi > NNB_MAX_PIN_CPU) {
      snprintf(err, len, "CPU %ld is beyond the largest supported, %d", hi, NNB_MAX_PIN_CPU);
      return -1;
    }
    for (long c = lo; set && c <= hi; c++) CPU_SET((int)c, set);
    if (!*p) return 0;
    if (*p != ',') break;
    p++;
  }
  snprintf(err, len, "expected a CPU list such as 0, 0-1 or 1,3 (ascending ranges); got '%s'",
           list);
  return -1;
}

int nnb_pin_self(const char *list, char *err, size_t len) {
  cpu_set_t set;
  if (nnb_cpulist_parse(list, &set, err, len)) return -1;
  if (sched_setaffinity(0, sizeof set, &set)) {
    snprintf(err, len, "cannot pin to CPUs %s: %s (see 'nnbench sysinfo' for the CPUs allowed)",
             list, strerror(errno));
    return -1;
  }
  return 0;
}
