/* nnbench plot RESULTS_DIR: draws the results' plots with gnuplot. */
#include <limits.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "plot.h"

static const char about[] =
    "Draws the plots of a results folder (or of its results.json) with gnuplot, as PNG\n"
    "and SVG files in RESULTS_DIR/plots/: throughput per model and backend, batch-size\n"
    "scaling, batch-1 latency distribution, memory by role, training loss and the\n"
    "roofline. A plot the results hold no data for is skipped, with the reason.\n"
    "The figures go to RESULTS_DIR/plots/data/NAME.dat with a driver NAME.gp that\n"
    "redraws the plot (gnuplot RESULTS_DIR/plots/data/NAME.gp). Styles live in the\n"
    "templates scripts/plots/*.gp; NNBENCH_PLOTS_DIR selects another folder of them,\n"
    "NNBENCH_GNUPLOT another gnuplot. Prints the plots folder on stdout, or with\n"
    "--json each plot's files. Docs: docs/plots.md";

int cmd_plot(int argc, char **argv) {
  const char *path = NULL;
  int json = 0;
  cli_option opts[] = {
      {"RESULTS_DIR", NULL, CLI_STR, &path, NULL, "the results"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print each plot's files as JSON"},
  };
  cli_spec spec = CLI_SPEC("plot", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  if (!path) return cli_usage_error("plot", "which results? e.g. nnbench plot results/quick-...");
  nnb_error e = {{0}};
  char dir[PATH_MAX];
  cJSON *doc = NULL;
  nnb_plot_outcome out[NNB_PLOT_KINDS];
  nnb_status st = nnb_results_load_dir(path, dir, sizeof dir, &doc, &e);
  if (st == NNB_OK) st = nnb_plot_results(dir, doc, out, &e);
  cJSON_Delete(doc);
  if (st != NNB_OK) {
    fprintf(stderr, "nnbench plot: %s\n", e.msg);
    return 1;
  }
  for (int i = 0; i < NNB_PLOT_KINDS; i++)
    if (!out[i].drawn)
      fprintf(stderr, "%s: not drawn: %s\n", nnb_plot_kind_at(i)->name, out[i].skipped);
  if (json) {
    cJSON *o = cJSON_CreateObject();
    char plots[PATH_MAX + 8];
    snprintf(plots, sizeof plots, "%s/plots", dir);
    cJSON_AddStringToObject(o, "plots_dir", plots);
    cJSON_AddItemToObject(o, "plots", nnb_plot_outcomes_json(dir, out));
    return cli_print_json(o);
  }
  printf("%s/plots\n", dir);
  return 0;
}
