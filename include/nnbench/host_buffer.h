/* Host-memory buffers for plugins that compute on the CPU: the buffer
 * type, allocation with the memory statistics every backend reports, and
 * range-checked upload and download. Header-only, like the rest of what a
 * plugin may use: including it defines the plugin's `struct nnb_buffer`. */
#ifndef NNBENCH_HOST_BUFFER_H
#define NNBENCH_HOST_BUFFER_H

#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* A range of a buffer that a plan keeps a copy of in another form (a
 * weight packed once for its GEMM kernel): every write into the range
 * through upload, or by another plan's nodes (nnb_host_mark_written), sets
 * `changed`, so the plan knows to derive its copy again before it next
 * reads it. Owned by the plan: linked into the buffer in prepare
 * (nnb_host_watch_add), out of it in plan_free (nnb_host_watch_remove). */
typedef struct nnb_host_watch {
  uint64_t off, end;
  const void *owner; /* the plan: its own nodes never write the range */
  bool changed;
  struct nnb_host_watch *next;
} nnb_host_watch;

struct nnb_buffer {
  nnb_host_watch *watch; /* ranges plans keep copies of; NULL: none */
  uint64_t size;
  unsigned char *data; /* 64-byte aligned, so results never depend on where malloc put them,
                          with one spare cache line after the end, so a vector loop may
                          read (never write) a whole vector past a tensor's last element */
};

/* Counts an allocation of `bytes` in m (current, peak, count). */
static inline void nnb_host_count_alloc(nnb_memory_stats *m, uint64_t bytes) {
  m->current_bytes += bytes;
  m->n_allocs++;
  if (m->current_bytes > m->peak_bytes) m->peak_bytes = m->current_bytes;
}

static inline nnb_status nnb_host_buffer_alloc(nnb_memory_stats *m, const char *who, uint64_t bytes,
                                               nnb_buffer **out, nnb_error *e) {
  nnb_buffer *b = (nnb_buffer *)calloc(1, sizeof *b);
  if (b) b->data = (unsigned char *)aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);
  if (!b || !b->data) {
    free(b);
    return nnb_fail(e, NNB_ERR_NOMEM, "%s: cannot allocate %llu bytes", who,
                    (unsigned long long)bytes);
  }
  b->size = bytes;
  nnb_host_count_alloc(m, bytes);
  *out = b;
  return NNB_OK;
}

static inline void nnb_host_buffer_free(nnb_memory_stats *m, nnb_buffer *b) {
  if (!b) return;
  m->current_bytes -= b->size;
  free(b->data);
  free(b);
}

static inline nnb_status nnb_host_buffer_range(const char *who, const nnb_buffer *b, uint64_t off,
                                               uint64_t n, nnb_error *e) {
  if (off > b->size || n > b->size - off)
    return nnb_fail(e, NNB_ERR_INVALID, "%s: bytes [%llu, %llu) outside a buffer of %llu", who,
                    (unsigned long long)off, (unsigned long long)(off + n),
                    (unsigned long long)b->size);
  return NNB_OK;
}

/* Marks every watch of b that [off, off + n) overlaps and that `by` (a
 * plan, or NULL for an upload) does not own as changed. */
static inline void nnb_host_mark_written(nnb_buffer *b, uint64_t off, uint64_t n, const void *by) {
  for (nnb_host_watch *w = b->watch; w; w = w->next)
    if (w->owner != by && off < w->end && w->off < off + n) w->changed = true;
}

static inline void nnb_host_watch_add(nnb_buffer *b, nnb_host_watch *w, uint64_t off, uint64_t n,
                                      const void *owner) {
  w->off = off, w->end = off + n, w->owner = owner, w->changed = true;
  w->next = b->watch;
  b->watch = w;
}

static inline void nnb_host_watch_remove(nnb_buffer *b, nnb_host_watch *w) {
  for (nnb_host_watch **p = &b->watch; *p; p = &(*p)->next)
    if (*p == w) {
      *p = w->next;
      return;
    }
}

static inline nnb_status nnb_host_buffer_upload(const char *who, nnb_buffer *b, uint64_t off,
                                                const void *src, uint64_t n, nnb_error *e) {
  nnb_status st = nnb_host_buffer_range(who, b, off, n, e);
  if (st == NNB_OK) memcpy(b->data + off, src, n);
  if (st == NNB_OK) nnb_host_mark_written(b, off, n, NULL);
  return st;
}

static inline nnb_status nnb_host_buffer_download(const char *who, nnb_buffer *b, uint64_t off,
                                                  void *dst, uint64_t n, nnb_error *e) {
  nnb_status st = nnb_host_buffer_range(who, b, off, n, e);
  if (st == NNB_OK) memcpy(dst, b->data + off, n);
  return st;
}

/* The host address of tensor t under a plan's bindings. */
/* The four buffer entries of a host plugin whose context holds its
 * nnb_memory_stats as `mem`: static functions PREFIX_alloc, PREFIX_free,
 * PREFIX_upload and PREFIX_download, errors naming the backend WHO. */
#define NNB_HOST_BUFFER_ENTRIES(PREFIX, WHO)                                                       \
  static nnb_status PREFIX##_alloc(nnb_backend_ctx *ctx, uint64_t bytes, nnb_buffer **out,         \
                                   nnb_error *e) {                                                 \
    return nnb_host_buffer_alloc(&ctx->mem, WHO, bytes, out, e);                                   \
  }                                                                                                \
  static void PREFIX##_free(nnb_backend_ctx *ctx, nnb_buffer *b) {                                 \
    nnb_host_buffer_free(&ctx->mem, b);                                                            \
  }                                                                                                \
  static nnb_status PREFIX##_upload(nnb_backend_ctx *ctx, nnb_buffer *b, uint64_t off,             \
                                    const void *src, uint64_t n, nnb_error *e) {                   \
    (void)ctx;                                                                                     \
    return nnb_host_buffer_upload(WHO, b, off, src, n, e);                                         \
  }                                                                                                \
  static nnb_status PREFIX##_download(nnb_backend_ctx *ctx, nnb_buffer *b, uint64_t off,           \
                                      void *dst, uint64_t n, nnb_error *e) {                       \
    (void)ctx;                                                                                     \
    return nnb_host_buffer_download(WHO, b, off, dst, n, e);                                       \
  }

static inline void *nnb_host_bound(const nnb_binding *bind, int t) {
  return bind[t].buffer->data + bind[t].offset;
}

/* Whether tensors a and b share bytes under a plan's bindings (a node may
 * write into bytes the planner reused from one of its dead inputs). */
static inline bool nnb_host_overlaps(const nnb_graph *g, const nnb_binding *bind, int a, int b) {
  if (bind[a].buffer != bind[b].buffer) return false;
  uint64_t a0 = bind[a].offset, a1 = a0 + nnb_nbytes(&g->tensors[a]);
  uint64_t b0 = bind[b].offset, b1 = b0 + nnb_nbytes(&g->tensors[b]);
  return a0 < b1 && b0 < a1;
}

#endif
