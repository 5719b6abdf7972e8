/* The FP32 FMA peak the README's GEMM efficiency is measured against: an
 * FMA-only shader, grown until one run takes 20 ms, best of five after a
 * warm-up (GPU clocks idle low). */
#include <stdlib.h>
#include <string.h>

#include "vk.h"
#include "vk_ext.h"

static nnb_status timed_run(nnb_backend_ctx *c, nnb_plan *p, vk_arg out, uint32_t groups,
                            uint32_t iters, double *secs, nnb_error *e) {
  struct {
    uint32_t iters;
    float seed;
  } pc = {iters, 1.0f};
  vk_rec r = {.c = c, .plan = p, .node = -1};
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  c->vk.vkResetDescriptorPool(c->dev, p->dpool, 0);
  nnb_status s = vk_check(c->vk.vkBeginCommandBuffer(p->cb, &bi), "vkBeginCommandBuffer", e);
  if (s != NNB_OK) return s;
  c->vk.vkCmdResetQueryPool(p->cb, p->queries, 0, 2);
  c->vk.vkCmdWriteTimestamp(p->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, p->queries, 0);
  uint32_t g[3];
  vk_grid((uint64_t)groups * 256, 256, g);
  s = vk_dispatch(&r, VK_SH_FMA_PEAK, &out, 1, 1u, &pc, sizeof pc, g, e);
  c->vk.vkCmdWriteTimestamp(p->cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, p->queries, 1);
  nnb_status s2 = vk_check(c->vk.vkEndCommandBuffer(p->cb), "vkEndCommandBuffer", e);
  free(r.acc);
  if (s == NNB_OK) s = s2;
  VkSubmitInfo si = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &p->cb};
  if (s == NNB_OK)
    s = vk_check(c->vk.vkQueueSubmit(c->queue, 1, &si, c->xfer_fence), "vkQueueSubmit", e);
  if (s == NNB_OK)
    s = vk_check(c->vk.vkWaitForFences(c->dev, 1, &c->xfer_fence, VK_TRUE, UINT64_MAX),
                 "vkWaitForFences", e);
  c->vk.vkResetFences(c->dev, 1, &c->xfer_fence);
  uint64_t ts[2] = {0, 0};
  if (s == NNB_OK)
    s = vk_check(c->vk.vkGetQueryPoolResults(c->dev, p->queries, 0, 2, sizeof ts, ts, sizeof ts[0],
                                             VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
                 "vkGetQueryPoolResults", e);
  *secs = (double)(ts[1] - ts[0]) * c->props.limits.timestampPeriod * 1e-9;
  return s;
}

nnb_status vk_fma_peak(nnb_backend_ctx *c, double *gflops, nnb_error *e) {
  if (!c->ts_bits)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED, "vulkan: %s's queue has no timestamps",
                    c->props.deviceName);
  nnb_status s = vk_wait_idle(c, e);
  nnb_plan p = {0};
  const uint32_t max_groups = 16384;
  if (s == NNB_OK) s = vk_buffer_make(c, (uint64_t)max_groups * 256 * 4, false, &p.ws, e);
  VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_N_BINDINGS};
  VkDescriptorPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                   .maxSets = 1,
                                   .poolSizeCount = 1,
                                   .pPoolSizes = &ps};
  if (s == NNB_OK)
    s = vk_check(c->vk.vkCreateDescriptorPool(c->dev, &pi, NULL, &p.dpool),
                 "vkCreateDescriptorPool", e);
  VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                              .queryType = VK_QUERY_TYPE_TIMESTAMP,
                              .queryCount = 2};
  if (s == NNB_OK)
    s = vk_check(c->vk.vkCreateQueryPool(c->dev, &qi, NULL, &p.queries), "vkCreateQueryPool", e);
  if (s == NNB_OK) s = vk_cmd_buffer(c, &p.cb, e);
  vk_arg out = {p.ws.buf, 0, p.ws.size};
  uint32_t groups = 64, iters = 16;
  double t = 0, best = 0;
  /* grow the work until a run takes 20 ms: more workgroups first, then longer loops */
  while (s == NNB_OK && t < 0.02) {
    s = timed_run(c, &p, out, groups, iters, &t, e);
    if (t < 0.02 && groups < max_groups)
      groups *= 2;
    else if (t < 0.02 && iters < VK_LOOP_BUDGET / 2)
      iters *= 2;
    else
      break;
  }
  for (int k = 0; s == NNB_OK && k < 5; k++) {
    s = timed_run(c, &p, out, groups, iters, &t, e);
    if (s == NNB_OK && (best == 0 || t < best)) best = t;
  }
  if (s == NNB_OK) *gflops = (double)groups * 256 * iters * 16 * 16 * 2 / best * 1e-9;
  if (p.cb) c->vk.vkFreeCommandBuffers(c->dev, c->pool, 1, &p.cb);
  if (p.queries) c->vk.vkDestroyQueryPool(c->dev, p.queries, NULL);
  if (p.dpool) c->vk.vkDestroyDescriptorPool(c->dev, p.dpool, NULL);
  vk_buffer_drop(c, &p.ws);
  return s;
}
