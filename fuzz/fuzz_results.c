/* results.json as compare, plot and report read it: the input is written as
 * a results folder's results.json, then
 *   - compare reads it as both runs (nnbench compare A A --json),
 *   - every plot writer turns it into gnuplot data and variables (without
 *     running gnuplot),
 *   - report writes report.md and report.html from it (without plots),
 *   - the results table is printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "fuzz_util.h"
#include "plot.h"
#include "plot_data.h"
#include "report.h"
#include "results.h"

static void plots(const cJSON *doc) {
  nnb_pl p;
  nnb_error e;
  if (nnb_pl_collect(doc, &p, &e) != NNB_OK) return;
  nnb_pl_writer *const writers[] = {nnb_pl_throughput, nnb_pl_scaling, nnb_pl_latency,
                                    nnb_pl_roofline,   nnb_pl_memory,  nnb_pl_loss,
                                    nnb_pl_ranks};
  for (size_t i = 0; i < sizeof writers / sizeof *writers; i++) {
    char *vars = NULL, *data = NULL, why[256] = "";
    size_t vl = 0, dl = 0;
    FILE *v = open_memstream(&vars, &vl), *d = open_memstream(&data, &dl);
    if (v && d) writers[i](&p, doc, v, d, why, sizeof why);
    if (v) fclose(v);
    if (d) fclose(d);
    free(vars);
    free(data);
  }
  nnb_pl_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  char dir[256];
  snprintf(dir, sizeof dir, "%s/r", nnb_fuzz_dir());
  if (!init) {
    nnb_fuzz_quiet();
    mkdir(dir, 0777);
    init = 1;
  }
  nnb_fuzz_write("r/results.json", data, size);
  char *argv[] = {"compare", dir, dir, "--json", NULL};
  cmd_compare(4, argv);
  cJSON *doc = NULL;
  char folder[1024];
  nnb_error e;
  if (nnb_results_load_dir(dir, folder, sizeof folder, &doc, &e) != NNB_OK) return 0;
  plots(doc);
  nnb_report_write(folder, doc, NULL, &e);
  FILE *null = fopen("/dev/null", "w");
  if (null) {
    nnb_results_print_table(null, doc);
    fclose(null);
  }
  cJSON_Delete(doc);
  return 0;
}
