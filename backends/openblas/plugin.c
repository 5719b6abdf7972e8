/* The openblas backend's plugin table: host buffers, OpenBLAS loaded with
 * the fastest kernels this CPU runs, a plan of prepared steps (fusions and
 * one workspace decided once) and a per-node executor. */
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nnbench/host_buffer.h>

#include "ob.h"

struct nnb_backend_ctx {
  ob_env env;
  ob_cpu cpu;
  bool fuse;         /* option fuse=0 turns the relu fusion off (for measuring it) */
  char vec_why[128]; /* why this vector ISA */
  nnb_memory_stats mem;
};

/* Bytes a node writes (ob_node_writes), for the watches of other plans on
 * the same buffers (weights they keep packed). */
typedef struct ob_span {
  nnb_buffer *buf;
  uint64_t off, n;
} ob_span;

struct nnb_plan {
  int n_steps;
  ob_step *steps;
  float *ws; /* one workspace, shared by the steps: they run one at a time */
  size_t ws_bytes;
  ob_span *writes; /* everything the nodes write */
  int n_writes;
};

static const char *variant_name(int parallel) {
  switch (parallel) {
  case 0: return "sequential";
  case 1: return "pthreads";
  case 2: return "OpenMP";
  default: return "unknown";
  }
}

static nnb_status ob_describe(nnb_backend_ctx *ctx, nnb_backend_info *out, nnb_error *e) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "openblas");
  if (!ctx) {
    snprintf(out->device, sizeof out->device, "host CPU");
    snprintf(out->library, sizeof out->library, "OpenBLAS (loaded when the backend is opened)");
    return NNB_OK;
  }
  const ob_blas *b = &ctx->env.blas;
  const char *config = b->get_config();
  snprintf(out->device, sizeof out->device, "%s (%d threads)",
           ctx->cpu.brand[0] ? ctx->cpu.brand : "host CPU", ctx->env.threads);
  /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": the first two words */
  int words = 0, len = 0;
  while (config[len] && !(config[len] == ' ' && ++words == 2)) len++;
  snprintf(out->library, sizeof out->library, "%.*s", len, config);
  char v[256];
  nnb_info_prop(out, "openblas_config", config);
  nnb_info_prop(out, "core_type", b->core);
  nnb_info_prop(out, "core_type_reason", b->core_why);
  nnb_info_prop(out, "core_type_openblas_default",
                b->core_default[0] ? b->core_default : "unknown");
  snprintf(v, sizeof v, "%s build, called single-threaded from the backend's OpenMP team",
           variant_name(b->get_parallel()));
  nnb_info_prop(out, "openblas_threading", v);
  nnb_info_prop(out, "openblas_path", b->path[0] ? b->path : "unknown");
  snprintf(v, sizeof v, "%d", ctx->env.threads);
  nnb_info_prop(out, "threads", v);
  snprintf(v, sizeof v, "%d", _OPENMP);
  nnb_info_prop(out, "openmp", v);
  nnb_info_prop(out, "vector_isa", ctx->env.vec->isa);
  nnb_info_prop(out, "vector_isa_reason", ctx->vec_why);
  nnb_info_prop(out, "relu_fusion", ctx->fuse ? "on" : "off");
  nnb_info_prop(out, "lstm_step_gemm",
                ob_lstm_packed(&ctx->env) ? "packed once per op" : "OpenBLAS sgemm");
  nnb_info_prop(out, "fewrow_gemm", ob_fewrow(&ctx->env) ? "in place" : "OpenBLAS sgemm");
  nnb_info_prop(out, "unwritten_weights",
                ob_prepack_on(&ctx->env) ? "packed once per change" : "OpenBLAS sgemm");
  return NNB_OK;
}

static int default_threads(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return omp_get_num_procs();
}

static nnb_status ob_init(const nnb_backend_config *cfg, nnb_backend_ctx **out, nnb_error *e) {
  nnb_backend_ctx *c = calloc(1, sizeof *c);
  if (!c) return nnb_fail(e, NNB_ERR_NOMEM, "openblas: out of memory");
  ob_cpu_detect(&c->cpu);
  nnb_status s = ob_blas_load(&c->env.blas, &c->cpu, e);
  if (s != NNB_OK) {
    free(c);
    return s;
  }
  c->env.threads = cfg && cfg->threads > 0 ? cfg->threads : default_threads();
  const char *isa = ob_vec_isa_decide(getenv("NNB_OPENBLAS_VEC"), ob_cpu_has_avx512(&c->cpu),
                                      ob_cpu_has_avx2(&c->cpu), c->vec_why, sizeof c->vec_why);
  if (!isa) {
    nnb_status st = nnb_fail(e, NNB_ERR_INVALID, "openblas: %s", c->vec_why);
    ob_blas_unload(&c->env.blas);
    free(c);
    return st;
  }
  c->env.vec = !strcmp(isa, "avx512") ? &ob_vec_avx512
               : !strcmp(isa, "avx2") ? &ob_vec_avx2
                                      : &ob_vec_baseline;
  c->fuse = nnb_config_int(cfg, "fuse", 1) != 0;
  c->env.lstm_split = (int)nnb_config_int(cfg, "lstm_split", -1);
  c->env.lstm_input = (int)nnb_config_int(cfg, "lstm_input", -1);
  c->env.lstm_packed = (int)nnb_config_int(cfg, "lstm_packed", -1);
  c->env.fewrow = (int)nnb_config_int(cfg, "fewrow", -1);
  c->env.prepack = (int)nnb_config_int(cfg, "prepack", -1);
  *out = c;
  return NNB_OK;
}

static void ob_destroy(nnb_backend_ctx *ctx) {
  if (!ctx) return;
  ob_blas_unload(&ctx->env.blas);
  free(ctx);
}

static bool ob_supports(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_node *n,
                        nnb_error *why) {
  return ob_supports_node(g, n, why);
}

NNB_HOST_BUFFER_ENTRIES(ob, "openblas")

/* maxpool2d_bwd at node i whose x is relu(v), followed by the act_bwd of
 * that relu (dy = the pooling's dx, x = v): relu'(v) > 0 exactly where the
 * pooled value is > 0, so the pooling's backward writes the act_bwd's
 * output directly, masked by the window maximum. Only when nothing else
 * reads the pooling's dx and the act_bwd's output shares no bytes with the
 * pooling's inputs (but see below). */
static void plan_pool_fusion(const nnb_graph *g, const nnb_binding *bind, const int *readers,
                             ob_step *steps, int i) {
  const nnb_node *n = &g->nodes[i], *r = i + 1 < g->n_nodes ? &g->nodes[i + 1] : NULL;
  if (!r || n->op != NNB_OP_MAXPOOL2D_BWD || r->op != NNB_OP_ACT_BWD ||
      r->attr.act_bwd.act != NNB_OP_RELU || r->in[0] != n->out[0] || readers[n->out[0]] != 1)
    return;
  bool relu_of = false; /* the pooling's x is relu(act_bwd's x) */
  for (int k = 0; k < g->n_nodes && !relu_of; k++)
    relu_of = g->nodes[k].op == NNB_OP_RELU && g->nodes[k].in[0] == r->in[1] &&
              g->nodes[k].out[0] == n->in[1];
  if (!relu_of) return;
  /* The 2x2, stride-2 kernel reads each window before writing it and no
   * other, so its output may also be exactly where x is. */
  const struct nnb_pool_attr *pa = &n->attr.pool;
  bool pool2 = pa->kernel_h == 2 && pa->kernel_w == 2 && pa->stride_h == 2 && pa->stride_w == 2;
  bool on_x = bind[r->out[0]].buffer == bind[n->in[1]].buffer &&
              bind[r->out[0]].offset == bind[n->in[1]].offset;
  if (nnb_host_overlaps(g, bind, r->out[0], n->in[0]) ||
      (nnb_host_overlaps(g, bind, r->out[0], n->in[1]) && !(pool2 && on_x)))
    return;
  steps[i].fuse = OB_FUSE_RELU_BWD;
  steps[i].relu_out = (float *)nnb_host_bound(bind, r->out[0]);
  steps[i + 1].skip = true;
}

/* matmul / conv2d at node i followed by relu of its output: fold the relu
 * into the GEMM's epilogue. Safe when relu's output shares no bytes with
 * the GEMM node's inputs (the planner may reuse an input's bytes for it,
 * since the input is dead after node i). The pre-activation is still
 * written when anything else reads it (the backward does). */
static void plan_fusion(const nnb_graph *g, const nnb_binding *bind, const int *readers,
                        ob_step *steps, int i) {
  const nnb_node *n = &g->nodes[i], *r = i + 1 < g->n_nodes ? &g->nodes[i + 1] : NULL;
  if (!r || (n->op != NNB_OP_MATMUL && n->op != NNB_OP_CONV2D) || r->op != NNB_OP_RELU ||
      r->in[0] != n->out[0])
    return;
  for (int j = 0; j < n->n_in; j++)
    if (nnb_host_overlaps(g, bind, r->out[0], n->in[j])) return;
  if (nnb_host_overlaps(g, bind, r->out[0], n->out[0])) return;
  steps[i].fuse = readers[n->out[0]] == 1 ? OB_FUSE_RELU_ONLY : OB_FUSE_RELU_BOTH;
  steps[i].relu_out = (float *)nnb_host_bound(bind, r->out[0]);
  steps[i + 1].skip = true;
}

static void ob_plan_free(nnb_backend_ctx *ctx, nnb_plan *p) {
  if (!p) return;
  for (int i = 0; p->steps && i < p->n_steps; i++) ob_prepack_free(p->steps[i].pp, &ctx->mem);
  free(p->writes);
  if (p->ws) ctx->mem.current_bytes -= p->ws_bytes;
  free(p->ws);
  free(p->steps);
  free(p);
}

/* Weights kept packed across steps, and the spans this plan's nodes write
 * (another plan may keep packed what this one writes). */
static nnb_status plan_prepack(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_binding *bind,
                               nnb_plan *p, nnb_error *e) {
  for (int i = 0; i < g->n_nodes; i++) {
    if (!ob_prepack_wanted(&ctx->env, g, bind, i)) continue;
    nnb_status st = ob_prepack_create(&p->steps[i], g, bind, p, &ctx->mem, e);
    if (st != NNB_OK) return st;
  }
  p->writes = calloc((size_t)g->n_nodes * (NNB_MAX_IN + NNB_MAX_OUT) + 1, sizeof *p->writes);
  if (!p->writes) return nnb_fail(e, NNB_ERR_NOMEM, "openblas: out of memory preparing a plan");
  for (int i = 0; i < g->n_nodes; i++) {
    int wr[NNB_MAX_IN + NNB_MAX_OUT];
    for (int j = 0, n = ob_node_writes(&g->nodes[i], wr); j < n; j++)
      p->writes[p->n_writes++] =
          (ob_span){bind[wr[j]].buffer, bind[wr[j]].offset, nnb_nbytes(&g->tensors[wr[j]])};
  }
  return NNB_OK;
}

static nnb_status ob_prepare(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_binding *bind,
                             nnb_plan **out, nnb_error *e) {
  nnb_plan *p = calloc(1, sizeof *p);
  int *readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
  if (p) p->steps = calloc((size_t)g->n_nodes + 1, sizeof *p->steps);
  if (!p || !readers || !p->steps) {
    free(readers);
    ob_plan_free(ctx, p);
    return nnb_fail(e, NNB_ERR_NOMEM, "openblas: out of memory preparing %d nodes", g->n_nodes);
  }
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++) readers[g->nodes[i].in[j]]++;
  for (int i = 0; i < g->n_outputs; i++) readers[g->outputs[i]]++;

  size_t ws_floats = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const nnb_node *n = &g->nodes[i];
    ob_step *s = &p->steps[i];
    s->env = &ctx->env;
    s->n = n;
    for (int j = 0; j < n->n_in; j++) {
      s->ti[j] = &g->tensors[n->in[j]];
      s->in[j] = (float *)nnb_host_bound(bind, n->in[j]);
    }
    for (int j = 0; j < n->n_out; j++) {
      s->to[j] = &g->tensors[n->out[j]];
      s->out[j] = (float *)nnb_host_bound(bind, n->out[j]);
    }
    ob_op_impl impl = ob_op_lookup(n->op);
    s->run = impl.run;
    s->ws_floats = impl.ws ? impl.ws(s) : 0;
    if (s->ws_floats > ws_floats) ws_floats = s->ws_floats;
    if (ctx->fuse) plan_fusion(g, bind, readers, p->steps, i);
    if (ctx->fuse) plan_pool_fusion(g, bind, readers, p->steps, i);
  }
  free(readers);
  p->ws_bytes = (ob_round16(ws_floats) + 16) * sizeof(float);
  p->ws = aligned_alloc(64, p->ws_bytes);
  if (!p->ws) {
    ob_plan_free(ctx, p);
    return nnb_fail(e, NNB_ERR_NOMEM, "openblas: cannot allocate a %zu-byte workspace",
                    (size_t)(ws_floats * sizeof(float)));
  }
  nnb_host_count_alloc(&ctx->mem, p->ws_bytes);
  for (int i = 0; i < g->n_nodes; i++) p->steps[i].ws = p->ws;
  p->n_steps = g->n_nodes;
  nnb_status st = plan_prepack(ctx, g, bind, p, e);
  if (st != NNB_OK) {
    ob_plan_free(ctx, p);
    return st;
  }
  *out = p;
  return NNB_OK;
}

static nnb_status run_step(const ob_step *s, nnb_error *e) {
  return s->skip ? NNB_OK : s->run(s, e);
}

/* After a plan ran (or failed part way): what it wrote is changed for any
 * other plan that keeps it packed. */
static void mark_writes(const nnb_plan *p) {
  for (int i = 0; i < p->n_writes; i++)
    if (p->writes[i].buf->watch)
      nnb_host_mark_written(p->writes[i].buf, p->writes[i].off, p->writes[i].n, p);
}

static nnb_status ob_execute(nnb_backend_ctx *ctx, nnb_plan *p, nnb_error *e) {
  nnb_status s = NNB_OK;
  for (int i = 0; i < p->n_steps && s == NNB_OK; i++) s = run_step(&p->steps[i], e);
  mark_writes(p);
  return s;
}

static nnb_status ob_sync(nnb_backend_ctx *ctx, nnb_error *e) { return NNB_OK; }

static void ob_memory_stats(nnb_backend_ctx *ctx, nnb_memory_stats *out) { *out = ctx->mem; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A node folded into the node before it shows 0 s: its time is in that
 * node's. */
static nnb_status ob_profile(nnb_backend_ctx *ctx, nnb_plan *p, double *secs, nnb_error *e) {
  nnb_status s = NNB_OK;
  for (int i = 0; i < p->n_steps && s == NNB_OK; i++) {
    double t0 = now_s();
    s = run_step(&p->steps[i], e);
    secs[i] = now_s() - t0;
  }
  mark_writes(p);
  return s;
}

static const nnb_backend_vtable openblas_vtable = {
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
    .memory_stats = ob_memory_stats,
    .profile = ob_profile,
    .lookup = NULL,
};

NNB_EXPORT const nnb_backend_vtable *nnb_backend_entry(void) { return &openblas_vtable; }
