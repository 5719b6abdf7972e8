/* A watchdog on one step in a case's child process: when the step is still
 * running after `seconds`, the child exits with NNB_EXIT_OVER_MAX_STEP,
 * which the parent records as a skipped case (the case's max_step). Ending
 * the step there spares a suite the rest of a step that may take minutes (a
 * software device's large batch) only to learn that it is over the cap. */
#ifndef NNB_STEP_WATCHDOG_H
#define NNB_STEP_WATCHDOG_H

#include <pthread.h>

#define NNB_EXIT_OVER_MAX_STEP 75

typedef struct nnb_step_watchdog {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  double seconds;
  int done, running;
} nnb_step_watchdog;

/* Starts watching; seconds <= 0 (or a thread that cannot start) watches
 * nothing, and the step's time is then judged after it. */
void nnb_step_watchdog_start(nnb_step_watchdog *w, double seconds);
/* The step ended in time: the watchdog stands down. */
void nnb_step_watchdog_stop(nnb_step_watchdog *w);

#endif
