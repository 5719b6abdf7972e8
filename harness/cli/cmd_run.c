/* nnbench run SUITE.ini: runs a declared suite and writes its results. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "results.h"
#include "suite_run.h"

static const char about[] =
    "Runs every case of the suite (suites/quick.ini is the default job, suites/full.ini\n"
    "the long one), each in its own process with a time limit, and writes\n"
    "results.json and results.csv into DIR (default results/<suite>-<UTC time>/),\n"
    "rewritten after every case. A crashing or hanging case is recorded as failed\n"
    "and the suite goes on. --accuracy-samples N (0 to skip) sets how many test\n"
    "samples the accuracy section evaluates on every backend, with the weights in\n"
    "DIR/<model>.safetensors when --weights DIR (or the suite's 'weights' key) names\n"
    "a folder, else the seeded initialisation.\n"
    "Prints the results folder on stdout at the end (with --json, results.json\n"
    "instead); progress and the summary table go to stderr.\n"
    "Suite file format: docs/suites.md. Results schema: docs/results-schema.md.";

int cmd_run(int argc, char **argv) {
  const char *path = NULL, *out = NULL, *weights = NULL;
  unsigned long long acc;
  int json = 0;
  cli_kv backend_opts;
  cli_option opts[] = {
      {"SUITE.ini", NULL, CLI_STR, &path, NULL, "the suite"},
      {"--out", "DIR", CLI_STR, &out, NULL, "the results folder"},
      CLI_BACKEND_OPT(&backend_opts),
      {"--accuracy-samples", "N", CLI_U64, &acc, "1000", "test samples of the accuracy section"},
      {"--weights", "DIR", CLI_STR, &weights, NULL, "checkpoints for the accuracy section"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print results.json on stdout"},
  };
  cli_spec spec = CLI_SPEC("run", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  if (!path) return cli_usage_error("run", "which suite? e.g. nnbench run suites/quick.ini");
  nnb_error e = {{0}};
  nnb_suite s;
  if (nnb_suite_load(path, &s, &e) != NNB_OK ||
      nnb_suite_set_options(&s, backend_opts.text, &e) != NNB_OK) {
    fprintf(stderr, "nnbench run: %s\n", e.msg);
    return 1;
  }
  nnb_run_options o = {out, argc, argv, (int)acc, weights};
  char dir[1024];
  int failed = 0;
  nnb_status st = nnb_suite_run(&s, &o, dir, sizeof dir, &failed, &e);
  nnb_suite_free(&s);
  if (st != NNB_OK) {
    fprintf(stderr, "nnbench run: %s\n", e.msg);
    return 1;
  }
  cJSON *doc;
  if (nnb_results_read(dir, &doc, &e) != NNB_OK) {
    fprintf(stderr, "nnbench run: %s\n", e.msg);
    return 1;
  }
  nnb_results_print_table(stderr, doc);
  fprintf(stderr, "%d case(s) failed; results: %s/results.json\n", failed, dir);
  if (json)
    cli_print_json(doc); /* takes the document */
  else {
    printf("%s\n", dir);
    cJSON_Delete(doc);
  }
  return 0;
}
