/* Shards of a run: the split is a partition of the cases, the same every
 * time, balanced by estimated time rather than by count; merging the
 * shards gives the whole run's cases; and every refusal of merge names the
 * difference. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"
#include "results.h"
#include "rng.h"
#include "run_dir.h"
#include "shard.h"
#include "testutil.h"

static char dir[64];
static void setup(void) {
  tu_tmpdir(dir, sizeof dir, "shard");
  setenv("NNBENCH_BACKEND_PATH", NNB_FIXTURE_DIR, 1);
}
static void teardown(void) { tu_rm_rf(dir); }
TestSuite(shard, .init = setup, .fini = teardown, .timeout = 240);

static void check_partition(const double *cost, int n, int count) {
  int *owner = malloc((size_t)n * sizeof *owner), *again = malloc((size_t)n * sizeof *again);
  double *load = calloc((size_t)count + 1, sizeof *load), total = 0, biggest = 0;
  nnb_shard_partition(cost, n, count, owner);
  nnb_shard_partition(cost, n, count, again);
  for (int i = 0; i < n; i++) {
    cr_assert(owner[i] >= 1 && owner[i] <= count, "case %d in shard %d of %d", i, owner[i], count);
    cr_assert_eq(owner[i], again[i], "case %d moved from shard %d to %d", i, owner[i], again[i]);
    load[owner[i]] += cost[i];
    total += cost[i];
    if (cost[i] > biggest) biggest = cost[i];
  }
  /* greedy longest-first: no shard exceeds the mean by more than one case */
  for (int s = 1; s <= count; s++)
    cr_assert_leq(load[s], total / count + biggest + 1e-9, "shard %d/%d holds %g of %g", s, count,
                  load[s], total);
  free(owner), free(again), free(load);
}

Test(shard, partition_is_stable_and_balanced) {
  nnb_rng r;
  nnb_rng_seed(&r, 7);
  double cost[97];
  for (int i = 0; i < 97; i++) cost[i] = nnb_rng_uniform(&r, 0.1f, 100.0f);
  for (int count = 1; count <= 9; count++) check_partition(cost, 97, count);
  check_partition(cost, 3, 8); /* more shards than cases: some stay empty */
}

Test(shard, balanced_by_cost_not_count) {
  double cost[] = {10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  int owner[11], n1 = 0;
  nnb_shard_partition(cost, 11, 2, owner);
  for (int i = 0; i < 11; i++) n1 += owner[i] == owner[0];
  cr_assert_eq(n1, 1, "the long case shares its shard with %d short ones", n1 - 1);
}

Test(shard, parse_refuses_what_is_not_i_of_n) {
  nnb_shard sh;
  nnb_error e;
  cr_assert_eq(nnb_shard_parse("2/4", &sh, &e), NNB_OK);
  cr_assert(sh.index == 2 && sh.count == 4);
  const char *bad[] = {"0/4", "5/4", "a/b", "2/4x", "2", "-1/3", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_assert_neq(nnb_shard_parse(bad[i], &sh, &e), NNB_OK, "'%s' accepted", bad[i]);
    cr_assert(strstr(e.msg, "I/N"), "%s", e.msg);
  }
}

Test(shard, cost_grows_with_work) {
  nnb_case c = {.model = "mlp:hidden=256",
                .backend = "openblas",
                .mode = NNB_MODE_INFER,
                .batch = 64,
                .min_time = 0,
                .min_iters = 1000,
                .warmup = 10,
                .rounds = 3};
  nnb_input_shape in = {1, 28, 28, 10};
  double base = nnb_case_cost(&c, &in);
  nnb_case big = c, train = c, ref = c;
  big.batch = 512;
  train.mode = NNB_MODE_TRAIN;
  snprintf(ref.backend, sizeof ref.backend, "reference");
  cr_assert_gt(nnb_case_cost(&big, &in), base);
  cr_assert_gt(nnb_case_cost(&train, &in), base);
  cr_assert_gt(nnb_case_cost(&ref, &in), base);
  nnb_case capped = ref; /* skipped after one step over its cap */
  capped.max_step = 1e-6;
  cr_assert_lt(nnb_case_cost(&capped, &in), nnb_case_cost(&ref, &in) / 10);
}

/* ---- through the CLI ---------------------------------------------------- */

#define NNBENCH NNB_BINARY_DIR "/nnbench"

static const char *suite_file(const char *name, unsigned seed) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fprintf(f,
          "[suite]\nname = sharded\ndataset = synthetic:n=64\nmin_time = 0\nmin_iters = 2\n"
          "warmup = 0\nrounds = 1\ntimeout = 60\nseed = %u\n[g]\n"
          "models = mlp:hidden=8 mlp:hidden=64\nbackends = reference\nmode = infer train\n"
          "batch = 1, 4, 16\n",
          seed);
  fclose(f);
  return path;
}

static void run_into(const char *suite, const char *shard, const char *out) {
  char *text = NULL;
  int rc = tu_runf(&text, NNBENCH " run %s --out %s/%s --accuracy-samples 0 %s%s", suite, dir, out,
                   shard ? "--shard " : "", shard ? shard : "");
  cr_assert_eq(rc, 0, "%s", text);
  free(text);
}

/* The case keys of a run, in order, joined by newlines. */
static void keys(const cJSON *doc, char *buf, size_t len) {
  const cJSON *rec;
  *buf = 0;
  cJSON_ArrayForEach(rec, cJSON_GetObjectItem(doc, "cases")) {
    char k[512];
    nnb_record_key(rec, k, sizeof k);
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "%s\n", k);
  }
}

Test(shard, merge_of_shards_is_the_whole_run) {
  const char *suite = suite_file("s.ini", 1);
  run_into(suite, NULL, "whole");
  run_into(suite, "1/3", "s1");
  run_into(suite, "2/3", "s2");
  run_into(suite, "3/3", "s3");
  cJSON *s1 = tu_results(dir, "s1");
  cJSON *shard = cJSON_GetObjectItem(cJSON_GetObjectItem(s1, "run"), "shard");
  cr_assert_eq(cJSON_GetObjectItem(shard, "index")->valueint, 1);
  cr_assert_eq(cJSON_GetObjectItem(shard, "count")->valueint, 3);
  cr_assert_eq(cJSON_GetObjectItem(shard, "cases_total")->valueint, 12);
  int n1 = cJSON_GetArraySize(cJSON_GetObjectItem(s1, "cases"));
  cr_assert(n1 > 0 && n1 < 12, "shard 1/3 holds %d of 12 cases", n1);
  cJSON_Delete(s1);

  char *text = NULL;
  int rc = tu_runf(&text, NNBENCH " merge %s/s3 %s/s1 %s/s2 --out %s/merged", dir, dir, dir, dir);
  cr_assert_eq(rc, 0, "%s", text);
  free(text);
  cJSON *whole = tu_results(dir, "whole"), *merged = tu_results(dir, "merged");
  static char a[16384], b[16384];
  keys(whole, a, sizeof a);
  keys(merged, b, sizeof b);
  cr_assert_str_eq(b, a, "merged cases:\n%s\nwhole run's:\n%s", b, a);
  const cJSON *run = cJSON_GetObjectItem(merged, "run");
  cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(run, "complete")));
  cr_assert_eq(cJSON_GetObjectItem(run, "cases_planned")->valueint, 12);
  cr_assert_eq(
      cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(run, "merged"), "shards")), 3);
  cr_assert_str_eq(
      cJSON_GetObjectItem(cJSON_GetObjectItem(merged, "suite"), "fingerprint")->valuestring,
      cJSON_GetObjectItem(cJSON_GetObjectItem(whole, "suite"), "fingerprint")->valuestring);
  cJSON_Delete(whole);
  cJSON_Delete(merged);
  /* the merged folder is a run the report takes */
  rc = tu_runf(&text, NNBENCH " report %s/merged --no-plots", dir);
  cr_assert_eq(rc, 0, "%s", text);
  free(text);
  /* and it is never replaced */
  rc = tu_runf(&text, NNBENCH " merge %s/s1 %s/s2 %s/s3 --out %s/merged", dir, dir, dir, dir);
  cr_assert_neq(rc, 0);
  cr_assert(strstr(text, "already holds a run"), "%s", text);
  free(text);
}

/* A copy of folder `from` as `to`, its results changed by `edit`. */
static void copy_edited(const char *from, const char *to, void (*edit)(cJSON *)) {
  cJSON *doc = tu_results(dir, from);
  if (edit) edit(doc);
  char path[256];
  nnb_error e;
  snprintf(path, sizeof path, "%s/%s", dir, to);
  cr_assert_eq(nnb_mkdir_p(path, &e), NNB_OK);
  cr_assert_eq(nnb_results_write(path, doc, &e), NNB_OK, "%s", e.msg);
  cJSON_Delete(doc);
}

static void set_str(cJSON *doc, const char *obj, const char *key, const char *v) {
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(doc, obj), key, cJSON_CreateString(v));
}
static void other_commit(cJSON *d) { set_str(d, "provenance", "git_commit", "0123abc"); }
static void other_version(cJSON *d) { set_str(d, "provenance", "nnbench_version", "0.0.1"); }
static void other_suite(cJSON *d) { set_str(d, "suite", "fingerprint", "deadbeef"); }
static void other_seed(cJSON *d) {
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "provenance"), "seed", cJSON_CreateNumber(9));
}
static void unfinished(cJSON *d) {
  cJSON_ReplaceItemInObject(cJSON_GetObjectItem(d, "run"), "complete", cJSON_CreateFalse());
}

static void refused(const char *dirs, const char *out, const char *expect) {
  char *text = NULL, list[512] = "", *save = NULL, buf[256];
  snprintf(buf, sizeof buf, "%s", dirs);
  for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
    size_t used = strlen(list);
    snprintf(list + used, sizeof list - used, " %s/%s", dir, t);
  }
  int rc = tu_runf(&text, NNBENCH " merge%s --out %s/%s", list, dir, out);
  cr_assert_neq(rc, 0, "merged %s", dirs);
  cr_assert(strstr(text, expect), "merging%s: expected '%s' in: %s", list, expect, text);
  free(text);
  char path[256];
  snprintf(path, sizeof path, "%s/%s/results.json", dir, out);
  cr_assert(!tu_read_file(path, NULL), "a refused merge wrote %s", path);
}

Test(shard, every_refusal_names_the_difference) {
  const char *suite = suite_file("s.ini", 1);
  run_into(suite, "1/2", "a");
  run_into(suite, "2/2", "b");
  copy_edited("b", "b-commit", other_commit);
  copy_edited("b", "b-version", other_version);
  copy_edited("b", "b-suite", other_suite);
  copy_edited("b", "b-seed", other_seed);
  copy_edited("b", "b-unfinished", unfinished);
  copy_edited("a", "a-again", NULL);
  refused("a b-commit", "m1", "nnbench commit is 0123abc");
  refused("a b-version", "m2", "nnbench version is 0.0.1");
  refused("a b-suite", "m3", "suite fingerprint");
  refused("a b-seed", "m4", "seed is 9");
  refused("a b-unfinished", "m5", "unfinished");
  refused("a", "m6", "shard 2/2 is missing");
  refused("a a-again b", "m7", "shard 1/2 twice");
  refused("a a-again b", "m7", "measured in both");
  /* a shard of another split */
  run_into(suite, "1/3", "c");
  refused("a c b", "m8", "is one of 2 shards");
  /* --force merges and records why */
  char *text = NULL;
  int rc = tu_runf(&text, NNBENCH " merge %s/a %s/b-seed --out %s/forced --force", dir, dir, dir);
  cr_assert_eq(rc, 0, "%s", text);
  free(text);
  cJSON *doc = tu_results(dir, "forced");
  cJSON *merged = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "run"), "merged");
  cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(merged, "forced")));
  cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(merged, "differences")), 1);
  cJSON_Delete(doc);
}

Test(shard, resume_keeps_its_shard) {
  const char *suite = suite_file("s.ini", 1);
  run_into(suite, "1/2", "a");
  char *text = NULL;
  int rc =
      tu_runf(&text, NNBENCH " run %s --resume %s/a --shard 2/2 --accuracy-samples 0", suite, dir);
  cr_assert_neq(rc, 0);
  cr_assert(strstr(text, "holds shard 1/2 of the run, not 2/2"), "%s", text);
  free(text);
  rc = tu_runf(&text, NNBENCH " run %s --resume %s/a --accuracy-samples 0", suite, dir);
  cr_assert_neq(rc, 0);
  cr_assert(strstr(text, "continue it with --shard 1/2"), "%s", text);
  free(text);
}

Test(shard, resume_refuses_a_split_the_suites_rounds_moved) {
  /* [a]'s rounds make it the longest case or not, which moves it. */
  const char *fmt = "[suite]\nname = sharded\ndataset = synthetic:n=64\nmin_time = 0\n"
                    "min_iters = 2\nwarmup = 0\ntimeout = 60\n"
                    "[a]\nmodels = mlp:hidden=8\nbackends = reference\nbatch = 1\nrounds = %d\n"
                    "[b]\nmodels = mlp:hidden=64\nbackends = reference\nbatch = 4, 16\n"
                    "rounds = 1\n";
  char path[256], *text = NULL;
  snprintf(path, sizeof path, "%s/r.ini", dir);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fprintf(f, fmt, 5);
  fclose(f);
  run_into(path, "1/2", "a");
  f = fopen(path, "w");
  cr_assert(f);
  fprintf(f, fmt, 1);
  fclose(f);
  int rc = tu_runf(&text, NNBENCH " run %s --resume %s/a --shard 1/2 --accuracy-samples 0 2>&1",
                   path, dir);
  cr_expect_neq(rc, 0, "%s", text);
  cr_expect(strstr(text, "the run's cases now split otherwise") && strstr(text, "rounds"), "%s",
            text);
  free(text);
  /* --rounds changes no case's estimate: the same split, continued. */
  f = fopen(path, "w");
  cr_assert(f);
  fprintf(f, fmt, 5);
  fclose(f);
  rc = tu_runf(&text,
               NNBENCH " run %s --resume %s/a --shard 1/2 --rounds 2 --accuracy-samples 0 2>&1",
               path, dir);
  cr_expect_eq(rc, 0, "%s", text);
  free(text);
}
