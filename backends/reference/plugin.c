/* The reference backend's plugin table: host buffers and a per-node executor
 * over the kernels of ref_*.c. Speed is not a goal; being obviously right is. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nnbench/backend.h>
#include <nnbench/host_buffer.h>

#include "ref.h"

struct nnb_backend_ctx {
  nnb_memory_stats mem;
};

struct nnb_plan {
  int n_steps;
  ref_io *io;
  ref_kernel *fn;
};

static nnb_status ref_describe(nnb_backend_ctx *ctx, nnb_backend_info *out, nnb_error *e) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "reference");
  snprintf(out->device, sizeof out->device, "host CPU, one thread");
  snprintf(out->library, sizeof out->library, "none (naive C, double accumulation)");
  nnb_info_prop(out, "accumulation", "double");
  return NNB_OK;
}

static nnb_status ref_init(const nnb_backend_config *cfg, nnb_backend_ctx **out, nnb_error *e) {
  *out = calloc(1, sizeof **out);
  return *out ? NNB_OK : nnb_fail(e, NNB_ERR_NOMEM, "reference: out of memory");
}

static void ref_destroy(nnb_backend_ctx *ctx) { free(ctx); }

static bool ref_supports(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_node *n,
                         nnb_error *why) {
  if (!ref_kernel_for(n->op)) {
    nnb_fail(why, NNB_ERR_UNSUPPORTED, "no reference kernel for op %d", (int)n->op);
    return false;
  }
  return true;
}

NNB_HOST_BUFFER_ENTRIES(ref, "reference")

static nnb_status ref_prepare(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_binding *bind,
                              nnb_plan **out, nnb_error *e) {
  nnb_plan *p = calloc(1, sizeof *p);
  if (p) p->io = calloc((size_t)g->n_nodes + 1, sizeof *p->io);
  if (p) p->fn = calloc((size_t)g->n_nodes + 1, sizeof *p->fn);
  if (!p || !p->io || !p->fn) {
    if (p) free(p->io), free(p->fn);
    free(p);
    return nnb_fail(e, NNB_ERR_NOMEM, "reference: out of memory preparing %d nodes", g->n_nodes);
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const nnb_node *n = &g->nodes[i];
    ref_io *io = &p->io[i];
    io->n = n;
    for (int j = 0; j < n->n_in; j++) {
      io->ti[j] = &g->tensors[n->in[j]];
      io->in[j] = nnb_host_bound(bind, n->in[j]);
    }
    for (int j = 0; j < n->n_out; j++) {
      io->to[j] = &g->tensors[n->out[j]];
      io->out[j] = nnb_host_bound(bind, n->out[j]);
    }
    p->fn[i] = ref_kernel_for(n->op);
  }
  p->n_steps = g->n_nodes;
  *out = p;
  return NNB_OK;
}

static nnb_status ref_execute(nnb_backend_ctx *ctx, nnb_plan *p, nnb_error *e) {
  for (int i = 0; i < p->n_steps; i++) {
    nnb_status s = p->fn[i](&p->io[i], e);
    if (s != NNB_OK) return s;
  }
  return NNB_OK;
}

static nnb_status ref_sync(nnb_backend_ctx *ctx, nnb_error *e) { return NNB_OK; }

static void ref_plan_free(nnb_backend_ctx *ctx, nnb_plan *p) {
  if (!p) return;
  free(p->io);
  free(p->fn);
  free(p);
}

static void ref_memory_stats(nnb_backend_ctx *ctx, nnb_memory_stats *out) { *out = ctx->mem; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static nnb_status ref_profile(nnb_backend_ctx *ctx, nnb_plan *p, double *secs, nnb_error *e) {
  for (int i = 0; i < p->n_steps; i++) {
    double t0 = now_s();
    nnb_status s = p->fn[i](&p->io[i], e);
    secs[i] = now_s() - t0;
    if (s != NNB_OK) return s;
  }
  return NNB_OK;
}

static const nnb_backend_vtable reference_vtable = {
    .abi_version = NNB_BACKEND_ABI_VERSION,
    .struct_size = sizeof(nnb_backend_vtable),
    .name = "reference",
    .describe = ref_describe,
    .init = ref_init,
    .destroy = ref_destroy,
    .supports = ref_supports,
    .buffer_alloc = ref_alloc,
    .buffer_free = ref_free,
    .upload = ref_upload,
    .download = ref_download,
    .prepare = ref_prepare,
    .execute = ref_execute,
    .sync = ref_sync,
    .plan_free = ref_plan_free,
    .memory_stats = ref_memory_stats,
    .profile = ref_profile,
    .lookup = NULL,
};

NNB_EXPORT const nnb_backend_vtable *nnb_backend_entry(void) { return &reference_vtable; }
