/* Statistics across rounds: a case measured in R independent rounds (each
 * a fresh process) has one estimate per round, the round's median step
 * time. Rounds, not iterations, are the independent unit: iterations of one
 * process share its placement, frequency and memory layout, so intervals
 * built from them describe one run, not the measurement. Method and
 * assumptions: docs/statistics.md.
 *
 *  - centre: the geometric mean of the round medians, exp(mean(log m_r));
 *  - between_cv: the sample standard deviation of log m_r (divisor R - 1),
 *    close to the coefficient of variation of the round medians;
 *  - ci_lo, ci_hi: Student's t interval on log m_r,
 *    exp(mean +- t(0.975, R - 1) sd / sqrt(R)): valid for R >= 2 when the
 *    log round medians are roughly normal. With 3 to 5 rounds a bootstrap
 *    over rounds cannot reach 95% coverage (it never leaves the observed
 *    range), the t interval can;
 *  - comparing A with B: Welch's t test on the log round medians (two-sided,
 *    Welch-Satterthwaite degrees of freedom); ratio = exp(mean log B - mean
 *    log A) with the matching Welch 95% interval, so "p < 0.05" and "the
 *    interval excludes 1" are the same statement. */
#ifndef NNB_ROUND_STATS_H
#define NNB_ROUND_STATS_H

#include <nnbench/status.h>

#include "compare_stats.h"

typedef struct nnb_round_summary {
  int rounds;
  double centre, ci_lo, ci_hi; /* seconds */
  double between_cv;           /* sd of the log round medians */
} nnb_round_summary;

/* Summarizes r >= 2 round medians (finite, > 0). NNB_ERR_INVALID with a
 * message otherwise. */
nnb_status nnb_rounds_summarize(const double *medians, int r, nnb_round_summary *out, nnb_error *e);

/* Welch's comparison of round medians a[0..na) (baseline) and b[0..nb)
 * (candidate), na, nb >= 2. Fills ratio, ratio_lo, ratio_hi and p_value of
 * *out (u is set to the t statistic). */
nnb_status nnb_compare_rounds(const double *a, int na, const double *b, int nb, nnb_compare *out,
                              nnb_error *e);

/* Median and coefficient of variation of one round's n >= 1 iteration
 * times (cv 0 for n = 1). The samples are not modified. */
nnb_status nnb_round_median_cv(const double *samples, int n, double *median, double *cv,
                               nnb_error *e);

/* Student's t distribution: two-sided tail P(|T| >= |t|) with df > 0
 * degrees of freedom, and the quantile t with P(T <= t) = p, 0.5 <= p < 1. */
double nnb_t_two_sided_p(double t, double df);
double nnb_t_quantile(double p, double df);

#endif
