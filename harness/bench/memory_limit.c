#include "memory_limit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <nnbench/runtime.h>

nnb_status nnb_mem_estimate_graph(const nnb_graph *g, nnb_backend *b, uint64_t batch_bytes,
                                  nnb_mem_estimate *out, nnb_error *e) {
  memset(out, 0, sizeof *out);
  nnb_memplan plan;
  nnb_status st = nnb_memplan_build(g, 0, &plan, e);
  if (st != NNB_OK) return st;
  out->persistent = plan.region_bytes[NNB_REGION_PERSISTENT];
  out->arena = plan.region_bytes[NNB_REGION_ARENA];
  out->host = plan.role_bytes[NNB_ROLE_PARAM] + batch_bytes;
  nnb_memplan_free(&plan);
  nnb_memory_stats ms = {0};
  if (b && b->vt->memory_stats) b->vt->memory_stats(b->ctx, &ms);
  out->backend = ms.peak_bytes;
  out->device_budget = ms.budget_bytes;
  out->total = out->persistent + out->arena + out->host + out->backend;
  return NNB_OK;
}

void nnb_mem_format(uint64_t bytes, char *buf, size_t len) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 5) v /= 1024, u++;
  snprintf(buf, len, u ? "%.2f %s" : "%.0f %s", v, unit[u]);
}

nnb_status nnb_mem_check(const nnb_mem_estimate *m, uint64_t limit, nnb_error *e) {
  char total[32], pers[32], arena[32], host[32], be[32], lim[32];
  nnb_mem_format(m->total, total, sizeof total);
  nnb_mem_format(m->persistent, pers, sizeof pers);
  nnb_mem_format(m->arena, arena, sizeof arena);
  nnb_mem_format(m->host, host, sizeof host);
  nnb_mem_format(m->backend, be, sizeof be);
  if (limit && m->total > limit) {
    nnb_mem_format(limit, lim, sizeof lim);
    return nnb_fail(e, NNB_ERR_NOMEM,
                    "out of memory: refused before allocating, the case needs an estimated %s "
                    "(planned buffers %s persistent + %s arena, harness copies %s, backend %s), "
                    "over the memory limit of %s (--memory-limit)",
                    total, pers, arena, host, be, lim);
  }
  if (m->device_budget && m->persistent + m->arena > m->device_budget) {
    char planned[32], budget[32];
    nnb_mem_format(m->persistent + m->arena, planned, sizeof planned);
    nnb_mem_format(m->device_budget, budget, sizeof budget);
    return nnb_fail(e, NNB_ERR_NOMEM,
                    "out of memory: refused before allocating, the planned buffers need %s "
                    "(%s persistent + %s arena), over the backend's device budget of %s",
                    planned, pers, arena, budget);
  }
  return NNB_OK;
}

uint64_t nnb_mem_default_limit(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0) return 0;
  return (uint64_t)((double)pages * (double)size * NNB_MEMORY_LIMIT_FRACTION);
}

nnb_status nnb_mem_parse_limit(const char *text, uint64_t *out, nnb_error *e) {
  if (!strcmp(text, "none")) {
    *out = 0;
    return NNB_OK;
  }
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  double scale = 1;
  if (end != text && !strcmp(end, "%")) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    scale = pages > 0 && size > 0 ? (double)pages * (double)size / 100 : 0;
  } else if (end != text && *end && !end[1]) {
    const char *u = strchr("KMGT", end[0] & ~0x20);
    scale = u ? (double)(1ULL << (10 * (1 + (u - "KMGT")))) : -1;
  } else if (*end) {
    scale = -1;
  }
  double bytes = v * scale;
  if (end == text || errno || scale <= 0 || !(bytes >= 1) || bytes > 1.8e19)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "--memory-limit needs a size such as 8G, 512M, 60%% or none, got '%s'", text);
  *out = (uint64_t)bytes;
  return NNB_OK;
}

/* The address space this process has mapped now (/proc/self/statm). */
static uint64_t mapped_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long long pages = 0;
  if (!f) return 0;
  if (fscanf(f, "%llu", &pages) != 1) pages = 0;
  fclose(f);
  return pages * (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t nnb_mem_cap_self(uint64_t limit) {
  if (!limit) return 0;
  uint64_t now = mapped_bytes();
  if (!now) return 0;
  struct rlimit r;
  if (getrlimit(RLIMIT_AS, &r)) return 0;
  rlim_t cap = now + limit < now ? RLIM_INFINITY : (rlim_t)(now + limit);
  if (r.rlim_max != RLIM_INFINITY && cap > r.rlim_max) cap = r.rlim_max;
  r.rlim_cur = cap;
  return setrlimit(RLIMIT_AS, &r) ? 0 : (uint64_t)cap;
}
