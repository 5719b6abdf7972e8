/* Plots of benchmark results, drawn by gnuplot (PNG and SVG).
 *
 * For each kind of plot nnbench writes the figures it needs into
 * DIR/plots/data/NAME.dat and a small driver script DIR/plots/data/NAME.gp,
 * then runs gnuplot on the driver. The driver sets a few variables (files,
 * panels, the backends shown) and loads the template scripts/plots/NAME.gp
 * once for PNG and once for SVG. Every style choice lives in the templates
 * (sizes, fonts, the backend palette in palette.gp), so a user restyles a
 * plot by editing a copy of them (NNBENCH_PLOTS_DIR) and redraws it with
 * `gnuplot DIR/plots/data/NAME.gp` or `nnbench plot DIR`. */
#ifndef NNB_PLOT_H
#define NNB_PLOT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include <nnbench/status.h>

enum { NNB_PLOT_KINDS = 8 };

typedef struct nnb_plot_kind {
  const char *name;    /* file stem: plots/NAME.png and plots/NAME.svg */
  const char *title;   /* a heading for the report */
  const char *caption; /* what the plot shows */
} nnb_plot_kind;

/* The kinds of plot, in report order; i < NNB_PLOT_KINDS. */
const nnb_plot_kind *nnb_plot_kind_at(int i);

typedef struct nnb_plot_outcome {
  int drawn;         /* NAME.png and NAME.svg were written */
  char skipped[256]; /* why not, when not drawn: the results hold no data for it */
} nnb_plot_outcome;

/* Draws every plot of a results document (read from dir/results.json) into
 * dir/plots/. A plot without data is skipped (its stale files removed) and
 * says why in out[]. Fails before writing anything when gnuplot or the
 * templates cannot be found, and on the first gnuplot run that fails, with
 * gnuplot's own message. */
nnb_status nnb_plot_results(const char *dir, const cJSON *doc, nnb_plot_outcome out[NNB_PLOT_KINDS],
                            nnb_error *e);

/* Draws `nnbench compare`'s rows (objects with "case", "backend", "ratio",
 * "ratio_ci95_lo", "ratio_ci95_hi", "verdict") as out_dir/compare.png and
 * out_dir/compare.svg; `title` names the two runs. */
nnb_status nnb_plot_compare(const char *out_dir, const cJSON *rows, const char *title,
                            nnb_error *e);

/* Reads a results folder, or its results.json: dir gets the folder. */
nnb_status nnb_results_load_dir(const char *path, char *dir, size_t len, cJSON **doc, nnb_error *e);

/* The outcomes as JSON: [{"name", "drawn", "png", "svg", "data", "script",
 * "skipped"}], paths under dir. */
cJSON *nnb_plot_outcomes_json(const char *dir, const nnb_plot_outcome out[NNB_PLOT_KINDS]);

/* Where the templates are: $NNBENCH_PLOTS_DIR, else the install's
 * share/nnbench/plots next to the running binary, else the source tree's
 * scripts/plots, else the configured install prefix's. */
nnb_status nnb_plot_templates_dir(char *buf, size_t len, nnb_error *e);

#endif
