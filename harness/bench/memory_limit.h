/* A case's memory, kept within a limit: estimated from the plan before
 * anything large is allocated, refused with the figures when over the
 * limit, and capped in the case's child (RLIMIT_AS) so that an estimate
 * that is wrong still ends as that case's "out of memory" failure rather
 * than the kernel's OOM killer. */
#ifndef NNB_MEMORY_LIMIT_H
#define NNB_MEMORY_LIMIT_H

#include <stdint.h>

#include <nnbench/runtime.h>

/* Default limit: this fraction of physical memory. */
#define NNB_MEMORY_LIMIT_FRACTION 0.75

typedef struct nnb_mem_estimate {
  uint64_t persistent, arena; /* the planner's two buffers, on the backend */
  uint64_t host;              /* the harness's own copies: parameters and a batch */
  uint64_t backend;           /* what the backend already holds (its memory_stats) */
  uint64_t device_budget;     /* the backend's device budget, 0 when it reports none */
  uint64_t total;
} nnb_mem_estimate;

/* Estimates what running graph g on backend b needs, batch_bytes being the
 * harness's staging of one batch. Plans memory but allocates no tensor. */
nnb_status nnb_mem_estimate_graph(const nnb_graph *g, nnb_backend *b, uint64_t batch_bytes,
                                  nnb_mem_estimate *out, nnb_error *e);

/* NNB_OK when the estimate fits `limit` (0: no limit) and the planned
 * buffers fit the device budget; else an error with every figure. */
nnb_status nnb_mem_check(const nnb_mem_estimate *m, uint64_t limit, nnb_error *e);

/* NNB_MEMORY_LIMIT_FRACTION of physical memory (0 when unknown). */
uint64_t nnb_mem_default_limit(void);

/* Parses "8G", "512M", "100K", "123456" (bytes), "60%" (of physical memory)
 * or "none" (0: no limit). */
nnb_status nnb_mem_parse_limit(const char *text, uint64_t *out, nnb_error *e);

/* In a child: lets it map at most `limit` bytes more address space than it
 * has now (RLIMIT_AS), so an allocation beyond fails instead of growing
 * until the OOM killer strikes. Under AddressSanitizer the sanitizer's
 * shadow and its small-object heap are reserved at start, so only large
 * allocations (which it maps one by one) meet the cap. Returns the cap set
 * (0: none, for limit 0 or when it cannot be set). */
uint64_t nnb_mem_cap_self(uint64_t limit);

/* "1.50 GiB" */
void nnb_mem_format(uint64_t bytes, char *buf, size_t len);

#endif
