/* The SPIR-V modules, compiled from shaders/ by glslc at build time,
 * checked by spirv-val, and embedded here (CMakeLists.txt). */
#include "vk.h"

static const uint32_t spv_gemm_s[] =
#include "gemm_s.spv.inc"
    ;
static const uint32_t spv_gemm_m[] =
#include "gemm_m.spv.inc"
    ;
static const uint32_t spv_gemm_l[] =
#include "gemm_l.spv.inc"
    ;
static const uint32_t spv_gemm_v[] =
#include "gemm_v.spv.inc"
    ;
static const uint32_t spv_pointwise[] =
#include "pointwise.spv.inc"
    ;
static const uint32_t spv_reduce[] =
#include "reduce.spv.inc"
    ;
static const uint32_t spv_rows[] =
#include "rows.spv.inc"
    ;
static const uint32_t spv_ce[] =
#include "ce.spv.inc"
    ;
static const uint32_t spv_pool[] =
#include "pool.spv.inc"
    ;
static const uint32_t spv_lstm[] =
#include "lstm.spv.inc"
    ;
static const uint32_t spv_fma_peak[] =
#include "fma_peak.spv.inc"
    ;

#define ENTRY(name, var)                                                                           \
  { name, var, sizeof var }
static const vk_spirv table[VK_SH_COUNT] = {
    ENTRY("gemm 32x32", spv_gemm_s),   ENTRY("gemm 64x64", spv_gemm_m),
    ENTRY("gemm 128x128", spv_gemm_l), ENTRY("gemm per element", spv_gemm_v),
    ENTRY("pointwise", spv_pointwise), ENTRY("reduce", spv_reduce),
    ENTRY("rows", spv_rows),           ENTRY("ce", spv_ce),
    ENTRY("pool", spv_pool),           ENTRY("lstm", spv_lstm),
    ENTRY("fma_peak", spv_fma_peak),
};

const vk_spirv *vk_spirv_get(vk_shader s) { return &table[s]; }

uint64_t vk_spirv_hash(void) {
  uint64_t h = 1469598103934665603ull;
  for (int s = 0; s < VK_SH_COUNT; s++)
    for (size_t i = 0; i < table[s].bytes / 4; i++) {
      uint32_t w = table[s].code[i];
      for (int b = 0; b < 4; b++) h = (h ^ ((w >> (8 * b)) & 0xff)) * 1099511628211ull;
    }
  return h;
}
