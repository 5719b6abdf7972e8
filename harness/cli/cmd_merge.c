/* nnbench merge DIR... --out DIR: joins the shards of a run into one. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "merge.h"
#include "options.h"
#include "results.h"

static const char about[] =
    "Joins the results folders of the shards of one run ('nnbench run --shard I/N',\n"
    "each measured on its own machine) into one complete run in --out DIR, which\n"
    "'nnbench report', 'plot' and 'compare' take like any other. Refuses, naming\n"
    "the difference, folders of different suites (fingerprints), nnbench versions\n"
    "or commits, seeds or shard counts, a shard given twice or missing, a case in two\n"
    "folders and an unfinished folder; --force merges anyway and records the\n"
    "differences in the merged run. The cases keep the whole run's order; each\n"
    "shard's machine is recorded in run.merged (docs/results-schema.md).\n"
    "Prints the merged folder on stdout (with --json, its results.json).";

int cmd_merge(int argc, char **argv) {
  const char *first = NULL, *out = NULL;
  int force = 0, json = 0;
  cli_option opts[] = {
      {"DIR...", NULL, CLI_STR, &first, NULL, "the shards' results folders"},
      {"--out", "DIR", CLI_STR, &out, NULL, "the merged run's folder (required)"},
      {"--force", NULL, CLI_FLAG, &force, NULL, "merge despite differences (recorded)"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print the merged results.json on stdout"},
  };
  /* The folders are any number of positionals: the parser sees the first. */
  char **args = calloc((size_t)argc + 1, sizeof *args);
  const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
  if (!args || !dirs) {
    free(args), free(dirs);
    fprintf(stderr, "nnbench merge: out of memory\n");
    return 1;
  }
  int n_args = 0, n_dirs = 0;
  for (int i = 0; i < argc; i++) {
    int value = i > 0 && !strcmp(argv[i - 1], "--out");
    if (i > 0 && argv[i][0] != '-' && !value) {
      dirs[n_dirs++] = argv[i];
      if (n_dirs > 1) continue;
    }
    args[n_args++] = argv[i];
  }
  cli_spec spec = CLI_SPEC("merge", about, opts);
  int rc = cli_parse(&spec, n_args, args);
  free(args);
  if (rc < 0 && !n_dirs)
    rc = cli_usage_error("merge", "which folders? e.g. nnbench merge "
                                  "results/s1 results/s2 --out results/all");
  if (rc < 0 && !out) rc = cli_usage_error("merge", "--out DIR is required");
  if (rc >= 0) {
    free(dirs);
    return rc;
  }
  nnb_error e = {{0}};
  nnb_status st = nnb_merge_runs(dirs, n_dirs, out, force, &e);
  free(dirs);
  cJSON *doc = NULL;
  if (st == NNB_OK) st = nnb_results_read(out, &doc, &e);
  if (st != NNB_OK) {
    fprintf(stderr, "nnbench merge: %s\n", e.msg);
    return 1;
  }
  nnb_results_print_table(stderr, doc);
  fprintf(stderr, "merged %d folder(s); results: %s/results.json\n", n_dirs, out);
  if (json) return cli_print_json(doc); /* takes the document */
  printf("%s\n", out);
  cJSON_Delete(doc);
  return 0;
}
