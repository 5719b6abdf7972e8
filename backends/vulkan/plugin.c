/* The vulkan backend's plugin table: context, buffers, plans (one recorded
 * command buffer each, submitted with a timeline semaphore), device-side
 * errors reported by sync, GPU timestamps for profile. */
#include <stdlib.h>
#include <string.h>

#include "vk.h"
#include "vk_ext.h"

static nnb_status vk_describe(nnb_backend_ctx *c, nnb_backend_info *out, nnb_error *e) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "vulkan");
  if (!c) {
    snprintf(out->device, sizeof out->device,
             "Vulkan device (chosen when the backend is opened: GPUs first, a CPU device such as "
             "lavapipe only when nothing else exists or when asked)");
    snprintf(out->library, sizeof out->library, "volk %d, the system's Vulkan loader",
             VOLK_HEADER_VERSION);
    return NNB_OK;
  }
  vk_device_describe(c, out);
  return NNB_OK;
}

static void vk_destroy(nnb_backend_ctx *c) {
  if (!c) return;
  if (c->dev) {
    c->vk.vkDeviceWaitIdle(c->dev);
    vk_layouts_drop(c);
    vk_buffer_drop(c, &c->staging);
    vk_buffer_drop(c, &c->err);
    vk_buffer_drop(c, &c->dummy);
  }
  vk_device_close(c);
  free(c);
}

static int tile_option(const nnb_backend_config *cfg, nnb_error *e, int *out) {
  char v[16] = "";
  *out = -1;
  if (!vk_option(cfg ? cfg->options : NULL, "tile", v, sizeof v)) return 0;
  if (!strcmp(v, "32") || !strcmp(v, "s"))
    *out = VK_SH_GEMM_S;
  else if (!strcmp(v, "64") || !strcmp(v, "m"))
    *out = VK_SH_GEMM_M;
  else if (!strcmp(v, "128") || !strcmp(v, "l"))
    *out = VK_SH_GEMM_L;
  else if (!strcmp(v, "1") || !strcmp(v, "v"))
    *out = VK_SH_GEMM_V;
  else {
    nnb_fail(e, NNB_ERR_INVALID,
             "vulkan: option tile=%s: expected 1, 32, 64 or 128 (or v, s, m, l)", v);
    return -1;
  }
  return 0;
}

static nnb_status vk_init(const nnb_backend_config *cfg, nnb_backend_ctx **out, nnb_error *e) {
  nnb_backend_ctx *c = calloc(1, sizeof *c);
  if (!c) return nnb_fail(e, NNB_ERR_NOMEM, "vulkan: out of host memory");
  nnb_status s = tile_option(cfg, e, &c->tile) ? NNB_ERR_INVALID : NNB_OK;
  c->split_k = (int)nnb_config_int(cfg, "split_k", -1);
  c->no_barriers = nnb_config_int(cfg, "barriers", 1) == 0;
  if (s == NNB_OK) s = vk_device_open(c, cfg, e);
  if (s == NNB_OK) s = vk_layouts_make(c, e);
  if (s == NNB_OK) s = vk_buffer_make(c, 16, true, &c->err, e);
  if (s == NNB_OK) s = vk_buffer_make(c, 16, false, &c->dummy, e);
  if (s != NNB_OK) {
    vk_destroy(c);
    return s;
  }
  memset(c->err.map, 0, 16);
  *out = c;
  return NNB_OK;
}

static bool vk_supports(nnb_backend_ctx *c, const nnb_graph *g, const nnb_node *n, nnb_error *why) {
  for (int k = 0; k < n->n_in + n->n_out; k++) {
    int t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
    const nnb_tensor_desc *d = &g->tensors[t];
    bool label =
        (n->op == NNB_OP_SOFTMAX_CE && k == 1) || (n->op == NNB_OP_SOFTMAX_CE_BWD && k == 2);
    if (d->dtype != (label ? NNB_I32 : NNB_F32)) {
      nnb_fail(why, NNB_ERR_UNSUPPORTED, "tensor '%s' is %s; vulkan runs %s here", d->name,
               nnb_dtype_name(d->dtype), label ? "i32" : "f32");
      return false;
    }
    if (nnb_nbytes(d) > c->lim.max_range || nnb_numel(d) >= (1ll << 31)) {
      nnb_fail(why, NNB_ERR_UNSUPPORTED,
               "tensor '%s' has %llu bytes; %s binds at most %llu bytes per storage buffer "
               "(maxStorageBufferRange)",
               d->name, (unsigned long long)nnb_nbytes(d), c->props.deviceName,
               (unsigned long long)c->lim.max_range);
      return false;
    }
  }
  return vk_node_fits(c, g, n, why) == NNB_OK;
}

static nnb_status vk_alloc(nnb_backend_ctx *c, uint64_t bytes, nnb_buffer **out, nnb_error *e) {
  nnb_buffer *b = calloc(1, sizeof *b);
  if (!b) return nnb_fail(e, NNB_ERR_NOMEM, "vulkan: out of host memory");
  nnb_status s = vk_buffer_make(c, bytes, false, b, e);
  if (s != NNB_OK) {
    free(b);
    return s;
  }
  vk_count_alloc(&c->mem, b->size);
  *out = b;
  return NNB_OK;
}

static void vk_free(nnb_backend_ctx *c, nnb_buffer *b) {
  if (!b) return;
  nnb_error e;
  vk_wait_idle(c, &e);
  c->mem.current_bytes -= b->size;
  vk_buffer_drop(c, b);
  free(b);
}

static nnb_status vk_upload(nnb_backend_ctx *c, nnb_buffer *b, uint64_t off, const void *src,
                            uint64_t n, nnb_error *e) {
  return vk_copy(c, b, off, (void *)src, n, true, e);
}

static nnb_status vk_download(nnb_backend_ctx *c, nnb_buffer *b, uint64_t off, void *dst,
                              uint64_t n, nnb_error *e) {
  return vk_copy(c, b, off, dst, n, false, e);
}

static void vk_plan_free(nnb_backend_ctx *c, nnb_plan *p) {
  if (!p) return;
  nnb_error e;
  vk_wait_idle(c, &e);
  if (p->cb) c->vk.vkFreeCommandBuffers(c->dev, c->pool, 1, &p->cb);
  if (p->dpool) c->vk.vkDestroyDescriptorPool(c->dev, p->dpool, NULL);
  if (p->queries) c->vk.vkDestroyQueryPool(c->dev, p->queries, NULL);
  if (p->ws.buf) c->mem.current_bytes -= p->ws.size;
  vk_buffer_drop(c, &p->ws);
  if (c->running == p->g) c->running = NULL;
  free(p);
}

static nnb_status vk_prepare(nnb_backend_ctx *c, const nnb_graph *g, const nnb_binding *bind,
                             nnb_plan **out, nnb_error *e) {
  nnb_plan *p = calloc(1, sizeof *p);
  if (!p) return nnb_fail(e, NNB_ERR_NOMEM, "vulkan: out of host memory");
  p->g = g;
  nnb_status s = vk_plan_record(c, g, bind, p, e);
  if (s != NNB_OK) {
    vk_plan_free(c, p);
    return s;
  }
  *out = p;
  return NNB_OK;
}

/* Waits for the previous submission (a command buffer is not resubmitted
 * while pending), then submits the plan, signalling the next timeline value. */
static nnb_status vk_execute(nnb_backend_ctx *c, nnb_plan *p, nnb_error *e) {
  nnb_status s = vk_wait_idle(c, e);
  if (s != NNB_OK) return s;
  uint64_t value = c->submitted + 1;
  VkTimelineSemaphoreSubmitInfo ti = {.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
                                      .signalSemaphoreValueCount = 1,
                                      .pSignalSemaphoreValues = &value};
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .pNext = &ti,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &p->cb,
                     .signalSemaphoreCount = 1,
                     .pSignalSemaphores = &c->timeline};
  s = vk_check(c->vk.vkQueueSubmit(c->queue, 1, &si, VK_NULL_HANDLE), "vkQueueSubmit", e);
  if (s != NNB_OK) return s;
  c->submitted = value;
  c->running = p->g;
  return NNB_OK;
}

/* Waits, then reports what a shader recorded in the error buffer (and
 * clears it): today a label outside [0, C) in softmax_ce or its backward. */
static nnb_status vk_sync(nnb_backend_ctx *c, nnb_error *e) {
  nnb_status s = vk_wait_idle(c, e);
  if (s != NNB_OK) return s;
  volatile uint32_t *err = c->err.map;
  if (!err[0]) return NNB_OK;
  uint32_t code = err[0], node = err[1], row = err[2], label = err[3];
  err[0] = err[1] = err[2] = err[3] = 0;
  const nnb_graph *g = c->running;
  const nnb_node *n = g && node < (uint32_t)g->n_nodes ? &g->nodes[node] : NULL;
  if (code == 1) {
    const nnb_tensor_desc *logits =
        n ? &g->tensors[n->in[n->op == NNB_OP_SOFTMAX_CE ? 0 : 1]] : NULL;
    return nnb_fail(e, NNB_ERR_INVALID, "node '%s': label %d at row %u is outside [0,%lld)",
                    n ? n->name : "?", (int)label, row, logits ? (long long)logits->dims[1] : -1ll);
  }
  return nnb_fail(e, NNB_ERR_BACKEND, "vulkan: node '%s' reported device error %u",
                  n ? n->name : "?", code);
}

static void vk_memory_stats(nnb_backend_ctx *c, nnb_memory_stats *out) {
  *out = c->mem;
  out->budget_bytes = vk_budget(c);
}

static nnb_status vk_profile(nnb_backend_ctx *c, nnb_plan *p, double *secs, nnb_error *e) {
  if (!p->queries)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED, "vulkan: %s's queue has no timestamps",
                    c->props.deviceName);
  nnb_status s = vk_execute(c, p, e);
  if (s == NNB_OK) s = vk_sync(c, e);
  if (s != NNB_OK) return s;
  int n = p->g->n_nodes;
  uint64_t *ts = calloc((size_t)n + 1, sizeof *ts);
  if (!ts) return nnb_fail(e, NNB_ERR_NOMEM, "vulkan: out of host memory");
  s = vk_check(c->vk.vkGetQueryPoolResults(c->dev, p->queries, 0, (uint32_t)n + 1,
                                           ((size_t)n + 1) * sizeof *ts, ts, sizeof *ts,
                                           VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
               "vkGetQueryPoolResults", e);
  uint64_t mask = c->ts_bits >= 64 ? ~0ull : (1ull << c->ts_bits) - 1;
  for (int i = 0; s == NNB_OK && i < n; i++)
    secs[i] = (double)((ts[i + 1] - ts[i]) & mask) * c->props.limits.timestampPeriod * 1e-9;
  free(ts);
  return s;
}

static uint64_t ext_validation(nnb_backend_ctx *c) { return c->validation_msgs; }
static uint64_t ext_objects(nnb_backend_ctx *c) { return c->n_objects; }
nnb_status vk_fma_peak(nnb_backend_ctx *c, double *gflops, nnb_error *e);

static const vk_ext ext = {ext_validation, ext_objects, vk_fma_peak};

static void *vk_lookup(nnb_backend_ctx *c, const char *name) {
  return !strcmp(name, VK_EXT_NAME) ? (void *)&ext : NULL;
}

static const nnb_backend_vtable vulkan_vtable = {
    .abi_version = NNB_BACKEND_ABI_VERSION,
    .struct_size = sizeof(nnb_backend_vtable),
    .name = "vulkan",
    .describe = vk_describe,
    .init = vk_init,
    .destroy = vk_destroy,
    .supports = vk_supports,
    .buffer_alloc = vk_alloc,
    .buffer_free = vk_free,
    .upload = vk_upload,
    .download = vk_download,
    .prepare = vk_prepare,
    .execute = vk_execute,
    .sync = vk_sync,
    .plan_free = vk_plan_free,
    .memory_stats = vk_memory_stats,
    .profile = vk_profile,
    .lookup = vk_lookup,
};

NNB_EXPORT const nnb_backend_vtable *nnb_backend_entry(void) { return &vulkan_vtable; }
