/* nnbench bench: one-off cases from the command line, run exactly as a
 * suite's cases are. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "results.h"
#include "suite_run.h"

static void help(void) {
  printf("usage: nnbench bench --model M[,M...] [--backend B[,B...]|all] [--mode infer,train]\n"
         "                     [--batch N[,N...]] [--threads N] [--min-time S] [--min-iters N]\n"
         "                     [--warmup N] [--timeout S] [--dataset SPEC] [--seed N] [--out DIR]\n"
         "                     [--accuracy-samples N] [--weights DIR] [--json]\n\n"
         "Measures each model x backend x mode x batch as its own isolated case (see\n"
         "'nnbench run'). Lists are comma separated; model specs with parameters are\n"
         "separated by ';' instead ('transformer:d=256,layers=4;mlp').\n"
         "Defaults: --backend all --mode infer --batch 1 --min-time 1 --min-iters 10\n"
         "--warmup 3 --timeout 300 --accuracy-samples 0. Results go to DIR (default\n"
         "results/bench-<UTC time>/); --json prints results.json on stdout.\n"
         "--weights DIR evaluates DIR/<model>.safetensors (as 'nnbench train --out' writes)\n"
         "on every backend for the accuracy section (then --accuracy-samples defaults to\n"
         "1000); without it the accuracy section uses the seeded initialisation.\n");
}

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

int cmd_bench(int argc, char **argv) {
  const char *models = NULL, *backends = "all", *modes = "infer", *batches = "1", *out = NULL;
  const char *dataset = "fashion-mnist", *weights = NULL;
  double min_time = 1, timeout = 300;
  unsigned long long threads = 0, min_iters = 10, warmup = 3, seed = 1, acc = 0;
  int json = 0, acc_given = 0;
  if (cli_wants_help(argc, argv)) {
    help();
    return 0;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--json")) {
      json = 1;
      continue;
    }
    if (!v) return cli_usage_error("bench", "option '%s' needs a value", a);
    if (strpbrk(v, "\n\r")) /* the options become lines of a suite file */
      return cli_usage_error("bench", "%s: a value cannot hold a line break", a);
    i++;
    unsigned long long *u = !strcmp(a, "--threads")            ? &threads
                            : !strcmp(a, "--min-iters")        ? &min_iters
                            : !strcmp(a, "--warmup")           ? &warmup
                            : !strcmp(a, "--seed")             ? &seed
                            : !strcmp(a, "--accuracy-samples") ? &acc
                                                               : NULL;
    acc_given |= u == &acc;
    if (u) {
      if (cli_parse_u64(v, u))
        return cli_usage_error("bench", "%s needs a non-negative integer, got '%s'", a, v);
    } else if (!strcmp(a, "--min-time") || !strcmp(a, "--timeout")) {
      char *end;
      double d = strtod(v, &end);
      if (*end || !(d >= 0)) return cli_usage_error("bench", "%s needs seconds, got '%s'", a, v);
      *(!strcmp(a, "--min-time") ? &min_time : &timeout) = d;
    } else if (!strcmp(a, "--model"))
      models = v;
    else if (!strcmp(a, "--backend"))
      backends = v;
    else if (!strcmp(a, "--mode"))
      modes = v;
    else if (!strcmp(a, "--batch"))
      batches = v;
    else if (!strcmp(a, "--dataset"))
      dataset = v;
    else if (!strcmp(a, "--out"))
      out = v;
    else if (!strcmp(a, "--weights"))
      weights = v;
    else
      return cli_usage_error("bench", "unknown option '%s'", a);
  }
  if (!models) return cli_usage_error("bench", "--model is required");
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
          "min_iters = %llu\nwarmup = %llu\ntimeout = %g\n[bench]\n",
          dataset, seed, threads, min_time, min_iters, warmup, timeout);
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
  if (weights && !acc_given) acc = 1000;
  nnb_run_options o = {out, argc, argv, (int)acc, weights};
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
