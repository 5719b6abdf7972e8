/* Recording a plan: one command buffer for the whole graph, a descriptor
 * set per dispatch (written once, here), a barrier only where a dispatch
 * touches bytes an earlier one wrote (or writes bytes it read) since the
 * last barrier, and a timestamp after every node for profile(). The same
 * lowering code runs dry first to size the workspace and the pool. */
#include <stdlib.h>
#include <string.h>

#include "vk.h"

vk_arg vk_tensor(const vk_rec *r, int t) {
  uint64_t n = nnb_nbytes(&r->g->tensors[t]);
  if (r->dry) return (vk_arg){VK_NULL_HANDLE, 0, n};
  return (vk_arg){r->bind[t].buffer->buf, r->bind[t].offset, n};
}

vk_arg vk_ws(vk_rec *r, uint64_t bytes) {
  uint64_t off = r->ws_top;
  r->ws_top += (bytes + 255) / 256 * 256;
  if (r->ws_top > r->ws_max) r->ws_max = r->ws_top;
  return (vk_arg){r->dry ? VK_NULL_HANDLE : r->plan->ws.buf, off, bytes};
}

void vk_grid(uint64_t n, uint32_t local, uint32_t g[3]) {
  uint64_t groups = (n + local - 1) / local;
  if (groups == 0) groups = 1;
  uint64_t gx = groups < 65535 ? groups : 65535;
  g[0] = (uint32_t)gx;
  g[1] = (uint32_t)((groups + gx - 1) / gx);
  g[2] = 1;
}

static bool overlaps(const vk_access *a, VkBuffer buf, VkDeviceSize lo, VkDeviceSize hi) {
  return a->buf == buf && a->lo < hi && lo < a->hi;
}

static void barrier(vk_rec *r) {
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
  r->c->vk.vkCmdPipelineBarrier(r->plan->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  r->n_barriers++;
  r->n_acc = 0;
}

/* Adds the dispatch's accesses, recording a barrier first on any hazard. */
static nnb_status track(vk_rec *r, const vk_arg *args, int n_args, uint32_t write_mask,
                        nnb_error *e) {
  bool hazard = false;
  for (int i = 0; i < n_args && !hazard; i++) {
    bool w = (write_mask >> i) & 1u;
    for (int k = 0; k < r->n_acc && !hazard; k++)
      hazard = (w || r->acc[k].write) &&
               overlaps(&r->acc[k], args[i].buf, args[i].off, args[i].off + args[i].range);
  }
  if (hazard && !r->c->no_barriers) barrier(r);
  if (r->n_acc + n_args > r->cap_acc) {
    int cap = r->cap_acc ? 2 * r->cap_acc : 64;
    while (cap < r->n_acc + n_args) cap *= 2;
    vk_access *a = realloc(r->acc, (size_t)cap * sizeof *a);
    if (!a) return nnb_fail(e, NNB_ERR_NOMEM, "vulkan: out of host memory recording a plan");
    r->acc = a, r->cap_acc = cap;
  }
  for (int i = 0; i < n_args; i++)
    r->acc[r->n_acc++] =
        (vk_access){args[i].buf, args[i].off, args[i].off + args[i].range, (write_mask >> i) & 1u};
  return NNB_OK;
}

static const char *node_name(const vk_rec *r) {
  return r->g && r->node >= 0 && r->node < r->g->n_nodes ? r->g->nodes[r->node].name : "?";
}

nnb_status vk_dispatch(vk_rec *r, vk_shader sh, const vk_arg *args, int n_args, uint32_t write_mask,
                       const void *push, size_t push_bytes, const uint32_t groups[3],
                       nnb_error *e) {
  nnb_backend_ctx *c = r->c;
  for (int i = 0; i < n_args; i++)
    if (args[i].range > c->lim.max_range)
      return nnb_fail(e, NNB_ERR_UNSUPPORTED,
                      "node '%s': operand %d spans %llu bytes, over %s's largest storage-buffer "
                      "binding (maxStorageBufferRange %llu bytes)",
                      node_name(r), i, (unsigned long long)args[i].range, c->props.deviceName,
                      (unsigned long long)c->lim.max_range);
  for (int k = 0; k < 3; k++)
    if (groups[k] > c->lim.max_groups[k])
      return nnb_fail(e, NNB_ERR_UNSUPPORTED,
                      "node '%s': %u workgroups along axis %d, over the device's %u", node_name(r),
                      groups[k], k, c->lim.max_groups[k]);
  r->n_dispatch++;
  if (r->dry) return NNB_OK;

  VkPipeline pipe;
  nnb_status s = vk_pipeline(c, sh, &pipe, e);
  if (s != NNB_OK) return s;
  VkDescriptorSet set;
  VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                    .descriptorPool = r->plan->dpool,
                                    .descriptorSetCount = 1,
                                    .pSetLayouts = &c->dsl};
  s = vk_check(c->vk.vkAllocateDescriptorSets(c->dev, &ai, &set), "vkAllocateDescriptorSets", e);
  if (s != NNB_OK) return s;
  VkDescriptorBufferInfo bi[VK_N_BINDINGS];
  VkWriteDescriptorSet w[VK_N_BINDINGS];
  for (int i = 0; i < VK_N_BINDINGS; i++) {
    if (i < n_args)
      bi[i] = (VkDescriptorBufferInfo){args[i].buf, args[i].off, (args[i].range + 3) / 4 * 4};
    else if (i == VK_ERR_BINDING)
      bi[i] = (VkDescriptorBufferInfo){c->err.buf, 0, VK_WHOLE_SIZE};
    else
      bi[i] = (VkDescriptorBufferInfo){c->dummy.buf, 0, VK_WHOLE_SIZE};
    w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                  .dstSet = set,
                                  .dstBinding = (uint32_t)i,
                                  .descriptorCount = 1,
                                  .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                  .pBufferInfo = &bi[i]};
  }
  c->vk.vkUpdateDescriptorSets(c->dev, VK_N_BINDINGS, w, 0, NULL);
  s = track(r, args, n_args, write_mask, e);
  if (s != NNB_OK) return s;
  VkCommandBuffer cb = r->plan->cb;
  c->vk.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
  c->vk.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, c->layout, 0, 1, &set, 0, NULL);
  unsigned char pc[VK_PUSH_BYTES] = {0};
  memcpy(pc, push, push_bytes < VK_PUSH_BYTES ? push_bytes : VK_PUSH_BYTES);
  c->vk.vkCmdPushConstants(cb, c->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, VK_PUSH_BYTES, pc);
  c->vk.vkCmdDispatch(cb, groups[0], groups[1], groups[2]);
  return NNB_OK;
}

static nnb_status lower_node(vk_rec *r, int i, nnb_error *e) {
  const nnb_node *n = &r->g->nodes[i];
  vk_lower_fn fn = vk_lower_for(n->op);
  r->node = i;
  r->ws_top = 0;
  if (!fn) return nnb_fail(e, NNB_ERR_UNSUPPORTED, "vulkan: no lowering for op %d", (int)n->op);
  return fn(r, n, e);
}

nnb_status vk_node_fits(nnb_backend_ctx *c, const nnb_graph *g, const nnb_node *n, nnb_error *e) {
  vk_rec r = {.c = c, .g = g, .dry = true};
  r.node = (int)(n - g->nodes);
  r.ws_top = 0;
  vk_lower_fn fn = vk_lower_for(n->op);
  nnb_status s =
      fn ? fn(&r, n, e) : nnb_fail(e, NNB_ERR_UNSUPPORTED, "no lowering for op %d", (int)n->op);
  if (s == NNB_OK && r.ws_max > c->lim.max_alloc)
    s = nnb_fail(e, NNB_ERR_UNSUPPORTED,
                 "needs a %llu-byte workspace, over the device's largest allocation (%llu)",
                 (unsigned long long)r.ws_max, (unsigned long long)c->lim.max_alloc);
  free(r.acc);
  return s;
}

static nnb_status begin(nnb_backend_ctx *c, nnb_plan *p, int n_dispatch, nnb_error *e) {
  VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                             (uint32_t)(n_dispatch + 1) * VK_N_BINDINGS};
  VkDescriptorPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                   .maxSets = (uint32_t)n_dispatch + 1,
                                   .poolSizeCount = 1,
                                   .pPoolSizes = &ps};
  nnb_status s = vk_check(c->vk.vkCreateDescriptorPool(c->dev, &pi, NULL, &p->dpool),
                          "vkCreateDescriptorPool", e);
  if (s != NNB_OK) return s;
  c->n_objects++;
  if (c->ts_bits) {
    VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                .queryCount = (uint32_t)p->g->n_nodes + 1};
    s = vk_check(c->vk.vkCreateQueryPool(c->dev, &qi, NULL, &p->queries), "vkCreateQueryPool", e);
    if (s != NNB_OK) return s;
    c->n_objects++;
  }
  s = vk_cmd_buffer(c, &p->cb, e);
  if (s != NNB_OK) return s;
  c->n_objects++;
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  s = vk_check(c->vk.vkBeginCommandBuffer(p->cb, &bi), "vkBeginCommandBuffer", e);
  if (s != NNB_OK) return s;
  /* What the host, transfers or the previous run wrote is visible to this one. */
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_HOST_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT |
                                         VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT};
  c->vk.vkCmdPipelineBarrier(p->cb,
                             VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT |
                                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
  if (p->queries) {
    c->vk.vkCmdResetQueryPool(p->cb, p->queries, 0, (uint32_t)p->g->n_nodes + 1);
    c->vk.vkCmdWriteTimestamp(p->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, p->queries, 0);
  }
  return NNB_OK;
}

static nnb_status end(nnb_backend_ctx *c, nnb_plan *p, nnb_error *e) {
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
                        .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT};
  c->vk.vkCmdPipelineBarrier(p->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &mb,
                             0, NULL, 0, NULL);
  return vk_check(c->vk.vkEndCommandBuffer(p->cb), "vkEndCommandBuffer", e);
}

nnb_status vk_plan_record(nnb_backend_ctx *c, const nnb_graph *g, const nnb_binding *bind,
                          nnb_plan *p, nnb_error *e) {
  vk_rec r = {.c = c, .g = g, .bind = bind, .dry = true};
  nnb_status s = NNB_OK;
  for (int i = 0; i < g->n_nodes && s == NNB_OK; i++) s = lower_node(&r, i, e);
  if (s == NNB_OK && r.ws_max) {
    s = vk_buffer_make(c, r.ws_max, false, &p->ws, e);
    if (s == NNB_OK) vk_count_alloc(&c->mem, p->ws.size);
  }
  if (s == NNB_OK) s = begin(c, p, r.n_dispatch, e);
  r.dry = false;
  r.plan = p;
  r.n_dispatch = 0;
  for (int i = 0; i < g->n_nodes && s == NNB_OK; i++) {
    s = lower_node(&r, i, e);
    if (s == NNB_OK && p->queries)
      c->vk.vkCmdWriteTimestamp(p->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, p->queries,
                                (uint32_t)i + 1);
  }
  if (s == NNB_OK) s = end(c, p, e);
  free(r.acc);
  return s;
}
