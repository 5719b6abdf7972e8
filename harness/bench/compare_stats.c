#include "compare_stats.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "stats.h"

static nnb_status check_times(const char *name, const double *x, int n, nnb_error *e) {
  if (n < 1)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "nnb_compare_samples: sample %s needs at least 1 value, got n = %d", name, n);
  if (!x) return nnb_fail(e, NNB_ERR_INVALID, "nnb_compare_samples: sample %s is NULL", name);
  if ((size_t)n > SIZE_MAX / 2 / sizeof(double))
    return nnb_fail(e, NNB_ERR_INVALID,
                    "nnb_compare_samples: sample %s has n = %d values, too many to allocate", name,
                    n);
  for (int i = 0; i < n; i++) {
    if (isnan(x[i]))
      return nnb_fail(e, NNB_ERR_INVALID, "nnb_compare_samples: value %d of sample %s is NaN", i,
                      name);
    if (!isfinite(x[i]) || x[i] <= 0)
      return nnb_fail(e, NNB_ERR_INVALID,
                      "nnb_compare_samples: value %d of sample %s is %g; times must be finite "
                      "and > 0",
                      i, name, x[i]);
  }
  return NNB_OK;
}

static int cmp_double(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

typedef struct ranked {
  double v;
  int from_a;
} ranked;

static int cmp_ranked(const void *pa, const void *pb) {
  double a = ((const ranked *)pa)->v, b = ((const ranked *)pb)->v;
  return (a > b) - (a < b);
}

/* Mann-Whitney U of A and its two-sided normal-approximation p-value; `all`
 * has room for na + nb entries. */
static void mann_whitney(const double *a, int na, const double *b, int nb, ranked *all,
                         double *u_out, double *p_out) {
  int n = na + nb;
  for (int i = 0; i < na; i++) all[i] = (ranked){a[i], 1};
  for (int i = 0; i < nb; i++) all[na + i] = (ranked){b[i], 0};
  qsort(all, (size_t)n, sizeof *all, cmp_ranked);
  double rank_sum_a = 0, ties = 0;
  for (int i = 0; i < n;) {
    int j = i;
    while (j < n && all[j].v == all[i].v) j++;
    /* positions i..j-1 share the average 1-based rank */
    double rank = 0.5 * ((double)(i + 1) + (double)j);
    for (int k = i; k < j; k++)
      if (all[k].from_a) rank_sum_a += rank;
    double t = j - i;
    ties += t * t * t - t;
    i = j;
  }
  double dna = na, dnb = nb, dn = n;
  double u = rank_sum_a - dna * (dna + 1) / 2;
  double mu = dna * dnb / 2;
  double var = n > 1 ? dna * dnb / 12 * ((dn + 1) - ties / (dn * (dn - 1))) : 0;
  double p = 1;
  if (var > 0) {
    double z = fmax(0.0, fabs(u - mu) - 0.5) / sqrt(var);
    p = fmin(1.0, erfc(z / sqrt(2.0)));
  }
  *u_out = u;
  *p_out = p;
}

nnb_status nnb_compare_samples(const double *a, int na, const double *b, int nb, int resamples,
                               uint64_t seed, nnb_compare *out, nnb_error *e) {
  if (!out) return nnb_fail(e, NNB_ERR_INVALID, "nnb_compare_samples: out is NULL");
  nnb_status st = check_times("A (baseline)", a, na, e);
  if (st != NNB_OK) return st;
  st = check_times("B (candidate)", b, nb, e);
  if (st != NNB_OK) return st;
  if (resamples < 1)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "nnb_compare_samples: need at least 1 bootstrap resample, got resamples = %d",
                    resamples);
  if (na > INT_MAX - nb || (size_t)resamples > SIZE_MAX / sizeof(double))
    return nnb_fail(e, NNB_ERR_INVALID,
                    "nnb_compare_samples: na = %d, nb = %d, resamples = %d are too many to "
                    "allocate",
                    na, nb, resamples);

  int n = na + nb;
  double *sa = malloc((size_t)na * sizeof *sa);
  double *sb = malloc((size_t)nb * sizeof *sb);
  int *counts = malloc((size_t)(na > nb ? na : nb) * sizeof *counts);
  double *boot = malloc((size_t)resamples * sizeof *boot);
  ranked *all = malloc((size_t)n * sizeof *all);
  if (!sa || !sb || !counts || !boot || !all) {
    free(sa);
    free(sb);
    free(counts);
    free(boot);
    free(all);
    return nnb_fail(e, NNB_ERR_INVALID,
                    "nnb_compare_samples: cannot allocate buffers for na = %d, nb = %d, "
                    "resamples = %d",
                    na, nb, resamples);
  }
  nnb_stats_sort(sa, a, na);
  nnb_stats_sort(sb, b, nb);

  nnb_compare c;
  memset(&c, 0, sizeof c);
  double med_a = na % 2 ? sa[na / 2] : 0.5 * (sa[na / 2 - 1] + sa[na / 2]);
  double med_b = nb % 2 ? sb[nb / 2] : 0.5 * (sb[nb / 2 - 1] + sb[nb / 2]);
  c.ratio = med_b / med_a;

  nnb_rng rng;
  nnb_rng_seed(&rng, seed);
  for (int r = 0; r < resamples; r++) {
    double ma = nnb_stats_resample_median(sa, na, counts, &rng);
    double mb = nnb_stats_resample_median(sb, nb, counts, &rng);
    boot[r] = mb / ma;
  }
  qsort(boot, (size_t)resamples, sizeof *boot, cmp_double);
  c.ratio_lo = nnb_quantile_type7(boot, resamples, 0.025);
  c.ratio_hi = nnb_quantile_type7(boot, resamples, 0.975);

  mann_whitney(a, na, b, nb, all, &c.u, &c.p_value);

  free(sa);
  free(sb);
  free(counts);
  free(boot);
  free(all);
  *out = c;
  return NNB_OK;
}

typedef struct holm_item {
  double p;
  int idx;
} holm_item;

static int cmp_holm(const void *pa, const void *pb) {
  const holm_item *x = pa, *y = pb;
  if (x->p != y->p) return x->p < y->p ? -1 : 1;
  return (x->idx > y->idx) - (x->idx < y->idx); /* stable: ties in input order */
}

void nnb_holm(double *p, int n) {
  if (!p || n < 1) return;
  for (int i = 0; i < n; i++)
    if (isnan(p[i])) p[i] = 1;
  holm_item *it = malloc((size_t)n * sizeof *it);
  if (!it) {
    for (int i = 0; i < n; i++) p[i] = fmin(1.0, (double)n * p[i]);
    return;
  }
  for (int i = 0; i < n; i++) it[i] = (holm_item){p[i], i};
  qsort(it, (size_t)n, sizeof *it, cmp_holm);
  double running = 0;
  for (int j = 0; j < n; j++) {
    double adj = fmin(1.0, (double)(n - j) * it[j].p);
    if (adj > running) running = adj;
    p[it[j].idx] = running;
  }
  free(it);
}

double nnb_geomean(const double *r, int n) {
  if (!r || n < 1) return 0;
  double sum = 0;
  for (int i = 0; i < n; i++) {
    if (!(r[i] > 0)) return 0;
    sum += log(r[i]);
  }
  return exp(sum / n);
}

nnb_change nnb_compare_verdict(const nnb_compare *c, double p_adjusted, double threshold) {
  if (!c || !(p_adjusted < 0.05)) return NNB_SAME;
  if (c->ratio_lo > 1 && c->ratio - 1 > threshold) return NNB_SLOWER;
  if (c->ratio_hi < 1 && 1 - c->ratio > threshold) return NNB_FASTER;
  return NNB_SAME;
}
