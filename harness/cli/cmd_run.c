/* nnbench run SUITE.ini: runs a declared suite and writes its results. */
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "cli.h"
#include "results.h"
#include "suite_run.h"

static void help(void) {
  printf(
      "usage: nnbench run SUITE.ini [--out DIR] [--rounds N] [--pin CPUS] [--accuracy-samples N]\n"
      "                             [--weights DIR] [--json]\n\n"
      "Runs every case of the suite (suites/quick.ini is the default job, suites/full.ini\n"
      "the long one), each in its own process with a time limit, and writes\n"
      "results.json and results.csv into DIR (default results/<suite>-<UTC time>/),\n"
      "rewritten after every round. Each case is measured in rounds (the suite's\n"
      "'rounds', default 3, or --rounds N for every case), each a fresh process, the\n"
      "rounds of all cases interleaved in a seeded order. --pin CPUS pins every\n"
      "process to a CPU list (0, 0-1, 1,3). A crashing or hanging case is recorded as failed\n"
      "and the suite goes on. --accuracy-samples N (default 1000, 0 to skip) sets how\n"
      "many test samples the accuracy section evaluates on every backend, with the\n"
      "weights in DIR/<model>.safetensors when --weights DIR (or the suite's 'weights'\n"
      "key) names a folder, else the seeded initialisation.\n"
      "Prints the results folder on stdout at the end (with --json, results.json\n"
      "instead); progress and the summary table go to stderr.\n"
      "Suite file format: docs/suites.md. Results schema: docs/results-schema.md.\n");
}

int cmd_run(int argc, char **argv) {
  const char *path = NULL, *out = NULL, *weights = NULL;
  const char *pin = NULL;
  unsigned long long acc = 1000, rounds = 0;
  int json = 0;
  if (cli_wants_help(argc, argv)) {
    help();
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      json = 1;
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--weights") && i + 1 < argc)
      weights = argv[++i];
    else if (!strcmp(argv[i], "--pin") && i + 1 < argc) {
      char err[160];
      if (nnb_cpulist_parse(pin = argv[++i], NULL, err, sizeof err))
        return cli_usage_error("run", "--pin: %s", err);
    } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
      if (cli_parse_u64(argv[++i], &rounds) || rounds < 1 || rounds > 1000)
        return cli_usage_error("run", "--rounds needs an integer from 1 to 1000, got '%s'",
                               argv[i]);
    } else if (!strcmp(argv[i], "--accuracy-samples") && i + 1 < argc) {
      if (cli_parse_u64(argv[++i], &acc))
        return cli_usage_error("run", "--accuracy-samples needs an integer");
    } else if (argv[i][0] != '-' && !path)
      path = argv[i];
    else
      return cli_usage_error("run", "unexpected argument '%s'", argv[i]);
  }
  if (!path) return cli_usage_error("run", "which suite? e.g. nnbench run suites/quick.ini");
  nnb_error e = {{0}};
  nnb_suite s;
  if (nnb_suite_load(path, &s, &e) != NNB_OK) {
    fprintf(stderr, "nnbench run: %s\n", e.msg);
    return 1;
  }
  nnb_run_options o = {.out_dir = out,
                       .argc = argc,
                       .argv = argv,
                       .accuracy_samples = (int)acc,
                       .weights = weights,
                       .rounds = (int)rounds,
                       .pin = pin};
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
