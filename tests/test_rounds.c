/* Rounds: the t distribution and Welch's test against reference values, the
 * interleaved schedule, a case gathered from its rounds, CPU lists, and the
 * calibration of compare's verdict on synthetic results with a known
 * between-round variance (A/A quiet in >= 95 of 100 seeded trials, a
 * planted 10% change found in >= 90 of 100). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "case_rounds.h"
#include "compare_cases.h"
#include "record.h"
#include "results.h"
#include "rng.h"
#include "round_stats.h"
#include "schedule.h"

Test(rounds, student_t_matches_tables) {
  /* t(0.975, df) from standard tables */
  cr_expect_float_eq(nnb_t_quantile(0.975, 2), 4.302653, 1e-5);
  cr_expect_float_eq(nnb_t_quantile(0.975, 4), 2.776445, 1e-5);
  cr_expect_float_eq(nnb_t_quantile(0.975, 10), 2.228139, 1e-5);
  cr_expect_float_eq(nnb_t_quantile(0.975, 1e6), 1.959966, 1e-5);
  cr_expect_float_eq(nnb_t_two_sided_p(2.0, 5), 0.101939, 1e-5);
  cr_expect_float_eq(nnb_t_two_sided_p(0, 3), 1.0, 1e-12);
  cr_expect_float_eq(nnb_t_two_sided_p(nnb_t_quantile(0.975, 3.7), 3.7), 0.05, 1e-9);
  cr_expect(isnan(nnb_t_quantile(0.2, 3)), "a quantile below the median is refused");
}

Test(rounds, welch_matches_a_worked_example) {
  /* t, df and p computed independently (pure Python, Simpson integration of
   * the t density) for these round medians. */
  double a[] = {10.0, 10.4, 9.8}, b[] = {11.0, 11.5, 10.7, 11.2};
  nnb_compare c;
  nnb_error e;
  cr_assert_eq(nnb_compare_rounds(a, 3, b, 4, &c, &e), NNB_OK, "%s", e.msg);
  cr_expect_float_eq(c.u, 4.224905, 1e-5, "t statistic");
  cr_expect_float_eq(c.p_value, 0.010601, 1e-5);
  cr_expect_float_eq(c.ratio, 1.102605, 1e-5);
  cr_expect(c.ratio_lo > 1 && c.ratio_hi > c.ratio, "p < 0.05, so the interval excludes 1");
  cr_expect_neq(nnb_compare_rounds(a, 1, b, 4, &c, &e), NNB_OK);
  cr_expect(strstr(e.msg, "at least 2"), "%s", e.msg);
  double bad[] = {1, -1};
  cr_expect_neq(nnb_compare_rounds(a, 3, bad, 2, &c, &e), NNB_OK);
  cr_expect(strstr(e.msg, "round 1"), "%s", e.msg);
}

Test(rounds, summary_interval_is_student_t_on_logs) {
  double m[] = {1.0, 1.1, 0.9};
  nnb_round_summary s;
  nnb_error e;
  cr_assert_eq(nnb_rounds_summarize(m, 3, &s, &e), NNB_OK, "%s", e.msg);
  double l[3] = {log(1.0), log(1.1), log(0.9)}, mean = (l[0] + l[1] + l[2]) / 3, v = 0;
  for (int i = 0; i < 3; i++) v += (l[i] - mean) * (l[i] - mean) / 2;
  cr_expect_float_eq(s.centre, exp(mean), 1e-12);
  cr_expect_float_eq(s.between_cv, sqrt(v), 1e-12);
  cr_expect_float_eq(s.ci_hi, exp(mean + 4.302653 * sqrt(v / 3)), 1e-6);
  cr_expect_float_eq(s.ci_lo, exp(mean - 4.302653 * sqrt(v / 3)), 1e-6);
  double same[] = {2, 2, 2};
  cr_assert_eq(nnb_rounds_summarize(same, 3, &s, &e), NNB_OK);
  cr_expect(s.ci_lo == 2 && s.ci_hi == 2);
}

Test(rounds, schedule_interleaves_every_case_round_by_round) {
  int rounds[] = {3, 3, 1, 3, 3, 3};
  nnb_slot *s, *t;
  int n, m;
  nnb_error e;
  cr_assert_eq(nnb_schedule(rounds, 6, 7, &s, &n, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(n, 16);
  int seen[6][3] = {{0}};
  for (int k = 0; k < n; k++) {
    seen[s[k].case_index][s[k].round]++;
    if (k) cr_expect_geq(s[k].round, s[k - 1].round, "round-major: all of round r before r + 1");
  }
  for (int i = 0; i < 6; i++)
    for (int r = 0; r < rounds[i]; r++) cr_expect_eq(seen[i][r], 1, "case %d round %d", i, r);
  int differ = 0; /* rounds 1 and 2 (5 cases each) are shuffled independently */
  for (int k = 0; k < 5; k++) differ |= s[6 + k].case_index != s[11 + k].case_index;
  cr_expect(differ, "each round has its own order");
  cr_assert_eq(nnb_schedule(rounds, 6, 7, &t, &m, &e), NNB_OK);
  cr_expect_eq(memcmp(s, t, sizeof *s * (size_t)n), 0, "same seed, same schedule");
  free(s), free(t);
  int zero[] = {2, 0};
  cr_expect_neq(nnb_schedule(zero, 2, 1, &s, &n, &e), NNB_OK);
  cr_expect(strstr(e.msg, "case 1"), "%s", e.msg);
}

Test(rounds, cpu_lists) {
  char err[160];
  cr_expect_eq(nnb_cpulist_parse("0", NULL, err, sizeof err), 0);
  cr_expect_eq(nnb_cpulist_parse("0-3,6,8-9", NULL, err, sizeof err), 0);
  const char *bad[] = {"", "a", "3-1", "1,", "-1", "1-", "0 1", "5000"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_expect_neq(nnb_cpulist_parse(bad[i], NULL, err, sizeof err), 0, "'%s' accepted", bad[i]);
    cr_expect(strstr(err, "CPU"), "%s", err);
  }
}

static double normal(nnb_rng *r) {
  double u = nnb_rng_unit(r), v = nnb_rng_unit(r);
  return sqrt(-2 * log(1 - u)) * cos(6.283185307179586 * v);
}

/* A case as the runner gathers it: `rounds` rounds, each a process whose
 * level is centre * exp(sigma_b N(0,1)) (the between-round variation), of
 * `iters` iterations jittering by exp(0.05 N(0,1)), 2% of them 3x outliers. */
static cJSON *synthetic_case(int rounds, int iters, double centre, double sigma_b, nnb_rng *r) {
  cJSON *rec = NULL;
  double *v = malloc((size_t)iters * sizeof *v);
  cr_assert(v);
  for (int k = 0; k < rounds; k++) {
    double level = centre * exp(sigma_b * normal(r));
    for (int i = 0; i < iters; i++)
      v[i] = level * exp(0.05 * normal(r)) * (nnb_rng_unit(r) < 0.02 ? 3 : 1);
    cJSON *one = cJSON_CreateObject();
    cJSON_AddStringToObject(one, "status", "ok");
    cJSON_AddItemToObject(one, "samples_s", cJSON_CreateDoubleArray(v, iters));
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(one, "memory"), "peak_rss_bytes", 1e6);
    nnb_case_add_round(&rec, one, k, k, NULL, "");
    nnb_case_summarize(rec, 1, 1);
  }
  free(v);
  return rec;
}

Test(rounds, a_case_gathered_from_rounds) {
  nnb_rng r;
  nnb_rng_seed(&r, 5);
  cJSON *c = synthetic_case(4, 50, 0.01, 0.03, &r);
  cJSON *rounds = cJSON_GetObjectItem(c, "rounds");
  cr_assert_eq(cJSON_GetArraySize(rounds), 4);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "samples_s")), 200,
               "every round's samples are kept");
  cr_expect_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(rounds, 3), "first")->valueint, 150);
  cJSON *s = cJSON_GetObjectItem(c, "summary");
  cr_expect_str_eq(cJSON_GetObjectItem(s, "ci_method")->valuestring, "rounds");
  cr_expect_eq(cJSON_GetObjectItem(s, "rounds")->valueint, 4);
  cr_expect_eq(cJSON_GetObjectItem(s, "n")->valueint, 200);
  double m[8];
  cr_assert_eq(nnb_case_round_medians(c, m, 8), 4);
  nnb_round_summary rs;
  nnb_error e;
  cr_assert_eq(nnb_rounds_summarize(m, 4, &rs, &e), NNB_OK);
  cr_expect_float_eq(cJSON_GetObjectItem(s, "median_s")->valuedouble, rs.centre, 1e-15);
  cr_expect_float_eq(cJSON_GetObjectItem(s, "median_ci95_hi_s")->valuedouble, rs.ci_hi, 1e-15);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(s, "outliers")), 4);
  cJSON *jitter = cJSON_GetObjectItem(s, "jitter_cv");
  cr_expect(cJSON_IsNumber(jitter) && jitter->valuedouble > 0.05,
            "jitter is the iterations' own spread, a separate figure");
  /* a failed round fails the case and says which */
  cJSON *bad = cJSON_CreateObject();
  cJSON_AddStringToObject(bad, "status", "failed");
  cJSON_AddStringToObject(bad, "reason", "crashed: killed by signal 11 (Segmentation fault)");
  nnb_case_add_round(&c, bad, 4, 9, NULL, "");
  cr_expect_not(nnb_case_ok(c));
  cr_expect(strstr(cJSON_GetObjectItem(c, "reason")->valuestring, "round 5: crashed"));
  cr_expect_eq(nnb_case_round_medians(c, m, 8), 0, "a failed case has no rounds to compare");
  cJSON_Delete(c);
}

/* A round's record with a two-node profile: "a" took sa seconds, "b" 1 ms. */
static cJSON *profiled_round(double sa, const char *second) {
  cJSON *one = cJSON_CreateObject();
  cJSON_AddStringToObject(one, "status", "ok");
  double t[3] = {1e-3, 1.1e-3, 0.9e-3};
  cJSON_AddItemToObject(one, "samples_s", cJSON_CreateDoubleArray(t, 3));
  cJSON_AddNumberToObject(cJSON_AddObjectToObject(one, "memory"), "peak_rss_bytes", 1e6);
  cJSON *prof = cJSON_AddArrayToObject(one, "node_profile");
  const char *names[2] = {"a", second};
  double secs[2] = {sa, 1e-3};
  for (int i = 0; i < 2; i++) {
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "name", names[i]);
    cJSON_AddNumberToObject(n, "seconds", secs[i]);
    cJSON_AddNumberToObject(n, "flops", 4e6);
    cJSON_AddNumberToObject(n, "gflops", 4e6 / secs[i] / 1e9);
    cJSON_AddItemToArray(prof, n);
  }
  return one;
}

/* The per-node profile of a case is the median over its rounds, not its
 * first round's: one disturbed round does not make it. */
Test(rounds, the_node_profile_is_the_median_of_the_rounds) {
  cJSON *c = NULL;
  const double sa[3] = {1e-3, 9e-3, 2e-3}; /* round 2 disturbed */
  for (int k = 0; k < 3; k++) nnb_case_add_round(&c, profiled_round(sa[k], "b"), k, k, NULL, "");
  /* a round whose profile has other nodes is left out */
  nnb_case_add_round(&c, profiled_round(5e-3, "other"), 3, 3, NULL, "");
  cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "node_profile"), 0);
  cr_expect_float_eq(cJSON_GetObjectItem(a, "seconds")->valuedouble, 2e-3, 1e-15);
  cr_expect_float_eq(cJSON_GetObjectItem(a, "gflops")->valuedouble, 2.0, 1e-12);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(a, "seconds_by_round")), 3);
  cJSON_Delete(c);
}

/* One trial: nc cases per side, each compared as nnbench compare does
 * (nnb_compare_cases, Holm over the grid, nnb_case_verdict with the default
 * 2% floor). Returns how many cases came out slower. */
static int trial(int nc, int rounds, double sigma_b, double change, uint64_t seed) {
  nnb_rng r;
  nnb_rng_seed(&r, seed);
  nnb_case_comparison k[16];
  double p[16];
  nnb_error e;
  for (int i = 0; i < nc; i++) {
    double centre = 1e-4 * (1 + i);
    cJSON *a = synthetic_case(rounds, 200, centre, sigma_b, &r);
    cJSON *b = synthetic_case(rounds, 200, centre * change, sigma_b, &r);
    cr_assert_eq(nnb_compare_cases(a, b, 200, 1, &k[i], &e), NNB_OK, "%s", e.msg);
    cr_assert(k[i].by_rounds);
    p[i] = k[i].c.p_value;
    cJSON_Delete(a), cJSON_Delete(b);
  }
  nnb_holm(p, nc);
  int slower = 0;
  for (int i = 0; i < nc; i++) slower += nnb_case_verdict(&k[i], p[i], 0.02) == NNB_SLOWER;
  return slower;
}

/* The designs the gate is calibrated for (docs/statistics.md has the power
 * of others): 5 rounds with a 3% spread between rounds, and the suites'
 * default of 3 rounds with 2%. */
static const struct {
  int rounds;
  double sigma;
} designs[] = {{5, 0.03}, {3, 0.02}};

Test(rounds, calibration_a_a_is_quiet, .timeout = 120) {
  for (size_t k = 0; k < sizeof designs / sizeof *designs; k++) {
    int quiet = 0;
    for (int t = 0; t < 100; t++)
      quiet += trial(1, designs[k].rounds, designs[k].sigma, 1.0, 1000 + t) == 0;
    cr_expect_geq(quiet, 95, "A/A with %d rounds, sigma %.2f: %d of 100 trials quiet",
                  designs[k].rounds, designs[k].sigma, quiet);
  }
}

Test(rounds, calibration_finds_a_planted_ten_percent, .timeout = 120) {
  for (size_t k = 0; k < sizeof designs / sizeof *designs; k++) {
    int found = 0;
    for (int t = 0; t < 100; t++)
      found += trial(1, designs[k].rounds, designs[k].sigma, 1.10, 5000 + t) == 1;
    cr_expect_geq(found, 90, "+10%% with %d rounds, sigma %.2f: found in %d of 100 trials",
                  designs[k].rounds, designs[k].sigma, found);
  }
}

Test(rounds, calibration_a_a_grid_of_16_is_quiet, .timeout = 300) {
  /* Holm keeps the whole grid's false-alarm rate at the per-case level. */
  int quiet = 0;
  for (int t = 0; t < 100; t++) quiet += trial(16, 3, 0.03, 1.0, 9000 + t) == 0;
  cr_expect_geq(quiet, 95, "A/A grid of 16 cases: %d of 100 trials quiet", quiet);
}
