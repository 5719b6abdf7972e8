/* The vulkan backend's internal interface: the context (one instance, one
 * device, its volk table, pipelines), device buffers, plans (one recorded
 * command buffer each) and the recorder the op lowerings write dispatches
 * through. Design and limits: README.md. */
#ifndef NNB_VK_H
#define NNB_VK_H

#include <stdbool.h>
#include <stdint.h>

#include <volk.h>

#include <nnbench/backend.h>

#include "vk_rank.h"

/* The embedded compute shaders (vk_shaders.c). */
typedef enum vk_shader {
  VK_SH_GEMM_S = 0, /* 32x32 tiles */
  VK_SH_GEMM_M,     /* 64x64 */
  VK_SH_GEMM_L,     /* 128x128 */
  VK_SH_GEMM_V,     /* one output per invocation, no shared memory */
  VK_SH_POINTWISE,
  VK_SH_REDUCE,
  VK_SH_ROWS,
  VK_SH_CE,
  VK_SH_POOL,
  VK_SH_LSTM,
  VK_SH_FMA_PEAK,
  VK_SH_COUNT
} vk_shader;

typedef struct vk_spirv {
  const char *name;
  const uint32_t *code;
  size_t bytes;
} vk_spirv;
const vk_spirv *vk_spirv_get(vk_shader s);
/* FNV-1a over every embedded module, for provenance. */
uint64_t vk_spirv_hash(void);

/* Storage-buffer bindings per dispatch: 0..VK_MAX_ARGS-1 for operands, the
 * last one for the device-side error record. */
#define VK_MAX_ARGS 8
#define VK_ERR_BINDING VK_MAX_ARGS
#define VK_N_BINDINGS (VK_MAX_ARGS + 1)
#define VK_PUSH_BYTES 128
/* lavapipe stops looping after 65535 iterations per invocation (counted
 * over all loops); every lowering keeps its loops under this, or refuses. */
#define VK_LOOP_BUDGET 16384

struct nnb_buffer {
  VkBuffer buf;
  VkDeviceMemory mem;
  void *map; /* mapped device memory, or NULL: staged */
  uint64_t size;
};

typedef struct vk_limits {
  uint64_t max_alloc, max_range, max_buffer;
  uint32_t max_groups[3], max_invocations, shared_bytes, push_bytes, max_storage_per_stage;
} vk_limits;

struct nnb_backend_ctx {
  VkInstance inst;
  VkDebugUtilsMessengerEXT messenger;
  VkPhysicalDevice pd;
  VkDevice dev;
  struct VolkDeviceTable vk;
  VkQueue queue;
  uint32_t qfam, ts_bits;
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties memprops;
  char driver_name[VK_MAX_DRIVER_NAME_SIZE], driver_info[VK_MAX_DRIVER_INFO_SIZE];
  uint32_t subgroup_size, loader_version;
  vk_limits lim;
  bool has_budget, validation;
  uint64_t validation_msgs;      /* warnings and errors the validation layer sent */
  uint32_t mem_device, mem_host; /* memory type indices */
  bool mapped;                   /* device buffers live in host-visible memory */
  /* transfers (staged memory) */
  VkCommandPool pool;
  VkCommandBuffer xfer_cb;
  VkFence xfer_fence;
  nnb_buffer staging; /* reused, grown on demand */
  /* execution */
  VkSemaphore timeline;
  uint64_t submitted;       /* last value signalled by a submission */
  const nnb_graph *running; /* the graph of the last execute, for error messages */
  nnb_buffer err, dummy;    /* error record (host-visible), unused-binding filler */
  VkDescriptorSetLayout dsl;
  VkPipelineLayout layout;
  VkPipelineCache cache;
  VkPipeline pipes[VK_SH_COUNT];
  /* options */
  int tile;         /* -1 by size, else the vk_shader of the forced tile */
  int split_k;      /* -1 by shape, 0 never, > 1 forced parts */
  bool no_barriers; /* barriers=0: record none (shows that validation catches hazards) */
  nnb_memory_stats mem;
  uint64_t n_objects; /* Vulkan objects created, for the no-creation-in-execute test */
  char device_why[256];
};

struct nnb_plan {
  const nnb_graph *g;
  VkCommandBuffer cb;
  VkDescriptorPool dpool;
  VkQueryPool queries; /* g->n_nodes + 1 timestamps, or VK_NULL_HANDLE */
  nnb_buffer ws;       /* workspace shared by the nodes */
};

/* One operand of a dispatch: a range of a buffer. */
typedef struct vk_arg {
  VkBuffer buf;
  VkDeviceSize off, range;
} vk_arg;

typedef struct vk_access {
  VkBuffer buf;
  VkDeviceSize lo, hi;
  bool write;
} vk_access;

/* Records dispatches into a plan, or (dry) only measures them: the same
 * lowering code then sizes the workspace and the descriptor pool, and
 * supports() runs it to learn whether a node fits the device. */
typedef struct vk_rec {
  nnb_backend_ctx *c;
  const nnb_graph *g;
  const nnb_binding *bind; /* NULL when dry */
  nnb_plan *plan;          /* NULL when dry */
  bool dry;
  int node;
  uint64_t ws_top, ws_max; /* bytes of workspace this node / any node uses */
  int n_dispatch, n_barriers;
  vk_access *acc;
  int n_acc, cap_acc;
} vk_rec;

/* Counts an allocation in the statistics memory_stats reports. */
static inline void vk_count_alloc(nnb_memory_stats *m, uint64_t bytes) {
  m->current_bytes += bytes;
  m->n_allocs++;
  if (m->current_bytes > m->peak_bytes) m->peak_bytes = m->current_bytes;
}

/* vk_device.c */
nnb_status vk_device_open(nnb_backend_ctx *c, const nnb_backend_config *cfg, nnb_error *e);
void vk_device_close(nnb_backend_ctx *c);
void vk_device_describe(const nnb_backend_ctx *c, nnb_backend_info *out);
nnb_status vk_check(VkResult r, const char *what, nnb_error *e);
/* A primary command buffer from the context's pool. */
nnb_status vk_cmd_buffer(nnb_backend_ctx *c, VkCommandBuffer *out, nnb_error *e);
/* The device heap's budget (VK_EXT_memory_budget), 0 when unknown. */
uint64_t vk_budget(const nnb_backend_ctx *c);

/* vk_memory.c */
nnb_status vk_buffer_make(nnb_backend_ctx *c, uint64_t bytes, bool host, nnb_buffer *out,
                          nnb_error *e);
void vk_buffer_drop(nnb_backend_ctx *c, nnb_buffer *b);
nnb_status vk_wait_idle(nnb_backend_ctx *c, nnb_error *e);
nnb_status vk_copy(nnb_backend_ctx *c, nnb_buffer *b, uint64_t off, void *host, uint64_t n,
                   bool to_device, nnb_error *e);

/* vk_pipeline.c */
nnb_status vk_layouts_make(nnb_backend_ctx *c, nnb_error *e);
void vk_layouts_drop(nnb_backend_ctx *c);
nnb_status vk_pipeline(nnb_backend_ctx *c, vk_shader s, VkPipeline *out, nnb_error *e);

/* vk_record.c */
vk_arg vk_tensor(const vk_rec *r, int t);
/* A 256-byte-aligned piece of the node's workspace. */
vk_arg vk_ws(vk_rec *r, uint64_t bytes);
/* Groups for n invocations of size `local`, over x and y (65535 per axis). */
void vk_grid(uint64_t n, uint32_t local, uint32_t g[3]);
/* write_mask: bit i set when args[i] is written. */
nnb_status vk_dispatch(vk_rec *r, vk_shader s, const vk_arg *args, int n_args, uint32_t write_mask,
                       const void *push, size_t push_bytes, const uint32_t groups[3], nnb_error *e);
nnb_status vk_plan_record(nnb_backend_ctx *c, const nnb_graph *g, const nnb_binding *bind,
                          nnb_plan *p, nnb_error *e);
/* Dry run of one node: whether it lowers within the device's limits. */
nnb_status vk_node_fits(nnb_backend_ctx *c, const nnb_graph *g, const nnb_node *n, nnb_error *e);

/* vk_lower_*.c: one function per op; vk_lower dispatches on n->op. */
typedef nnb_status (*vk_lower_fn)(vk_rec *r, const nnb_node *n, nnb_error *e);
vk_lower_fn vk_lower_for(nnb_op op);

typedef struct vk_gemm {
  uint32_t m, n, k, batch, mode, flags, nb2;
  uint32_t a_off, a_s1, a_s2, a_sm, a_sk;
  uint32_t b_off, b_s1, b_s2, b_sk, b_sn;
  uint32_t c_off, c_s1, c_s2, c_sm;
  uint32_t kchunk;
  float alpha;
  uint32_t cv_c, cv_hw, cv_ohw, cv_k, cv_pad;
} vk_gemm;
enum { VK_GEMM_MM = 0, VK_GEMM_CONV_FWD, VK_GEMM_CONV_BWD_DATA, VK_GEMM_CONV_BWD_WEIGHT };
enum { VK_BIAS_COL = 1, VK_BIAS_ROW = 2, VK_ACCUMULATE = 4, VK_SPLIT_K = 8 };
/* Records C = alpha A B (+ bias) (+ C); bias may be NULL. Splits K (partials
 * in the workspace, then a reduce) when K is too deep for one invocation or
 * the output has too few tiles to fill the device. */
nnb_status vk_gemm_run(vk_rec *r, vk_gemm gm, vk_arg a, vk_arg b, vk_arg c, const vk_arg *bias,
                       nnb_error *e);

/* vk_lower_misc.c helpers shared by the other lowerings */
nnb_status vk_reduce_run(vk_rec *r, vk_arg x, vk_arg y, const int64_t dims[4], uint32_t mask,
                         float scale, nnb_error *e);
typedef struct vk_rows_pc {
  uint32_t op, rows, f, causal;
  float f0;
} vk_rows_pc;
enum { VK_ROWS_SOFTMAX = 0, VK_ROWS_SOFTMAX_BWD, VK_ROWS_LAYERNORM, VK_ROWS_LAYERNORM_BWD };
nnb_status vk_rows_run(vk_rec *r, vk_rows_pc pc, const vk_arg *args, int n_args,
                       uint32_t write_mask, nnb_error *e);
/* c = a + b (b broadcast, trailing-aligned), elementwise; c may be a. */
nnb_status vk_add_run(vk_rec *r, vk_arg a, const nnb_tensor_desc *ad, vk_arg b,
                      const nnb_tensor_desc *bd, vk_arg c, nnb_error *e);

#endif
