/* Shards of a run: `nnbench run SUITE --shard I/N` measures only shard I of
 * N, a deterministic split of the expanded cases balanced by each case's
 * estimated time (so shards run on several machines finish together), and
 * records which shard it is in the results ("run"."shard"), so that
 * `nnbench merge` can join the shards into one run (merge.h). */
#ifndef NNB_SHARD_H
#define NNB_SHARD_H

#include <cjson/cJSON.h>

#include "model.h"
#include "suite.h"

typedef struct nnb_shard {
  int index, count; /* shard `index` of `count`, 1-based; count 0: the whole run */
} nnb_shard;

/* Parses "I/N" (1 <= I <= N <= 4096); the error names what was expected. */
nnb_status nnb_shard_parse(const char *text, nnb_shard *out, nnb_error *e);

/* A case's estimated seconds: per round, a process start plus
 * max(min_time, min_iters steps) and the warm-up steps, a step's time being
 * its FLOPs (forward, x3 for training) over a rough per-backend rate. Only
 * the ratios between cases matter. A model that does not build costs the
 * process start alone (it fails at once); a step estimated over the case's
 * max_step, the start and max_step (it is skipped after one step). */
double nnb_case_cost(const nnb_case *c, const nnb_input_shape *in);

/* Splits n cases of the given costs into `count` shards: the longest case
 * first, each to the shard with the least estimated time so far (the lowest
 * number on a tie). owner[i] receives case i's shard, 1..count. The same
 * costs give the same split. */
void nnb_shard_partition(const double *cost, int n, int count, int *owner);

/* Keeps in cases[0..*n) only shard sh's cases, in their order, and makes
 * *info the "run"."shard" object that records it (NULL when sh->count is 0,
 * all cases kept). */
nnb_status nnb_shard_cases(const nnb_shard *sh, const nnb_input_shape *in, nnb_case *cases, int *n,
                           cJSON **info, nnb_error *e);

/* Records info (may be NULL) as doc's "run"."shard"; a document that has one
 * already (a run being continued) must be the same shard, holding the same
 * cases, or the error names both. Takes info. */
nnb_status nnb_shard_mark(cJSON *doc, cJSON *info, nnb_error *e);

#endif
