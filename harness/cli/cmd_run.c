/* nnbench run SUITE.ini: runs a declared suite and writes its results. */
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "cli.h"
#include "memory_limit.h"
#include "options.h"
#include "results.h"
#include "suite_run.h"

static const char about[] =
    "Runs every case of the suite (suites/quick.ini is the default job, suites/full.ini\n"
    "the long one), each in its own process with a time limit, and writes\n"
    "results.json and results.csv into DIR (default results/<suite>-<UTC time>/),\n"
    "rewritten atomically after every round. Each case is measured in rounds (the\n"
    "suite's 'rounds', default 3, or --rounds for every case), each a fresh process,\n"
    "the rounds of all cases interleaved in a seeded order (docs/statistics.md).\n"
    "A crashing or hanging case is recorded as failed and the suite goes on. DIR is\n"
    "locked while the run writes it, and a folder that already holds a run is\n"
    "refused. --resume DIR continues an interrupted run there (the suite named in\n"
    "its results unless SUITE.ini is given): only the rounds it has no record of\n"
    "run; a different suite, nnbench commit or machine is refused unless --force.\n"
    "--memory-limit SIZE (8G, 512M, 60%, none; default 75% of physical memory)\n"
    "refuses, before allocating, a case whose estimated memory is larger, and caps\n"
    "each case's process at it.\n"
    "--accuracy-samples N (0 to skip; default the suite's accuracy_samples, else\n"
    "1000) sets how many test samples the accuracy\n"
    "section evaluates on every backend, with the weights in DIR/<model>.safetensors\n"
    "when --weights DIR (or the suite's 'weights' key) names a folder, else the\n"
    "seeded initialisation.\n"
    "--shard I/N measures only the I-th of N parts of the cases, split by estimated\n"
    "time so that shards on N machines end together; 'nnbench merge' joins the\n"
    "shards' folders into one run (docs/scale-out.md).\n"
    "Prints the results folder on stdout at the end (with --json, results.json\n"
    "instead); progress and the summary table go to stderr.\n"
    "Suite file format: docs/suites.md. Results schema: docs/results-schema.md.";

/* The suite file an interrupted run in dir was measuring, into buf. */
static int suite_of(const char *dir, char *buf, size_t len, nnb_error *e) {
  cJSON *old;
  if (nnb_results_read(dir, &old, e) != NNB_OK) return 0;
  cJSON *file = cJSON_GetObjectItem(cJSON_GetObjectItem(old, "suite"), "file");
  snprintf(buf, len, "%s", cJSON_IsString(file) ? file->valuestring : "");
  cJSON_Delete(old);
  if (*buf && strcmp(buf, "(command line)")) return 1;
  nnb_fail(e, NNB_ERR_INVALID,
           "its results name no suite file; give it: nnbench run --resume %s SUITE.ini", dir);
  return 0;
}

int cmd_run(int argc, char **argv) {
  const char *path = NULL, *out = NULL, *weights = NULL, *resume = NULL, *limit = NULL;
  unsigned long long acc;
  double max_step;
  int json = 0, rounds = 0, force = 0;
  const char *pin = NULL, *shard = NULL;
  cli_kv backend_opts;
  cli_option opts[] = {
      {"SUITE.ini", NULL, CLI_STR, &path, NULL, "the suite"},
      {"--out", "DIR", CLI_STR, &out, NULL, "the results folder"},
      {"--rounds", "N", CLI_POS_INT, &rounds, NULL, "rounds of every case (default: the suite's)"},
      {"--pin", "CPUS", CLI_STR, &pin, NULL, "pin each process to a CPU list: 0, 0-1, 1,3"},
      {"--max-step", "S", CLI_NUM, &max_step, NULL,
       "skip a case whose first step takes longer, for every case\n(0: no cap; default: the "
       "suite's max_step)"},
      {"--shard", "I/N", CLI_STR, &shard, NULL,
       "measure only shard I of N (merge them with nnbench merge)"},
      {"--resume", "DIR", CLI_STR, &resume, NULL, "continue the interrupted run in DIR"},
      {"--force", NULL, CLI_FLAG, &force, NULL,
       "with --resume: even another suite, commit or machine"},
      {"--memory-limit", "SIZE", CLI_STR, &limit, NULL,
       "refuse a case estimated larger (8G, 512M, 60%, none;\ndefault 75% of physical memory)"},
      CLI_BACKEND_OPT(&backend_opts),
      {"--accuracy-samples", "N", CLI_U64, &acc, "1000", "test samples of the accuracy section"},
      {"--weights", "DIR", CLI_STR, &weights, NULL, "checkpoints for the accuracy section"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print results.json on stdout"},
  };
  cli_spec spec = CLI_SPEC("run", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  char err[160];
  if (pin && nnb_cpulist_parse(pin, NULL, err, sizeof err))
    return cli_usage_error("run", "--pin: %s", err);
  nnb_error e = {{0}};
  uint64_t memory_limit = nnb_mem_default_limit();
  if (limit && nnb_mem_parse_limit(limit, &memory_limit, &e) != NNB_OK)
    return cli_usage_error("run", "%s", e.msg);
  nnb_shard part = {0, 0};
  if (shard && nnb_shard_parse(shard, &part, &e) != NNB_OK)
    return cli_usage_error("run", "%s", e.msg);
  if (resume && out) return cli_usage_error("run", "--resume DIR writes into DIR; drop --out");
  if (force && !resume) return cli_usage_error("run", "--force goes with --resume DIR");
  char suite_file[1024];
  if (resume && !path) { /* the suite the interrupted run was measuring */
    if (!suite_of(resume, suite_file, sizeof suite_file, &e)) {
      fprintf(stderr, "nnbench run: --resume %s: %s\n", resume, e.msg);
      return 1;
    }
    path = suite_file;
  }
  if (!path) return cli_usage_error("run", "which suite? e.g. nnbench run suites/quick.ini");
  nnb_suite s;
  if (nnb_suite_load(path, &s, &e) != NNB_OK ||
      nnb_suite_set_options(&s, backend_opts.text, &e) != NNB_OK) {
    fprintf(stderr, "nnbench run: %s\n", e.msg);
    return 1;
  }
  if (!cli_given(&spec, "--accuracy-samples") && s.accuracy_samples >= 0)
    acc = (unsigned long long)s.accuracy_samples;
  if (cli_given(&spec, "--max-step"))
    for (int i = 0; i < s.n_cases; i++) s.cases[i].max_step = max_step;
  nnb_run_options o = {.out_dir = resume ? resume : out,
                       .argc = argc,
                       .argv = argv,
                       .accuracy_samples = (int)acc,
                       .weights = weights,
                       .rounds = rounds,
                       .pin = pin,
                       .resume = resume != NULL,
                       .force = force,
                       .memory_limit = memory_limit,
                       .shard = part};
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
