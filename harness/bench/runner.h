/* Running benchmark cases. Each case runs in a forked child with a time
 * limit, so a crash or hang in a plugin fails that case and the suite goes
 * on. The child sends its measurements back as JSON over a pipe; the parent
 * adds what only it can know (peak RSS from wait4, the exit signal). */
#ifndef NNB_RUNNER_H
#define NNB_RUNNER_H

#include <cjson/cJSON.h>
#include <math.h>

#include "dataset.h"
#include "suite.h"

/* The optimizer of every measured training step (plugins and peers). */
#define NNB_BENCH_OPTIMIZER                                                                        \
  { NNB_OPT_ADAM, 1e-3f, 0, 0.9f, 0.999f, 1e-8f }

/* Warm-up (runner.c; a peer is asked to follow the same rule): at least
 * the case's warm-up steps, then on until the median of the last
 * NNB_WARM_WINDOW step times is within NNB_WARM_TOLERANCE of the median of
 * the window before, for at most NNB_WARM_CAP_S(min_time) seconds and
 * NNB_WARM_MAX_STEPS steps. */
#define NNB_WARM_WINDOW 5
#define NNB_WARM_TOLERANCE 0.05
#define NNB_WARM_MAX_STEPS 1000
#define NNB_WARM_CAP_S(min_time) fmax(0.05, 0.25 * (min_time))

/* Runs one case (one round of it) in a child process, or through the peer
 * of that name (peer.h), and returns its record (a new cJSON object,
 * never NULL): on success "status": "ok" with "samples_s" (every
 * timed iteration), "cold_s", work and memory figures; otherwise "status":
 * "failed" (or "unsupported") and "reason". */
cJSON *nnb_run_case(const nnb_case *c, const nnb_dataset *data, unsigned long long seed);

/* The measurement itself, in the current process (the child's side). */
cJSON *nnb_measure_case(const nnb_case *c, const nnb_dataset *data, unsigned long long seed);

/* Runs fn(arg) in a forked child within timeout_s and returns what it sent,
 * or a failed record naming the signal, the timeout or the exit status. */
cJSON *nnb_run_isolated(cJSON *(*fn)(void *arg), void *arg, double timeout_s);

#endif
