/* nnb_plot_results and nnb_plot_compare: the kinds of plot, each drawn from
 * its writer's data by its template (see plot.h). */
#include "plot.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gnuplot.h"
#include "jsonpath.h"
#include "plot_data.h"
#include "results.h"

static const struct {
  nnb_plot_kind kind;
  nnb_pl_writer *write;
} kinds[NNB_PLOT_KINDS] = {
    {{"vs_peer", "Speed relative to PyTorch",
      "Each backend's speed (at each thread count measured) relative to the peer's, PyTorch "
      "unless another peer ran, at the peer's best thread count: above 1 is faster. Error bars: "
      "95% confidence interval of the ratio."},
     nnb_pl_vs_peer},
    {{"throughput", "Throughput per model and backend",
      "Samples per second (median; error bars: bootstrap 95% confidence interval of the median) "
      "at the largest batch measured, for inference and for training."},
     nnb_pl_throughput},
    {{"scaling", "Batch-size scaling",
      "Samples per second against the batch size, one line per backend, on logarithmic axes "
      "(error bars: 95% confidence interval)."},
     nnb_pl_scaling},
    {{"latency", "Latency distribution at batch 1",
      "The cumulative distribution of every timed batch-1 inference: the fraction of "
      "iterations that finished within a given time, one line per backend."},
     nnb_pl_latency},
    {{"memory", "Memory by role",
      "Top: the bytes the memory planner gives each role (without reuse), and the planned "
      "total with reuse. Middle: each backend's peak, hatched where it goes beyond the plan "
      "(workspace). Bottom: the peak resident set size of the case's process."},
     nnb_pl_memory},
    {{"loss", "Training loss",
      "The loss of every timed training step, one line per backend, at the largest batch "
      "trained."},
     nnb_pl_loss},
    {{"roofline", "Roofline",
      "Achieved GFLOP/s against arithmetic intensity for every case (colour: backend; shape: "
      "model; open: inference, filled: training), under the peak FLOP/s and copy bandwidth "
      "measured at the start of the run (solid: all cores, dashed: one core)."},
     nnb_pl_roofline},
    {{"ranks", "Data-parallel scaling over MPI ranks",
      "Scaling efficiency of data-parallel training (bench --ranks) against the number of MPI "
      "ranks: strong (the global batch fixed; the one-rank step time over N times the N-rank "
      "one) and weak (the batch per rank fixed; the one-rank step time over the N-rank one); "
      "right: the share of a step spent in MPI_Allreduce."},
     nnb_pl_ranks},
};

const nnb_plot_kind *nnb_plot_kind_at(int i) {
  return i >= 0 && i < NNB_PLOT_KINDS ? &kinds[i].kind : NULL;
}

/* The absolute path of dir/plots, created when missing. */
static nnb_status plots_dir(const char *dir, char *out, size_t len, nnb_error *e) {
  char abs[PATH_MAX];
  if (!realpath(dir, abs))
    return nnb_fail(e, NNB_ERR_IO, "cannot open %s: %s", dir, strerror(errno));
  if ((size_t)snprintf(out, len, "%s/plots", abs) >= len)
    return nnb_fail(e, NNB_ERR_IO, "path too long: %s/plots", abs);
  if (mkdir(out, 0777) && errno != EEXIST)
    return nnb_fail(e, NNB_ERR_IO, "cannot create %s: %s", out, strerror(errno));
  return NNB_OK;
}

/* Runs a writer into memory; 1 when it has something to draw. */
static int write_plot(nnb_pl_writer *w, const nnb_pl *p, const cJSON *doc, char **vars, char **data,
                      char *why, size_t len) {
  size_t vl = 0, dl = 0;
  FILE *v = open_memstream(vars, &vl), *d = open_memstream(data, &dl);
  int ok = v && d;
  if (ok) nnb_pl_series_vars(v, p->series, p->nseries);
  ok = ok && w(p, doc, v, d, why, len);
  if (v) fclose(v);
  if (d) fclose(d);
  return ok && *vars && *data;
}

static void remove_outputs(const char *dir, const char *name) {
  char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "%s/%s.png", dir, name);
  remove(path);
  snprintf(path, sizeof path, "%s/%s.svg", dir, name);
  remove(path);
}

nnb_status nnb_plot_results(const char *dir, const cJSON *doc, nnb_plot_outcome out[NNB_PLOT_KINDS],
                            nnb_error *e) {
  nnb_gnuplot g;
  char pdir[PATH_MAX];
  nnb_pl p;
  nnb_status st = nnb_gnuplot_open(&g, e);
  if (st == NNB_OK) st = plots_dir(dir, pdir, sizeof pdir, e);
  if (st == NNB_OK) st = nnb_pl_collect(doc, &p, e);
  if (st != NNB_OK) return st;
  for (int i = 0; i < NNB_PLOT_KINDS && st == NNB_OK; i++) {
    char *vars = NULL, *data = NULL;
    memset(&out[i], 0, sizeof out[i]);
    if (write_plot(kinds[i].write, &p, doc, &vars, &data, out[i].skipped, sizeof out[i].skipped)) {
      st = nnb_gnuplot_draw(&g, pdir, kinds[i].kind.name, vars, data, e);
      out[i].drawn = st == NNB_OK;
    } else {
      if (!*out[i].skipped) snprintf(out[i].skipped, sizeof out[i].skipped, "out of memory");
      remove_outputs(pdir, kinds[i].kind.name); /* no stale figure from an earlier run */
    }
    free(vars);
    free(data);
  }
  nnb_pl_free(&p);
  return st;
}

/* The case's name without its model's parameters ("mlp:hidden=128 ..." ->
 * "mlp ..."), when no other row then reads the same. */
static void short_labels(const cJSON *rows, char (*label)[256], int n) {
  int i = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, rows) {
    const char *c = nnb_json_str(r, "case"), *colon = strchr(c, ':'), *space = strchr(c, ' ');
    if (colon && space && colon < space)
      snprintf(label[i], sizeof label[i], "%.*s%s", (int)(colon - c), c, space);
    else
      snprintf(label[i], sizeof label[i], "%s", c);
    i++;
  }
  int clash = 0;
  for (i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) clash |= !strcmp(label[i], label[j]);
  if (!clash) return;
  i = 0;
  cJSON_ArrayForEach(r, rows) snprintf(label[i++], sizeof label[i], "%s", nnb_json_str(r, "case"));
}

nnb_status nnb_plot_compare(const char *out_dir, const cJSON *rows, const char *title,
                            nnb_error *e) {
  int n = cJSON_GetArraySize(rows), nseries = 0;
  if (n < 1) return nnb_fail(e, NNB_ERR_INVALID, "no case is in both results: nothing to plot");
  if (mkdir(out_dir, 0777) && errno != EEXIST)
    return nnb_fail(e, NNB_ERR_IO, "cannot create %s: %s", out_dir, strerror(errno));
  char abs[PATH_MAX];
  if (!realpath(out_dir, abs))
    return nnb_fail(e, NNB_ERR_IO, "cannot open %s: %s", out_dir, strerror(errno));
  nnb_pl_series *series = calloc((size_t)n + 1, sizeof *series);
  int *of = calloc((size_t)n + 1, sizeof *of);
  char(*label)[256] = calloc((size_t)n, sizeof *label);
  char *vars = NULL, *data = NULL;
  size_t vl = 0, dl = 0;
  FILE *v = open_memstream(&vars, &vl), *d = open_memstream(&data, &dl);
  if (!series || !of || !label || !v || !d) {
    if (v) fclose(v);
    if (d) fclose(d);
    free(series), free(of), free(label), free(vars), free(data);
    return nnb_fail(e, NNB_ERR_NOMEM, "out of memory");
  }
  int i = 0;
  double lo = 1, hi = 1;
  const cJSON *r;
  cJSON_ArrayForEach(r, rows) {
    of[i++] = nnb_pl_series_index(series, &nseries, nnb_json_str(r, "backend"), "", 0);
    double l = nnb_json_num(r, "ratio_ci95_lo"), h = nnb_json_num(r, "ratio_ci95_hi");
    if (l > 0 && l < lo) lo = l;
    if (h > hi) hi = h;
  }
  short_labels(rows, label, n);
  /* One block per backend, so each takes its palette colour; rows from the top. */
  for (int k = 0; k < nseries; k++) {
    fprintf(d, "# %s: row, ratio B/A of median times, 95%% CI low, high, verdict\n",
            series[k].label);
    i = 0;
    cJSON_ArrayForEach(r, rows) {
      if (of[i] == k) {
        fprintf(d, "%d %.6g %.6g %.6g ", n - i, nnb_json_num(r, "ratio"),
                nnb_json_num(r, "ratio_ci95_lo"), nnb_json_num(r, "ratio_ci95_hi"));
        const char *verdict = nnb_json_str(r, "verdict");
        nnb_pl_data_word(d, strcmp(verdict, "same") ? verdict : "");
        fputc('\n', d);
      }
      i++;
    }
    fprintf(d, "\n\n");
  }
  fprintf(d, "# row, case\n");
  for (i = 0; i < n; i++) {
    fprintf(d, "%d ", n - i);
    nnb_pl_data_word(d, label[i]);
    fputc('\n', d);
  }
  nnb_pl_series_vars(v, series, nseries);
  fprintf(v, "nrows = %d\nlabels_block = %d\nxmin = %.6g\nxmax = %.6g\ncompare_title = ", n,
          nseries, lo / 1.25, hi * 1.25);
  nnb_gnuplot_quote(v, title);
  fputc('\n', v);
  fclose(v);
  fclose(d);
  nnb_gnuplot g;
  nnb_status st = nnb_gnuplot_open(&g, e);
  if (st == NNB_OK) st = nnb_gnuplot_draw(&g, abs, "compare", vars, data, e);
  free(series), free(of), free(label), free(vars), free(data);
  return st;
}

nnb_status nnb_results_load_dir(const char *path, char *dir, size_t len, cJSON **doc,
                                nnb_error *e) {
  struct stat sb;
  snprintf(dir, len, "%s", path);
  if (stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
    char *slash = strrchr(dir, '/');
    if (slash)
      *slash = 0;
    else
      snprintf(dir, len, ".");
  }
  return nnb_results_read(path, doc, e);
}

cJSON *nnb_plot_outcomes_json(const char *dir, const nnb_plot_outcome out[NNB_PLOT_KINDS]) {
  cJSON *arr = cJSON_CreateArray();
  for (int i = 0; i < NNB_PLOT_KINDS; i++) {
    cJSON *o = cJSON_CreateObject();
    const char *name = kinds[i].kind.name;
    char path[PATH_MAX + 64];
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddBoolToObject(o, "drawn", out[i].drawn);
    static const char *const keys[] = {"png", "svg", "data", "script"};
    static const char *const files[] = {"%s/plots/%s.png", "%s/plots/%s.svg",
                                        "%s/plots/data/%s.dat", "%s/plots/data/%s.gp"};
    for (int k = 0; k < 4; k++) {
      snprintf(path, sizeof path, files[k], dir, name);
      cJSON_AddStringToObject(o, keys[k], out[i].drawn ? path : "");
    }
    cJSON_AddStringToObject(o, "skipped", out[i].skipped);
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}
