#include "stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

void nnb_stats_sort(double *sorted, const double *samples, int n) {
  memcpy(sorted, samples, (size_t)n * sizeof *sorted);
  qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
}

/* Median of an ascending array. */
static double median_sorted(const double *s, int n) {
  return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

double nnb_stats_resample_median(const double *sorted, int n, int *counts, nnb_rng *rng) {
  memset(counts, 0, (size_t)n * sizeof *counts);
  for (int i = 0; i < n; i++) counts[nnb_rng_below(rng, (uint64_t)n)]++;
  /* The resample, sorted, is sorted[i] repeated counts[i] times: walk the
   * cumulative counts to its middle element(s), O(n) instead of a sort. */
  int k_lo = (n - 1) / 2, k_hi = n / 2;
  double lo = sorted[n - 1], hi = sorted[n - 1];
  int cum = 0, have_lo = 0;
  for (int i = 0; i < n; i++) {
    cum += counts[i];
    if (!have_lo && cum > k_lo) {
      lo = sorted[i];
      have_lo = 1;
    }
    if (cum > k_hi) {
      hi = sorted[i];
      break;
    }
  }
  return k_lo == k_hi ? lo : 0.5 * (lo + hi);
}

double nnb_percentile_loadgen(const double *sorted, int n, double p) {
  if (n < 1) return NAN;
  double idx = floor((double)n * p);
  if (!(idx >= 0)) idx = 0; /* also catches a NaN p */
  if (idx > n - 1) idx = n - 1;
  return sorted[(int)idx];
}

double nnb_quantile_type7(const double *sorted, int n, double p) {
  if (n < 1) return NAN;
  if (!(p >= 0)) p = 0;
  if (p > 1) p = 1;
  double h = (double)(n - 1) * p;
  int lo = (int)floor(h);
  if (lo >= n - 1) return sorted[n - 1];
  double frac = h - lo;
  return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

nnb_status nnb_summarize(const double *samples, int n, int resamples, uint64_t seed,
                         nnb_summary *out, nnb_error *e) {
  if (!out) return nnb_fail(e, NNB_ERR_INVALID, "nnb_summarize: out is NULL");
  if (n < 1)
    return nnb_fail(e, NNB_ERR_INVALID, "nnb_summarize: need at least 1 sample, got n = %d", n);
  if (!samples) return nnb_fail(e, NNB_ERR_INVALID, "nnb_summarize: samples is NULL (n = %d)", n);
  if (resamples < 1)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "nnb_summarize: need at least 1 bootstrap resample, got resamples = %d",
                    resamples);
  for (int i = 0; i < n; i++)
    if (!isfinite(samples[i]))
      return nnb_fail(e, NNB_ERR_INVALID, "nnb_summarize: sample %d of %d is %s", i, n,
                      isnan(samples[i]) ? "NaN" : "infinite");
  if ((size_t)n > SIZE_MAX / sizeof(double) || (size_t)resamples > SIZE_MAX / sizeof(double))
    return nnb_fail(e, NNB_ERR_INVALID,
                    "nnb_summarize: n = %d samples or %d resamples are too many to allocate", n,
                    resamples);

  double *sorted = malloc((size_t)n * sizeof *sorted);
  int *counts = malloc((size_t)n * sizeof *counts);
  double *boot = malloc((size_t)resamples * sizeof *boot);
  if (!sorted || !counts || !boot) {
    free(sorted);
    free(counts);
    free(boot);
    return nnb_fail(e, NNB_ERR_INVALID,
                    "nnb_summarize: cannot allocate buffers for n = %d samples and %d resamples", n,
                    resamples);
  }
  nnb_stats_sort(sorted, samples, n);

  nnb_summary s;
  memset(&s, 0, sizeof s);
  s.n = n;
  s.min = sorted[0];
  s.max = sorted[n - 1];

  /* Two-pass mean and sample variance: the second pass corrects the mean by
   * the mean deviation (which is 0 in exact arithmetic) and sums the squared
   * deviations, so no large numbers are subtracted from each other. */
  double sum = 0;
  for (int i = 0; i < n; i++) sum += samples[i];
  double mean = sum / n;
  double dev = 0, dev2 = 0;
  for (int i = 0; i < n; i++) {
    double d = samples[i] - mean;
    dev += d;
    dev2 += d * d;
  }
  s.mean = mean + dev / n;
  s.stddev = n > 1 ? sqrt(fmax(0.0, (dev2 - dev * dev / n) / (n - 1))) : 0.0;
  s.cv = s.mean != 0 ? s.stddev / s.mean : 0.0;

  s.median = median_sorted(sorted, n);
  s.p90 = nnb_percentile_loadgen(sorted, n, 0.90);
  s.p99 = nnb_percentile_loadgen(sorted, n, 0.99);
  s.p90_meaningful = n >= 64;
  s.p99_meaningful = n >= 662;

  s.q1 = nnb_quantile_type7(sorted, n, 0.25);
  s.q3 = nnb_quantile_type7(sorted, n, 0.75);
  double iqr = s.q3 - s.q1;
  double lo_mild = s.q1 - 1.5 * iqr, lo_severe = s.q1 - 3.0 * iqr;
  double hi_mild = s.q3 + 1.5 * iqr, hi_severe = s.q3 + 3.0 * iqr;
  for (int i = 0; i < n; i++) {
    double x = sorted[i];
    if (x < lo_severe)
      s.outliers_low_severe++;
    else if (x < lo_mild)
      s.outliers_low_mild++;
    else if (x > hi_severe)
      s.outliers_high_severe++;
    else if (x > hi_mild)
      s.outliers_high_mild++;
  }

  nnb_rng rng;
  nnb_rng_seed(&rng, seed);
  for (int r = 0; r < resamples; r++) boot[r] = nnb_stats_resample_median(sorted, n, counts, &rng);
  qsort(boot, (size_t)resamples, sizeof *boot, cmp_double);
  s.ci_lo = nnb_quantile_type7(boot, resamples, 0.025);
  s.ci_hi = nnb_quantile_type7(boot, resamples, 0.975);

  free(sorted);
  free(counts);
  free(boot);
  *out = s;
  return NNB_OK;
}
