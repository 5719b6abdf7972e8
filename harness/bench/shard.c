#include "shard.h"

#include <stdlib.h>
#include <string.h>

#define PROCESS_START_S 0.3 /* fork, backend init, graph preparation */

/* Rough sustained rates: only their ratios matter, and a wrong one costs
 * balance, never correctness. A peer starts a framework per round. */
static const struct {
  const char *backend;
  double flops_per_s, start_s;
} rates[] = {
    {"reference", 1e9, 0},
    {"vulkan", 5e9, 0.2},
    {"pytorch", 2e10, 3.0},
};
#define DEFAULT_RATE 2e10

nnb_status nnb_shard_parse(const char *text, nnb_shard *out, nnb_error *e) {
  int i, n, used = 0;
  if (sscanf(text, "%d/%d%n", &i, &n, &used) != 2 || text[used] || n < 1 ||
      n > NNB_SUITE_MAX_CASES || i < 1 || i > n)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "--shard '%s': expected I/N with 1 <= I <= N <= %d, e.g. 2/4 for the second "
                    "of four shards",
                    text, NNB_SUITE_MAX_CASES);
  out->index = i;
  out->count = n;
  return NNB_OK;
}

double nnb_case_cost(const nnb_case *c, const nnb_input_shape *in) {
  double rate = DEFAULT_RATE, start = PROCESS_START_S, flops = 0;
  for (size_t k = 0; k < sizeof rates / sizeof *rates; k++)
    if (!strcmp(c->backend, rates[k].backend)) {
      rate = rates[k].flops_per_s;
      start += rates[k].start_s;
    }
  nnb_model_spec spec;
  nnb_model m;
  nnb_error ignored; /* the case reports its own error when it runs */
  if (nnb_model_parse(c->model, &spec, &ignored) == NNB_OK &&
      nnb_model_build(&spec, in, 1, 0, &m, &ignored) == NNB_OK) {
    flops = nnb_model_flops_per_sample(&m) * c->batch * (c->mode == NNB_MODE_TRAIN ? 3 : 1);
    nnb_model_free(&m);
  }
  double step = flops / rate, iters = step * c->min_iters;
  if (c->max_step > 0 && step > c->max_step) return start + c->max_step; /* skipped at once */
  double round = start + (iters > c->min_time ? iters : c->min_time) + step * c->warmup;
  return round * (c->rounds > 0 ? c->rounds : 1);
}

typedef struct ranked {
  double cost;
  int index;
} ranked;

static int by_cost_desc(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  if (a->cost != b->cost) return a->cost > b->cost ? -1 : 1;
  return a->index - b->index; /* a total order: qsort is not stable */
}

void nnb_shard_partition(const double *cost, int n, int count, int *owner) {
  ranked *r = malloc((size_t)(n ? n : 1) * sizeof *r);
  double *load = calloc((size_t)count, sizeof *load);
  if (!r || !load) { /* no memory for the balance: a round-robin split is still a partition */
    for (int i = 0; i < n; i++) owner[i] = 1 + i % count;
    free(r), free(load);
    return;
  }
  for (int i = 0; i < n; i++) r[i] = (ranked){cost[i], i};
  qsort(r, (size_t)n, sizeof *r, by_cost_desc);
  for (int k = 0; k < n; k++) {
    int best = 0;
    for (int s = 1; s < count; s++)
      if (load[s] < load[best]) best = s;
    load[best] += r[k].cost;
    owner[r[k].index] = best + 1;
  }
  free(r), free(load);
}

nnb_status nnb_shard_cases(const nnb_shard *sh, const nnb_input_shape *in, nnb_case *cases, int *n,
                           cJSON **info, nnb_error *e) {
  *info = NULL;
  if (sh->count == 0) return NNB_OK;
  int total = *n;
  double *cost = malloc((size_t)(total ? total : 1) * sizeof *cost);
  int *owner = malloc((size_t)(total ? total : 1) * sizeof *owner);
  if (!cost || !owner) {
    free(cost), free(owner);
    return nnb_fail(e, NNB_ERR_NOMEM, "out of memory splitting %d cases into shards", total);
  }
  double all = 0, mine = 0;
  for (int i = 0; i < total; i++) all += cost[i] = nnb_case_cost(&cases[i], in);
  nnb_shard_partition(cost, total, sh->count, owner);
  *info = cJSON_CreateObject();
  cJSON_AddNumberToObject(*info, "index", sh->index);
  cJSON_AddNumberToObject(*info, "count", sh->count);
  cJSON_AddNumberToObject(*info, "cases_total", total);
  cJSON *idx = cJSON_AddArrayToObject(*info, "case_indices");
  int kept = 0;
  for (int i = 0; i < total; i++) {
    if (owner[i] != sh->index) continue;
    mine += cost[i];
    cJSON_AddItemToArray(idx, cJSON_CreateNumber(i));
    cases[kept++] = cases[i];
  }
  cJSON_AddNumberToObject(*info, "estimated_s", mine);
  cJSON_AddNumberToObject(*info, "estimated_s_total", all);
  *n = kept;
  free(cost), free(owner);
  return NNB_OK;
}

static int shard_field(const cJSON *shard, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(shard, key);
  return cJSON_IsNumber(v) ? v->valueint : 0;
}

nnb_status nnb_shard_mark(cJSON *doc, cJSON *info, nnb_error *e) {
  cJSON *run = cJSON_GetObjectItemCaseSensitive(doc, "run");
  if (!cJSON_IsObject(run)) run = cJSON_AddObjectToObject(doc, "run");
  cJSON *had = cJSON_GetObjectItemCaseSensitive(run, "shard");
  if (!had) {
    if (info) cJSON_AddItemToObject(run, "shard", info);
    return NNB_OK;
  }
  int hi = shard_field(had, "index"), hn = shard_field(had, "count");
  int wi = info ? shard_field(info, "index") : 0, wn = info ? shard_field(info, "count") : 0;
  /* The split weighs each case's rounds, which the fingerprint leaves out
   * (a continuation may measure more or fewer): the same shard of another
   * split would hold other cases. */
  int same_cases = cJSON_Compare(cJSON_GetObjectItemCaseSensitive(had, "case_indices"),
                                 cJSON_GetObjectItemCaseSensitive(info, "case_indices"), 1);
  cJSON_Delete(info);
  if (hi == wi && hn == wn && same_cases) return NNB_OK;
  if (hi == wi && hn == wn)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "this folder holds shard %d/%d of the run, but the run's cases now split "
                    "otherwise: the split weighs each case's rounds, and the suite's rounds "
                    "differ from the run's; continue with the suite's rounds as they were "
                    "(--rounds N measures other rounds without moving cases)",
                    hi, hn);
  if (!wn)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "this folder holds shard %d/%d of the run; continue it with --shard %d/%d", hi,
                    hn, hi, hn);
  return nnb_fail(e, NNB_ERR_INVALID, "this folder holds shard %d/%d of the run, not %d/%d", hi, hn,
                  wi, wn);
}
