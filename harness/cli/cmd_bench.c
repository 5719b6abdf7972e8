/* nnbench bench: one-off cases from the command line, run exactly as a
 * suite's cases are. */
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "cli.h"
#include "dist.h"
#include "memory_limit.h"
#include "options.h"
#include "results.h"
#include "suite_run.h"

static const char about[] =
    "Measures each model x backend x mode x batch as its own isolated case (see\n"
    "'nnbench run'). Lists are comma separated; model specs with parameters are\n"
    "separated by ';' instead ('transformer:d=256,layers=4;mlp'). Each case is\n"
    "measured in --rounds independent rounds, each a fresh process, the rounds of\n"
    "all cases interleaved in a seeded order; the median's CI and compare's test\n"
    "come from the variation between rounds (docs/statistics.md). Results go to DIR\n"
    "(default results/bench-<UTC time>/); --json prints results.json on stdout.\n"
    "--weights DIR evaluates DIR/<model>.safetensors (as 'nnbench train --out' writes)\n"
    "on every backend for the accuracy section (then --accuracy-samples defaults to\n"
    "1000); without it the accuracy section uses the seeded initialisation.\n"
    "--memory-limit SIZE (8G, 512M, 60%, none; default 75% of physical memory)\n"
    "refuses a case whose estimated memory is larger, and caps each case's process.\n"
    "--ranks N, run as 'mpirun -np N nnbench bench --mode train --ranks N ...' (one\n"
    "model, backend and batch): data-parallel training, each rank one backend on its\n"
    "part of every batch, the gradients averaged with MPI_Allreduce; measures 1, 2,\n"
    "4 ... N ranks, strong (--batch global) and weak (--batch per rank) scaling, for\n"
    "--min-iters timed steps after --warmup steps (docs/scale-out.md).";

/* "a,b,c" (';' between model specs when one has parameters) as the suite
 * key `key` with one item per indented line, so no list meets the suite
 * reader's line limit. */
static void write_list(FILE *f, const char *key, const char *src, int models) {
  char sep = models && strchr(src, ';') ? ';' : ',';
  fprintf(f, "%s =", key);
  while (*src) {
    size_t n = strcspn(src, (char[]){sep, 0});
    if (n) fprintf(f, "\n  %.*s", (int)n, src);
    src += n + (src[n] == sep);
  }
  fputc('\n', f);
}

/* bench --ranks: the data-parallel benchmark (dist.h), one model, backend
 * and batch, training only. */
static int bench_ranks(nnb_dist_config *c, const char *modes, const char *batches, int json) {
  char why[512];
  if (!nnb_dist_available(why, sizeof why))
    return cli_usage_error("bench", "--ranks is unavailable: %s", why);
  if (strcmp(modes, "train"))
    return cli_usage_error("bench", "--ranks measures training: give --mode train");
  /* one model spec (its parameters may hold commas), one backend */
  if (strchr(c->model, ';') || strchr(c->backend, ',') || !strcmp(c->backend, "all"))
    return cli_usage_error("bench", "--ranks takes one --model and one --backend (not all)");
  char *end;
  long batch = strtol(batches, &end, 10);
  if (*end || batch < 1 || batch > 1000000)
    return cli_usage_error("bench", "--ranks takes one --batch N, not '%s'", batches);
  c->batch = (int)batch;
  if (c->steps < 1)
    return cli_usage_error("bench", "--ranks times --min-iters steps: give 1 or more");
  char dir[1024];
  int rank = 0;
  nnb_error e = {{0}};
  nnb_status st = nnb_dist_bench(c, dir, sizeof dir, &rank, &e);
  if (st != NNB_OK) {
    fprintf(stderr, "nnbench bench (rank %d): %s\n", rank, e.msg);
    return 1;
  }
  if (rank) return 0;
  cJSON *doc = NULL;
  if (nnb_results_read(dir, &doc, &e) != NNB_OK) {
    fprintf(stderr, "nnbench bench: %s\n", e.msg);
    return 1;
  }
  const cJSON *row;
  int differ = 0;
  fprintf(stderr, "%-7s %5s %10s %12s %10s %10s %9s\n", "scaling", "ranks", "batch/rank", "step_ms",
          "allreduce", "efficiency", "params");
  cJSON_ArrayForEach(row, cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "distributed"), "runs")) {
    fprintf(stderr, "%-7s %5d %10d %12.3f %9.1f%% %10.3f %9s\n",
            cJSON_GetObjectItem(row, "scaling")->valuestring,
            cJSON_GetObjectItem(row, "ranks")->valueint,
            cJSON_GetObjectItem(row, "batch_per_rank")->valueint,
            1e3 * cJSON_GetObjectItem(row, "step_s")->valuedouble,
            100 * cJSON_GetObjectItem(row, "allreduce_share")->valuedouble,
            cJSON_GetObjectItem(row, "efficiency")->valuedouble,
            cJSON_IsTrue(cJSON_GetObjectItem(row, "params_identical")) ? "identical" : "DIFFER");
    differ |= !cJSON_IsTrue(cJSON_GetObjectItem(row, "params_identical"));
  }
  if (differ) /* data-parallel training is wrong when the ranks drift apart */
    fprintf(stderr,
            "nnbench bench: the ranks' parameters differ after a step (see "
            "params_first_differ_step in %s/results.json)\n",
            dir);
  fprintf(stderr, "results: %s/results.json\n", dir);
  if (json) return cli_print_json(doc) | differ; /* takes the document */
  printf("%s\n", dir);
  cJSON_Delete(doc);
  return differ;
}

int cmd_bench(int argc, char **argv) {
  const char *models = NULL, *backends, *modes, *batches, *out = NULL, *dataset, *weights = NULL,
             *limit = NULL;
  double min_time, timeout, max_step;
  unsigned long long threads, min_iters, warmup, seed, acc;
  int rounds, ranks = 0;
  const char *pin = NULL;
  int json = 0;
  cli_kv backend_opts;
  cli_option opts[] = {
      {"--model", "M[,M...]", CLI_STR, &models, NULL, "the models to measure (required)"},
      {"--backend", "B[,B...]|all", CLI_STR, &backends, "all", "the backends"},
      CLI_BACKEND_OPT(&backend_opts),
      {"--mode", "infer,train", CLI_STR, &modes, "infer", "inference, training or both"},
      {"--batch", "N[,N...]", CLI_STR, &batches, "1", "batch sizes"},
      {"--threads", "N", CLI_U64, &threads, "0", "threads per backend, 0 for its own default"},
      {"--min-time", "S", CLI_NUM, &min_time, "1", "seconds of repetitions at least"},
      {"--min-iters", "N", CLI_U64, &min_iters, "10", "repetitions at least"},
      {"--warmup", "N", CLI_U64, &warmup, "3", "untimed steps first, at least"},
      {"--rounds", "N", CLI_POS_INT, &rounds, "3", "rounds per case, each a fresh process"},
      {"--pin", "CPUS", CLI_STR, &pin, NULL, "pin each process to a CPU list: 0, 0-1, 1,3"},
      {"--timeout", "S", CLI_NUM, &timeout, "300", "seconds before a case is stopped"},
      {"--max-step", "S", CLI_NUM, &max_step, "0",
       "skip a case whose first step takes longer (0: no cap)"},
      {"--dataset", "SPEC", CLI_STR, &dataset, "fashion-mnist",
       "the data (see 'nnbench list datasets')"},
      {"--seed", "N", CLI_U64, &seed, "1", "seed of weights, data and bootstrap"},
      {"--out", "DIR", CLI_STR, &out, NULL, "the results folder"},
      {"--accuracy-samples", "N", CLI_U64, &acc, "0", "test samples of the accuracy section"},
      {"--weights", "DIR", CLI_STR, &weights, NULL, "checkpoints for the accuracy section"},
      {"--memory-limit", "SIZE", CLI_STR, &limit, NULL,
       "refuse a case estimated larger (8G, 512M, 60%, none;\ndefault 75% of physical memory)"},
      {"--ranks", "N", CLI_POS_INT, &ranks, NULL,
       "data-parallel training on N MPI ranks (under mpirun)"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print results.json on stdout"},
  };
  cli_spec spec = CLI_SPEC("bench", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  if (cli_given(&spec, "--ranks")) {
    nnb_dist_config dc = {models,
                          backends,
                          backend_opts.text,
                          dataset,
                          0,
                          (int)min_iters,
                          (int)warmup,
                          (int)threads,
                          ranks,
                          seed,
                          out,
                          argc,
                          argv};
    return bench_ranks(&dc, modes, batches, json);
  }
  uint64_t memory_limit = nnb_mem_default_limit();
  nnb_error le;
  if (limit && nnb_mem_parse_limit(limit, &memory_limit, &le) != NNB_OK)
    return cli_usage_error("bench", "%s", le.msg);
  if (!models) return cli_usage_error("bench", "--model is required");
  char err[160];
  if (pin && nnb_cpulist_parse(pin, NULL, err, sizeof err))
    return cli_usage_error("bench", "--pin: %s", err);
  const char *const lines[] = {models, backends, modes, batches, dataset, backend_opts.text};
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
    if (strpbrk(lines[i], "\n\r")) /* the options become lines of a suite file */
      return cli_usage_error("bench", "'%s': a value cannot hold a line break", lines[i]);
  /* Write the cases as a suite file, so bench and run share one parser. */
  char tmpl[] = "/tmp/nnbench-bench-XXXXXX.ini";
  int fd = mkstemps(tmpl, 4);
  if (fd < 0) {
    perror("nnbench bench: temporary suite");
    return 1;
  }
  FILE *f = fdopen(fd, "w");
  fprintf(f,
          "[suite]\nname = bench\ndataset = %s\nseed = %llu\nthreads = %llu\nmin_time = %g\n"
          "min_iters = %llu\nwarmup = %llu\nrounds = %d\ntimeout = %g\nmax_step = %g\n",
          dataset, seed, threads, min_time, min_iters, warmup, rounds, timeout, max_step);
  if (pin) fprintf(f, "pin = %s\n", pin);
  fprintf(f, "[bench]\n");
  if (*backend_opts.text) fprintf(f, "options = %s\n", backend_opts.text);
  write_list(f, "models", models, 1);
  write_list(f, "backends", backends, 0);
  write_list(f, "mode", modes, 0);
  write_list(f, "batch", batches, 0);
  fclose(f);
  nnb_error e = {{0}};
  nnb_suite s;
  nnb_status st = nnb_suite_load(tmpl, &s, &e);
  remove(tmpl);
  if (st != NNB_OK) {
    /* the message names the temporary file; point at the options instead */
    const char *colon = strstr(e.msg, ": ");
    return cli_usage_error("bench", "%s", colon ? colon + 2 : e.msg);
  }
  snprintf(s.path, sizeof s.path, "(command line)");
  if (weights && !cli_given(&spec, "--accuracy-samples")) acc = 1000;
  nnb_run_options o = {.out_dir = out,
                       .argc = argc,
                       .argv = argv,
                       .accuracy_samples = (int)acc,
                       .weights = weights,
                       .memory_limit = memory_limit};
  char dir[1024];
  int failed = 0;
  st = nnb_suite_run(&s, &o, dir, sizeof dir, &failed, &e);
  nnb_suite_free(&s);
  if (st != NNB_OK) {
    fprintf(stderr, "nnbench bench: %s\n", e.msg);
    return 1;
  }
  cJSON *doc = NULL;
  if (nnb_results_read(dir, &doc, &e) != NNB_OK) {
    fprintf(stderr, "nnbench bench: %s\n", e.msg);
    return 1;
  }
  if (json) {
    cli_print_json(doc);
  } else {
    nnb_results_print_table(stdout, doc);
    cJSON_Delete(doc);
  }
  fprintf(stderr, "%d case(s) failed; results: %s/results.json\n", failed, dir);
  return failed ? 1 : 0;
}
