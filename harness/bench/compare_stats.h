/* Comparing two samples of times: A, the baseline, and B, the candidate.
 *
 *  - ratio = median(B) / median(A): > 1 means B is slower.
 *  - ratio_lo, ratio_hi: bootstrap 95% CI of the ratio of medians by the
 *    percentile method; A and B are resampled independently (with
 *    replacement, their own sizes) by nnb_rng seeded with `seed`, and the
 *    interval is the type-7 2.5% and 97.5% quantiles of the resampled ratios.
 *  - u: the Mann-Whitney U statistic of A (the number of pairs (a, b) with
 *    a > b, ties counting 1/2; as SciPy's mannwhitneyu reports for its first
 *    sample); U of B is na * nb - u.
 *  - p_value: two-sided, from the normal approximation with the tie
 *    correction of the variance and a continuity correction of 0.5:
 *      mu = na nb / 2,
 *      sigma^2 = na nb / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))),
 *      z = max(0, |u - mu| - 0.5) / sigma,  p = erfc(z / sqrt 2),
 *    N = na + nb, t the size of each group of tied values; p = 1 when sigma
 *    is 0 (every value tied). Not exact for small samples.
 */
#ifndef NNB_COMPARE_STATS_H
#define NNB_COMPARE_STATS_H

#include <stdint.h>

#include <nnbench/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nnb_compare {
  double ratio;              /* median(B)/median(A) */
  double ratio_lo, ratio_hi; /* bootstrap 95% CI of the ratio of medians, seeded */
  double u, p_value;         /* Mann-Whitney U (two-sided), normal approximation */
} nnb_compare;

/* Compares A (baseline, na samples) with B (candidate, nb samples); neither is
 * modified. Times must be finite and > 0 (a ratio of medians needs a positive
 * baseline). Returns NNB_ERR_INVALID, with a message naming the problem, for
 * na or nb < 1, resamples < 1, a NULL pointer, a NaN, infinite or non-positive
 * sample, or sizes too large to allocate. No global state. */
nnb_status nnb_compare_samples(const double *a, int na, const double *b, int nb, int resamples,
                               uint64_t seed, nnb_compare *out, nnb_error *e);

/* Holm-Bonferroni: adjusts n p-values in place. With p_(0) <= ... <= p_(n-1)
 * the ascending order (ties kept in input order), the adjusted value of p_(i)
 * is max over j <= i of min(1, (n - j) p_(j)), written back to the position
 * p_(i) came from. A NaN p-value counts as 1. Should the small sort buffer
 * not be allocatable, falls back to plain Bonferroni, min(1, n p), which is
 * never smaller (still controls the family-wise error rate). */
void nnb_holm(double *p, int n);

/* Geometric mean of n positive ratios: exp(mean(log r)). 0 when n < 1 or any
 * ratio is <= 0 or NaN. */
double nnb_geomean(const double *r, int n);

typedef enum { NNB_SAME = 0, NNB_FASTER, NNB_SLOWER } nnb_change;

/* The verdict rule: SLOWER only when p_adjusted < 0.05, the ratio CI excludes
 * 1 (ratio_lo > 1) and ratio - 1 > threshold; FASTER symmetrically
 * (p_adjusted < 0.05, ratio_hi < 1 and 1 - ratio > threshold); otherwise
 * SAME (also for a NULL c or NaNs). threshold is a fraction, e.g. 0.02. */
nnb_change nnb_compare_verdict(const nnb_compare *c, double p_adjusted, double threshold);

#ifdef __cplusplus
}
#endif
#endif
