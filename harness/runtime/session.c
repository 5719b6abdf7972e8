/* A session: one graph prepared on one backend, with its memory planned and
 * allocated. Two buffers per session, persistent and arena; each tensor is a
 * (buffer, offset) binding from the plan. */
#include <stdlib.h>
#include <string.h>

#include <nnbench/runtime.h>

static nnb_status zero_buffer(nnb_backend *b, nnb_buffer *buf, uint64_t bytes, nnb_error *e) {
  enum { CHUNK = 1 << 20 };
  void *zeros = calloc(1, CHUNK);
  if (!zeros) return nnb_fail(e, NNB_ERR_NOMEM, "out of host memory");
  nnb_status s = NNB_OK;
  for (uint64_t off = 0; off < bytes && s == NNB_OK; off += CHUNK) {
    uint64_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
    s = nnb_plugin_status(b->vt->upload(b->ctx, buf, off, zeros, n, e), e);
  }
  free(zeros);
  return s;
}

#define GUARD_BYTE 0xA5

/* Each tensor's guard zone: from its last byte to the next aligned end. */
static uint64_t guard_len(const nnb_session *s, int t) {
  uint64_t n = nnb_nbytes(&s->graph->tensors[t]);
  return (n + s->mem.guard_bytes + NNB_ALIGN - 1) / NNB_ALIGN * NNB_ALIGN - n;
}

static nnb_status write_guards(nnb_session *s, nnb_error *e) {
  const nnb_graph *g = s->graph;
  uint64_t cap = 0;
  unsigned char *pat = NULL;
  nnb_status st = NNB_OK;
  for (int t = 0; t < g->n_tensors && st == NNB_OK; t++) {
    if (g->tensors[t].view_of >= 0) continue;
    uint64_t len = guard_len(s, t);
    if (len > cap) {
      free(pat);
      pat = malloc(len);
      if (!pat) return nnb_fail(e, NNB_ERR_NOMEM, "out of host memory");
      memset(pat, GUARD_BYTE, len);
      cap = len;
    }
    st = nnb_plugin_status(
        s->backend->vt->upload(s->backend->ctx, s->bindings[t].buffer,
                               s->bindings[t].offset + nnb_nbytes(&g->tensors[t]), pat, len, e),
        e);
  }
  free(pat);
  return st;
}

nnb_status nnb_session_check_guards(nnb_session *s, nnb_error *e) {
  const nnb_graph *g = s->graph;
  if (!s->mem.guard_bytes) return NNB_OK;
  nnb_status st = NNB_OK;
  for (int t = 0; t < g->n_tensors && st == NNB_OK; t++) {
    if (g->tensors[t].view_of >= 0) continue;
    uint64_t len = guard_len(s, t), nb = nnb_nbytes(&g->tensors[t]);
    unsigned char *got = malloc(len);
    if (!got) return nnb_fail(e, NNB_ERR_NOMEM, "out of host memory");
    st = nnb_plugin_status(s->backend->vt->download(s->backend->ctx, s->bindings[t].buffer,
                                                    s->bindings[t].offset + nb, got, len, e),
                           e);
    for (uint64_t i = 0; st == NNB_OK && i < len; i++)
      if (got[i] != GUARD_BYTE)
        st = nnb_fail(e, NNB_ERR_BACKEND,
                      "out-of-bounds write: byte %llu past the end of tensor '%s' (%llu bytes) was "
                      "changed",
                      (unsigned long long)i, g->tensors[t].name, (unsigned long long)nb);
    free(got);
  }
  return st;
}

nnb_status nnb_session_create(nnb_backend *b, const nnb_graph *g, nnb_session *s, nnb_error *e) {
  return nnb_session_create_guarded(b, g, 0, s, e);
}

nnb_status nnb_session_create_guarded(nnb_backend *b, const nnb_graph *g, uint64_t guard,
                                      nnb_session *s, nnb_error *e) {
  memset(s, 0, sizeof *s);
  s->backend = b;
  s->graph = g;
  if (nnb_graph_status(g, e) != NNB_OK) return g->status;
  for (int i = 0; i < g->n_nodes; i++) {
    nnb_error why = {{0}};
    bool ok = b->vt->supports(b->ctx, g, &g->nodes[i], &why);
    nnb_plugin_status(NNB_OK, &why); /* the plugin's text, bounded */
    if (!ok)
      return nnb_fail(e, NNB_ERR_UNSUPPORTED, "backend %s does not support node '%s' (%s)%s%s",
                      b->plugin ? b->plugin->name : b->vt->name, g->nodes[i].name,
                      nnb_op_name(g->nodes[i].op), why.msg[0] ? ": " : "", why.msg);
  }
  nnb_status st = nnb_memplan_build(g, guard, &s->mem, e);
  if (st != NNB_OK) return st;
  for (int r = 0; r < NNB_REGION_COUNT && st == NNB_OK; r++) {
    uint64_t bytes = s->mem.region_bytes[r] ? s->mem.region_bytes[r] : NNB_ALIGN;
    st = nnb_plugin_status(b->vt->buffer_alloc(b->ctx, bytes, &s->buffers[r], e), e);
    /* Zeroed once so optimizer state starts at zero and a kernel that reads
     * memory nobody wrote gives the same wrong answer every run. */
    if (st == NNB_OK) st = zero_buffer(b, s->buffers[r], bytes, e);
  }
  if (st == NNB_OK) {
    s->bindings = calloc((size_t)g->n_tensors + 1, sizeof *s->bindings);
    if (!s->bindings) st = nnb_fail(e, NNB_ERR_NOMEM, "out of host memory");
  }
  for (int t = 0; st == NNB_OK && t < g->n_tensors; t++) {
    s->bindings[t].buffer = s->buffers[s->mem.region[t]];
    s->bindings[t].offset = s->mem.offset[t];
  }
  if (st == NNB_OK && guard) st = write_guards(s, e);
  if (st == NNB_OK) st = nnb_plugin_status(b->vt->prepare(b->ctx, g, s->bindings, &s->plan, e), e);
  if (st != NNB_OK) nnb_session_free(s);
  return st;
}

void nnb_session_free(nnb_session *s) {
  if (!s->backend) return;
  const nnb_backend_vtable *vt = s->backend->vt;
  if (s->plan) vt->plan_free(s->backend->ctx, s->plan);
  for (int r = 0; r < NNB_REGION_COUNT; r++)
    if (s->buffers[r]) vt->buffer_free(s->backend->ctx, s->buffers[r]);
  free(s->bindings);
  nnb_memplan_free(&s->mem);
  memset(s, 0, sizeof *s);
}

static nnb_status check_tensor(const nnb_session *s, int t, nnb_error *e) {
  if (!s->bindings || t < 0 || t >= s->graph->n_tensors)
    return nnb_fail(e, NNB_ERR_INVALID, "session: no tensor %d", t);
  return NNB_OK;
}

nnb_status nnb_session_upload(nnb_session *s, int t, const void *src, nnb_error *e) {
  if (check_tensor(s, t, e) != NNB_OK) return NNB_ERR_INVALID;
  const nnb_tensor_desc *d = &s->graph->tensors[t];
  return nnb_plugin_status(s->backend->vt->upload(s->backend->ctx, s->bindings[t].buffer,
                                                  s->bindings[t].offset, src, nnb_nbytes(d), e),
                           e);
}

nnb_status nnb_session_download(nnb_session *s, int t, void *dst, nnb_error *e) {
  if (check_tensor(s, t, e) != NNB_OK) return NNB_ERR_INVALID;
  const nnb_tensor_desc *d = &s->graph->tensors[t];
  return nnb_plugin_status(s->backend->vt->download(s->backend->ctx, s->bindings[t].buffer,
                                                    s->bindings[t].offset, dst, nnb_nbytes(d), e),
                           e);
}

nnb_status nnb_session_run(nnb_session *s, nnb_error *e) {
  nnb_status st = s->backend->vt->execute(s->backend->ctx, s->plan, e);
  if (st == NNB_OK) st = s->backend->vt->sync(s->backend->ctx, e);
  return nnb_plugin_status(st, e);
}
