/* One descriptor-set layout and one pipeline layout for every shader (nine
 * storage buffers, 128 bytes of push constants), and the compute pipelines,
 * made on first use and kept for the context's life, through a
 * VkPipelineCache. */
#include "vk.h"

nnb_status vk_layouts_make(nnb_backend_ctx *c, nnb_error *e) {
  VkDescriptorSetLayoutBinding b[VK_N_BINDINGS];
  for (uint32_t i = 0; i < VK_N_BINDINGS; i++)
    b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                          .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                          .descriptorCount = 1,
                                          .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
  VkDescriptorSetLayoutCreateInfo li = {.sType =
                                            VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
                                        .bindingCount = VK_N_BINDINGS,
                                        .pBindings = b};
  nnb_status s = vk_check(c->vk.vkCreateDescriptorSetLayout(c->dev, &li, NULL, &c->dsl),
                          "vkCreateDescriptorSetLayout", e);
  if (s != NNB_OK) return s;
  c->n_objects++;
  VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = VK_PUSH_BYTES};
  VkPipelineLayoutCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                   .setLayoutCount = 1,
                                   .pSetLayouts = &c->dsl,
                                   .pushConstantRangeCount = 1,
                                   .pPushConstantRanges = &pr};
  s = vk_check(c->vk.vkCreatePipelineLayout(c->dev, &pi, NULL, &c->layout),
               "vkCreatePipelineLayout", e);
  if (s != NNB_OK) return s;
  c->n_objects++;
  VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  s = vk_check(c->vk.vkCreatePipelineCache(c->dev, &ci, NULL, &c->cache), "vkCreatePipelineCache",
               e);
  if (s == NNB_OK) c->n_objects++;
  return s;
}

void vk_layouts_drop(nnb_backend_ctx *c) {
  for (int i = 0; i < VK_SH_COUNT; i++)
    if (c->pipes[i]) c->vk.vkDestroyPipeline(c->dev, c->pipes[i], NULL);
  if (c->cache) c->vk.vkDestroyPipelineCache(c->dev, c->cache, NULL);
  if (c->layout) c->vk.vkDestroyPipelineLayout(c->dev, c->layout, NULL);
  if (c->dsl) c->vk.vkDestroyDescriptorSetLayout(c->dev, c->dsl, NULL);
}

nnb_status vk_pipeline(nnb_backend_ctx *c, vk_shader sh, VkPipeline *out, nnb_error *e) {
  if (c->pipes[sh]) {
    *out = c->pipes[sh];
    return NNB_OK;
  }
  const vk_spirv *spv = vk_spirv_get(sh);
  VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                 .codeSize = spv->bytes,
                                 .pCode = spv->code};
  VkShaderModule mod;
  nnb_status s =
      vk_check(c->vk.vkCreateShaderModule(c->dev, &mi, NULL, &mod), "vkCreateShaderModule", e);
  if (s != NNB_OK) return s;
  VkComputePipelineCreateInfo pi = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = mod,
                .pName = "main"},
      .layout = c->layout};
  s = vk_check(c->vk.vkCreateComputePipelines(c->dev, c->cache, 1, &pi, NULL, &c->pipes[sh]),
               "vkCreateComputePipelines", e);
  c->vk.vkDestroyShaderModule(c->dev, mod, NULL);
  if (s != NNB_OK) {
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    return nnb_fail(e, s, "%s (shader %s)", msg, spv->name);
  }
  c->n_objects += 2;
  *out = c->pipes[sh];
  return NNB_OK;
}
