/* Splitting loops over the team: the one place that decides when a
 * parallel region is worth its start-up cost. */
#include <omp.h>

#include "ob.h"

/* About 10 us of simple work on one thread; a parallel region with a warm
 * team of two costs 0.4-1.3 us here. */
#define PAR_MIN_WORK 32768.0

int ob_threads_for(const ob_env *env, int64_t units, double work) {
  if (env->threads <= 1 || units <= 1 || work < PAR_MIN_WORK) return 1;
  return units < env->threads ? (int)units : env->threads;
}

void ob_par_range(const ob_step *s, int64_t n, int64_t align, double work, ob_range_fn fn,
                  void *arg) {
  if (n <= 0) return;
  int64_t blocks = (n + align - 1) / align;
  int nt = ob_threads_for(s->env, blocks, work);
  if (nt <= 1) {
    fn(s, arg, 0, n);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), nth = omp_get_num_threads();
    int64_t lo = blocks * t / nth * align, hi = blocks * (t + 1) / nth * align;
    if (hi > n) hi = n;
    if (lo < hi) fn(s, arg, lo, hi);
  }
}
