/* nnb-vk-gpucheck: the FP32 FMA peak of the device the vulkan backend
 * opens, and GEMMs of given sizes (default 4096^3) timed over execute +
 * sync, with their share of that peak. For gpu-check.sh; the numbers go to
 * backends/vulkan/README.md.
 *
 *   nnb-vk-gpucheck [--options K=V,...] [M N K]... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nnbench/nnbench.h>

#include "vk_ext.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int gemm(nnb_backend *b, int64_t m, int64_t n, int64_t k, double peak) {
  nnb_graph g;
  nnb_graph_init(&g);
  int a = nnb_tensor_f32(&g, "a", NNB_ROLE_INPUT, 2, m, k);
  int w = nnb_tensor_f32(&g, "b", NNB_ROLE_PARAM, 2, k, n);
  int c = nnb_matmul(&g, a, w, -1, 0, 0, "gemm");
  nnb_graph_mark_output(&g, c);
  nnb_error e = {{0}};
  nnb_session s;
  if (nnb_graph_status(&g, &e) != NNB_OK || nnb_session_create(b, &g, &s, &e) != NNB_OK) {
    fprintf(stderr, "gemm %lldx%lldx%lld: %s\n", (long long)m, (long long)n, (long long)k, e.msg);
    nnb_graph_free(&g);
    return 1;
  }
  double best = 1e30;
  for (int i = 0; i < 8; i++) { /* the first run warms the clocks up */
    double t0 = now_s();
    if (nnb_session_run(&s, &e) != NNB_OK) {
      fprintf(stderr, "gemm: %s\n", e.msg);
      break;
    }
    double t = now_s() - t0;
    if (i > 0 && t < best) best = t;
  }
  double gf = 2.0 * (double)m * (double)n * (double)k / best * 1e-9;
  printf("gemm %lldx%lldx%lld: %.4f s, %.1f GFLOP/s", (long long)m, (long long)n, (long long)k,
         best, gf);
  if (peak > 0) printf(", %.1f%% of the FMA peak", 100.0 * gf / peak);
  printf("\n");
  nnb_session_free(&s);
  nnb_graph_free(&g);
  return 0;
}

int main(int argc, char **argv) {
  const char *options = NULL;
  int at = 1;
  if (argc > 2 && !strcmp(argv[1], "--options")) options = argv[2], at = 3;
  nnb_backend b;
  nnb_error e = {{0}};
  nnb_backend_config cfg = {.options = options};
  if (nnb_backend_open("vulkan", &cfg, &b, &e) != NNB_OK) {
    fprintf(stderr, "nnb-vk-gpucheck: %s\n", e.msg);
    return 1;
  }
  nnb_backend_info info;
  b.vt->describe(b.ctx, &info, &e);
  printf("device: %s\n", info.device);
  const vk_ext *x = b.vt->lookup(b.ctx, VK_EXT_NAME);
  double peak = 0;
  if (x->fma_peak(b.ctx, &peak, &e) != NNB_OK)
    fprintf(stderr, "fma peak: %s\n", e.msg);
  else
    printf("fma peak: %.1f GFLOP/s\n", peak);
  int rc = 0;
  if (at >= argc) rc |= gemm(&b, 4096, 4096, 4096, peak);
  for (; at + 2 < argc; at += 3)
    rc |= gemm(&b, atoll(argv[at]), atoll(argv[at + 1]), atoll(argv[at + 2]), peak);
  nnb_backend_close(&b);
  return rc;
}
