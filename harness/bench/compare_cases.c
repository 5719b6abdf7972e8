#include "compare_cases.h"

#include <math.h>
#include <stdlib.h>

#include "case_rounds.h"
#include "round_stats.h"

static double *samples_of(const cJSON *c, int *n) {
  const cJSON *arr = cJSON_GetObjectItem(c, "samples_s"), *x;
  *n = cJSON_GetArraySize(arr);
  double *v = malloc((size_t)(*n ? *n : 1) * sizeof *v);
  int i = 0;
  if (v) cJSON_ArrayForEach(x, arr) v[i++] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
  return v;
}

static double iterations_cv(const cJSON *c) {
  const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "summary"), "cv");
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

nnb_status nnb_compare_cases(const cJSON *a, const cJSON *b, int resamples, uint64_t seed,
                             nnb_case_comparison *out, nnb_error *e) {
  double *ma = malloc(NNB_MAX_ROUNDS * sizeof *ma), *mb = malloc(NNB_MAX_ROUNDS * sizeof *mb);
  if (!ma || !mb) {
    free(ma), free(mb);
    return nnb_fail(e, NNB_ERR_NOMEM, "out of memory comparing rounds");
  }
  nnb_case_comparison k = {.rounds_a = nnb_case_round_medians(a, ma, NNB_MAX_ROUNDS),
                           .rounds_b = nnb_case_round_medians(b, mb, NNB_MAX_ROUNDS)};
  nnb_status st;
  k.by_rounds = k.rounds_a >= 2 && k.rounds_b >= 2;
  if (k.by_rounds) {
    nnb_round_summary ra, rb;
    st = nnb_compare_rounds(ma, k.rounds_a, mb, k.rounds_b, &k.c, e);
    if (st == NNB_OK) st = nnb_rounds_summarize(ma, k.rounds_a, &ra, e);
    if (st == NNB_OK) st = nnb_rounds_summarize(mb, k.rounds_b, &rb, e);
    if (st == NNB_OK) k.noise = fmax(ra.between_cv, rb.between_cv);
  } else {
    int na, nb;
    double *sa = samples_of(a, &na), *sb = samples_of(b, &nb);
    st = sa && sb ? nnb_compare_samples(sa, na, sb, nb, resamples, seed, &k.c, e)
                  : nnb_fail(e, NNB_ERR_NOMEM, "out of memory reading samples");
    free(sa), free(sb);
    k.noise = fmax(iterations_cv(a), iterations_cv(b));
  }
  free(ma), free(mb);
  if (st == NNB_OK) *out = k;
  return st;
}

double nnb_case_threshold(const nnb_case_comparison *k, double floor) {
  return fmax(floor, isnan(k->noise) ? 0 : k->noise);
}

nnb_change nnb_case_verdict(const nnb_case_comparison *k, double p_adjusted, double floor) {
  return nnb_compare_verdict(&k->c, p_adjusted, nnb_case_threshold(k, floor));
}
