/* The vulkan backend's extensions, reached through the plugin's lookup slot
 * by the name VK_EXT_NAME (tests, the GPU check). */
#ifndef NNB_VK_EXT_H
#define NNB_VK_EXT_H

#include <nnbench/backend.h>

#define VK_EXT_NAME "nnb_vulkan_ext"

typedef struct vk_ext {
  /* warnings and errors the validation layer reported (validation=1) */
  uint64_t (*validation_messages)(nnb_backend_ctx *ctx);
  /* Vulkan objects created since init: execute must create none */
  uint64_t (*objects_created)(nnb_backend_ctx *ctx);
  /* FP32 FMA peak in GFLOP/s: the best of several timed runs of an FMA-only
   * shader after a warm-up */
  nnb_status (*fma_peak)(nnb_backend_ctx *ctx, double *gflops, nnb_error *e);
} vk_ext;

#endif
