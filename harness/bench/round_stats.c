#include "round_stats.h"

#include <math.h>
#include <stdlib.h>

#include "stats.h"

/* Continued fraction of the regularized incomplete beta function, by the
 * modified Lentz method (converges quickly for x < (a + 1) / (a + b + 2)). */
static double beta_cf(double a, double b, double x) {
  const double tiny = 1e-300;
  double c = 1, d = 1 - (a + b) * x / (a + 1);
  if (fabs(d) < tiny) d = tiny;
  d = 1 / d;
  double h = d;
  for (int m = 1; m <= 300; m++) {
    double m2 = 2.0 * m;
    double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    c = 1 + num / c;
    d = 1 / (fabs(d) < tiny ? tiny : d);
    c = fabs(c) < tiny ? tiny : c;
    h *= d * c;
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    c = 1 + num / c;
    d = 1 / (fabs(d) < tiny ? tiny : d);
    c = fabs(c) < tiny ? tiny : c;
    double delta = d * c;
    h *= delta;
    if (fabs(delta - 1) < 1e-15) break;
  }
  return h;
}

/* I_x(a, b), the regularized incomplete beta function. */
static double inc_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
  if (x < (a + 1) / (a + b + 2)) return front * beta_cf(a, b, x) / a;
  return 1 - front * beta_cf(b, a, 1 - x) / b;
}

double nnb_t_two_sided_p(double t, double df) {
  if (isnan(t) || !(df > 0)) return 1;
  if (isinf(t)) return 0;
  return inc_beta(df / 2, 0.5, df / (df + t * t));
}

double nnb_t_quantile(double p, double df) {
  if (!(p >= 0.5 && p < 1) || !(df > 0)) return NAN;
  double lo = 0, hi = 1;
  double tail = 2 * (1 - p); /* the two-sided tail at the quantile */
  while (nnb_t_two_sided_p(hi, df) > tail && hi < 1e12) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    double mid = 0.5 * (lo + hi);
    if (nnb_t_two_sided_p(mid, df) > tail)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

static nnb_status check_medians(const char *what, const double *m, int r, nnb_error *e) {
  if (!m || r < 2)
    return nnb_fail(e, NNB_ERR_INVALID, "%s: need at least 2 round medians, got %d", what, r);
  for (int i = 0; i < r; i++)
    if (!isfinite(m[i]) || m[i] <= 0)
      return nnb_fail(e, NNB_ERR_INVALID, "%s: round %d's median is %g; expected a time > 0", what,
                      i, m[i]);
  return NNB_OK;
}

/* Mean and sample variance of log m[0..r). */
static void log_moments(const double *m, int r, double *mean, double *var) {
  double s = 0, d2 = 0;
  for (int i = 0; i < r; i++) s += log(m[i]);
  *mean = s / r;
  for (int i = 0; i < r; i++) d2 += (log(m[i]) - *mean) * (log(m[i]) - *mean);
  *var = d2 / (r - 1);
}

nnb_status nnb_rounds_summarize(const double *medians, int r, nnb_round_summary *out,
                                nnb_error *e) {
  nnb_status st = check_medians("rounds", medians, r, e);
  if (st != NNB_OK) return st;
  double mean, var;
  log_moments(medians, r, &mean, &var);
  double half = nnb_t_quantile(0.975, r - 1) * sqrt(var / r);
  *out = (nnb_round_summary){r, exp(mean), exp(mean - half), exp(mean + half), sqrt(var)};
  return NNB_OK;
}

nnb_status nnb_compare_rounds(const double *a, int na, const double *b, int nb, nnb_compare *out,
                              nnb_error *e) {
  nnb_status st = check_medians("baseline rounds", a, na, e);
  if (st == NNB_OK) st = check_medians("candidate rounds", b, nb, e);
  if (st != NNB_OK) return st;
  double ma, va, mb, vb;
  log_moments(a, na, &ma, &va);
  log_moments(b, nb, &mb, &vb);
  double qa = va / na, qb = vb / nb, se = sqrt(qa + qb), diff = mb - ma;
  nnb_compare c = {.ratio = exp(diff)};
  if (se > 0) {
    /* Welch-Satterthwaite; a side without spread contributes no term. */
    double den = (qa > 0 ? qa * qa / (na - 1) : 0) + (qb > 0 ? qb * qb / (nb - 1) : 0);
    double df = (qa + qb) * (qa + qb) / den;
    double half = nnb_t_quantile(0.975, df) * se;
    c.u = diff / se;
    c.p_value = nnb_t_two_sided_p(c.u, df);
    c.ratio_lo = exp(diff - half);
    c.ratio_hi = exp(diff + half);
  } else { /* no spread on either side: the ratio is exact */
    c.u = 0;
    c.p_value = diff == 0 ? 1 : 0;
    c.ratio_lo = c.ratio_hi = c.ratio;
  }
  *out = c;
  return NNB_OK;
}

nnb_status nnb_round_median_cv(const double *samples, int n, double *median, double *cv,
                               nnb_error *e) {
  if (!samples || n < 1)
    return nnb_fail(e, NNB_ERR_INVALID, "a round needs at least 1 sample, got %d", n);
  double *s = malloc((size_t)n * sizeof *s);
  if (!s) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory for a round of %d samples", n);
  nnb_stats_sort(s, samples, n);
  *median = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
  double mean = 0, d2 = 0;
  for (int i = 0; i < n; i++) mean += s[i];
  mean /= n;
  for (int i = 0; i < n; i++) d2 += (s[i] - mean) * (s[i] - mean);
  *cv = n > 1 && mean > 0 ? sqrt(d2 / (n - 1)) / mean : 0;
  free(s);
  return NNB_OK;
}
