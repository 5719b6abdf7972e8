/* Device choice as a pure function of what the driver reports, so it can be
 * tested without devices, and the backend-option parser it needs. */
#ifndef NNB_VK_RANK_H
#define NNB_VK_RANK_H

#include <stddef.h>

typedef enum vk_dev_kind {
  VK_KIND_DISCRETE = 0,
  VK_KIND_INTEGRATED,
  VK_KIND_VIRTUAL,
  VK_KIND_OTHER,
  VK_KIND_CPU
} vk_dev_kind;

typedef struct vk_dev_desc {
  vk_dev_kind kind;
  const char *name;
  int usable;      /* meets the backend's needs (Vulkan 1.2, compute queue, limits) */
  const char *why; /* when not usable */
} vk_dev_desc;

/* Returns the index of the chosen device, or -1 with the reason in why.
 * `device` (the device= option, may be NULL or "") is an index into devs or
 * a case-insensitive substring of a name, and may name a CPU device.
 * Otherwise devices are ranked discrete > integrated > virtual > other >
 * CPU, CPU devices only when nothing else is usable, and `rank_index`
 * picks among the ranked ones (0: the best). */
int vk_pick_device(const vk_dev_desc *devs, int n, const char *device, int rank_index, char *why,
                   size_t why_len);

/* Copies option `key`'s value from "k=v,k=v" into out; 0 when absent. */
int vk_option(const char *options, const char *key, char *out, size_t len);

#endif
