/* Device buffers, and the synchronous copies between them and the host:
 * memcpy through the mapping when device memory is host-visible, otherwise
 * through one reusable staging buffer and a transfer command. Every copy
 * first waits for submitted work, so upload and download never race a plan
 * (README.md, "Ordering"). */
#include <string.h>

#include "vk.h"

nnb_status vk_buffer_make(nnb_backend_ctx *c, uint64_t bytes, bool host, nnb_buffer *out,
                          nnb_error *e) {
  memset(out, 0, sizeof *out);
  if (bytes == 0) bytes = 4;
  if (bytes > c->lim.max_alloc)
    return nnb_fail(e, NNB_ERR_NOMEM,
                    "vulkan: a buffer of %llu bytes exceeds %s's largest allocation, %llu bytes",
                    (unsigned long long)bytes, c->props.deviceName,
                    (unsigned long long)c->lim.max_alloc);
  VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                           .size = bytes,
                           .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                    VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                    VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                           .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
  nnb_status s = vk_check(c->vk.vkCreateBuffer(c->dev, &bi, NULL, &out->buf), "vkCreateBuffer", e);
  if (s != NNB_OK) return s;
  c->n_objects++;
  VkMemoryRequirements req;
  c->vk.vkGetBufferMemoryRequirements(c->dev, out->buf, &req);
  uint32_t type = host ? c->mem_host : c->mem_device;
  if (!(req.memoryTypeBits & (1u << type))) { /* the driver wants another type: any host one */
    for (type = 0; type < c->memprops.memoryTypeCount; type++)
      if ((req.memoryTypeBits & (1u << type)) &&
          (!host ||
           (c->memprops.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)))
        break;
  }
  VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                             .allocationSize = req.size,
                             .memoryTypeIndex = type};
  s = vk_check(c->vk.vkAllocateMemory(c->dev, &ai, NULL, &out->mem), "vkAllocateMemory", e);
  if (s == NNB_OK)
    s = vk_check(c->vk.vkBindBufferMemory(c->dev, out->buf, out->mem, 0), "vkBindBufferMemory", e);
  if (s == NNB_OK && (host || c->mapped))
    s = vk_check(c->vk.vkMapMemory(c->dev, out->mem, 0, VK_WHOLE_SIZE, 0, &out->map), "vkMapMemory",
                 e);
  if (s != NNB_OK) {
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    vk_buffer_drop(c, out);
    return nnb_fail(e, s, "%s (a %llu-byte buffer)", msg, (unsigned long long)bytes);
  }
  c->n_objects++;
  out->size = bytes;
  return NNB_OK;
}

void vk_buffer_drop(nnb_backend_ctx *c, nnb_buffer *b) {
  if (b->map) c->vk.vkUnmapMemory(c->dev, b->mem);
  if (b->buf) c->vk.vkDestroyBuffer(c->dev, b->buf, NULL);
  if (b->mem) c->vk.vkFreeMemory(c->dev, b->mem, NULL);
  memset(b, 0, sizeof *b);
}

nnb_status vk_wait_idle(nnb_backend_ctx *c, nnb_error *e) {
  if (!c->submitted) return NNB_OK;
  VkSemaphoreWaitInfo wi = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
                            .semaphoreCount = 1,
                            .pSemaphores = &c->timeline,
                            .pValues = &c->submitted};
  return vk_check(c->vk.vkWaitSemaphores(c->dev, &wi, UINT64_MAX), "vkWaitSemaphores", e);
}

/* One transfer command on the reusable command buffer, waited for. */
static nnb_status transfer(nnb_backend_ctx *c, VkBuffer src, VkBuffer dst, VkBufferCopy region,
                           nnb_error *e) {
  VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                 .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
  nnb_status s = vk_check(c->vk.vkBeginCommandBuffer(c->xfer_cb, &bi), "vkBeginCommandBuffer", e);
  if (s != NNB_OK) return s;
  c->vk.vkCmdCopyBuffer(c->xfer_cb, src, dst, 1, &region);
  VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                        .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                        .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_SHADER_READ_BIT |
                                         VK_ACCESS_SHADER_WRITE_BIT};
  c->vk.vkCmdPipelineBarrier(c->xfer_cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                             VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0,
                             1, &mb, 0, NULL, 0, NULL);
  s = vk_check(c->vk.vkEndCommandBuffer(c->xfer_cb), "vkEndCommandBuffer", e);
  VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                     .commandBufferCount = 1,
                     .pCommandBuffers = &c->xfer_cb};
  if (s == NNB_OK)
    s = vk_check(c->vk.vkQueueSubmit(c->queue, 1, &si, c->xfer_fence), "vkQueueSubmit", e);
  if (s == NNB_OK)
    s = vk_check(c->vk.vkWaitForFences(c->dev, 1, &c->xfer_fence, VK_TRUE, UINT64_MAX),
                 "vkWaitForFences", e);
  if (s == NNB_OK) s = vk_check(c->vk.vkResetFences(c->dev, 1, &c->xfer_fence), "vkResetFences", e);
  return s;
}

#define STAGING_CHUNK (16u << 20)

nnb_status vk_copy(nnb_backend_ctx *c, nnb_buffer *b, uint64_t off, void *host, uint64_t n,
                   bool to_device, nnb_error *e) {
  if (off > b->size || n > b->size - off)
    return nnb_fail(e, NNB_ERR_INVALID, "vulkan: bytes [%llu, %llu) outside a buffer of %llu",
                    (unsigned long long)off, (unsigned long long)(off + n),
                    (unsigned long long)b->size);
  nnb_status s = vk_wait_idle(c, e);
  if (s != NNB_OK || n == 0) return s;
  if (b->map) {
    if (to_device)
      memcpy((unsigned char *)b->map + off, host, n);
    else
      memcpy(host, (unsigned char *)b->map + off, n);
    return NNB_OK;
  }
  uint64_t want = n < STAGING_CHUNK ? n : STAGING_CHUNK;
  if (c->staging.size < want) {
    c->mem.current_bytes -= c->staging.size;
    vk_buffer_drop(c, &c->staging);
    s = vk_buffer_make(c, want, true, &c->staging, e);
    if (s != NNB_OK) return s;
    vk_count_alloc(&c->mem, want); /* staging counts as the backend's memory */
  }
  for (uint64_t done = 0; done < n && s == NNB_OK;) {
    uint64_t part = n - done < c->staging.size ? n - done : c->staging.size;
    unsigned char *h = (unsigned char *)host + done;
    if (to_device) {
      memcpy(c->staging.map, h, part);
      s = transfer(c, c->staging.buf, b->buf, (VkBufferCopy){0, off + done, part}, e);
    } else {
      s = transfer(c, b->buf, c->staging.buf, (VkBufferCopy){off + done, 0, part}, e);
      if (s == NNB_OK) memcpy(h, c->staging.map, part);
    }
    done += part;
  }
  return s;
}
