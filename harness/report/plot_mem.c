/* The writers of the memory plot (planned bytes by role, each backend's
 * peak and the process's peak RSS) and of the training loss curves. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gnuplot.h"
#include "jsonpath.h"
#include "plot_data.h"

#define MIB (1024.0 * 1024.0)

static double mib(const cJSON *rec, const char *path) { return nnb_json_num(rec, path) / MIB; }

/* The part of the backend's peak that the plan accounts for: the peak less
 * the workspace newer runs record, else the planned buffers themselves. */
static double planned_mib(const cJSON *rec) {
  double ws = mib(rec, "memory.workspace_bytes");
  if (!isnan(ws)) return mib(rec, "memory.backend_peak_bytes") - ws;
  return mib(rec, "memory.persistent_bytes") + mib(rec, "memory.arena_bytes");
}

/* A case of the memory plot's row (spec, train) at the row's batch, on any series. */
static const nnb_pl_case *row_case(const nnb_pl *p, int spec, int train, int batch) {
  for (int k = 0; k < p->nseries; k++) {
    const nnb_pl_case *c = nnb_pl_find(p, k, spec, train, batch);
    if (c) return c;
  }
  return NULL;
}

int nnb_pl_memory(const nnb_pl *p, const cJSON *doc, FILE *v, FILE *d, char *why, size_t len) {
  int rows = 0, uniform = -1;
  for (int s = 0; s < p->nspecs; s++)
    for (int train = 0; train < 2; train++) {
      int b = nnb_pl_max_batch(p, s, train);
      if (b) uniform = uniform < 0 || uniform == b ? b : 0;
    }
  /* Block 0: the planner's bytes by role, the same on every backend. */
  fprintf(d, "# case, then MiB planned (without reuse) for parameters, activations, gradients,\n"
             "# optimizer state, inputs and labels; then the planned total with reuse\n");
  for (int s = 0; s < p->nspecs; s++)
    for (int train = 0; train < 2; train++) {
      int b = nnb_pl_max_batch(p, s, train);
      if (!b) continue;
      const cJSON *r = row_case(p, s, train, b)->rec;
      char label[160];
      if (uniform > 0)
        snprintf(label, sizeof label, "%s\n%s", p->spec_label[s], train ? "training" : "inference");
      else
        snprintf(label, sizeof label, "%s\n%s\nbatch %d", p->spec_label[s], /* 3 short lines */
                 train ? "train" : "infer", b);
      nnb_pl_data_word(d, label);
      fprintf(d, " %.6g %.6g %.6g %.6g %.6g %.6g\n", mib(r, "memory.by_role_bytes.parameter"),
              mib(r, "memory.by_role_bytes.activation"), mib(r, "memory.by_role_bytes.gradient"),
              mib(r, "memory.by_role_bytes.optimizer_state"),
              mib(r, "memory.by_role_bytes.input") + mib(r, "memory.by_role_bytes.label"),
              mib(r, "memory.persistent_bytes") + mib(r, "memory.arena_bytes"));
      rows++;
    }
  fprintf(d, "\n\n");
  if (!rows) {
    snprintf(why, len, "no case ran successfully");
    return 0;
  }
  /* Blocks 1..nseries: each backend's bars, at x = row + offset. */
  double width = 0.8 / p->nseries;
  for (int k = 0; k < p->nseries; k++) {
    fprintf(d, "# %s: x, MiB planned (persistent + arena), backend peak, process peak RSS\n",
            p->series[k].label);
    int row = 0;
    for (int s = 0; s < p->nspecs; s++)
      for (int train = 0; train < 2; train++) {
        int b = nnb_pl_max_batch(p, s, train);
        if (!b) continue;
        const nnb_pl_case *c = nnb_pl_find(p, k, s, train, b);
        if (c)
          fprintf(d, "%.4f %.6g %.6g %.6g\n", row - 0.4 + (k + 0.5) * width, planned_mib(c->rec),
                  mib(c->rec, "memory.backend_peak_bytes"), mib(c->rec, "memory.peak_rss_bytes"));
        row++;
      }
    fprintf(d, "\n\n");
  }
  fprintf(v, "nrows = %d\nbar_width = %.4f\nbatch_note = ", rows, width);
  char note[64] = "at the largest batch of each model and mode";
  if (uniform > 0) snprintf(note, sizeof note, "at batch %d", uniform);
  nnb_gnuplot_quote(v, note);
  fputc('\n', v);
  return 1;
}

int nnb_pl_loss(const nnb_pl *p, const cJSON *doc, FILE *v, FILE *d, char *why, size_t len) {
  int panels = 0, blocks = 0;
  for (int s = 0; s < p->nspecs; s++) {
    int batch = 0, max_steps = 0;
    for (int i = 0; i < p->ncases; i++) {
      const nnb_pl_case *c = &p->cases[i];
      if (c->spec == s && c->train && c->batch > batch &&
          cJSON_GetArraySize(cJSON_GetObjectItem(c->rec, "loss")) > 0)
        batch = c->batch;
    }
    if (!batch) continue;
    char title[160], *series = nnb_pl_series_list(p);
    if (!series) return snprintf(why, len, "out of memory"), 0;
    int first = blocks;
    for (int k = 0; k < p->nseries; k++) {
      const nnb_pl_case *c = nnb_pl_find(p, k, s, 1, batch);
      cJSON *arr = c ? cJSON_GetObjectItem(c->rec, "loss") : NULL, *x;
      if (cJSON_GetArraySize(arr) < 1) continue;
      fprintf(d, "# %s, training at batch %d, %s: timed step, loss\n", p->spec_label[s], batch,
              p->series[k].label);
      int step = 0;
      cJSON_ArrayForEach(x, arr)
          fprintf(d, "%d %.6g\n", ++step, cJSON_IsNumber(x) ? x->valuedouble : NAN);
      if (step > max_steps) max_steps = step;
      fprintf(d, "\n\n");
      nnb_pl_series_list_add(series, k);
      blocks++;
    }
    snprintf(title, sizeof title, "%s, training at batch %d", p->spec_label[s], batch);
    nnb_pl_panel_vars(v, ++panels, title, first, series);
    free(series);
    fprintf(v, "panel_steps_%d = %d\n", panels, max_steps);
  }
  fprintf(v, "npanels = %d\n", panels);
  if (!panels) snprintf(why, len, "no training case recorded a loss");
  return panels > 0;
}
