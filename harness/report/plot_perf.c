/* The writers of the performance plots: throughput per model and backend,
 * batch-size scaling, batch-1 latency distribution and the roofline. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonpath.h"
#include "plot_data.h"

static const char *const mode_title[] = {"Inference", "Training"};
static const char *const mode_word[] = {"inference", "training"};

/* Values spanning more than this factor get a logarithmic axis. */
#define LOG_SPAN 30.0
/* Points of a latency CDF at most. */
#define CDF_STEPS 400

static void span(double x, double *lo, double *hi) {
  if (!(x > 0)) return;
  if (x < *lo) *lo = x;
  if (x > *hi) *hi = x;
}

int nnb_pl_throughput(const nnb_pl *p, const cJSON *doc, FILE *v, FILE *d, char *why, size_t len) {
  int panels = 0;
  for (int train = 0; train < 2; train++) {
    int rows = 0, uniform = -1;
    for (int s = 0; s < p->nspecs; s++) {
      int b = nnb_pl_max_batch(p, s, train);
      if (!b) continue;
      rows++;
      uniform = uniform < 0 || uniform == b ? b : 0;
    }
    if (!rows) continue;
    double lo = INFINITY, hi = 0;
    fprintf(d, "# %s: model, then per series: samples/s (median), 95%% CI low, high\n",
            mode_word[train]);
    for (int s = 0; s < p->nspecs; s++) {
      int b = nnb_pl_max_batch(p, s, train);
      if (!b) continue;
      char label[160];
      if (uniform > 0)
        snprintf(label, sizeof label, "%s", p->spec_label[s]);
      else
        snprintf(label, sizeof label, "%s\nbatch %d", p->spec_label[s], b);
      nnb_pl_data_word(d, label);
      for (int k = 0; k < p->nseries; k++) {
        const nnb_pl_case *c = nnb_pl_find(p, k, s, train, b);
        double y = c ? nnb_json_num(c->rec, "throughput_samples_per_s") : NAN;
        fprintf(d, " %.6g %.6g %.6g", y, c ? nnb_json_num(c->rec, "throughput_ci95_lo") : NAN,
                c ? nnb_json_num(c->rec, "throughput_ci95_hi") : NAN);
        span(y, &lo, &hi);
      }
      fputc('\n', d);
    }
    fprintf(d, "\n\n");
    char title[160];
    if (uniform > 0)
      snprintf(title, sizeof title, "%s, batch %d", mode_title[train], uniform);
    else
      snprintf(title, sizeof title, "%s, largest batch measured", mode_title[train]);
    nnb_pl_panel_vars(v, ++panels, title, -1, "");
    fprintf(v, "panel_logy_%d = %d\n", panels, hi > LOG_SPAN * lo);
  }
  fprintf(v, "npanels = %d\n", panels);
  if (!panels) snprintf(why, len, "no case ran successfully");
  return panels > 0;
}

static int by_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* The sorted distinct batches of (spec, train) on series k (k < 0: any). */
static int batches(const nnb_pl *p, int k, int spec, int train, int *out) {
  int n = 0;
  for (int i = 0; i < p->ncases; i++) {
    const nnb_pl_case *c = &p->cases[i];
    if (c->spec != spec || c->train != train || (k >= 0 && c->series != k)) continue;
    int seen = 0;
    for (int j = 0; j < n; j++) seen |= out[j] == c->batch;
    if (!seen) out[n++] = c->batch;
  }
  qsort(out, (size_t)n, sizeof *out, by_int);
  return n;
}

int nnb_pl_scaling(const nnb_pl *p, const cJSON *doc, FILE *v, FILE *d, char *why, size_t len) {
  int *b = malloc((size_t)(p->ncases + 1) * sizeof *b), panels = 0, blocks = 0;
  if (!b) return snprintf(why, len, "out of memory"), 0;
  for (int s = 0; s < p->nspecs; s++)
    for (int train = 0; train < 2; train++) {
      if (batches(p, -1, s, train, b) < 2) continue;
      char title[160], *series = nnb_pl_series_list(p);
      if (!series) {
        free(b);
        return snprintf(why, len, "out of memory"), 0;
      }
      int first = blocks;
      for (int k = 0; k < p->nseries; k++) {
        int n = batches(p, k, s, train, b);
        if (!n) continue;
        fprintf(d, "# %s, %s, %s: batch, samples/s (median), 95%% CI low, high\n", p->spec_label[s],
                mode_word[train], p->series[k].label);
        for (int i = 0; i < n; i++) {
          const cJSON *r = nnb_pl_find(p, k, s, train, b[i])->rec;
          fprintf(d, "%d %.6g %.6g %.6g\n", b[i], nnb_json_num(r, "throughput_samples_per_s"),
                  nnb_json_num(r, "throughput_ci95_lo"), nnb_json_num(r, "throughput_ci95_hi"));
        }
        fprintf(d, "\n\n");
        nnb_pl_series_list_add(series, k);
        blocks++;
      }
      snprintf(title, sizeof title, "%s, %s", p->spec_label[s], mode_word[train]);
      nnb_pl_panel_vars(v, ++panels, title, first, series);
      free(series);
    }
  free(b);
  fprintf(v, "npanels = %d\n", panels);
  if (!panels) snprintf(why, len, "no model and mode was measured at two batch sizes or more");
  return panels > 0;
}

static int by_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

int nnb_pl_latency(const nnb_pl *p, const cJSON *doc, FILE *v, FILE *d, char *why, size_t len) {
  int panels = 0, blocks = 0;
  for (int s = 0; s < p->nspecs; s++) {
    char title[160], *series = nnb_pl_series_list(p);
    if (!series) return snprintf(why, len, "out of memory"), 0;
    int first = blocks;
    double lo = INFINITY, hi = 0;
    for (int k = 0; k < p->nseries; k++) {
      const nnb_pl_case *c = nnb_pl_find(p, k, s, 0, 1);
      cJSON *arr = c ? cJSON_GetObjectItem(c->rec, "samples_s") : NULL;
      int n = cJSON_GetArraySize(arr), i = 0;
      double *x = n ? malloc((size_t)n * sizeof *x) : NULL;
      if (!x) continue;
      cJSON *t;
      cJSON_ArrayForEach(t, arr) x[i++] = cJSON_IsNumber(t) ? t->valuedouble * 1e3 : NAN;
      qsort(x, (size_t)n, sizeof *x, by_double);
      fprintf(d, "# %s, batch 1 inference, %s: latency (ms), fraction of iterations <= it\n",
              p->spec_label[s], p->series[k].label);
      /* Enough steps to draw the curve; a few thousand would only weigh on the SVG. */
      int steps = n < CDF_STEPS ? n : CDF_STEPS;
      for (int j = 0; j < steps; j++) {
        i = (int)ceil((j + 1.0) * n / steps) - 1;
        fprintf(d, "%.6g %.6g\n", x[i], (i + 1.0) / n);
        span(x[i], &lo, &hi);
      }
      fprintf(d, "\n\n");
      free(x);
      nnb_pl_series_list_add(series, k);
      blocks++;
    }
    if (blocks == first) {
      free(series);
      continue;
    }
    snprintf(title, sizeof title, "%s, batch 1 inference", p->spec_label[s]);
    nnb_pl_panel_vars(v, ++panels, title, first, series);
    free(series);
    fprintf(v, "panel_logx_%d = %d\n", panels, hi > 10 * lo);
  }
  fprintf(v, "npanels = %d\n", panels);
  if (!panels) snprintf(why, len, "no inference case ran at batch 1");
  return panels > 0;
}

int nnb_pl_roofline(const nnb_pl *p, const cJSON *doc, FILE *v, FILE *d, char *why, size_t len) {
  double xlo = INFINITY, xhi = 0, ylo = INFINITY, yhi = 0;
  int points = 0;
  for (int k = 0; k < p->nseries; k++) {
    fprintf(d, "# %s: arithmetic intensity (FLOP/byte), GFLOP/s, model number, training\n",
            p->series[k].label);
    for (int i = 0; i < p->ncases; i++) {
      const nnb_pl_case *c = &p->cases[i];
      double ai = nnb_json_num(c->rec, "arithmetic_intensity"), g = nnb_json_num(c->rec, "gflops");
      if (c->series != k || !(ai > 0) || !(g > 0)) continue;
      fprintf(d, "%.6g %.6g %d %d\n", ai, g, c->spec + 1, c->train);
      span(ai, &xlo, &xhi);
      span(g, &ylo, &yhi);
      points++;
    }
    fprintf(d, "\n\n");
  }
  if (!points) {
    snprintf(why, len, "no case has an achieved GFLOP/s and an arithmetic intensity");
    return 0;
  }
  /* The ceilings are measured by the run (nnbench sysinfo's peak object). */
  const cJSON *peak = nnb_json_at(doc, "provenance.peak");
  static const char *const keys[] = {"all_core_gflops", "single_core_gflops", "all_thread_copy_gbs",
                                     "single_thread_copy_gbs"};
  static const char *const vars[] = {"peak_all", "peak_single", "bw_all", "bw_single"};
  double val[4];
  for (int i = 0; i < 4; i++) {
    val[i] = nnb_json_num(peak, keys[i]);
    if (isnan(val[i]))
      fprintf(v, "%s = NaN\n", vars[i]);
    else
      fprintf(v, "%s = %.6g\n", vars[i], val[i]);
    if (i < 2) span(val[i], &ylo, &yhi);
  }
  for (int i = 0; i < 2; i++) /* the ridge points, where bandwidth meets compute */
    if (val[i] > 0 && val[i + 2] > 0) span(val[i] / val[i + 2], &xlo, &xhi);
  fprintf(v, "peak_isa = '%s'\n", nnb_json_str(peak, "isa"));
  fprintf(v, "peak_threads = %.0f\n", nnb_json_num(peak, "threads"));
  fprintf(v, "xmin = %.6g\nxmax = %.6g\nymin = %.6g\nymax = %.6g\n", xlo / 3, xhi * 3, ylo / 3,
          yhi * 2);
  fprintf(v, "models = '");
  for (int s = 0; s < p->nspecs; s++) fprintf(v, "%s\"%s\"", s ? " " : "", p->spec_label[s]);
  fprintf(v, "'\n");
  return 1;
}
