/* Benchmark statistics: summaries of iteration times (two-pass variance,
 * LoadGen and type-7 percentiles, Tukey outliers, a seeded bootstrap CI of
 * the median) and comparisons of two samples (ratio of medians with its
 * bootstrap CI, Mann-Whitney U, Holm, geometric mean, the verdict rule). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare_stats.h"
#include "rng.h"
#include "stats.h"

#define RESAMPLES 2000

static nnb_summary summarize(const double *x, int n, uint64_t seed) {
  nnb_summary s;
  nnb_error e = {{0}};
  nnb_status st = nnb_summarize(x, n, RESAMPLES, seed, &s, &e);
  cr_assert_eq(st, NNB_OK, "nnb_summarize: %s", e.msg);
  return s;
}

static nnb_compare compare(const double *a, int na, const double *b, int nb, uint64_t seed) {
  nnb_compare c;
  nnb_error e = {{0}};
  nnb_status st = nnb_compare_samples(a, na, b, nb, RESAMPLES, seed, &c, &e);
  cr_assert_eq(st, NNB_OK, "nnb_compare_samples: %s", e.msg);
  return c;
}

/* Roughly normal: center * (1 + noise * z), z the sum of 12 uniforms - 6. */
static void normalish(double *x, int n, double center, double noise, uint64_t seed) {
  nnb_rng r;
  nnb_rng_seed(&r, seed);
  for (int i = 0; i < n; i++) {
    double z = -6;
    for (int k = 0; k < 12; k++) z += nnb_rng_unit(&r);
    x[i] = center * (1 + noise * z);
  }
}

/* center * (1 + noise * u), u uniform in [-1, 1). */
static void uniformish(double *x, int n, double center, double noise, uint64_t seed) {
  nnb_rng r;
  nnb_rng_seed(&r, seed);
  for (int i = 0; i < n; i++) x[i] = center * (1 + noise * (2 * nnb_rng_unit(&r) - 1));
}

Test(stats, one_to_ten) {
  double x[10] = {7, 3, 10, 1, 5, 9, 2, 8, 6, 4}; /* shuffled: summarize sorts a copy */
  double copy[10];
  memcpy(copy, x, sizeof x);
  nnb_summary s = summarize(x, 10, 1);
  cr_assert(memcmp(x, copy, sizeof x) == 0, "samples were modified");
  cr_assert_eq(s.n, 10);
  cr_assert_float_eq(s.min, 1, 1e-15);
  cr_assert_float_eq(s.max, 10, 1e-15);
  cr_assert_float_eq(s.mean, 5.5, 1e-12);
  cr_assert_float_eq(s.median, 5.5, 1e-12);
  cr_assert_float_eq(s.stddev, 3.0276503540974917, 1e-12, "stddev %.17g", s.stddev);
  cr_assert_float_eq(s.cv, 3.0276503540974917 / 5.5, 1e-12);
  cr_assert_float_eq(s.q1, 3.25, 1e-12, "q1 %.17g", s.q1);
  cr_assert_float_eq(s.q3, 7.75, 1e-12, "q3 %.17g", s.q3);
  cr_assert_float_eq(s.p90, 10, 1e-15, "LoadGen p90 = sorted[9], got %g", s.p90);
  cr_assert_float_eq(s.p99, 10, 1e-15);
  cr_assert_eq(s.outliers_low_mild + s.outliers_low_severe + s.outliers_high_mild +
                   s.outliers_high_severe,
               0);
  cr_assert(s.ci_lo <= s.median && s.median <= s.ci_hi, "CI [%g, %g]", s.ci_lo, s.ci_hi);
  cr_assert(s.ci_lo >= 1 && s.ci_hi <= 10);
  cr_assert_eq(s.p90_meaningful, 0);
  cr_assert_eq(s.p99_meaningful, 0);
}

Test(stats, percentile_definitions) {
  double s[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  cr_assert_eq(nnb_percentile_loadgen(s, 10, 0.90), 10);
  cr_assert_eq(nnb_percentile_loadgen(s, 10, 0.5), 6);
  cr_assert_eq(nnb_percentile_loadgen(s, 10, 0.0), 1);
  cr_assert_eq(nnb_percentile_loadgen(s, 10, 1.0), 10); /* index 10 clamped to 9 */
  cr_assert_eq(nnb_percentile_loadgen(s, 1, 0.99), 1);
  cr_assert_float_eq(nnb_quantile_type7(s, 10, 0.5), 5.5, 1e-12);
  cr_assert_float_eq(nnb_quantile_type7(s, 10, 0.9), 9.1, 1e-12);
  cr_assert_eq(nnb_quantile_type7(s, 10, 0), 1);
  cr_assert_eq(nnb_quantile_type7(s, 10, 1), 10);
  cr_assert_eq(nnb_quantile_type7(s, 1, 0.3), 1);
}

Test(stats, odd_count_and_single_value) {
  double x[5] = {5, 1, 4, 2, 3};
  nnb_summary s = summarize(x, 5, 3);
  cr_assert_eq(s.median, 3);
  cr_assert_float_eq(s.stddev, sqrt(2.5), 1e-12);
  double one = 0.25;
  s = summarize(&one, 1, 3);
  cr_assert_eq(s.median, 0.25);
  cr_assert_eq(s.stddev, 0);
  cr_assert_eq(s.ci_lo, 0.25);
  cr_assert_eq(s.ci_hi, 0.25);
  cr_assert_eq(s.p90, 0.25);
}

Test(stats, constant_sample) {
  double x[37];
  for (int i = 0; i < 37; i++) x[i] = 0.0123;
  nnb_summary s = summarize(x, 37, 9);
  cr_assert_eq(s.stddev, 0, "stddev %.17g", s.stddev);
  cr_assert_eq(s.cv, 0);
  cr_assert_eq(s.ci_lo, 0.0123);
  cr_assert_eq(s.ci_hi, 0.0123);
  cr_assert_eq(s.median, 0.0123);
  cr_assert_eq(s.outliers_high_mild + s.outliers_high_severe + s.outliers_low_mild +
                   s.outliers_low_severe,
               0);
}

Test(stats, catastrophic_cancellation) {
  double x[4] = {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16};
  nnb_summary s = summarize(x, 4, 5);
  cr_assert_float_eq(s.mean, 1e9 + 10, 1e-6);
  cr_assert(fabs(s.stddev - sqrt(30.0)) < 1e-6, "stddev %.17g, want sqrt(30) = %.17g", s.stddev,
            sqrt(30.0));
  /* The one-pass formula in float (what this guards against) is far off. */
  float sum = 0, sum2 = 0;
  for (int i = 0; i < 4; i++) {
    sum += (float)x[i];
    sum2 += (float)x[i] * (float)x[i];
  }
  float naive = (sum2 - sum * sum / 4) / 3;
  cr_assert(fabsf(naive - 30.0f) > 1, "the naive variance %g happened to be right", naive);
}

Test(stats, tukey_outliers) {
  /* sorted: 1..10, 20, 40; n = 12: q1 = 3.75, q3 = 9.25, IQR = 5.5, so the
   * high fences are 17.5 (mild) and 25.75 (severe). */
  double x[12] = {40, 1, 2, 3, 4, 5, 20, 6, 7, 8, 9, 10};
  nnb_summary s = summarize(x, 12, 2);
  cr_assert_float_eq(s.q1, 3.75, 1e-12);
  cr_assert_float_eq(s.q3, 9.25, 1e-12);
  cr_assert_eq(s.outliers_high_mild, 1);
  cr_assert_eq(s.outliers_high_severe, 1);
  cr_assert_eq(s.outliers_low_mild, 0);
  cr_assert_eq(s.outliers_low_severe, 0);

  /* Mirrored: the same outliers on the low side. */
  double y[12];
  for (int i = 0; i < 12; i++) y[i] = 100 - x[i];
  s = summarize(y, 12, 2);
  cr_assert_eq(s.outliers_low_mild, 1);
  cr_assert_eq(s.outliers_low_severe, 1);
  cr_assert_eq(s.outliers_high_mild + s.outliers_high_severe, 0);
}

Test(stats, bootstrap_reproducible_and_covers_median) {
  enum { N = 1000 };
  double *x = malloc(N * sizeof *x);
  cr_assert_not_null(x);
  normalish(x, N, 1.0, 0.01, 42); /* median 1, sd 0.01 */
  nnb_summary a = summarize(x, N, 7);
  nnb_summary b = summarize(x, N, 7);
  nnb_summary c = summarize(x, N, 8);
  cr_assert(a.ci_lo == b.ci_lo && a.ci_hi == b.ci_hi, "same seed, different CI");
  cr_assert(a.ci_lo != c.ci_lo || a.ci_hi != c.ci_hi, "another seed gave the identical CI");
  cr_assert(a.ci_lo <= a.median && a.median <= a.ci_hi);
  cr_assert(a.ci_lo < 1.0 && 1.0 < a.ci_hi, "CI [%.6f, %.6f] misses the true median 1", a.ci_lo,
            a.ci_hi);
  /* The median's standard error is about 1.25 * 0.01 / sqrt(1000) = 4e-4, so
   * the 95% CI should be about 1.6e-3 wide. */
  double width = a.ci_hi - a.ci_lo;
  cr_assert(width > 2e-4 && width < 4e-3, "CI width %g", width);
  cr_assert_float_eq(a.stddev, 0.01, 1e-3);
  free(x);
}

Test(stats, percentile_meaningful_flags) {
  enum { N = 662 };
  double *x = malloc(N * sizeof *x);
  cr_assert_not_null(x);
  uniformish(x, N, 1.0, 0.1, 11);
  int ns[] = {63, 64, 661, 662};
  int p90[] = {0, 1, 1, 1}, p99[] = {0, 0, 0, 1};
  for (int i = 0; i < 4; i++) {
    nnb_summary s;
    nnb_error e;
    cr_assert_eq(nnb_summarize(x, ns[i], 10, 1, &s, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(s.p90_meaningful, p90[i], "n = %d", ns[i]);
    cr_assert_eq(s.p99_meaningful, p99[i], "n = %d", ns[i]);
  }
  free(x);
}

Test(stats, invalid_input) {
  nnb_summary s;
  nnb_error e = {{0}};
  double x[3] = {1, NAN, 3};
  cr_assert_eq(nnb_summarize(x, 0, 10, 1, &s, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "n = 0"), "%s", e.msg);
  cr_assert_eq(nnb_summarize(x, -5, 10, 1, &s, &e), NNB_ERR_INVALID);
  cr_assert_eq(nnb_summarize(x, 3, 10, 1, &s, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "NaN") && strstr(e.msg, "sample 1"), "%s", e.msg);
  x[1] = INFINITY;
  cr_assert_eq(nnb_summarize(x, 3, 10, 1, &s, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "infinite"), "%s", e.msg);
  x[1] = 2;
  cr_assert_eq(nnb_summarize(x, 3, 0, 1, &s, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "resample"), "%s", e.msg);
  cr_assert_eq(nnb_summarize(NULL, 3, 10, 1, &s, &e), NNB_ERR_INVALID);
  cr_assert_eq(nnb_summarize(x, 3, 10, 1, NULL, NULL), NNB_ERR_INVALID); /* NULL error is fine */

  nnb_compare c;
  cr_assert_eq(nnb_compare_samples(x, 0, x, 3, 10, 1, &c, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "A (baseline)"), "%s", e.msg);
  x[2] = NAN;
  cr_assert_eq(nnb_compare_samples(x, 2, x, 3, 10, 1, &c, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "NaN") && strstr(e.msg, "B (candidate)"), "%s", e.msg);
  x[2] = 0;
  cr_assert_eq(nnb_compare_samples(x, 3, x, 2, 10, 1, &c, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "> 0"), "%s", e.msg);
}

Test(compare, identical_samples) {
  double a[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  nnb_compare c = compare(a, 10, a, 10, 3);
  cr_assert_float_eq(c.u, 50, 1e-12);
  cr_assert(c.p_value > 0.99, "p %g", c.p_value);
  cr_assert_float_eq(c.ratio, 1, 1e-15);
  cr_assert(c.ratio_lo <= 1 && 1 <= c.ratio_hi);
  cr_assert_eq(nnb_compare_verdict(&c, c.p_value, 0.02), NNB_SAME);

  double k[6] = {2, 2, 2, 2, 2, 2}; /* all tied: zero variance, p = 1 */
  c = compare(k, 3, k + 3, 3, 3);
  cr_assert_eq(c.p_value, 1);
  cr_assert_eq(c.ratio_lo, 1);
  cr_assert_eq(c.ratio_hi, 1);
}

Test(compare, separated_samples) {
  double a[30], b[30];
  uniformish(a, 30, 1.0, 0.05, 5);
  uniformish(b, 30, 2.0, 0.05, 6);
  nnb_compare c = compare(a, 30, b, 30, 4);
  cr_assert_eq(c.u, 0);
  cr_assert(c.p_value < 1e-6, "p %g", c.p_value);
  /* Swapping the roles gives U = na nb and the same p. */
  nnb_compare d = compare(b, 30, a, 30, 4);
  cr_assert_eq(d.u, 900);
  cr_assert_float_eq(d.p_value, c.p_value, 1e-20);
}

Test(compare, textbook_mann_whitney) {
  double a[5] = {1, 2, 3, 4, 5}, b[5] = {6, 7, 8, 9, 10};
  nnb_compare c = compare(a, 5, b, 5, 1);
  cr_assert_eq(c.u, 0);
  /* Normal approximation, continuity-corrected, no ties: mu = 12.5,
   * sigma^2 = 5 * 5 * 11 / 12, z = (12.5 - 0.5) / sigma, p = 2 (1 - Phi(z)). */
  double sigma = sqrt(5.0 * 5.0 * 11.0 / 12.0);
  double z = (12.5 - 0.5) / sigma;
  double want = 2 * (1 - 0.5 * (1 + erf(z / sqrt(2.0))));
  cr_assert(fabs(c.p_value - want) < 1e-12, "p %.15g, want %.15g", c.p_value, want);
  cr_assert(fabs(c.p_value - 0.0122) < 5e-5, "p %.6g, textbook ~0.0122", c.p_value);
  cr_assert(c.p_value < 0.05);
  cr_assert_float_eq(c.ratio, 8.0 / 3.0, 1e-12);
}

Test(compare, ties_use_midranks) {
  /* A = {1, 2, 2}, B = {2, 3}: pairs with a > b count 1, ties 1/2:
   * (1,2):0 (1,3):0 (2,2):.5 (2,3):0 (2,2):.5 (2,3):0 -> U = 1. */
  double a[3] = {1, 2, 2}, b[2] = {2, 3};
  nnb_compare c = compare(a, 3, b, 2, 1);
  cr_assert_float_eq(c.u, 1, 1e-12);
  /* one tie group of 3: sum(t^3 - t) = 24 */
  double var = 3.0 * 2.0 / 12.0 * (6.0 - 24.0 / (5.0 * 4.0));
  double want = erfc((fabs(1 - 3.0) - 0.5) / sqrt(var) / sqrt(2.0));
  cr_assert_float_eq(c.p_value, want, 1e-12);
}

Test(compare, planted_slowdown) {
  double a[50], b[50];
  uniformish(a, 50, 1.0, 0.01, 100);
  uniformish(b, 50, 1.2, 0.01, 101);
  nnb_compare c = compare(a, 50, b, 50, 17);
  cr_assert(fabs(c.ratio - 1.2) < 0.01, "ratio %g", c.ratio);
  cr_assert(c.ratio_lo > 1 && c.ratio_lo <= c.ratio && c.ratio <= c.ratio_hi, "ratio CI [%g, %g]",
            c.ratio_lo, c.ratio_hi);
  cr_assert(c.p_value < 1e-6);
  cr_assert_eq(nnb_compare_verdict(&c, c.p_value, 0.02), NNB_SLOWER);
  /* The other way round it is a speed-up. */
  nnb_compare f = compare(b, 50, a, 50, 17);
  cr_assert(f.ratio_hi < 1);
  cr_assert_eq(nnb_compare_verdict(&f, f.p_value, 0.02), NNB_FASTER);
  /* Not significant after correction: SAME, however large the change. */
  cr_assert_eq(nnb_compare_verdict(&c, 0.2, 0.02), NNB_SAME);
  /* Below the threshold: SAME. */
  cr_assert_eq(nnb_compare_verdict(&c, c.p_value, 0.25), NNB_SAME);
  /* Reproducible from the seed. */
  nnb_compare c2 = compare(a, 50, b, 50, 17);
  cr_assert(c2.ratio_lo == c.ratio_lo && c2.ratio_hi == c.ratio_hi);
}

Test(compare, small_change_is_same) {
  double a[50], b[50];
  uniformish(a, 50, 1.0, 0.01, 200);
  uniformish(b, 50, 1.005, 0.01, 201);
  nnb_compare c = compare(a, 50, b, 50, 23);
  cr_assert(fabs(c.ratio - 1.005) < 0.01, "ratio %g", c.ratio);
  cr_assert_eq(nnb_compare_verdict(&c, c.p_value, 0.02), NNB_SAME, "ratio %g [%g, %g] p %g",
               c.ratio, c.ratio_lo, c.ratio_hi, c.p_value);
}

Test(compare, verdict_rule) {
  nnb_compare c = {.ratio = 1.1, .ratio_lo = 1.05, .ratio_hi = 1.15, .u = 0, .p_value = 0.001};
  cr_assert_eq(nnb_compare_verdict(&c, 0.001, 0.02), NNB_SLOWER);
  cr_assert_eq(nnb_compare_verdict(&c, 0.05, 0.02), NNB_SAME); /* p must be < 0.05 */
  c.ratio_lo = 0.99;                                           /* CI includes 1 */
  cr_assert_eq(nnb_compare_verdict(&c, 0.001, 0.02), NNB_SAME);
  c = (nnb_compare){.ratio = 0.9, .ratio_lo = 0.85, .ratio_hi = 0.95};
  cr_assert_eq(nnb_compare_verdict(&c, 0.001, 0.02), NNB_FASTER);
  cr_assert_eq(nnb_compare_verdict(&c, 0.001, 0.1), NNB_SAME); /* 1 - 0.9 is not > 0.1 */
  cr_assert_eq(nnb_compare_verdict(&c, NAN, 0.02), NNB_SAME);
  cr_assert_eq(nnb_compare_verdict(NULL, 0.001, 0.02), NNB_SAME);
}

Test(compare, holm) {
  double p[4] = {0.01, 0.04, 0.03, 0.005};
  double want[4] = {0.03, 0.06, 0.06, 0.02};
  nnb_holm(p, 4);
  for (int i = 0; i < 4; i++)
    cr_assert_float_eq(p[i], want[i], 1e-12, "p[%d] = %.17g, want %g", i, p[i], want[i]);
  double q[3] = {0.5, 0.9, 0.01};
  nnb_holm(q, 3); /* 0.03, then min(1, 2 * 0.5) = 1, then 1 */
  cr_assert_float_eq(q[2], 0.03, 1e-12);
  cr_assert_eq(q[0], 1);
  cr_assert_eq(q[1], 1);
  double one = 0.2;
  nnb_holm(&one, 1);
  cr_assert_eq(one, 0.2);
  nnb_holm(NULL, 0); /* no-op */
}

Test(compare, geomean) {
  double r[2] = {2, 8};
  cr_assert_float_eq(nnb_geomean(r, 2), 4, 1e-12);
  double s[3] = {1.1, 0.9, 1.0};
  cr_assert_float_eq(nnb_geomean(s, 3), cbrt(1.1 * 0.9), 1e-12);
  double bad[2] = {2, 0};
  cr_assert_eq(nnb_geomean(bad, 2), 0);
  bad[1] = -1;
  cr_assert_eq(nnb_geomean(bad, 2), 0);
  cr_assert_eq(nnb_geomean(r, 0), 0);
}
