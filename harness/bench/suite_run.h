/* Running a whole suite: expands "all" backends, runs every case isolated,
 * measures accuracy agreement per (model, backend), and writes the results
 * after every case, so an interrupted run keeps what it measured. */
#ifndef NNB_SUITE_RUN_H
#define NNB_SUITE_RUN_H

#include "suite.h"

typedef struct nnb_run_options {
  const char *out_dir; /* NULL: results/<suite>-<UTC time> */
  int argc;            /* the command line, for provenance */
  char **argv;
  int accuracy_samples; /* test samples for the accuracy section (0: skip it) */
  const char *weights;  /* overrides the suite's weights folder when not NULL */
} nnb_run_options;

/* Runs the suite; *out_dir receives the results folder. Returns NNB_OK when
 * the run completed, whatever individual cases did (their failures are in
 * the results); *n_failed counts them. */
nnb_status nnb_suite_run(const nnb_suite *s, const nnb_run_options *o, char *out_dir, size_t len,
                         int *n_failed, nnb_error *e);

#endif
