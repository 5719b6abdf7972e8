/* The onednn backend's plugin table: host buffers, one CPU engine and
 * stream, a plan of prepared steps (every primitive created in prepare,
 * fusions decided once, one user scratchpad shared by all primitives) and
 * an executor that only executes primitives and loops. */
#include <omp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nnbench/host_buffer.h>

#include "dn.h"

struct nnb_backend_ctx {
  dn_env env;
  int threads_before; /* the OpenMP thread count init found, restored by destroy */
  char isa[32];       /* option isa: the cap asked for, "" for none */
  nnb_memory_stats mem;
};

struct nnb_plan {
  int n_steps;
  dn_step *steps;
  void *scratch; /* the user scratchpad of every primitive: they run one at a time */
  size_t scratch_bytes;
};

/* ---- options ------------------------------------------------------------ */

/* Copies the value of `key` in cfg->options ("k=v,k=v") into out; false
 * when absent. */
static bool opt_str(const nnb_backend_config *cfg, const char *key, char *out, size_t cap) {
  if (!cfg || !cfg->options) return false;
  size_t klen = strlen(key);
  for (const char *p = cfg->options; *p;) {
    size_t n = strcspn(p, ",");
    if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
      snprintf(out, cap, "%.*s", (int)(n - klen - 1), p + klen + 1);
      return true;
    }
    p += n + (p[n] == ',');
  }
  return false;
}

static const struct {
  const char *name;
  dnnl_cpu_isa_t isa;
} isas[] = {{"sse41", dnnl_cpu_isa_sse41},
            {"avx", dnnl_cpu_isa_avx},
            {"avx2", dnnl_cpu_isa_avx2},
            {"avx512_core", dnnl_cpu_isa_avx512_core},
            {"avx512_core_vnni", dnnl_cpu_isa_avx512_core_vnni},
            {"avx512_core_bf16", dnnl_cpu_isa_avx512_core_bf16},
            {"avx512_core_amx", dnnl_cpu_isa_avx512_core_amx},
            {"all", dnnl_cpu_isa_all}};

static const char *isa_name(dnnl_cpu_isa_t isa) {
  for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++)
    if (isas[i].isa == isa) return isas[i].name;
  return "other";
}

/* Caps the ISA. oneDNN accepts this only before its first ISA query, so it
 * is the first thing init does; in a process that already ran oneDNN the
 * cap must be the one in force. */
static nnb_status cap_isa(const char *want, nnb_error *e) {
  for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
    if (strcmp(isas[i].name, want)) continue;
    if (dnnl_set_max_cpu_isa(isas[i].isa) == dnnl_success) return NNB_OK;
    if (isas[i].isa == dnnl_cpu_isa_all || dnnl_get_effective_cpu_isa() <= isas[i].isa)
      return NNB_OK;
    return nnb_fail(e, NNB_ERR_INVALID,
                    "onednn: option isa=%s: oneDNN already runs %s in this process and caps the "
                    "ISA only before its first use; run with isa=%s in a fresh process",
                    want, isa_name(dnnl_get_effective_cpu_isa()), want);
  }
  return nnb_fail(e, NNB_ERR_INVALID,
                  "onednn: option isa=%s: expected one of sse41, avx, avx2, avx512_core, "
                  "avx512_core_vnni, avx512_core_bf16, avx512_core_amx, all",
                  want);
}

/* ---- describe, init, destroy --------------------------------------------- */

static const char *runtime_name(unsigned r) {
  return r == DNNL_RUNTIME_OMP   ? "OpenMP"
         : r == DNNL_RUNTIME_TBB ? "TBB"
         : r == DNNL_RUNTIME_SEQ ? "sequential"
                                 : "threadpool";
}

static nnb_status dn_describe(nnb_backend_ctx *ctx, nnb_backend_info *out, nnb_error *e) {
  memset(out, 0, sizeof *out);
  const dnnl_version_t *v = dnnl_version();
  snprintf(out->name, sizeof out->name, "onednn");
  snprintf(out->library, sizeof out->library, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
  char s[256];
  snprintf(s, sizeof s, "%d.%d.%d (%s)", v->major, v->minor, v->patch, v->hash);
  nnb_info_prop(out, "onednn_version", s);
  nnb_info_prop(out, "cpu_runtime", runtime_name(v->cpu_runtime));
  if (!ctx) {
    snprintf(out->device, sizeof out->device, "host CPU");
    return NNB_OK;
  }
  snprintf(out->device, sizeof out->device, "host CPU (%d threads)", ctx->env.threads);
  nnb_info_prop(out, "isa", isa_name(dnnl_get_effective_cpu_isa()));
  nnb_info_prop(out, "isa_cap", ctx->isa[0] ? ctx->isa : "none");
  snprintf(s, sizeof s, "%d", ctx->env.threads);
  nnb_info_prop(out, "threads", s);
  nnb_info_prop(out, "fusion", ctx->env.fuse ? "on" : "off");
  nnb_info_prop(out, "layout", ctx->env.blocked ? "blocked" : "plain");
  static const char *const lstm[] = {
      "auto: the primitive where oneDNN has an optimised implementation, else own",
      "primitive where the graph allows", "own"};
  nnb_info_prop(out, "lstm", lstm[ctx->env.lstm]);
  snprintf(s, sizeof s, "%s gates, one sgemm per thread and step", ctx->env.vec->isa);
  nnb_info_prop(out, "lstm_own", s);
  nnb_info_prop(out, "scratchpad", "user, one per plan");
  return NNB_OK;
}

/* The gate passes for oneDNN's effective ISA (the CPU's, or the isa= cap);
 * the ISA values are sets of feature bits. */
static const dn_vec *vec_for(dnnl_cpu_isa_t isa) {
  const unsigned has = (unsigned)isa;
  if ((has & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core) return &dn_vec_avx512;
  if ((has & dnnl_cpu_isa_avx2) == dnnl_cpu_isa_avx2) return &dn_vec_avx2;
  return &dn_vec_baseline;
}

static int default_threads(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
  return omp_get_num_procs();
}

static void dn_destroy(nnb_backend_ctx *ctx) {
  if (!ctx) return;
  if (ctx->env.stream) dnnl_stream_destroy(ctx->env.stream);
  if (ctx->env.engine) dnnl_engine_destroy(ctx->env.engine);
  omp_set_num_threads(ctx->threads_before);
  free(ctx);
}

/* gemm:jit compiles its kernels at the first call: one small matmul here
 * keeps that out of the first timed step. */
static nnb_status warm_up(nnb_backend_ctx *c, nnb_error *e) {
  static const nnb_node node = {.op = NNB_OP_MATMUL, .name = "warm-up"};
  float buf[3][64 * 64] = {{0}};
  dn_step s = {.env = &c->env, .n = &node};
  dn_mat a = {buf[0], 64, 1, {0}}, b = {buf[1], 64, 1, {0}}, o = {buf[2], 64, 1, {0}};
  nnb_status r = dn_add_gemm(&s, 0, NULL, 64, 64, 64, a, b, o, NULL, false, 1.0f, e);
  void *scratch = NULL;
  if (r == NNB_OK && s.prims[0].scratch_bytes) {
    scratch = aligned_alloc(64, (s.prims[0].scratch_bytes + 63) / 64 * 64);
    if (!scratch)
      r = nnb_fail(e, NNB_ERR_NOMEM, "onednn: out of memory warming up");
    else
      dnnl_memory_set_data_handle(s.prims[0].scratch, scratch);
  }
  if (r == NNB_OK) r = dn_step_prims(&s, e);
  if (r == NNB_OK) r = dn_check(dnnl_stream_wait(c->env.stream), "waiting", &node, e);
  for (int i = 0; i < s.n_prims; i++) dn_exec_free(&s.prims[i]);
  free(scratch);
  return r;
}

static nnb_status dn_init(const nnb_backend_config *cfg, nnb_backend_ctx **out, nnb_error *e) {
  nnb_backend_ctx *c = calloc(1, sizeof *c);
  if (!c) return nnb_fail(e, NNB_ERR_NOMEM, "onednn: out of memory");
  nnb_status r = NNB_OK;
  if (opt_str(cfg, "isa", c->isa, sizeof c->isa)) r = cap_isa(c->isa, e);
  if (r != NNB_OK) {
    free(c);
    return r;
  }
  char layout[16] = "blocked";
  opt_str(cfg, "layout", layout, sizeof layout);
  if (strcmp(layout, "blocked") && strcmp(layout, "plain")) {
    free(c);
    return nnb_fail(e, NNB_ERR_INVALID, "onednn: option layout=%s: expected blocked or plain",
                    layout);
  }
  c->env.blocked = !strcmp(layout, "blocked");
  c->env.fuse = nnb_config_int(cfg, "fuse", 1) != 0;
  char lstm[16] = "auto";
  opt_str(cfg, "lstm", lstm, sizeof lstm);
  c->env.lstm = !strcmp(lstm, "auto")        ? DN_LSTM_AUTO
                : !strcmp(lstm, "primitive") ? DN_LSTM_PRIMITIVE
                : !strcmp(lstm, "own")       ? DN_LSTM_OWN
                                             : (dn_lstm_mode)-1;
  if ((int)c->env.lstm < 0) {
    free(c);
    return nnb_fail(e, NNB_ERR_INVALID, "onednn: option lstm=%s: expected auto, primitive or own",
                    lstm);
  }
  c->env.vec = vec_for(dnnl_get_effective_cpu_isa());
  /* oneDNN reads omp_get_max_threads() and some primitives keep the count
   * they were created with: set once here, before any primitive exists. */
  c->threads_before = omp_get_max_threads();
  c->env.threads = cfg && cfg->threads > 0 ? cfg->threads : default_threads();
  omp_set_num_threads(c->env.threads);
  dnnl_status_t st = dnnl_engine_create(&c->env.engine, dnnl_cpu, 0);
  if (st == dnnl_success)
    st = dnnl_stream_create(&c->env.stream, c->env.engine, dnnl_stream_default_flags);
  r = dn_check(st, "creating the CPU engine and stream", NULL, e);
  if (r == NNB_OK) r = warm_up(c, e);
  if (r != NNB_OK) {
    dn_destroy(c);
    return r;
  }
  *out = c;
  return NNB_OK;
}

static bool dn_supports(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_node *n,
                        nnb_error *why) {
  return dn_supports_node(g, n, why);
}

/* ---- buffers ---------------------------------------------------------------- */

NNB_HOST_BUFFER_ENTRIES(dn, "onednn")

/* ---- plans ------------------------------------------------------------------ */

/* Whether node r's output may be written by node i (folded into it): it
 * shares no bytes with i's inputs, which are still being read. */
static bool writable_by(const dn_graph_info *gi, const nnb_node *n, int t) {
  for (int j = 0; j < n->n_in; j++)
    if (nnb_host_overlaps(gi->g, gi->bind, t, n->in[j])) return false;
  return true;
}

static bool same_shape(const nnb_tensor_desc *a, const nnb_tensor_desc *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

/* matmul / conv2d at node i, then (each optional, in this order) an add of
 * its output and another tensor of the same shape (a residual, a gradient
 * sum) and a relu: both become post-ops when nothing else reads the
 * intermediate results. Training keeps relu separate: act_bwd reads the
 * pre-activation. The skipped intermediates are left unwritten. */
static void plan_fusion(const dn_graph_info *gi, dn_step *steps, int i) {
  const nnb_graph *g = gi->g;
  const nnb_node *n = &g->nodes[i];
  if (n->op != NNB_OP_MATMUL && n->op != NNB_OP_CONV2D) return;
  int cur = n->out[0], k = i + 1, other = -1;
  dn_step *s = &steps[i];
  if (k < g->n_nodes && g->nodes[k].op == NNB_OP_ADD && gi->readers[cur] == 1) {
    const nnb_node *a = &g->nodes[k];
    other = a->in[0] == cur ? a->in[1] : a->in[1] == cur ? a->in[0] : -1;
    if (other >= 0 && other != cur && same_shape(&g->tensors[other], &g->tensors[cur]) &&
        writable_by(gi, n, a->out[0])) {
      s->post_add = (const float *)nnb_host_bound(gi->bind, other);
      s->post_out = (float *)nnb_host_bound(gi->bind, a->out[0]);
      s->dst = a->out[0];
      steps[k].skip = true;
      cur = a->out[0], k++;
    } else {
      other = -1;
    }
  }
  /* the relu's output must not overlap the added operand either */
  if (k < g->n_nodes && g->nodes[k].op == NNB_OP_RELU && g->nodes[k].in[0] == cur &&
      gi->readers[cur] == 1 && writable_by(gi, n, g->nodes[k].out[0]) &&
      (other < 0 || !nnb_host_overlaps(g, gi->bind, other, g->nodes[k].out[0]))) {
    s->post_relu = true;
    s->post_out = (float *)nnb_host_bound(gi->bind, g->nodes[k].out[0]);
    s->dst = g->nodes[k].out[0];
    steps[k].skip = true;
  }
}

static void dn_plan_free(nnb_backend_ctx *ctx, nnb_plan *p) {
  if (!p) return;
  for (int i = 0; i < p->n_steps; i++) {
    dn_step *s = &p->steps[i];
    for (int k = 0; k < s->n_prims; k++) dn_exec_free(&s->prims[k]);
    if (s->priv) ctx->mem.current_bytes -= s->priv_bytes;
    free(s->priv);
  }
  if (p->scratch) ctx->mem.current_bytes -= p->scratch_bytes;
  free(p->scratch);
  free(p->steps);
  free(p);
}

static nnb_status dn_prepare(nnb_backend_ctx *ctx, const nnb_graph *g, const nnb_binding *bind,
                             nnb_plan **out, nnb_error *e) {
  nnb_plan *p = calloc(1, sizeof *p);
  int *readers = calloc((size_t)g->n_tensors + 1, sizeof *readers);
  dnnl_memory_desc_t *md = calloc((size_t)g->n_tensors + 1, sizeof *md);
  if (p) p->steps = calloc((size_t)g->n_nodes + 1, sizeof *p->steps);
  if (!p || !readers || !md || !p->steps) {
    free(readers);
    free(md);
    dn_plan_free(ctx, p);
    return nnb_fail(e, NNB_ERR_NOMEM, "onednn: out of memory preparing %d nodes", g->n_nodes);
  }
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++) readers[g->nodes[i].in[j]]++;
  for (int i = 0; i < g->n_outputs; i++) readers[g->outputs[i]]++;
  dn_graph_info gi = {g, bind, readers, p->steps, md};

  nnb_status r = NNB_OK;
  for (int i = 0; i < g->n_nodes && r == NNB_OK; i++) {
    const nnb_node *n = &g->nodes[i];
    dn_step *s = &p->steps[i];
    s->env = &ctx->env;
    s->n = n;
    s->dst = n->n_out ? n->out[0] : -1;
    p->n_steps = i + 1;
    for (int j = 0; j < n->n_in; j++) {
      s->ti[j] = &g->tensors[n->in[j]];
      s->in[j] = (float *)nnb_host_bound(bind, n->in[j]);
    }
    for (int j = 0; j < n->n_out; j++) {
      s->to[j] = &g->tensors[n->out[j]];
      s->out[j] = (float *)nnb_host_bound(bind, n->out[j]);
    }
    if (s->skip) continue;
    if (ctx->env.fuse) plan_fusion(&gi, p->steps, i);
    dn_prep_fn prep = dn_prep_lookup(n->op);
    /* primitives read the thread count when created and when run: the
     * same count around both */
    s->threads = dn_threads_for(g, n, ctx->env.threads);
    omp_set_num_threads(s->threads);
    r = prep ? prep(s, &gi, i, e)
             : nnb_fail(e, NNB_ERR_UNSUPPORTED, "onednn: no kernel for node '%s'", n->name);
    omp_set_num_threads(ctx->env.threads);
    if (s->priv) nnb_host_count_alloc(&ctx->mem, s->priv_bytes);
  }
  free(readers);
  free(md);
  for (int i = 0; i < p->n_steps; i++)
    for (int k = 0; k < p->steps[i].n_prims; k++)
      if (p->steps[i].prims[k].scratch_bytes > p->scratch_bytes)
        p->scratch_bytes = p->steps[i].prims[k].scratch_bytes;
  if (r == NNB_OK && p->scratch_bytes) {
    p->scratch_bytes = (p->scratch_bytes + 63) / 64 * 64;
    p->scratch = aligned_alloc(64, p->scratch_bytes);
    if (!p->scratch)
      r = nnb_fail(e, NNB_ERR_NOMEM, "onednn: cannot allocate a %zu-byte scratchpad",
                   p->scratch_bytes);
    else
      nnb_host_count_alloc(&ctx->mem, p->scratch_bytes);
  }
  for (int i = 0; r == NNB_OK && i < p->n_steps; i++)
    for (int k = 0; k < p->steps[i].n_prims; k++)
      if (p->steps[i].prims[k].scratch)
        dnnl_memory_set_data_handle(p->steps[i].prims[k].scratch, p->scratch);
  if (r != NNB_OK) {
    dn_plan_free(ctx, p);
    return r;
  }
  *out = p;
  return NNB_OK;
}

static nnb_status run_step(dn_step *s, nnb_error *e) {
  if (s->skip) return NNB_OK;
  if (s->threads == s->env->threads) return s->run ? s->run(s, e) : dn_step_prims(s, e);
  omp_set_num_threads(s->threads);
  nnb_status r = s->run ? s->run(s, e) : dn_step_prims(s, e);
  omp_set_num_threads(s->env->threads);
  return r;
}

static nnb_status dn_execute(nnb_backend_ctx *ctx, nnb_plan *p, nnb_error *e) {
  for (int i = 0; i < p->n_steps; i++) {
    nnb_status s = run_step(&p->steps[i], e);
    if (s != NNB_OK) return s;
  }
  return NNB_OK;
}

static nnb_status dn_sync(nnb_backend_ctx *ctx, nnb_error *e) {
  return dn_check(dnnl_stream_wait(ctx->env.stream), "waiting for the stream", NULL, e);
}

static void dn_memory_stats(nnb_backend_ctx *ctx, nnb_memory_stats *out) { *out = ctx->mem; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A node folded into the node before it shows 0 s: its time is in that
 * node's. */
static nnb_status dn_profile(nnb_backend_ctx *ctx, nnb_plan *p, double *secs, nnb_error *e) {
  for (int i = 0; i < p->n_steps; i++) {
    double t0 = now_s();
    nnb_status s = run_step(&p->steps[i], e);
    secs[i] = now_s() - t0;
    if (s != NNB_OK) return s;
  }
  return NNB_OK;
}

/* lookup(NNB_EXT_NODE_KERNEL): the kernel each node runs, for provenance. */
static const char *node_kernel(const nnb_plan *p, int node) {
  if (!p || node < 0 || node >= p->n_steps) return NULL;
  const dn_step *s = &p->steps[node];
  return s->skip ? "fused into the previous node" : s->kernel[0] ? s->kernel : "none";
}

static const nnb_ext_node_kernel node_kernel_ext = {node_kernel};

static void *dn_lookup(nnb_backend_ctx *ctx, const char *name) {
  if (!strcmp(name, NNB_EXT_NODE_KERNEL)) return (void *)&node_kernel_ext;
  return NULL;
}

static const nnb_backend_vtable onednn_vtable = {
    .abi_version = NNB_BACKEND_ABI_VERSION,
    .struct_size = sizeof(nnb_backend_vtable),
    .name = "onednn",
    .describe = dn_describe,
    .init = dn_init,
    .destroy = dn_destroy,
    .supports = dn_supports,
    .buffer_alloc = dn_alloc,
    .buffer_free = dn_free,
    .upload = dn_upload,
    .download = dn_download,
    .prepare = dn_prepare,
    .execute = dn_execute,
    .sync = dn_sync,
    .plan_free = dn_plan_free,
    .memory_stats = dn_memory_stats,
    .profile = dn_profile,
    .lookup = dn_lookup,
};

NNB_EXPORT const nnb_backend_vtable *nnb_backend_entry(void) { return &onednn_vtable; }
