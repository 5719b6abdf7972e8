/* GEMM-shaped nodes against the measured peak (gemm_peak.h). */
#include "gemm_peak.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpath.h"
#include "relative.h"

/* The share of a case's GEMM FLOPs its listed nodes carry: the largest
 * nodes first, until this much; the small ones after them (a 10-class
 * output layer) say little about the kernels. */
#define FLOP_SHARE 0.9

static int gemm_shaped(const char *op) {
  static const char *const ops[] = {"matmul", "conv2d",  "conv2d_bwd_data", "conv2d_bwd_weight",
                                    "lstm",   "lstm_bwd"};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (!strcmp(op, ops[i])) return 1;
  return 0;
}

/* A node the section weighs: GEMM-shaped, with FLOPs and a time. */
static int listed(const cJSON *n) {
  return gemm_shaped(nnb_json_str(n, "op")) && nnb_json_num(n, "flops") > 0 &&
         nnb_json_num(n, "seconds") > 0;
}

static int by_flops_desc(const void *a, const void *b) {
  double fa = nnb_json_num(*(const cJSON *const *)a, "flops"),
         fb = nnb_json_num(*(const cJSON *const *)b, "flops");
  return fa < fb ? 1 : fa > fb ? -1 : 0;
}

typedef struct gemm_row {
  int nodes;
  double gflops, pct, lo, hi; /* % of peak: all listed nodes, the lowest, the highest */
  const cJSON *slowest;       /* the listed node furthest below peak */
} gemm_row;

/* Fills r for case c against `peak` GFLOP/s; 0 when it has no such nodes. */
static int case_row(const cJSON *c, double peak, gemm_row *r) {
  const cJSON *prof = cJSON_GetObjectItem(c, "node_profile"), *n;
  int count = 0;
  cJSON_ArrayForEach(n, prof) count += listed(n);
  if (!count) return 0;
  const cJSON **nodes = malloc((size_t)count * sizeof *nodes);
  if (!nodes) return 0;
  int k = 0;
  double total = 0;
  cJSON_ArrayForEach(n, prof) if (listed(n)) {
    nodes[k++] = n;
    total += nnb_json_num(n, "flops");
  }
  qsort(nodes, (size_t)count, sizeof *nodes, by_flops_desc);
  double flops = 0, secs = 0;
  memset(r, 0, sizeof *r);
  r->lo = INFINITY, r->hi = -INFINITY;
  for (k = 0; k < count && flops < FLOP_SHARE * total; k++) {
    double f = nnb_json_num(nodes[k], "flops"), s = nnb_json_num(nodes[k], "seconds");
    double pct = 100.0 * f / s / 1e9 / peak;
    flops += f, secs += s, r->nodes++;
    if (pct < r->lo) r->lo = pct, r->slowest = nodes[k];
    if (pct > r->hi) r->hi = pct;
  }
  r->gflops = flops / secs / 1e9;
  r->pct = 100.0 * r->gflops / peak;
  free(nodes);
  return 1;
}

/* Fills r for case c when it ran and has such nodes, against the peak of
 * its thread count (one: one core's, all: every core's). */
static int timed_row(const cJSON *c, double one, double all, gemm_row *r) {
  double peak = nnb_json_num(c, "threads") == 1 ? one : all;
  return nnb_rel_timed(c) && peak > 0 && case_row(c, peak, r);
}

void nnb_report_gemm_peak(nnb_doc *d, const cJSON *doc) {
  double one = nnb_json_num(doc, "provenance.peak.single_core_gflops"),
         all = nnb_json_num(doc, "provenance.peak.all_core_gflops");
  const cJSON *cases = cJSON_GetObjectItem(doc, "cases"), *c;
  int rows = 0;
  gemm_row r;
  cJSON_ArrayForEach(c, cases) rows += timed_row(c, one, all, &r);
  if (!rows) return;
  nnb_doc_heading(d, 2, "GEMM-shaped nodes against peak");
  nnb_doc_text(d,
               "Per profiled case, the matmul, convolution and LSTM nodes that carry %.0f%% of its "
               "GEMM FLOPs (largest first), from the per-node profile (each node's median over "
               "the rounds): their GFLOP/s, and the %% of the f32 FMA peak this run measured for "
               "the threads the case used (%.1f GFLOP/s on one core, %.1f on all). Slowest: the "
               "listed node furthest below peak, with the kernel it ran when the backend names it.",
               FLOP_SHARE * 100, one, all);
  static const char *const head[] = {"model", "backend", "mode",      "batch",    "threads",
                                     "nodes", "GFLOP/s", "% of peak", "per node", "slowest"};
  nnb_doc_table(d, 10, head, "llllrrrrll");
  char cells[10][256];
  const char *row[10];
  for (int i = 0; i < 10; i++) row[i] = cells[i];
  cJSON_ArrayForEach(c, cases) {
    if (!timed_row(c, one, all, &r)) continue;
    snprintf(cells[0], sizeof cells[0], "%s", nnb_json_str(c, "model"));
    nnb_rel_contender(c, cells[1], sizeof cells[1]);
    snprintf(cells[2], sizeof cells[2], "%s", nnb_json_str(c, "mode"));
    snprintf(cells[3], sizeof cells[3], "%.0f", nnb_json_num(c, "batch"));
    snprintf(cells[4], sizeof cells[4], "%.0f", nnb_json_num(c, "threads"));
    snprintf(cells[5], sizeof cells[5], "%d", r.nodes);
    snprintf(cells[6], sizeof cells[6], "%.1f", r.gflops);
    snprintf(cells[7], sizeof cells[7], "%.0f%%", r.pct);
    snprintf(cells[8], sizeof cells[8], "%.0f-%.0f%%", r.lo, r.hi);
    const char *kernel = nnb_json_str(r.slowest, "kernel");
    snprintf(cells[9], sizeof cells[9], "%s (%s%s%s)", nnb_json_str(r.slowest, "name"),
             nnb_json_str(r.slowest, "op"), *kernel ? ", " : "", kernel);
    nnb_doc_row(d, row);
  }
}
