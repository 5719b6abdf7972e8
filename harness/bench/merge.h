/* Joining the shards of a run (`nnbench run --shard I/N`, shard.h), each
 * measured on its own machine, into one complete run that `report`,
 * `plot` and `compare` take like any other. */
#ifndef NNB_MERGE_H
#define NNB_MERGE_H

#include <nnbench/status.h>

/* Reads the results folders dirs[0..n) and writes their merged run into
 * out (created; locked while written; refused when it already holds a
 * run). Refuses, naming every difference and the folders that differ:
 * different suites (fingerprints), nnbench versions or commits, seeds or
 * shard counts, the same shard twice, a missing shard, the same case in two
 * folders, or an unfinished folder; `force` merges anyway (the first record
 * of a case is kept) and records the differences in "run"."merged". */
nnb_status nnb_merge_runs(const char *const *dirs, int n, const char *out, int force, nnb_error *e);

#endif
