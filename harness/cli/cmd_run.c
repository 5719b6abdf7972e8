/* nnbench run SUITE.ini: runs a declared suite and writes its results. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "memory_limit.h"
#include "results.h"
#include "suite_run.h"

static void help(void) {
  printf("usage: nnbench run SUITE.ini [--out DIR] [--accuracy-samples N] [--weights DIR]\n"
         "                   [--memory-limit SIZE] [--json]\n"
         "       nnbench run --resume DIR [SUITE.ini] [--force] [...]\n\n"
         "Runs every case of the suite (suites/quick.ini is the default job, suites/full.ini\n"
         "the long one), each in its own process with a time limit, and writes\n"
         "results.json and results.csv into DIR (default results/<suite>-<UTC time>/),\n"
         "rewritten atomically after every case. A crashing or hanging case is recorded as\n"
         "failed and the suite goes on. DIR is locked while the run writes it, and a\n"
         "folder that already holds a run is refused. --resume DIR continues an\n"
         "interrupted run there (the suite named in its results unless SUITE.ini is given):\n"
         "only the cases it has no record of run; a different suite, nnbench commit or\n"
         "machine is refused unless --force. --memory-limit SIZE (8G, 512M, 60%%, none;\n"
         "default 75%% of physical memory) refuses, before allocating, a case whose\n"
         "estimated memory is larger, and caps each case's process at it. --accuracy-samples N "
         "(default 1000, 0 to skip) sets how\n"
         "many test samples the accuracy section evaluates on every backend, with the\n"
         "weights in DIR/<model>.safetensors when --weights DIR (or the suite's 'weights'\n"
         "key) names a folder, else the seeded initialisation.\n"
         "Prints the results folder on stdout at the end (with --json, results.json\n"
         "instead); progress and the summary table go to stderr.\n"
         "Suite file format: docs/suites.md. Results schema: docs/results-schema.md.\n");
}

int cmd_run(int argc, char **argv) {
  const char *path = NULL, *out = NULL, *weights = NULL, *resume = NULL;
  unsigned long long acc = 1000;
  int json = 0, force = 0;
  uint64_t memory_limit = nnb_mem_default_limit();
  nnb_error e = {{0}};
  if (cli_wants_help(argc, argv)) {
    help();
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--json"))
      json = 1;
    else if (!strcmp(argv[i], "--force"))
      force = 1;
    else if (!strcmp(argv[i], "--resume") && i + 1 < argc)
      resume = argv[++i];
    else if (!strcmp(argv[i], "--out") && i + 1 < argc)
      out = argv[++i];
    else if (!strcmp(argv[i], "--weights") && i + 1 < argc)
      weights = argv[++i];
    else if (!strcmp(argv[i], "--memory-limit") && i + 1 < argc) {
      if (nnb_mem_parse_limit(argv[++i], &memory_limit, &e) != NNB_OK)
        return cli_usage_error("run", "%s", e.msg);
    } else if (!strcmp(argv[i], "--accuracy-samples") && i + 1 < argc) {
      if (cli_parse_u64(argv[++i], &acc))
        return cli_usage_error("run", "--accuracy-samples needs an integer");
    } else if (argv[i][0] != '-' && !path)
      path = argv[i];
    else
      return cli_usage_error("run", "unexpected argument '%s'", argv[i]);
  }
  if (resume && out) return cli_usage_error("run", "--resume DIR writes into DIR; drop --out");
  if (force && !resume) return cli_usage_error("run", "--force goes with --resume DIR");
  char suite_file[1024];
  if (resume && !path) { /* the suite the interrupted run was measuring */
    cJSON *old;
    if (nnb_results_read(resume, &old, &e) != NNB_OK) {
      fprintf(stderr, "nnbench run: --resume %s: %s\n", resume, e.msg);
      return 1;
    }
    cJSON *file = cJSON_GetObjectItem(cJSON_GetObjectItem(old, "suite"), "file");
    snprintf(suite_file, sizeof suite_file, "%s", cJSON_IsString(file) ? file->valuestring : "");
    cJSON_Delete(old);
    if (!*suite_file || !strcmp(suite_file, "(command line)")) {
      fprintf(stderr,
              "nnbench run: --resume %s: its results name no suite file; give it: "
              "nnbench run --resume %s SUITE.ini\n",
              resume, resume);
      return 1;
    }
    path = suite_file;
  }
  if (!path) return cli_usage_error("run", "which suite? e.g. nnbench run suites/quick.ini");
  nnb_suite s;
  if (nnb_suite_load(path, &s, &e) != NNB_OK) {
    fprintf(stderr, "nnbench run: %s\n", e.msg);
    return 1;
  }
  nnb_run_options o = {resume ? resume : out, argc,  argv,        (int)acc, weights,
                       resume != NULL,        force, memory_limit};
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
