/* Running benchmark cases. Each case runs in a forked child with a time
 * limit, so a crash or hang in a plugin fails that case and the suite goes
 * on. The child sends its measurements back as JSON over a pipe; the parent
 * adds what only it can know (peak RSS from wait4, the exit signal). */
#ifndef NNB_RUNNER_H
#define NNB_RUNNER_H

#include <cjson/cJSON.h>

#include "dataset.h"
#include "suite.h"

/* Runs one case in a child process and returns its record (a new cJSON
 * object, never NULL): on success "status": "ok" with "samples_s" (every
 * timed iteration), "cold_s", work and memory figures; otherwise "status":
 * "failed" (or "unsupported") and "reason". */
cJSON *nnb_run_case(const nnb_case *c, const nnb_dataset *data, unsigned long long seed);

/* The measurement itself, in the current process (the child's side). */
cJSON *nnb_measure_case(const nnb_case *c, const nnb_dataset *data, unsigned long long seed);

/* Runs fn(arg) in a forked child within timeout_s and returns what it sent,
 * or a failed record naming the signal, the timeout or the exit status. */
cJSON *nnb_run_isolated(cJSON *(*fn)(void *arg), void *arg, double timeout_s);

#endif
