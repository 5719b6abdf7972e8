#include "step_watchdog.h"

#include <errno.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

static void *watch(void *arg) {
  nnb_step_watchdog *w = arg;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  double s = floor(w->seconds);
  until.tv_sec += (time_t)s;
  until.tv_nsec += (long)((w->seconds - s) * 1e9);
  if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
  pthread_mutex_lock(&w->mu);
  int r = 0;
  while (!w->done && r != ETIMEDOUT) r = pthread_cond_timedwait(&w->cv, &w->mu, &until);
  /* _exit ends the whole child at once: no result, a known status */
  if (!w->done) _exit(NNB_EXIT_OVER_MAX_STEP);
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

void nnb_step_watchdog_start(nnb_step_watchdog *w, double seconds) {
  w->seconds = seconds, w->done = 0, w->running = 0;
  if (!(seconds > 0)) return;
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(&w->cv, &a);
  pthread_condattr_destroy(&a);
  pthread_mutex_init(&w->mu, NULL);
  w->running = !pthread_create(&w->thread, NULL, watch, w);
  if (!w->running) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
  }
}

void nnb_step_watchdog_stop(nnb_step_watchdog *w) {
  if (!w->running) return;
  pthread_mutex_lock(&w->mu);
  w->done = 1;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  w->running = 0;
}
