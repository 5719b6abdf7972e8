/* The benchmark runner: suite files (good and bad), isolation of crashing
 * and hanging plugins, results.json against the documented schema, and
 * compare finding a planted regression but not noise. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nnbench/runtime.h>

#include "case_rounds.h"
#include "record.h"
#include "results.h"
#include "rng.h"
#include "suite.h"
#include "suite_run.h"
#include "weights.h"

static char dir[64];
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-runner-XXXXXX");
  cr_assert(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
  nnb_registry_unload();
}
TestSuite(runner, .init = setup, .fini = teardown, .timeout = 300);

static const char *write_file(const char *name, const char *text) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fputs(text, f);
  fclose(f);
  return path;
}

Test(runner, suite_expands_groups_and_inherits_defaults) {
  const char *p =
      write_file("s.ini", "[suite]\nname = demo\nthreads = 2\nmin_time = 0.25\nweights = ckpt\n"
                          "[a]\nmodels = mlp transformer:d=8,heads=2\nbackends = reference\n"
                          "mode = infer train\nbatch = 1, 4\n"
                          "[b]\nmodels = cnn\nthreads = 1\n");
  nnb_suite s;
  nnb_error e;
  cr_assert_eq(nnb_suite_load(p, &s, &e), NNB_OK, "%s", e.msg);
  cr_assert_str_eq(s.name, "demo");
  cr_assert_str_eq(s.weights, "ckpt");
  cr_assert_eq(s.n_cases, 2 * 2 * 2 + 1, "2 models x 2 modes x 2 batches + 1");
  cr_assert_str_eq(s.cases[0].model, "mlp");
  cr_assert_str_eq(s.cases[4].model, "transformer:d=8,heads=2");
  cr_assert_eq(s.cases[0].threads, 2);
  cr_assert_eq(s.cases[0].rounds, 3, "three rounds unless the suite says otherwise");
  cr_assert_str_eq(s.cases[0].pin, "");
  cr_assert_float_eq(s.cases[0].min_time, 0.25, 1e-12);
  const nnb_case *last = &s.cases[s.n_cases - 1];
  cr_assert_str_eq(last->backend, "all", "unset backends default to all");
  cr_assert_eq(last->threads, 1, "a group overrides [suite]");
  cr_assert_eq(last->mode, NNB_MODE_INFER);
  nnb_suite_free(&s);
}

Test(runner, bad_suites_name_file_line_and_key) {
  struct {
    const char *text, *want[3];
  } bad[] = {
      {"[suite]\nname = x\n[g]\nmodels = mlp\nbatchs = 4\n", {"s.ini:5", "batchs", NULL}},
      {"[suite]\nmin_time = fast\n[g]\nmodels = mlp\n", {"s.ini:2", "min_time", "fast"}},
      {"[suite]\n[g]\nmodels = mlp resnet\n", {"resnet", "[g]", NULL}},
      {"[suite]\n[g]\nmodels = mlp\nmode = fly\n", {"fly", "[g]", NULL}},
      {"[suite]\n[g]\nmodels = mlp\nbatch = 0\n", {"batch", "[g]", NULL}},
      {"[suite]\nname = nothing\n", {"no groups", NULL, NULL}},
      {"models = mlp\n", {"s.ini:1", "outside", NULL}},
      {"[suite]\nrounds = 0\n[g]\nmodels = mlp\n", {"s.ini:2", "rounds", NULL}},
      {"[suite]\n[g]\nmodels = mlp\npin = 1-0\n", {"s.ini:4", "pin", "CPU list"}},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *p = write_file("s.ini", bad[i].text);
    nnb_suite s;
    nnb_error e;
    cr_expect_neq(nnb_suite_load(p, &s, &e), NNB_OK, "case %zu loaded", i);
    for (int k = 0; k < 3 && bad[i].want[k]; k++)
      cr_expect(strstr(e.msg, bad[i].want[k]), "case %zu: '%s' lacks '%s'", i, e.msg,
                bad[i].want[k]);
  }
  nnb_suite s;
  nnb_error e;
  cr_expect_eq(nnb_suite_load("/nonexistent/suite.ini", &s, &e), NNB_ERR_IO);
  cr_expect(strstr(e.msg, "/nonexistent/suite.ini"), "%s", e.msg);
}

static int has_num(cJSON *o, const char *k) { return cJSON_IsNumber(cJSON_GetObjectItem(o, k)); }
static int has_str(cJSON *o, const char *k) { return cJSON_IsString(cJSON_GetObjectItem(o, k)); }

/* The schema of docs/results-schema.md, as far as a test can state it. */
static void validate(cJSON *doc) {
  cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(doc, "schema_version")));
  cr_assert_eq(cJSON_GetObjectItem(doc, "schema_version")->valueint, NNB_RESULTS_SCHEMA_VERSION);
  cJSON *suite = cJSON_GetObjectItem(doc, "suite");
  cr_assert(has_str(suite, "name") && has_str(suite, "file"));
  cJSON *prov = cJSON_GetObjectItem(doc, "provenance");
  const char *pkeys[] = {"nnbench_version", "git_commit",  "build_type", "compiler",
                         "command",         "created_utc", "dataset",    "dataset_crc32"};
  for (size_t i = 0; i < sizeof pkeys / sizeof *pkeys; i++)
    cr_expect(has_str(prov, pkeys[i]), "provenance.%s", pkeys[i]);
  cr_expect(has_num(prov, "seed"));
  cr_expect(cJSON_IsObject(cJSON_GetObjectItem(prov, "machine")), "provenance.machine");
  cr_assert(cJSON_IsArray(cJSON_GetObjectItem(doc, "backends")));
  cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    const char *ckeys[] = {"group", "model", "backend", "mode", "status", "reproduce"};
    for (size_t i = 0; i < sizeof ckeys / sizeof *ckeys; i++)
      cr_expect(has_str(c, ckeys[i]), "case.%s", ckeys[i]);
    cr_expect(has_num(c, "batch") && has_num(c, "threads"));
    cJSON *mem = cJSON_GetObjectItem(c, "memory");
    cr_expect(has_num(mem, "peak_rss_bytes"), "every case has the process's peak RSS");
    if (strcmp(cJSON_GetObjectItem(c, "status")->valuestring, "ok")) {
      cr_expect(has_str(c, "reason"), "a failed case says why");
      continue;
    }
    cr_expect(cJSON_IsArray(cJSON_GetObjectItem(c, "samples_s")));
    int in_rounds = 0;
    cJSON *r;
    cJSON_ArrayForEach(r, cJSON_GetObjectItem(c, "rounds")) {
      const char *rkeys[] = {"round", "order", "first", "n", "median_s", "cv", "warmup_iters"};
      for (size_t i = 0; i < sizeof rkeys / sizeof *rkeys; i++)
        cr_expect(has_num(r, rkeys[i]), "rounds[].%s", rkeys[i]);
      cr_expect_eq(cJSON_GetObjectItem(r, "first")->valueint, in_rounds, "rounds tile samples_s");
      in_rounds += cJSON_GetObjectItem(r, "n")->valueint;
      cJSON *cond = cJSON_GetObjectItem(r, "conditions");
      cr_expect(has_num(cond, "other_cpu_share") && has_num(cond, "load_avg_1m_start") &&
                    cJSON_IsBool(cJSON_GetObjectItem(cond, "loaded")),
                "rounds[].conditions");
      double share = cJSON_GetObjectItem(cond, "other_cpu_share")->valuedouble;
      cr_expect((share >= 0 && share <= 1) || share == -1,
                "other processes' share is a fraction, or -1 (a round within one clock tick): %g",
                share);
    }
    cr_expect_eq(in_rounds, cJSON_GetArraySize(cJSON_GetObjectItem(c, "samples_s")));
    cJSON *s = cJSON_GetObjectItem(c, "summary");
    const char *skeys[] = {
        "n",     "min_s",    "median_s", "mean_s",           "p90_s",           "p99_s",
        "max_s", "stddev_s", "cv",       "median_ci95_lo_s", "median_ci95_hi_s"};
    for (size_t i = 0; i < sizeof skeys / sizeof *skeys; i++)
      cr_expect(has_num(s, skeys[i]), "summary.%s", skeys[i]);
    cr_expect_eq(cJSON_GetObjectItem(s, "n")->valueint,
                 cJSON_GetArraySize(cJSON_GetObjectItem(c, "samples_s")));
    const char *nkeys[] = {"cold_s",         "throughput_samples_per_s", "gflops",
                           "flops_per_step", "bytes_per_step",           "arithmetic_intensity"};
    for (size_t i = 0; i < sizeof nkeys / sizeof *nkeys; i++)
      cr_expect(has_num(c, nkeys[i]), "case.%s", nkeys[i]);
    const char *mkeys[] = {"backend_peak_bytes", "persistent_bytes", "arena_bytes",
                           "workspace_bytes"};
    for (size_t i = 0; i < sizeof mkeys / sizeof *mkeys; i++)
      cr_expect(has_num(mem, mkeys[i]), "memory.%s", mkeys[i]);
    cr_expect(cJSON_IsObject(cJSON_GetObjectItem(mem, "by_role_bytes")));
    cr_expect(cJSON_IsBool(cJSON_GetObjectItem(c, "noisy")));
    cJSON *h = cJSON_GetObjectItem(c, "harness_overhead");
    cr_expect(has_num(h, "fraction") && has_num(h, "per_step_s"), "harness_overhead");
    double frac = cJSON_GetNumberValue(cJSON_GetObjectItem(h, "fraction"));
    cr_expect(frac >= 0 && frac < 1, "the harness's share of a step is a fraction: %g", frac);
  }
}

static cJSON *case_of(cJSON *doc, const char *backend) {
  cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    if (!strcmp(cJSON_GetObjectItem(c, "backend")->valuestring, backend)) return c;
  }
  return NULL;
}

/* Runs the suite file `name` holding `text` with options o (its out_dir
 * set here) and returns the results read back; *failed counts failed cases. */
static cJSON *run_suite(const char *name, const char *text, nnb_run_options o, int *failed) {
  const char *p = write_file(name, text);
  nnb_suite s;
  nnb_error e;
  cr_assert_eq(nnb_suite_load(p, &s, &e), NNB_OK, "%s", e.msg);
  char out[256], resdir[300];
  snprintf(resdir, sizeof resdir, "%s/results", dir);
  o.out_dir = resdir;
  cr_assert_eq(nnb_suite_run(&s, &o, out, sizeof out, failed, &e), NNB_OK, "%s", e.msg);
  nnb_suite_free(&s);
  cJSON *doc;
  cr_assert_eq(nnb_results_read(out, &doc, &e), NNB_OK, "%s", e.msg);
  return doc;
}

Test(runner, crash_and_hang_fail_their_cases_and_the_suite_goes_on) {
  setenv("NNBENCH_BACKEND_PATH", NNB_FIXTURE_DIR, 1);
  int failed = 0;
  cJSON *doc = run_suite("s.ini",
                         "[suite]\nname = iso\ndataset = synthetic:n=64\nmin_time = 0\n"
                         "min_iters = 3\nwarmup = 1\ntimeout = 4\n"
                         "[g]\nmodels = mlp:hidden=8\nbackends = crash hang reference\nbatch = 2\n",
                         (nnb_run_options){.accuracy_samples = 16}, &failed);
  cr_expect_eq(failed, 2);
  validate(doc);
  cJSON *crash = case_of(doc, "crash"), *hang = case_of(doc, "hang"),
        *ok = case_of(doc, "reference");
  cr_assert(crash && hang && ok);
  cr_expect_str_eq(cJSON_GetObjectItem(crash, "status")->valuestring, "failed");
  cr_expect(strstr(cJSON_GetObjectItem(crash, "reason")->valuestring, "signal 6"), "%s",
            cJSON_GetObjectItem(crash, "reason")->valuestring);
  cr_expect(strstr(cJSON_GetObjectItem(hang, "reason")->valuestring, "timeout"), "%s",
            cJSON_GetObjectItem(hang, "reason")->valuestring);
  cr_expect_str_eq(cJSON_GetObjectItem(ok, "status")->valuestring, "ok",
                   "the case after them still ran");
  cr_expect_geq(cJSON_GetArraySize(cJSON_GetObjectItem(ok, "samples_s")), 3);
  cJSON *acc = cJSON_GetObjectItem(doc, "accuracy");
  cr_expect_geq(cJSON_GetArraySize(acc), 1, "the accuracy section ran");
  char csv[400];
  snprintf(csv, sizeof csv, "%s/results/results.csv", dir);
  FILE *f = fopen(csv, "r");
  cr_assert(f, "results.csv exists");
  int lines = 0;
  for (int ch; (ch = fgetc(f)) != EOF;) lines += ch == '\n';
  fclose(f);
  cr_expect_eq(lines, 4, "a header and one row per case");
  cJSON_Delete(doc);
}

Test(runner, rounds_are_fresh_processes_interleaved_in_a_seeded_order) {
  int failed = 0;
  cJSON *doc = run_suite("r.ini",
                         "[suite]\nname = rounds\ndataset = synthetic:n=64\nmin_time = 0\n"
                         "min_iters = 3\nwarmup = 1\nrounds = 3\n"
                         "[g]\nmodels = mlp:hidden=8 mlp:hidden=4 cnn:c1=2,c2=2,c3=2,fc=4\n"
                         "backends = reference\nbatch = 2\n",
                         (nnb_run_options){.rounds = 4, .pin = "0"}, &failed);
  cr_expect_eq(failed, 0);
  validate(doc);
  int used[12] = {0}, k = 0;
  cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    cJSON *rounds = cJSON_GetObjectItem(c, "rounds"), *r;
    cr_assert_eq(cJSON_GetArraySize(rounds), 4, "--rounds overrides the suite's 3");
    int j = 0;
    cJSON_ArrayForEach(r, rounds) {
      int order = cJSON_GetObjectItem(r, "order")->valueint;
      cr_assert(order >= 0 && order < 12);
      used[order]++;
      cr_expect_geq(order, 3 * j, "round %d runs after every case's round %d", j, j - 1);
      cr_expect_lt(order, 3 * (j + 1));
      cr_expect_str_eq(cJSON_GetObjectItem(r, "pin")->valuestring, "0");
      j++;
    }
    cJSON *sum = cJSON_GetObjectItem(c, "summary");
    cr_expect_str_eq(cJSON_GetObjectItem(sum, "ci_method")->valuestring, "rounds");
    cr_expect_eq(cJSON_GetObjectItem(sum, "rounds")->valueint, 4);
    cr_expect(strstr(cJSON_GetObjectItem(c, "reproduce")->valuestring, "--rounds 4 "), "%s",
              cJSON_GetObjectItem(c, "reproduce")->valuestring);
    cr_expect(strstr(cJSON_GetObjectItem(c, "reproduce")->valuestring, "--pin 0"));
    k++;
  }
  cr_expect_eq(k, 3);
  for (int i = 0; i < 12; i++) cr_expect_eq(used[i], 1, "slot %d used once", i);
  cJSON_Delete(doc);
}

Test(runner, a_case_whose_first_step_exceeds_max_step_is_skipped_after_one_round) {
  int failed = 0;
  /* A tiny MLP's step takes microseconds; the reference's CNN at batch 64
   * a good part of a second: a 50 ms cap keeps the one and skips the other. */
  cJSON *doc = run_suite("m.ini",
                         "[suite]\nname = cap\ndataset = synthetic:n=64\nmin_time = 0\n"
                         "min_iters = 3\nwarmup = 1\nrounds = 3\nmax_step = 0.05\n"
                         "[small]\nmodels = mlp:hidden=8\nbackends = reference\nbatch = 2\n"
                         "[large]\nmodels = cnn\nbackends = reference\nbatch = 64\n",
                         (nnb_run_options){0}, &failed);
  cr_expect_eq(failed, 0, "a skipped case is no failure");
  validate(doc);
  cJSON *small = case_of(doc, "reference"),
        *large = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "cases"), 1);
  cr_assert(small && large);
  cr_expect_str_eq(cJSON_GetObjectItem(small, "status")->valuestring, "ok");
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(small, "rounds")), 3);
  cr_assert_str_eq(cJSON_GetObjectItem(large, "status")->valuestring, "skipped");
  const char *why = cJSON_GetObjectItem(large, "reason")->valuestring;
  cr_expect(strstr(why, "first step was still running after max_step = 0.05 s"), "%s", why);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(large, "rounds")), 1,
               "its other rounds were not run");
  cr_expect_null(cJSON_GetObjectItem(large, "samples_s"), "no samples of a skipped case");
  cr_expect(strstr(cJSON_GetObjectItem(large, "reproduce")->valuestring, "--max-step 0.05"), "%s",
            cJSON_GetObjectItem(large, "reproduce")->valuestring);
  cJSON_Delete(doc);
}

Test(runner, accuracy_uses_the_checkpoints_of_the_weights_folder) {
  /* A checkpoint of other weights than the suite's seed would make: the
   * accuracy section must evaluate the file, and say so. */
  nnb_model_spec spec;
  nnb_model m;
  nnb_weights w = {0};
  nnb_error e;
  nnb_input_shape in = {1, 28, 28, 10};
  cr_assert_eq(nnb_model_parse("mlp:hidden=8", &spec, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_model_build(&spec, &in, 1, 0, &m, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_weights_init(&m, 77, &w, &e), NNB_OK, "%s", e.msg);
  char ckpt[256];
  snprintf(ckpt, sizeof ckpt, "%s/mlp:hidden=8.safetensors", dir);
  cr_assert_eq(nnb_weights_save(&m, &w, ckpt, NULL, 0, &e), NNB_OK, "%s", e.msg);
  nnb_weights_free(&w);
  nnb_model_free(&m);
  char text[512];
  snprintf(text, sizeof text,
           "[suite]\nname = acc\ndataset = synthetic:n=64\nmin_time = 0\nmin_iters = 2\n"
           "warmup = 0\nweights = %s\n[g]\nmodels = mlp:hidden=8 mlp:hidden=4\n"
           "backends = reference\nbatch = 2\n",
           dir);
  int failed = 0;
  cJSON *doc = run_suite("w.ini", text, (nnb_run_options){.accuracy_samples = 8}, &failed);
  cJSON *acc = cJSON_GetObjectItem(doc, "accuracy");
  cr_assert_eq(cJSON_GetArraySize(acc), 2);
  cJSON *with = cJSON_GetArrayItem(acc, 0), *without = cJSON_GetArrayItem(acc, 1);
  cr_expect_str_eq(cJSON_GetObjectItem(with, "weights")->valuestring, ckpt);
  cr_expect_str_eq(cJSON_GetObjectItem(with, "status")->valuestring, "ok");
  cr_expect_str_eq(cJSON_GetObjectItem(without, "status")->valuestring, "failed",
                   "a missing checkpoint is an error, not a silent fallback");
  cr_expect(strstr(cJSON_GetObjectItem(without, "reason")->valuestring, "mlp:hidden=4"), "%s",
            cJSON_GetObjectItem(without, "reason")->valuestring);
  cJSON_Delete(doc);
}

/* A results folder with one case per (name, factor), each of `rounds`
 * rounds gathered as the runner does: a round's level is factor * 10 ms
 * with 1% spread between rounds, its 50 iterations 1% around it. */
static void synthetic_results(const char *path, const double *factors, int rounds, uint64_t seed) {
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "schema_version", NNB_RESULTS_SCHEMA_VERSION);
  cJSON *cases = cJSON_AddArrayToObject(doc, "cases");
  nnb_rng r;
  nnb_rng_seed(&r, seed);
  const char *models[] = {"mlp", "cnn", "transformer:d=64,layers=2,heads=4,ffn=128"};
  for (int k = 0; k < 3; k++) {
    cJSON *c = NULL;
    for (int j = 0; j < rounds; j++) {
      double v[50], level = 0.010 * factors[k] * (1 + 0.01 * (2 * nnb_rng_unit(&r) - 1));
      for (int i = 0; i < 50; i++) v[i] = level * (1 + 0.01 * (2 * nnb_rng_unit(&r) - 1));
      cJSON *one = cJSON_CreateObject();
      cJSON_AddStringToObject(one, "status", "ok");
      cJSON_AddItemToObject(one, "samples_s", cJSON_CreateDoubleArray(v, 50));
      nnb_case_add_round(&c, one, j, j, NULL, "");
    }
    cJSON_AddStringToObject(c, "model", models[k]);
    cJSON_AddStringToObject(c, "spec", models[k]);
    cJSON_AddStringToObject(c, "backend", "reference");
    cJSON_AddStringToObject(c, "mode", "infer");
    cJSON_AddNumberToObject(c, "batch", 32);
    cJSON_AddNumberToObject(c, "threads", 1);
    nnb_case_summarize(c, 32, 1);
    cJSON_AddItemToArray(cases, c);
  }
  nnb_error e;
  cr_assert_eq(nnb_results_write(path, doc, &e), NNB_OK, "%s", e.msg);
  cJSON_Delete(doc);
}

static cJSON *compare_json(const char *a, const char *b, int *exit_status) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s/nnbench compare %s %s --json --fail-on-regression", NNB_BINARY_DIR,
           a, b);
  FILE *p = popen(cmd, "r");
  static char out[1 << 16];
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = 0;
  *exit_status = WEXITSTATUS(pclose(p));
  cJSON *doc = cJSON_Parse(out);
  cr_assert(doc, "%s", out);
  return doc;
}

Test(runner, compare_finds_a_planted_regression_and_not_noise) {
  char a[128], b[128], a1[128], b1[128], cmd[512];
  snprintf(a, sizeof a, "%s/a", dir);
  snprintf(b, sizeof b, "%s/b", dir);
  synthetic_results(a, (double[]){1, 1, 1}, 3, 1);
  synthetic_results(b, (double[]){1.20, 1.005, 1}, 3, 2); /* cnn +0.5%, transformer unchanged */
  int st;
  cJSON *doc = compare_json(a, b, &st);
  cr_assert_eq(st, 1, "--fail-on-regression exits 1");
  cJSON *c;
  int seen = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    const char *key = cJSON_GetObjectItem(c, "case")->valuestring;
    const char *verdict = cJSON_GetObjectItem(c, "verdict")->valuestring;
    double lo = cJSON_GetObjectItem(c, "ratio_ci95_lo")->valuedouble;
    cr_expect_str_eq(cJSON_GetObjectItem(c, "method")->valuestring, "rounds");
    cr_expect_eq(cJSON_GetObjectItem(c, "rounds_a")->valueint, 3);
    if (!strncmp(key, "mlp ", 4)) {
      cr_expect_str_eq(verdict, "slower");
      cr_expect_gt(lo, 1.1, "the CI of a 20%% slowdown excludes 1 by far");
    } else {
      cr_expect_str_eq(verdict, "same", "%s", key);
      cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(c, "intervals_overlap")), "%s", key);
    }
    seen++;
  }
  cr_expect_eq(seen, 3);
  cr_expect_eq(cJSON_GetObjectItem(doc, "regressions")->valueint, 1);
  cJSON_Delete(doc);
  snprintf(cmd, sizeof cmd, "%s/nnbench compare %s %s --fail-on-regression", NNB_BINARY_DIR, a, a);
  FILE *p = popen(cmd, "r");
  static char text[1 << 14];
  text[fread(text, 1, sizeof text - 1, p)] = 0;
  cr_expect_eq(WEXITSTATUS(pclose(p)), 0, "a result compared with itself has no regression");
  cr_expect(strstr(text, "transformer:d=64,layers=2,heads=4,ffn=128 reference infer b32 t1 "),
            "the table keeps the whole case name:\n%s", text);
  /* one round a side: compared by iterations, and said so */
  snprintf(a1, sizeof a1, "%s/a1", dir);
  snprintf(b1, sizeof b1, "%s/b1", dir);
  synthetic_results(a1, (double[]){1, 1, 1}, 1, 3);
  synthetic_results(b1, (double[]){1.20, 1, 1}, 1, 4);
  doc = compare_json(a1, b1, &st);
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    cr_expect_str_eq(cJSON_GetObjectItem(c, "method")->valuestring, "iterations");
  }
  cr_expect_eq(cJSON_GetObjectItem(doc, "regressions")->valueint, 1);
  cJSON_Delete(doc);
}

/* Sets provenance.machine.cpu of a results folder's results.json. */
static void set_cpu(const char *dir_path, const char *vendor, int family, int model,
                    const char *uarch) {
  cJSON *doc;
  nnb_error e;
  cr_assert_eq(nnb_results_read(dir_path, &doc, &e), NNB_OK, "%s", e.msg);
  cJSON_DeleteItemFromObject(doc, "provenance");
  cJSON *cpu = cJSON_AddObjectToObject(
      cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, "provenance"), "machine"), "cpu");
  cJSON_AddStringToObject(cpu, "model", "AMD EPYC");
  cJSON_AddStringToObject(cpu, "vendor", vendor);
  cJSON_AddNumberToObject(cpu, "family", family);
  cJSON_AddNumberToObject(cpu, "model_number", model);
  cJSON_AddStringToObject(cpu, "microarchitecture", uarch);
  cJSON_AddStringToObject(cpu, "isa_flags", "sse4_2 avx avx2 fma");
  cr_assert_eq(nnb_results_write(dir_path, doc, &e), NNB_OK, "%s", e.msg);
  cJSON_Delete(doc);
}

Test(runner, compare_warns_when_the_cpus_differ) {
  char a[128], b[128];
  snprintf(a, sizeof a, "%s/a", dir);
  snprintf(b, sizeof b, "%s/b", dir);
  synthetic_results(a, (double[]){1, 1, 1}, 3, 1);
  synthetic_results(b, (double[]){1, 1, 1}, 3, 2);
  set_cpu(a, "AuthenticAMD", 25, 1, "Zen 3");
  set_cpu(b, "AuthenticAMD", 25, 1, "Zen 3");
  int st;
  cJSON *doc = compare_json(a, b, &st);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "warnings")), 0, "same CPU, no warning");
  cJSON_Delete(doc);
  set_cpu(b, "AuthenticAMD", 26, 2, "Zen 5"); /* the same name, "AMD EPYC", on both */
  doc = compare_json(a, b, &st);
  cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "warnings"), 0);
  cr_assert(cJSON_IsString(w), "a warning when the CPUs differ");
  cr_expect(strstr(w->valuestring, "different CPUs") && strstr(w->valuestring, "Zen 3") &&
                strstr(w->valuestring, "Zen 5") && strstr(w->valuestring, "family 26 model 2"),
            "%s", w->valuestring);
  cJSON_Delete(doc);
}

Test(runner, results_of_schema_1_still_read_and_newer_refused) {
  const char *v1 = write_file("v1.json", "{\"schema_version\": 1, \"cases\": []}");
  cJSON *doc;
  nnb_error e;
  cr_expect_eq(nnb_results_read(v1, &doc, &e), NNB_OK, "%s", e.msg);
  cJSON_Delete(doc);
  char text[128];
  snprintf(text, sizeof text, "{\"schema_version\": %d, \"cases\": []}",
           NNB_RESULTS_SCHEMA_VERSION + 1);
  const char *next = write_file("next.json", text);
  cr_expect_eq(nnb_results_read(next, &doc, &e), NNB_ERR_FORMAT);
  cr_expect(strstr(e.msg, "next.json") && strstr(e.msg, "schema_version"), "%s", e.msg);
}
