/* What an embedding program uses to run graphs: the plugin registry, the
 * memory planner and sessions (a graph prepared on one backend). */
#ifndef NNBENCH_RUNTIME_H
#define NNBENCH_RUNTIME_H

#include "backend.h"
#include "graph.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- plugin registry ------------------------------------------------- */

typedef struct nnb_plugin {
  char name[32];
  char path[512];   /* library found, or "" */
  bool available;   /* loaded, ABI matched (init not yet tried) */
  char reason[512]; /* why not available */
  int score;        /* from the optional score export, 1 without one */
  void *handle;     /* dlopen handle */
  const nnb_backend_vtable *vt;
  bool init_tried; /* init succeeded once in a child process (nnb_backend_open) */
} nnb_plugin;

/* Scans NNBENCH_BACKEND_PATH (colon separated), then the build tree, then
 * the install prefix, for libnnb-<name>.so. The backends nnbench ships are
 * always listed, found or not, with the reason when not. Idempotent. */
nnb_status nnb_registry_load(nnb_error *e);
/* Loads one library file as a plugin (tests, explicit paths). */
nnb_status nnb_registry_load_file(const char *path, nnb_error *e);
void nnb_registry_unload(void);
int nnb_registry_count(void);
const nnb_plugin *nnb_registry_get(int i);
const nnb_plugin *nnb_registry_find(const char *name);
/* The directories searched, in order, for messages and `nnbench list`. */
int nnb_registry_search_dirs(const char **dirs, int max);

/* ---- a backend instance ------------------------------------------------ */

typedef struct nnb_backend {
  const nnb_plugin *plugin;
  const nnb_backend_vtable *vt;
  nnb_backend_ctx *ctx;
} nnb_backend;

/* Loads the registry if needed, finds `name` and initialises it. The first
 * time a plugin is opened in a process, its init runs in a child process
 * first: a plugin that crashes there, or does not return within
 * $NNBENCH_INIT_TIMEOUT seconds (default 60), is marked unavailable with the
 * signal, and the call fails with NNB_ERR_UNAVAILABLE instead of taking the
 * process down. */
nnb_status nnb_backend_open(const char *name, const nnb_backend_config *cfg, nnb_backend *out,
                            nnb_error *e);
void nnb_backend_close(nnb_backend *b);
/* For a process that is itself the isolation (a case's child): open
 * backends without trying init in a child first. */
void nnb_registry_trust_init(bool trust);
/* The backend's describe(), with what the plugin wrote bounded: strings cut
 * at their buffers' ends, the property count clamped to the table. */
nnb_status nnb_backend_describe(const nnb_backend *b, nnb_backend_info *info, nnb_error *e);

/* A plugin is not trusted to end its strings: cuts what it wrote into e at
 * the buffer's end and returns st. */
static inline nnb_status nnb_plugin_status(nnb_status st, nnb_error *e) {
  if (e) e->msg[sizeof e->msg - 1] = '\0';
  return st;
}

/* ---- memory planner ------------------------------------------------------ */

#define NNB_ALIGN 256 /* satisfies Vulkan's storage-buffer offset alignment too */

typedef enum nnb_region {
  NNB_REGION_PERSISTENT = 0, /* inputs, labels, parameters, optimizer state */
  NNB_REGION_ARENA,          /* activations and gradients, reused by liveness */
  NNB_REGION_COUNT
} nnb_region;

typedef struct nnb_memplan {
  int n_tensors;
  nnb_region *region; /* per tensor */
  uint64_t *offset;   /* per tensor, within its region */
  int *first_use;     /* per tensor: node that defines it (-1: before the graph) */
  int *last_use;      /* per tensor: last node that reads it (n_nodes: kept to the end) */
  uint64_t region_bytes[NNB_REGION_COUNT];
  uint64_t role_bytes[NNB_ROLE_COUNT]; /* sum of tensor sizes per role (no reuse) */
  uint64_t arena_unshared_bytes;       /* the arena without reuse, for comparison */
  uint64_t guard_bytes;                /* untouchable bytes after every tensor */
} nnb_memplan;

/* guard_bytes > 0 reserves that many bytes after each tensor, for checks
 * that catch out-of-bounds writes (nnb_session_check_guards). */
nnb_status nnb_memplan_build(const nnb_graph *g, uint64_t guard_bytes, nnb_memplan *out,
                             nnb_error *e);
void nnb_memplan_free(nnb_memplan *p);

/* ---- sessions -------------------------------------------------------------- */

typedef struct nnb_session {
  nnb_backend *backend;
  const nnb_graph *graph;
  nnb_memplan mem;
  nnb_buffer *buffers[NNB_REGION_COUNT];
  nnb_binding *bindings;
  nnb_plan *plan;
} nnb_session;

/* Checks supports() for every node (the first refusal is the error), plans
 * memory, allocates and prepares. The graph must outlive the session. */
nnb_status nnb_session_create(nnb_backend *b, const nnb_graph *g, nnb_session *out, nnb_error *e);
/* The same with guard zones after every tensor, filled with a pattern that
 * nnb_session_check_guards verifies after a run. */
nnb_status nnb_session_create_guarded(nnb_backend *b, const nnb_graph *g, uint64_t guard_bytes,
                                      nnb_session *out, nnb_error *e);
nnb_status nnb_session_check_guards(nnb_session *s, nnb_error *e);
void nnb_session_free(nnb_session *s);
nnb_status nnb_session_upload(nnb_session *s, int tensor, const void *src, nnb_error *e);
nnb_status nnb_session_download(nnb_session *s, int tensor, void *dst, nnb_error *e);
/* Execute and sync. */
nnb_status nnb_session_run(nnb_session *s, nnb_error *e);

#ifdef __cplusplus
}
#endif
#endif
