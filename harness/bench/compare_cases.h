/* Comparing one case of two results (A the baseline, B the candidate) by
 * the right unit. When both sides have at least two ok rounds, the rounds'
 * medians are compared (Welch's t on their logarithms, round_stats.h): the
 * calibrated method. Otherwise (one round, or results from before rounds)
 * the iterations are compared (Mann-Whitney U and a bootstrap of the ratio
 * of medians, compare_stats.h), which only says whether the two processes
 * differed, not whether the code did: such rows say method "iterations". */
#ifndef NNB_COMPARE_CASES_H
#define NNB_COMPARE_CASES_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "compare_stats.h"

typedef struct nnb_case_comparison {
  nnb_compare c;
  int by_rounds;          /* 1: rounds (Welch), 0: iterations */
  int rounds_a, rounds_b; /* ok rounds on each side */
  double noise;           /* the larger side's spread: between-round cv, or the iterations' cv */
} nnb_case_comparison;

/* Compares case records a and b (ok cases with "samples_s"). resamples
 * and seed drive the iterations' bootstrap. */
nnb_status nnb_compare_cases(const cJSON *a, const cJSON *b, int resamples, uint64_t seed,
                             nnb_case_comparison *out, nnb_error *e);

/* The change a verdict needs: the larger of floor (e.g. 0.02) and the noise
 * seen in either run; and the verdict with that threshold and the
 * Holm-adjusted p-value. */
double nnb_case_threshold(const nnb_case_comparison *k, double floor);
nnb_change nnb_case_verdict(const nnb_case_comparison *k, double p_adjusted, double floor);

#endif
