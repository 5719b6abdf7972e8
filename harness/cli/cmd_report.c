/* nnbench report RESULTS_DIR: report.md and report.html, with the plots. */
#include <limits.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "plot.h"
#include "report.h"

static const char about[] =
    "Writes RESULTS_DIR/report.md and RESULTS_DIR/report.html (the same content, the\n"
    "plots' SVGs inline, no other file needed): provenance, the median and its 95%\n"
    "confidence interval of every case, accuracy and agreement with the reference,\n"
    "memory, noisy and failed cases, and the plots, which it draws first as\n"
    "'nnbench plot' does (gnuplot needed). Prints the report's path on stdout, or\n"
    "with --json the files written.";

int cmd_report(int argc, char **argv) {
  const char *path = NULL;
  int json = 0, no_plots = 0;
  cli_option opts[] = {
      {"RESULTS_DIR", NULL, CLI_STR, &path, NULL, "the results"},
      {"--no-plots", NULL, CLI_FLAG, &no_plots, NULL,
       "leave the plots as they are and show those already in RESULTS_DIR/plots/"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print the files written as JSON"},
  };
  cli_spec spec = CLI_SPEC("report", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  int draw = !no_plots;
  if (!path)
    return cli_usage_error("report", "which results? e.g. nnbench report results/quick-...");
  nnb_error e = {{0}};
  char dir[PATH_MAX];
  cJSON *doc = NULL;
  nnb_plot_outcome out[NNB_PLOT_KINDS];
  nnb_status st = nnb_results_load_dir(path, dir, sizeof dir, &doc, &e);
  if (st == NNB_OK && draw) {
    st = nnb_plot_results(dir, doc, out, &e);
    if (st != NNB_OK)
      snprintf(e.msg + strlen(e.msg), sizeof e.msg - strlen(e.msg),
               " (--no-plots writes the report without drawing)");
  }
  if (st == NNB_OK) st = nnb_report_write(dir, doc, draw ? out : NULL, &e);
  cJSON_Delete(doc);
  if (st != NNB_OK) {
    fprintf(stderr, "nnbench report: %s\n", e.msg);
    return 1;
  }
  char md[PATH_MAX + 16], html[PATH_MAX + 16];
  snprintf(md, sizeof md, "%s/report.md", dir);
  snprintf(html, sizeof html, "%s/report.html", dir);
  if (json) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "report_md", md);
    cJSON_AddStringToObject(o, "report_html", html);
    if (draw) cJSON_AddItemToObject(o, "plots", nnb_plot_outcomes_json(dir, out));
    return cli_print_json(o);
  }
  printf("%s\n%s\n", md, html);
  return 0;
}
