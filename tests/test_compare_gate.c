/* The regression gate of `nnbench compare`: a run whose cases failed, are
 * missing or hold times that are not finite numbers > 0 never passes as
 * "no regression", and every case it could not compare is listed with why. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "results.h"
#include "testutil.h"

static char dir[64];
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-gate-XXXXXX");
  cr_assert(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}
TestSuite(gate, .init = setup, .fini = teardown, .timeout = 60);

typedef enum { GOOD, FAILED, SKIPPED, HUGE, ZERO, NEGATIVE, NOT_A_NUMBER } kind;

/* A results folder DIR/name with one case per model, each of the kind given. */
static void results(const char *name, const char *const *models, const kind *kinds, int n) {
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "schema_version", NNB_RESULTS_SCHEMA_VERSION);
  cJSON *cases = cJSON_AddArrayToObject(doc, "cases");
  for (int k = 0; k < n; k++) {
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "model", models[k]);
    cJSON_AddStringToObject(c, "backend", "reference");
    cJSON_AddStringToObject(c, "mode", "infer");
    cJSON_AddNumberToObject(c, "batch", 1);
    cJSON_AddNumberToObject(c, "threads", 1);
    cJSON_AddStringToObject(c, "status",
                            kinds[k] == FAILED    ? "failed"
                            : kinds[k] == SKIPPED ? "skipped"
                                                  : "ok");
    if (kinds[k] == FAILED) cJSON_AddStringToObject(c, "reason", "crashed: killed by signal 11");
    if (kinds[k] == SKIPPED)
      cJSON_AddStringToObject(c, "reason", "its first step took 9.5 s, more than max_step = 1 s");
    double v[20];
    for (int i = 0; i < 20; i++) v[i] = kinds[k] == HUGE ? 1e308 : 0.01 * (1 + 0.001 * i);
    if (kinds[k] == ZERO) v[3] = 0;
    if (kinds[k] == NEGATIVE) v[3] = -0.01;
    if (kinds[k] == NOT_A_NUMBER) v[3] = NAN; /* written as null */
    if (kinds[k] != FAILED && kinds[k] != SKIPPED)
      cJSON_AddItemToObject(c, "samples_s", cJSON_CreateDoubleArray(v, 20));
    cJSON_AddItemToArray(cases, c);
  }
  char path[128];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  nnb_error e;
  cr_assert_eq(nnb_results_write(path, doc, &e), NNB_OK, "%s", e.msg);
  cJSON_Delete(doc);
}

/* Runs compare A B --json --fail-on-regression; returns the exit status. */
static int gate(cJSON **doc) {
  char cmd[512], *out = NULL;
  snprintf(cmd, sizeof cmd, "%s/nnbench compare %s/a %s/b --json --fail-on-regression",
           NNB_BINARY_DIR, dir, dir);
  int st = tu_run(cmd, &out);
  *doc = cJSON_Parse(out);
  cr_assert(*doc, "compare prints JSON: %s", out);
  free(out);
  return st;
}

static const char *why_of(cJSON *doc, const char *model) {
  cJSON *x;
  cJSON_ArrayForEach(x, cJSON_GetObjectItem(doc, "not_compared")) {
    const char *key = cJSON_GetObjectItem(x, "case")->valuestring;
    if (!strncmp(key, model, strlen(model)) && key[strlen(model)] == ' ')
      return cJSON_GetObjectItem(x, "why")->valuestring;
  }
  return NULL;
}

static const char *const models[] = {"mlp", "cnn", "lstm", "transformer"};

Test(gate, passes_a_run_compared_with_itself) {
  results("a", models, (kind[]){GOOD, GOOD, GOOD, GOOD}, 4);
  results("b", models, (kind[]){GOOD, GOOD, GOOD, GOOD}, 4);
  cJSON *doc;
  cr_expect_eq(gate(&doc), 0);
  cr_expect_eq(cJSON_GetObjectItem(doc, "compared")->valueint, 4);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "not_compared")), 0);
  cJSON_Delete(doc);
}

Test(gate, fails_when_every_case_of_b_failed) {
  results("a", models, (kind[]){GOOD, GOOD, GOOD, GOOD}, 4);
  results("b", models, (kind[]){FAILED, FAILED, FAILED, FAILED}, 4);
  cJSON *doc;
  cr_expect_eq(gate(&doc), 1);
  cr_expect_eq(cJSON_GetObjectItem(doc, "compared")->valueint, 0);
  cr_expect(cJSON_IsNull(cJSON_GetObjectItem(doc, "geomean_ratio")),
            "no geometric mean of nothing (never 0)");
  for (int k = 0; k < 4; k++) {
    const char *why = why_of(doc, models[k]);
    cr_assert(why, "%s is listed", models[k]);
    cr_expect(strstr(why, "B: status failed") && strstr(why, "signal 11"), "%s", why);
  }
  cJSON_Delete(doc);
}

Test(gate, fails_when_b_has_no_cases) {
  results("a", models, (kind[]){GOOD, GOOD}, 2);
  results("b", models, NULL, 0);
  cJSON *doc;
  cr_expect_eq(gate(&doc), 1);
  cr_expect_str_eq(why_of(doc, "mlp"), "missing in B");
  cr_expect_str_eq(why_of(doc, "cnn"), "missing in B");
  cJSON_Delete(doc);
}

Test(gate, fails_on_a_case_only_in_b_or_failed_in_a) {
  results("a", models, (kind[]){GOOD, FAILED}, 2);
  results("b", models, (kind[]){GOOD, GOOD, GOOD}, 3);
  cJSON *doc;
  cr_expect_eq(gate(&doc), 1);
  cr_expect_eq(cJSON_GetObjectItem(doc, "compared")->valueint, 1);
  cr_expect(strstr(why_of(doc, "cnn"), "A: status failed"), "%s", why_of(doc, "cnn"));
  cr_expect_str_eq(why_of(doc, "lstm"), "missing in A");
  cJSON_Delete(doc);
}

Test(gate, fails_on_times_that_are_not_finite_numbers_above_zero) {
  results("a", models, (kind[]){GOOD, GOOD, GOOD, GOOD}, 4);
  results("b", models, (kind[]){HUGE, ZERO, NEGATIVE, NOT_A_NUMBER}, 4);
  cJSON *doc;
  cr_expect_eq(gate(&doc), 1);
  cr_expect_eq(cJSON_GetObjectItem(doc, "compared")->valueint, 0);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "cases")), 0,
               "no verdict (such as 'same') for a ratio that is not finite");
  const char *why = why_of(doc, "mlp");
  cr_assert(why);
  cr_expect(strstr(why, "not a finite number"), "1e308 medians: %s", why);
  cr_expect(strstr(why_of(doc, "cnn"), "sample 3 is 0"), "%s", why_of(doc, "cnn"));
  cr_expect(strstr(why_of(doc, "lstm"), "sample 3 is -0.01"), "%s", why_of(doc, "lstm"));
  cr_expect(strstr(why_of(doc, "transformer"), "sample 3 is not a number"), "%s",
            why_of(doc, "transformer"));
  cJSON_Delete(doc);
}

Test(gate, text_output_lists_what_was_not_compared) {
  results("a", models, (kind[]){GOOD, GOOD}, 2);
  results("b", models, (kind[]){GOOD, FAILED}, 2);
  char cmd[512], *out = NULL;
  snprintf(cmd, sizeof cmd, "%s/nnbench compare %s/a %s/b", NNB_BINARY_DIR, dir, dir);
  cr_expect_eq(tu_run(cmd, &out), 0, "without --fail-on-regression, a report only");
  cr_expect(strstr(out, "not compared: cnn reference infer b1 t1: B: status failed"), "%s", out);
  cr_expect(strstr(out, "1 case(s) compared, 0 slower, 1 not compared"), "%s", out);
  free(out);
}

Test(gate, a_case_both_runs_skipped_is_listed_apart_and_passes_one_side_only_fails) {
  results("a", models, (kind[]){GOOD, SKIPPED, SKIPPED}, 3);
  results("b", models, (kind[]){GOOD, SKIPPED, GOOD}, 3);
  cJSON *doc;
  cr_expect_eq(gate(&doc), 1, "lstm ran in B only: not compared, so the gate fails");
  cr_expect_eq(cJSON_GetObjectItem(doc, "compared")->valueint, 1);
  cJSON *both = cJSON_GetObjectItem(doc, "skipped_in_both");
  cr_assert_eq(cJSON_GetArraySize(both), 1);
  cr_expect(strstr(cJSON_GetObjectItem(cJSON_GetArrayItem(both, 0), "case")->valuestring, "cnn "));
  cr_expect_null(why_of(doc, "cnn"), "skipped in both is not 'not compared'");
  cr_expect(strstr(why_of(doc, "lstm"), "A: status skipped"), "%s", why_of(doc, "lstm"));
  cJSON_Delete(doc);
  results("b2", models, (kind[]){GOOD, SKIPPED, SKIPPED}, 3);
  char cmd[512], *out = NULL;
  snprintf(cmd, sizeof cmd, "%s/nnbench compare %s/a %s/b2 --fail-on-regression", NNB_BINARY_DIR,
           dir, dir);
  cr_expect_eq(tu_run(cmd, &out), 0, "the same scope on both sides passes: %s", out);
  cr_expect(strstr(out, "skipped in both: cnn reference infer b1 t1: its first step took 9.5 s"),
            "%s", out);
  free(out);
}
