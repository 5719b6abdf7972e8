/* Instance and device bring-up through volk (the plugin never links the
 * loader), device choice (vk_rank.c), the validation layer on request, and
 * the provenance describe() reports. */
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vk.h"

static const char *result_name(VkResult r) {
  switch (r) {
  case VK_SUCCESS: return "VK_SUCCESS";
  case VK_NOT_READY: return "VK_NOT_READY";
  case VK_TIMEOUT: return "VK_TIMEOUT";
  case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
  case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
  case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
  case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
  case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
  case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
  case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
  case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
  case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
  case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
  default: return "VkResult";
  }
}

nnb_status vk_check(VkResult r, const char *what, nnb_error *e) {
  if (r == VK_SUCCESS) return NNB_OK;
  nnb_status s = r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_OUT_OF_DEVICE_MEMORY
                     ? NNB_ERR_NOMEM
                     : NNB_ERR_BACKEND;
  return nnb_fail(e, s, "vulkan: %s failed: %s (%d)", what, result_name(r), (int)r);
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT types,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                 void *user) {
  nnb_backend_ctx *c = user;
  c->validation_msgs++;
  fprintf(stderr, "vulkan validation (%s): %s\n",
          severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning",
          data && data->pMessage ? data->pMessage : "?");
  return VK_FALSE;
}

static bool has_layer(const char *name) {
  uint32_t n = 0;
  vkEnumerateInstanceLayerProperties(&n, NULL);
  VkLayerProperties *p = calloc(n + 1, sizeof *p);
  bool found = false;
  if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].layerName, name);
  free(p);
  return found;
}

static bool has_device_ext(VkPhysicalDevice pd, const char *name) {
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL);
  VkExtensionProperties *p = calloc(n + 1, sizeof *p);
  bool found = false;
  if (p && vkEnumerateDeviceExtensionProperties(pd, NULL, &n, p) == VK_SUCCESS)
    for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].extensionName, name);
  free(p);
  return found;
}

static nnb_status make_instance(nnb_backend_ctx *c, nnb_error *e) {
  VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                           .pApplicationName = "nnbench",
                           .pEngineName = "nnbench",
                           .apiVersion = VK_API_VERSION_1_2};
  const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
  const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
  VkValidationFeatureEnableEXT enables[] = {
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                      .enabledValidationFeatureCount = 1,
                                      .pEnabledValidationFeatures = enables};
  VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                             .pApplicationInfo = &app};
  if (c->validation) {
    if (!has_layer(layers[0]))
      return nnb_fail(e, NNB_ERR_UNAVAILABLE,
                      "vulkan: validation=1 but the layer VK_LAYER_KHRONOS_validation is not "
                      "installed (Debian: vulkan-validationlayers)");
    ci.enabledLayerCount = 1;
    ci.ppEnabledLayerNames = layers;
    ci.enabledExtensionCount = 1;
    ci.ppEnabledExtensionNames = exts;
    ci.pNext = &features;
  }
  nnb_status s = vk_check(vkCreateInstance(&ci, NULL, &c->inst), "vkCreateInstance", e);
  if (s != NNB_OK) {
    if (s == NNB_ERR_BACKEND) {
      char msg[sizeof e->msg];
      snprintf(msg, sizeof msg, "%s", e->msg);
      return nnb_fail(e, NNB_ERR_UNAVAILABLE, "%s (no Vulkan 1.2 driver?)", msg);
    }
    return s;
  }
  c->n_objects++;
  volkLoadInstanceOnly(c->inst);
  if (c->validation) {
    VkDebugUtilsMessengerCreateInfoEXT mi = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_message,
        .pUserData = c};
    s = vk_check(vkCreateDebugUtilsMessengerEXT(c->inst, &mi, NULL, &c->messenger),
                 "vkCreateDebugUtilsMessengerEXT", e);
    if (s != NNB_OK) return s;
    c->n_objects++;
  }
  return NNB_OK;
}

static vk_dev_kind kind_of(VkPhysicalDeviceType t) {
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VK_KIND_DISCRETE;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VK_KIND_INTEGRATED;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VK_KIND_VIRTUAL;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return VK_KIND_CPU;
  default: return VK_KIND_OTHER;
  }
}

static int compute_family(VkPhysicalDevice pd, uint32_t *ts_bits) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
  VkQueueFamilyProperties *q = calloc(n + 1, sizeof *q);
  int best = -1;
  if (!q) return -1;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
  /* a compute queue without graphics first (dedicated), else any */
  for (int pass = 0; pass < 2 && best < 0; pass++)
    for (uint32_t i = 0; i < n && best < 0; i++)
      if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) &&
          (pass || !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)))
        best = (int)i, *ts_bits = q[i].timestampValidBits;
  free(q);
  return best;
}

/* Why a device cannot run this backend, or NULL. */
static const char *unusable(VkPhysicalDevice pd, const VkPhysicalDeviceProperties *p) {
  uint32_t bits;
  VkPhysicalDeviceVulkan12Features f12 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceFeatures2 f = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                 .pNext = &f12};
  if (p->apiVersion < VK_API_VERSION_1_2) return "Vulkan 1.2 is needed";
  if (compute_family(pd, &bits) < 0) return "no compute queue";
  vkGetPhysicalDeviceFeatures2(pd, &f);
  if (!f12.timelineSemaphore) return "no timeline semaphores";
  if (p->limits.maxPerStageDescriptorStorageBuffers < VK_N_BINDINGS)
    return "fewer than 9 storage buffers per shader stage";
  if (p->limits.maxPushConstantsSize < VK_PUSH_BYTES) return "push constants under 128 bytes";
  if (p->limits.maxComputeWorkGroupInvocations < 256) return "workgroups under 256 invocations";
  if (p->limits.maxComputeSharedMemorySize < 16384) return "shared memory under 16 KiB";
  if (p->limits.minStorageBufferOffsetAlignment > 256) return "storage offset alignment over 256";
  return NULL;
}

static nnb_status choose(nnb_backend_ctx *c, const nnb_backend_config *cfg, nnb_error *e) {
  uint32_t n = 0;
  nnb_status s =
      vk_check(vkEnumeratePhysicalDevices(c->inst, &n, NULL), "vkEnumeratePhysicalDevices", e);
  if (s != NNB_OK) return s;
  VkPhysicalDevice *pds = calloc(n + 1, sizeof *pds);
  VkPhysicalDeviceProperties *props = calloc(n + 1, sizeof *props);
  vk_dev_desc *d = calloc(n + 1, sizeof *d);
  if (!pds || !props || !d) {
    free(pds), free(props), free(d);
    return nnb_fail(e, NNB_ERR_NOMEM, "vulkan: out of host memory");
  }
  vkEnumeratePhysicalDevices(c->inst, &n, pds);
  for (uint32_t i = 0; i < n; i++) {
    vkGetPhysicalDeviceProperties(pds[i], &props[i]);
    d[i].kind = kind_of(props[i].deviceType);
    d[i].name = props[i].deviceName;
    d[i].why = unusable(pds[i], &props[i]);
    d[i].usable = d[i].why == NULL;
  }
  char dev[128] = "";
  vk_option(cfg ? cfg->options : NULL, "device", dev, sizeof dev);
  int at = vk_pick_device(d, (int)n, dev, cfg ? cfg->device_index : 0, c->device_why,
                          sizeof c->device_why);
  if (at >= 0) {
    c->pd = pds[at];
    c->props = props[at];
  }
  free(pds), free(props), free(d);
  if (at < 0) return nnb_fail(e, NNB_ERR_UNAVAILABLE, "vulkan: %s", c->device_why);
  return NNB_OK;
}

static void read_properties(nnb_backend_ctx *c) {
  VkPhysicalDeviceDriverProperties drv = {.sType =
                                              VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties sub = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &drv};
  VkPhysicalDeviceMaintenance3Properties m3 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, .pNext = &sub};
  VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                    .pNext = &m3};
  vkGetPhysicalDeviceProperties2(c->pd, &p2);
  snprintf(c->driver_name, sizeof c->driver_name, "%s", drv.driverName);
  snprintf(c->driver_info, sizeof c->driver_info, "%s", drv.driverInfo);
  c->subgroup_size = sub.subgroupSize;
  const VkPhysicalDeviceLimits *l = &c->props.limits;
  c->lim =
      (vk_limits){.max_alloc = m3.maxMemoryAllocationSize,
                  .max_range = l->maxStorageBufferRange,
                  .max_buffer = m3.maxMemoryAllocationSize,
                  .max_groups = {l->maxComputeWorkGroupCount[0], l->maxComputeWorkGroupCount[1],
                                 l->maxComputeWorkGroupCount[2]},
                  .max_invocations = l->maxComputeWorkGroupInvocations,
                  .shared_bytes = l->maxComputeSharedMemorySize,
                  .push_bytes = l->maxPushConstantsSize,
                  .max_storage_per_stage = l->maxPerStageDescriptorStorageBuffers};
  vkGetPhysicalDeviceMemoryProperties(c->pd, &c->memprops);
}

/* Device buffers: mapped when the device-local memory is host-visible and
 * large (lavapipe, integrated GPUs, resizable BAR), staged otherwise. */
static nnb_status pick_memory(nnb_backend_ctx *c, bool force_staging, nnb_error *e) {
  const VkPhysicalDeviceMemoryProperties *m = &c->memprops;
  const VkMemoryPropertyFlags hv = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                   VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
                              dl = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  uint64_t biggest = 0;
  for (uint32_t i = 0; i < m->memoryHeapCount; i++)
    if ((m->memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) &&
        m->memoryHeaps[i].size > biggest)
      biggest = m->memoryHeaps[i].size;
  int dev = -1, mapped = -1, host = -1;
  for (uint32_t i = 0; i < m->memoryTypeCount; i++) {
    VkMemoryPropertyFlags f = m->memoryTypes[i].propertyFlags;
    uint64_t heap = m->memoryHeaps[m->memoryTypes[i].heapIndex].size;
    if (dev < 0 && (f & dl)) dev = (int)i;
    if (mapped < 0 && (f & (dl | hv)) == (dl | hv) && heap * 2 >= biggest) mapped = (int)i;
    if ((f & hv) == hv && (host < 0 || !(f & dl))) host = (int)i; /* plain host memory first */
  }
  if (host < 0)
    return nnb_fail(e, NNB_ERR_UNAVAILABLE, "vulkan: %s has no host-visible coherent memory",
                    c->props.deviceName);
  if (dev < 0) dev = host; /* some software devices mark nothing device-local */
  c->mapped = mapped >= 0 && !force_staging;
  c->mem_device = (uint32_t)(c->mapped ? mapped : dev);
  c->mem_host = (uint32_t)host;
  return NNB_OK;
}

nnb_status vk_cmd_buffer(nnb_backend_ctx *c, VkCommandBuffer *out, nnb_error *e) {
  VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                    .commandPool = c->pool,
                                    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                    .commandBufferCount = 1};
  return vk_check(c->vk.vkAllocateCommandBuffers(c->dev, &ai, out), "vkAllocateCommandBuffers", e);
}

static nnb_status make_device(nnb_backend_ctx *c, nnb_error *e) {
  int fam = compute_family(c->pd, &c->ts_bits);
  c->qfam = (uint32_t)fam;
  float prio = 1.0f;
  VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                .queueFamilyIndex = c->qfam,
                                .queueCount = 1,
                                .pQueuePriorities = &prio};
  VkPhysicalDeviceVulkan12Features f12 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .timelineSemaphore = VK_TRUE};
  const char *exts[1];
  uint32_t n_ext = 0;
  c->has_budget = has_device_ext(c->pd, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  if (c->has_budget) exts[n_ext++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
  VkDeviceCreateInfo di = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                           .pNext = &f12,
                           .queueCreateInfoCount = 1,
                           .pQueueCreateInfos = &qi,
                           .enabledExtensionCount = n_ext,
                           .ppEnabledExtensionNames = exts};
  nnb_status s = vk_check(vkCreateDevice(c->pd, &di, NULL, &c->dev), "vkCreateDevice", e);
  if (s != NNB_OK) return s;
  c->n_objects++;
  volkLoadDeviceTable(&c->vk, c->dev);
  c->vk.vkGetDeviceQueue(c->dev, c->qfam, 0, &c->queue);
  VkSemaphoreTypeCreateInfo ti = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
                                  .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE};
  VkSemaphoreCreateInfo si = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &ti};
  s = vk_check(c->vk.vkCreateSemaphore(c->dev, &si, NULL, &c->timeline), "vkCreateSemaphore", e);
  if (s != NNB_OK) return s;
  c->n_objects++;
  VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                .queueFamilyIndex = c->qfam};
  s = vk_check(c->vk.vkCreateCommandPool(c->dev, &pi, NULL, &c->pool), "vkCreateCommandPool", e);
  if (s != NNB_OK) return s;
  c->n_objects++;
  s = vk_cmd_buffer(c, &c->xfer_cb, e);
  if (s != NNB_OK) return s;
  VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  s = vk_check(c->vk.vkCreateFence(c->dev, &fi, NULL, &c->xfer_fence), "vkCreateFence", e);
  if (s == NNB_OK) c->n_objects++;
  return s;
}

/* Mesa's drivers (and the LLVM lavapipe compiles with) are loaded by the
 * Vulkan loader and unloaded again when the instance goes. Kept for the
 * process's life instead: LLVM's one-time set-up is not repeated for every
 * context, and what they allocate for the process stays attributable to
 * them (LeakSanitizer names the library; tests/lsan.supp). */
static int keep_loaded(struct dl_phdr_info *info, size_t size, void *data) {
  const char *n = info->dlpi_name;
  if (n && (strstr(n, "/libvulkan_") || strstr(n, "/libLLVM")))
    dlopen(n, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  return 0;
}

nnb_status vk_device_open(nnb_backend_ctx *c, const nnb_backend_config *cfg, nnb_error *e) {
  if (volkInitialize() != VK_SUCCESS)
    return nnb_fail(e, NNB_ERR_UNAVAILABLE,
                    "vulkan: no Vulkan loader (libvulkan.so.1 could not be loaded; Debian: "
                    "libvulkan1, and a driver such as mesa-vulkan-drivers)");
  c->loader_version = volkGetInstanceVersion();
  if (c->loader_version < VK_API_VERSION_1_2)
    return nnb_fail(e, NNB_ERR_UNAVAILABLE, "vulkan: the loader supports Vulkan %u.%u, 1.2 needed",
                    VK_API_VERSION_MAJOR(c->loader_version),
                    VK_API_VERSION_MINOR(c->loader_version));
  c->validation = nnb_config_int(cfg, "validation", 0) != 0;
  nnb_status s = make_instance(c, e);
  if (s == NNB_OK) s = choose(c, cfg, e);
  dl_iterate_phdr(keep_loaded, NULL);
  if (s != NNB_OK) return s;
  read_properties(c);
  s = pick_memory(c, nnb_config_int(cfg, "staging", 0) != 0, e);
  if (s == NNB_OK) s = make_device(c, e);
  return s;
}

void vk_device_close(nnb_backend_ctx *c) {
  if (c->dev) {
    if (c->xfer_fence) c->vk.vkDestroyFence(c->dev, c->xfer_fence, NULL);
    if (c->pool) c->vk.vkDestroyCommandPool(c->dev, c->pool, NULL);
    if (c->timeline) c->vk.vkDestroySemaphore(c->dev, c->timeline, NULL);
    c->vk.vkDestroyDevice(c->dev, NULL);
  }
  if (c->messenger) vkDestroyDebugUtilsMessengerEXT(c->inst, c->messenger, NULL);
  if (c->inst) vkDestroyInstance(c->inst, NULL);
}

static const char *type_name(VkPhysicalDeviceType t) {
  switch (t) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU (software Vulkan on the CPU)";
  default: return "other";
  }
}

/* NVIDIA packs 10.8.8.6 bits; others follow the Vulkan version encoding. */
static void driver_version(const nnb_backend_ctx *c, char *out, size_t len) {
  uint32_t v = c->props.driverVersion;
  if (c->props.vendorID == 0x10de)
    snprintf(out, len, "%u.%u.%u.%u", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
  else
    snprintf(out, len, "%u.%u.%u", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
             VK_API_VERSION_PATCH(v));
}

static uint64_t budget(const nnb_backend_ctx *c) {
  if (!c->has_budget) return 0;
  VkPhysicalDeviceMemoryBudgetPropertiesEXT b = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
  VkPhysicalDeviceMemoryProperties2 m = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &b};
  vkGetPhysicalDeviceMemoryProperties2(c->pd, &m);
  return b.heapBudget[c->memprops.memoryTypes[c->mem_device].heapIndex];
}

uint64_t vk_budget(const nnb_backend_ctx *c) { return budget(c); }

void vk_device_describe(const nnb_backend_ctx *c, nnb_backend_info *out) {
  char v[256];
  const VkPhysicalDeviceProperties *p = &c->props;
  bool cpu = p->deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  snprintf(out->device, sizeof out->device, "%.100s (Vulkan %u.%u%s)", p->deviceName,
           VK_API_VERSION_MAJOR(p->apiVersion), VK_API_VERSION_MINOR(p->apiVersion),
           cpu ? ", software Vulkan on the CPU" : "");
  snprintf(out->library, sizeof out->library, "Vulkan loader %u.%u.%u, volk %d, driver %.80s",
           VK_API_VERSION_MAJOR(c->loader_version), VK_API_VERSION_MINOR(c->loader_version),
           VK_API_VERSION_PATCH(c->loader_version), VOLK_HEADER_VERSION, c->driver_name);
  nnb_info_prop(out, "device_type", type_name(p->deviceType));
  snprintf(v, sizeof v, "%.100s %.150s", c->driver_name, c->driver_info);
  nnb_info_prop(out, "driver", v);
  driver_version(c, v, sizeof v);
  nnb_info_prop(out, "driver_version", v);
  snprintf(v, sizeof v, "%u.%u.%u", VK_API_VERSION_MAJOR(p->apiVersion),
           VK_API_VERSION_MINOR(p->apiVersion), VK_API_VERSION_PATCH(p->apiVersion));
  nnb_info_prop(out, "api_version", v);
  snprintf(v, sizeof v, "0x%04x:0x%04x", p->vendorID, p->deviceID);
  nnb_info_prop(out, "vendor_device_id", v);
  snprintf(v, sizeof v, "%u", c->subgroup_size);
  nnb_info_prop(out, "subgroup_size", v);
  snprintf(v, sizeof v, "%u", c->lim.shared_bytes);
  nnb_info_prop(out, "shared_memory_bytes", v);
  snprintf(v, sizeof v,
           "max_storage_buffer_range=%llu max_allocation=%llu "
           "max_workgroups=%u,%u,%u max_invocations=%u push_constants=%u",
           (unsigned long long)c->lim.max_range, (unsigned long long)c->lim.max_alloc,
           c->lim.max_groups[0], c->lim.max_groups[1], c->lim.max_groups[2], c->lim.max_invocations,
           c->lim.push_bytes);
  nnb_info_prop(out, "limits", v);
  uint32_t heap = c->memprops.memoryTypes[c->mem_device].heapIndex;
  snprintf(v, sizeof v, "%s; heap %u of %llu MiB",
           c->mapped ? "mapped device memory" : "device-local, staged through host buffers", heap,
           (unsigned long long)(c->memprops.memoryHeaps[heap].size >> 20));
  nnb_info_prop(out, "memory", v);
  if (c->has_budget)
    snprintf(v, sizeof v, "%llu MiB (VK_EXT_memory_budget)", (unsigned long long)(budget(c) >> 20));
  else
    snprintf(v, sizeof v, "unknown (no VK_EXT_memory_budget)");
  nnb_info_prop(out, "memory_budget", v);
  snprintf(v, sizeof v, "%u.%u.%u", VK_API_VERSION_MAJOR(c->loader_version),
           VK_API_VERSION_MINOR(c->loader_version), VK_API_VERSION_PATCH(c->loader_version));
  nnb_info_prop(out, "loader", v);
  snprintf(v, sizeof v, "%016llx", (unsigned long long)vk_spirv_hash());
  nnb_info_prop(out, "spirv_hash", v);
  snprintf(v, sizeof v, "%g ns, %u valid bits", (double)p->limits.timestampPeriod, c->ts_bits);
  nnb_info_prop(out, "timestamps", v);
  nnb_info_prop(out, "validation", c->validation ? "on (with synchronization validation)" : "off");
  snprintf(v, sizeof v, "%s; split-K %s",
           c->tile < 0 ? "by shape (32, 64 or 128 square)" : vk_spirv_get(c->tile)->name,
           c->split_k < 0    ? "by shape"
           : c->split_k == 0 ? "off"
                             : "forced");
  nnb_info_prop(out, "gemm_tiles", v);
}
