/* The plugin ABI. A backend is a shared object `libnnb-<name>.so` that
 * exports NNB_BACKEND_ENTRY_SYMBOL returning a const table whose first field
 * is the ABI version. The loader checks that version before it touches any
 * other field, so a table of another layout is refused, never called.
 *
 * A plugin includes this header (and what it includes) and nothing else of
 * nnbench: it links no harness code. */
#ifndef NNBENCH_BACKEND_H
#define NNBENCH_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"
#include "status.h"
#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bump on any change to the structs below or to nnb_op/nnb_attr's layout. */
#define NNB_BACKEND_ABI_VERSION 1u
#define NNB_BACKEND_ENTRY_SYMBOL "nnb_backend_entry"
#define NNB_BACKEND_SCORE_SYMBOL "nnb_backend_score"

#if defined(__GNUC__)
#define NNB_EXPORT __attribute__((visibility("default")))
#else
#define NNB_EXPORT
#endif

/* Opaque, defined by each plugin. */
typedef struct nnb_backend_ctx nnb_backend_ctx;
typedef struct nnb_buffer nnb_buffer;
typedef struct nnb_plan nnb_plan;

typedef struct nnb_backend_config {
  int threads;         /* 0: the backend's default */
  int device_index;    /* for multi-device backends */
  const char *options; /* "key=value,key=value", backend specific; may be NULL */
} nnb_backend_config;

#define NNB_INFO_PROPS 24
typedef struct nnb_kv {
  char key[48];
  char value[256];
} nnb_kv;

/* For provenance: everything needed to tell two runs' setups apart. */
typedef struct nnb_backend_info {
  char name[32];
  char device[160];  /* "AMD EPYC 9B14 (2 threads)", "NVIDIA H100 (Vulkan 1.3)" */
  char library[160]; /* "OpenBLAS 0.3.21", "oneDNN 2.6.3", ... */
  int n_props;
  nnb_kv props[NNB_INFO_PROPS]; /* core type, ISA, driver version, ... */
} nnb_backend_info;

typedef struct nnb_memory_stats {
  uint64_t current_bytes; /* held by the backend now */
  uint64_t peak_bytes;    /* most held at once since init */
  uint64_t n_allocs;      /* buffer allocations since init */
  uint64_t budget_bytes;  /* device memory budget, 0 if unknown */
} nnb_memory_stats;

/* Where each tensor lives: buffer and byte offset. Indexed by tensor id.
 * Views (tensor.view_of >= 0) share their source's binding. */
typedef struct nnb_binding {
  nnb_buffer *buffer;
  uint64_t offset;
} nnb_binding;

typedef struct nnb_backend_vtable {
  uint32_t abi_version; /* NNB_BACKEND_ABI_VERSION; checked first */
  uint32_t struct_size; /* sizeof(nnb_backend_vtable) */
  const char *name;

  /* ctx may be NULL: describe what can be known without a device. */
  nnb_status (*describe)(nnb_backend_ctx *ctx, nnb_backend_info *out, nnb_error *e);
  /* Fails with NNB_ERR_UNAVAILABLE when no usable device exists. */
  nnb_status (*init)(const nnb_backend_config *cfg, nnb_backend_ctx **out, nnb_error *e);
  void (*destroy)(nnb_backend_ctx *ctx);

  /* Whether the node can run here. An op the backend cannot run is
   * reported (with why), never emulated behind the harness's back. */
  bool (*supports)(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_node *n, nnb_error *why);

  nnb_status (*buffer_alloc)(nnb_backend_ctx *ctx, uint64_t bytes, nnb_buffer **out, nnb_error *e);
  void (*buffer_free)(nnb_backend_ctx *ctx, nnb_buffer *buf);
  nnb_status (*upload)(nnb_backend_ctx *ctx, nnb_buffer *buf, uint64_t offset, const void *src,
                       uint64_t bytes, nnb_error *e);
  nnb_status (*download)(nnb_backend_ctx *ctx, nnb_buffer *buf, uint64_t offset, void *dst,
                         uint64_t bytes, nnb_error *e);

  /* Once per graph: primitives, pipelines, workspaces. The graph and the
   * bindings stay valid until plan_free. */
  nnb_status (*prepare)(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_binding *bindings,
                        nnb_plan **out, nnb_error *e);
  /* Per step; may return before the work is done (see sync). */
  nnb_status (*execute)(nnb_backend_ctx *ctx, nnb_plan *plan, nnb_error *e);
  nnb_status (*sync)(nnb_backend_ctx *ctx, nnb_error *e);
  void (*plan_free)(nnb_backend_ctx *ctx, nnb_plan *plan);

  void (*memory_stats)(nnb_backend_ctx *ctx, nnb_memory_stats *out);

  /* Optional (may be NULL): runs the plan once and writes each node's
   * seconds into node_seconds[g->n_nodes]. */
  nnb_status (*profile)(nnb_backend_ctx *ctx, nnb_plan *plan, double *node_seconds, nnb_error *e);
  /* Optional (may be NULL): backend-specific extensions by name, so the
   * table never grows for one backend's knob. */
  void *(*lookup)(nnb_backend_ctx *ctx, const char *name);
} nnb_backend_vtable;

/* lookup(NNB_EXT_NODE_KERNEL) may return a const nnb_ext_node_kernel *:
 * the name of the kernel each node of a prepared plan runs ("gemm:jit",
 * "c:omp"), which results record next to the node's profile. The string
 * lives as long as the plan; NULL when the backend does not know. */
#define NNB_EXT_NODE_KERNEL "node_kernel"
typedef struct nnb_ext_node_kernel {
  const char *(*node_kernel)(const nnb_plan *plan, int node);
} nnb_ext_node_kernel;

typedef const nnb_backend_vtable *(*nnb_backend_entry_fn)(void);
/* Optional export: 0 means "not usable on this machine" (say, an ISA-specific
 * build on a CPU without that ISA); higher is preferred among builds. */
typedef int (*nnb_backend_score_fn)(void);

/* Parses one integer option from cfg->options ("threads=4,foo=1"); returns
 * def when absent. Header-inline for plugins. */
static inline long nnb_config_int(const nnb_backend_config *cfg, const char *key, long def) {
  if (!cfg || !cfg->options) return def;
  const char *p = cfg->options;
  size_t klen = 0;
  while (key[klen]) klen++;
  while (*p) {
    size_t i = 0;
    while (i < klen && p[i] == key[i]) i++;
    if (i == klen && p[i] == '=') {
      long v = 0, sign = 1;
      const char *q = p + i + 1;
      if (*q == '-') sign = -1, q++;
      while (*q >= '0' && *q <= '9') v = v * 10 + (*q++ - '0');
      return sign * v;
    }
    while (*p && *p != ',') p++;
    if (*p == ',') p++;
  }
  return def;
}

/* Appends one provenance property; silently drops it when the table is full. */
static inline void nnb_info_prop(nnb_backend_info *info, const char *key, const char *value) {
  if (info->n_props >= NNB_INFO_PROPS) return;
  nnb_kv *kv = &info->props[info->n_props++];
  snprintf(kv->key, sizeof kv->key, "%s", key);
  snprintf(kv->value, sizeof kv->value, "%s", value);
}

#ifdef __cplusplus
}
#endif
#endif
