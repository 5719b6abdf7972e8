/* Summary statistics of one benchmark case's iteration times (seconds).
 *
 * Definitions, so that numbers can be reproduced elsewhere:
 *  - mean: two-pass (sum, then a compensating pass over the deviations);
 *  - stddev: sample standard deviation (divisor n - 1), computed from the
 *    deviations from the mean (two-pass), never from the one-pass sum of
 *    squares, which cancels catastrophically for samples like 1e9 + small;
 *    0 when n == 1. cv = stddev / mean (0 when mean == 0);
 *  - median: the middle value, or the mean of the two middle values for even n;
 *  - p90, p99: MLPerf LoadGen's definition, sorted[floor(n * p)] clamped to
 *    n - 1 (nnb_percentile_loadgen). With n >= 64 (p90) and n >= 662 (p99)
 *    these are meaningful at 99% confidence, which the *_meaningful flags say;
 *  - q1, q3: linear interpolation between order statistics (Hyndman & Fan
 *    type 7, the default of R and NumPy; nnb_quantile_type7);
 *  - outliers: Tukey's fences with IQR = q3 - q1. A value is a mild low
 *    outlier when q1 - 3 IQR <= x < q1 - 1.5 IQR and a severe one when
 *    x < q1 - 3 IQR; high ones symmetrically (strictly beyond the fence);
 *  - ci_lo, ci_hi: bootstrap 95% confidence interval of the median by the
 *    percentile method: `resamples` resamples of size n drawn with
 *    replacement by nnb_rng seeded with `seed`; the interval is the type-7
 *    2.5% and 97.5% quantiles of the resampled medians. The same samples,
 *    resamples and seed always give the same interval. */
#ifndef NNB_STATS_H
#define NNB_STATS_H

#include <stdint.h>

#include <nnbench/status.h>

#include "rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnb_summary {
  int n;
  double min, max, mean, median, p90, p99, stddev, cv; /* cv = stddev/mean */
  double ci_lo, ci_hi; /* bootstrap 95% CI of the median (percentile method) */
  /* Tukey fences: mild beyond 1.5 IQR, severe beyond 3 IQR. */
  int outliers_low_mild, outliers_low_severe, outliers_high_mild, outliers_high_severe;
  double q1, q3;
  /* n >= 64 and n >= 662 (MLPerf LoadGen's counts for 99% confidence). */
  int p90_meaningful, p99_meaningful;
} nnb_summary;

/* Summarizes n samples (not modified). Returns NNB_ERR_INVALID, with a message
 * naming the problem, for n < 1, resamples < 1, a NULL pointer, a NaN or
 * infinite sample, or sizes too large to allocate. No global state: safe to
 * call from several threads. */
nnb_status nnb_summarize(const double *samples, int n, int resamples, uint64_t seed,
                         nnb_summary *out, nnb_error *e);

/* LoadGen's percentile of an ascending array: sorted[floor(n * p)], the index
 * clamped to [0, n - 1]. n must be >= 1. */
double nnb_percentile_loadgen(const double *sorted, int n, double p);
/* Type-7 quantile of an ascending array: with h = (n - 1) p, sorted[floor(h)]
 * plus the fractional part of h times the gap to the next value. p is clamped
 * to [0, 1]; n must be >= 1. */
double nnb_quantile_type7(const double *sorted, int n, double p);

/* Internal, shared with compare_stats.c: sorts a copy of n samples into
 * `sorted` (ascending), and the median of one bootstrap resample (n draws with
 * replacement from sorted[0..n), counted in counts[0..n), which it zeroes
 * first). */
void nnb_stats_sort(double *sorted, const double *samples, int n);
double nnb_stats_resample_median(const double *sorted, int n, int *counts, nnb_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
