/* Running a whole suite: expands "all" backends, runs every case isolated,
 * in rounds (each round of each case a fresh child process, the rounds of
 * all cases interleaved in a seeded order: schedule.h),
 * measures accuracy agreement per (model, backend), and writes the results
 * after every round, atomically, so an interrupted run keeps what it
 * measured (cases not reached yet read "status": "pending") and can be
 * continued. */
#ifndef NNB_SUITE_RUN_H
#define NNB_SUITE_RUN_H

#include "shard.h"
#include "suite.h"

typedef struct nnb_run_options {
  const char *out_dir; /* NULL: results/<suite>-<UTC time> */
  int argc;            /* the command line, for provenance */
  char **argv;
  int accuracy_samples; /* test samples for the accuracy section (0: skip it) */
  const char *weights;  /* overrides the suite's weights folder when not NULL */
  int rounds;           /* overrides every case's rounds when > 0 */
  const char *pin;      /* overrides every case's CPU list when not NULL */
  int resume;            /* continue the interrupted run in out_dir */
  int force;             /* ... even when its cases, commit or machine differ */
  uint64_t memory_limit; /* bytes each case may use (0: no limit), see memory_limit.h */
  nnb_shard shard;       /* the part of the cases this run measures (count 0: all) */
} nnb_run_options;

/* Runs the suite; *out_dir receives the results folder, which is locked
 * while the run writes it and must not hold a run already (unless resuming
 * it: then only the cases it has no record of run). Returns NNB_OK when the
 * run completed, whatever individual cases did (their failures are in the
 * results); *n_failed counts the failures of this invocation. */
nnb_status nnb_suite_run(const nnb_suite *s, const nnb_run_options *o, char *out_dir, size_t len,
                         int *n_failed, nnb_error *e);

#endif
