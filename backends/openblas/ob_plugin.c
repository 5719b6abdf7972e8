/* The openblas backend's plugin table: host buffers, plans prepared once
 * (every workspace sized and allocated in prepare, none in execute), and a
 * per-node executor over the kernels of ob_*.c. */
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nnbench/host_buffer.h>

#include "ob.h"

struct nnb_backend_ctx {
  ob_blas blas;
  int threads;
  nnb_memory_stats mem;
};

struct nnb_plan {
  int n_steps;
  ob_io *io;
  ob_kernel_fn *fn;
  float *ws;
  size_t ws_bytes;
};

static const char *coretype_mode(const nnb_backend_config *cfg, char *buf, size_t len) {
  /* Option "coretype=..." from an embedding program, else the environment
   * variable the CLI user sets, else auto. */
  const char *p = cfg && cfg->options ? strstr(cfg->options, "coretype=") : NULL;
  if (p) {
    p += strlen("coretype=");
    size_t n = strcspn(p, ",");
    snprintf(buf, len, "%.*s", (int)n, p);
    return buf;
  }
  const char *env = getenv("NNBENCH_OPENBLAS_CORETYPE");
  return env && *env ? env : "auto";
}

static int default_threads(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return 1;
}

static nnb_status ob_init(const nnb_backend_config *cfg, nnb_backend_ctx **out, nnb_error *e) {
  nnb_backend_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return nnb_fail(e, NNB_ERR_NOMEM, "openblas: out of memory");
  ctx->threads = cfg && cfg->threads > 0 ? cfg->threads : default_threads();
  char mode[64];
  nnb_status st = ob_blas_load(&ctx->blas, coretype_mode(cfg, mode, sizeof mode), ctx->threads, e);
  if (st != NNB_OK) {
    free(ctx);
    return st;
  }
  omp_set_num_threads(ctx->threads);
  *out = ctx;
  return NNB_OK;
}

static void ob_destroy(nnb_backend_ctx *ctx) {
  if (!ctx) return;
  ob_blas_unload(&ctx->blas);
  free(ctx);
}

static nnb_status ob_describe(nnb_backend_ctx *ctx, nnb_backend_info *out, nnb_error *e) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "openblas");
  if (!ctx) {
    snprintf(out->device, sizeof out->device, "host CPU");
    snprintf(out->library, sizeof out->library, "OpenBLAS (loaded at init)");
    return NNB_OK;
  }
  char threads[16];
  snprintf(threads, sizeof threads, "%d", ctx->threads);
  snprintf(out->device, sizeof out->device, "host CPU, %d thread%s", ctx->threads,
           ctx->threads == 1 ? "" : "s");
  const char *config = ctx->blas.get_config();
  snprintf(out->library, sizeof out->library, "%s", config);
  nnb_info_prop(out, "openblas_config", config);
  nnb_info_prop(out, "core_type", ctx->blas.coretype);
  nnb_info_prop(out, "core_type_choice", ctx->blas.core_why);
  nnb_info_prop(out, "library_path", ctx->blas.path);
  nnb_info_prop(out, "threading", ctx->blas.variant);
  nnb_info_prop(out, "threads", threads);
  const char *env = getenv("OPENBLAS_CORETYPE");
  nnb_info_prop(out, "env_OPENBLAS_CORETYPE", env ? env : "(unset)");
  return NNB_OK;
}

static bool ob_supports(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_node *n,
                        nnb_error *why) {
  if (!ob_kernel_for(n->op).run) {
    nnb_fail(why, NNB_ERR_UNSUPPORTED, "openblas has no kernel for op %d", (int)n->op);
    return false;
  }
  for (int i = 0; i < n->n_in; i++) {
    nnb_dtype want =
        (n->op == NNB_OP_SOFTMAX_CE && i == 1) || (n->op == NNB_OP_SOFTMAX_CE_BWD && i == 2)
            ? NNB_I32
            : NNB_F32;
    if (g->tensors[n->in[i]].dtype != want) {
      nnb_fail(why, NNB_ERR_UNSUPPORTED, "openblas runs f32 only (input %d is %s)", i,
               nnb_dtype_name(g->tensors[n->in[i]].dtype));
      return false;
    }
  }
  return true;
}

static nnb_status ob_alloc(nnb_backend_ctx *ctx, uint64_t bytes, nnb_buffer **out, nnb_error *e) {
  return nnb_host_buffer_alloc(&ctx->mem, "openblas", bytes, out, e);
}

static void ob_free(nnb_backend_ctx *ctx, nnb_buffer *b) { nnb_host_buffer_free(&ctx->mem, b); }

static nnb_status ob_upload(nnb_backend_ctx *ctx, nnb_buffer *b, uint64_t off, const void *src,
                            uint64_t n, nnb_error *e) {
  return nnb_host_buffer_upload("openblas", b, off, src, n, e);
}

static nnb_status ob_download(nnb_backend_ctx *ctx, nnb_buffer *b, uint64_t off, void *dst,
                              uint64_t n, nnb_error *e) {
  return nnb_host_buffer_download("openblas", b, off, dst, n, e);
}

static void ob_plan_free(nnb_backend_ctx *ctx, nnb_plan *p) {
  if (!p) return;
  if (p->ws) {
    ctx->mem.current_bytes -= p->ws_bytes;
    free(p->ws);
  }
  free(p->io);
  free(p->fn);
  free(p);
}

/* Whether tensor t's memory overlaps any input of node n: then n cannot
 * write t while it reads them. */
static bool overlaps_inputs(const nnb_graph *g, const nnb_binding *bind, const nnb_node *n, int t) {
  uint64_t t0 = bind[t].offset, t1 = t0 + nnb_nbytes(&g->tensors[t]);
  for (int j = 0; j < n->n_in; j++) {
    const nnb_binding *b = &bind[n->in[j]];
    uint64_t a0 = b->offset, a1 = a0 + nnb_nbytes(&g->tensors[n->in[j]]);
    if (b->buffer == bind[t].buffer && a0 < t1 && t0 < a1) return true;
  }
  return false;
}

/* What a ReLU fused into its producer runs: nothing. */
static nnb_status ob_fused_away(const ob_io *io, nnb_error *e) { return NNB_OK; }

static nnb_status ob_prepare(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_binding *bind,
                             nnb_plan **out, nnb_error *e) {
  nnb_plan *p = calloc(1, sizeof *p);
  if (p) p->io = calloc((size_t)g->n_nodes + 1, sizeof *p->io);
  if (p) p->fn = calloc((size_t)g->n_nodes + 1, sizeof *p->fn);
  if (!p || !p->io || !p->fn) {
    ob_plan_free(ctx, p);
    return nnb_fail(e, NNB_ERR_NOMEM, "openblas: out of memory preparing %d nodes", g->n_nodes);
  }
  /* Consumers of each tensor, so a ReLU can be fused into the matmul or
   * convolution that feeds it when nothing else reads that output (in
   * inference graphs; training keeps it for the ReLU's backward). */
  int *uses = calloc((size_t)g->n_tensors + 1, sizeof *uses);
  if (!uses) {
    ob_plan_free(ctx, p);
    return nnb_fail(e, NNB_ERR_NOMEM, "openblas: out of memory preparing %d nodes", g->n_nodes);
  }
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++) uses[g->nodes[i].in[j]]++;
  for (int i = 0; i < g->n_outputs; i++) uses[g->outputs[i]] += 2;
  for (int t = 0; t < g->n_tensors; t++)
    if (g->tensors[t].view_of >= 0) uses[g->tensors[t].view_of] += 2;
  size_t ws = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const nnb_node *n = &g->nodes[i];
    ob_io *io = &p->io[i];
    io->n = n;
    io->nt = ctx->threads;
    io->blas = &ctx->blas;
    for (int j = 0; j < n->n_in; j++) {
      io->ti[j] = &g->tensors[n->in[j]];
      io->in[j] = nnb_host_bound(bind, n->in[j]);
    }
    for (int j = 0; j < n->n_out; j++) {
      io->to[j] = &g->tensors[n->out[j]];
      io->out[j] = nnb_host_bound(bind, n->out[j]);
    }
    ob_kernel k = ob_kernel_for(n->op);
    if (!k.run) {
      ob_plan_free(ctx, p);
      return nnb_fail(e, NNB_ERR_UNSUPPORTED, "openblas: node '%s': no kernel for op %d", n->name,
                      (int)n->op);
    }
    if (!p->fn[i]) p->fn[i] = k.run; /* a fused ReLU already has its no-op */
    /* Only the very next node: a later one could find the ReLU's output
     * memory overwritten by nodes in between (the planner shares memory by
     * liveness). */
    const nnb_node *r = i + 1 < g->n_nodes ? &g->nodes[i + 1] : NULL;
    if ((n->op == NNB_OP_MATMUL || n->op == NNB_OP_CONV2D) && uses[n->out[0]] == 1 && r &&
        r->op == NNB_OP_RELU && r->in[0] == n->out[0] &&
        !overlaps_inputs(g, bind, n, r->out[0])) { /* the planner may reuse an input's memory */
      io->relu = true;
      io->out[0] = nnb_host_bound(bind, r->out[0]);
      p->fn[i + 1] = ob_fused_away;
    }
    if (k.ws) {
      size_t need = k.ws(io);
      if (need > ws) ws = need;
    }
  }
  /* One workspace for the whole plan: nodes run one after another. */
  if (ws) {
    p->ws = aligned_alloc(64, (ws + 63) / 64 * 64);
    if (!p->ws) {
      ob_plan_free(ctx, p);
      return nnb_fail(e, NNB_ERR_NOMEM, "openblas: cannot allocate a %zu-byte workspace", ws);
    }
    p->ws_bytes = ws;
    nnb_host_count_alloc(&ctx->mem, ws);
  }
  free(uses);
  for (int i = 0; i < g->n_nodes; i++) p->io[i].ws = p->ws;
  p->n_steps = g->n_nodes;
  *out = p;
  return NNB_OK;
}

static nnb_status ob_execute(nnb_backend_ctx *ctx, nnb_plan *p, nnb_error *e) {
  for (int i = 0; i < p->n_steps; i++) {
    nnb_status st = p->fn[i](&p->io[i], e);
    if (st != NNB_OK) return st;
  }
  return NNB_OK;
}

static nnb_status ob_sync(nnb_backend_ctx *ctx, nnb_error *e) { return NNB_OK; }

static void ob_memory(nnb_backend_ctx *ctx, nnb_memory_stats *out) { *out = ctx->mem; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static nnb_status ob_profile(nnb_backend_ctx *ctx, nnb_plan *p, double *secs, nnb_error *e) {
  for (int i = 0; i < p->n_steps; i++) {
    double t = now_s();
    nnb_status st = p->fn[i](&p->io[i], e);
    secs[i] = now_s() - t;
    if (st != NNB_OK) return st;
  }
  return NNB_OK;
}

static const nnb_backend_vtable vtable = {
    .abi_version = NNB_BACKEND_ABI_VERSION,
    .struct_size = sizeof(nnb_backend_vtable),
    .name = "openblas",
    .describe = ob_describe,
    .init = ob_init,
    .destroy = ob_destroy,
    .supports = ob_supports,
    .buffer_alloc = ob_alloc,
    .buffer_free = ob_free,
    .upload = ob_upload,
    .download = ob_download,
    .prepare = ob_prepare,
    .execute = ob_execute,
    .sync = ob_sync,
    .plan_free = ob_plan_free,
    .memory_stats = ob_memory,
    .profile = ob_profile,
    .lookup = NULL,
};

NNB_EXPORT const nnb_backend_vtable *nnb_backend_entry(void) { return &vtable; }
