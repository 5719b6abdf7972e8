/* The measured peaks (sysinfo.h): f32 FLOP/s from an FMA loop and copy
 * bandwidth, on one thread and on every CPU the process may use. */
#include <math.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sysinfo.h"
#include "sysinfo_util.h"

#if defined(__x86_64__) || defined(__i386__)
#define NNB_X86 1
#include <immintrin.h>
#endif

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- peak FLOP/s ----------------------------------------------------------------------- */

/* Each kernel runs `iters` steps of independent multiply-add chains, enough
 * of them to hide the FMA latency, and returns a value depending on all of
 * them so that nothing is optimised away. x <- x*a + c converges to 1, so
 * the values stay normal. */
typedef float (*fma_kernel)(uint64_t iters);

typedef struct kernel_info {
  const char *isa;
  fma_kernel fn;
  double flops_per_iter;
} kernel_info;

#define REP12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define REP16(X) REP12(X) X(12) X(13) X(14) X(15)

#ifdef NNB_X86
#define D512(i) __m512 x##i = _mm512_set1_ps(0.5f + 0.01f * (i));
#define S512(i) x##i = _mm512_fmadd_ps(x##i, a, c);
#define R512(i) r = _mm512_add_ps(r, x##i);
__attribute__((target("avx512f"))) static float fma_avx512(uint64_t iters) {
  const __m512 a = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-6f);
  REP16(D512)
  for (uint64_t i = 0; i < iters; i++) {
    REP16(S512)
  }
  __m512 r = _mm512_setzero_ps();
  REP16(R512)
  return _mm512_reduce_add_ps(r);
}

#define D256(i) __m256 x##i = _mm256_set1_ps(0.5f + 0.01f * (i));
#define S256(i) x##i = _mm256_fmadd_ps(x##i, a, c);
#define R256(i) r = _mm256_add_ps(r, x##i);
__attribute__((target("avx2,fma"))) static float fma_avx2(uint64_t iters) {
  const __m256 a = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-6f);
  REP12(D256)
  for (uint64_t i = 0; i < iters; i++) {
    REP12(S256)
  }
  __m256 r = _mm256_setzero_ps();
  REP12(R256)
  float v[8];
  _mm256_storeu_ps(v, r);
  return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
}
#endif

/* The baseline: GCC vector extensions, a multiply then an add (no FMA is
 * assumed), 4 lanes (SSE2 on x86-64, NEON on Arm). */
typedef float v4f __attribute__((vector_size(16)));
#define DGEN(i) v4f x##i = {0.5f + 0.01f * (i), 0.5f, 0.5f, 0.5f};
#define SGEN(i) x##i = x##i * a + c;
#define RGEN(i) r += x##i;
static float fma_generic(uint64_t iters) {
  const v4f a = {0.999999f, 0.999999f, 0.999999f, 0.999999f};
  const v4f c = {1e-6f, 1e-6f, 1e-6f, 1e-6f};
  REP12(DGEN)
  for (uint64_t i = 0; i < iters; i++) {
    REP12(SGEN)
  }
  v4f r = {0, 0, 0, 0};
  REP12(RGEN)
  return r[0] + r[1] + r[2] + r[3];
}

static kernel_info pick_kernel(void) {
#ifdef NNB_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return (kernel_info){"avx512f", fma_avx512, 16 * 16 * 2};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return (kernel_info){"avx2+fma", fma_avx2, 12 * 8 * 2};
  return (kernel_info){"sse2", fma_generic, 12 * 4 * 2};
#else
  return (kernel_info){"generic", fma_generic, 12 * 4 * 2};
#endif
}

/* ---- threads --------------------------------------------------------------------------- */

typedef enum work_kind { WORK_FMA, WORK_TOUCH, WORK_COPY } work_kind;

typedef struct par_shared {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int gate; /* 0 wait, 1 go, -1 abort */
  pthread_barrier_t bar;
  work_kind kind;
  int reps;
  fma_kernel fn;
  uint64_t iters;
} par_shared;

typedef struct par_worker {
  par_shared *sh;
  pthread_t tid;
  int cpu; /* pinned to this CPU; -1 not pinned */
  char *src, *dst;
  size_t len;
  double t_start, t_end; /* of its work in the current repetition (CLOCK_MONOTONIC) */
  volatile float sink;
} par_worker;

static void pin_self(int cpu) {
  if (cpu < 0) return;
  cpu_set_t *set = CPU_ALLOC(cpu + 1);
  if (!set) return;
  size_t sz = CPU_ALLOC_SIZE(cpu + 1);
  CPU_ZERO_S(sz, set);
  CPU_SET_S((size_t)cpu, sz, set);
  (void)pthread_setaffinity_np(pthread_self(), sz, set); /* best effort */
  CPU_FREE(set);
}

static void *worker_main(void *arg) {
  par_worker *w = arg;
  par_shared *sh = w->sh;
  pthread_mutex_lock(&sh->mu);
  while (sh->gate == 0) pthread_cond_wait(&sh->cv, &sh->mu);
  int gate = sh->gate;
  pthread_mutex_unlock(&sh->mu);
  if (gate < 0) return NULL;
  pin_self(w->cpu);
  for (int r = 0; r < sh->reps; r++) {
    pthread_barrier_wait(&sh->bar);
    w->t_start = now_s();
    switch (sh->kind) {
    case WORK_FMA: w->sink = sh->fn(sh->iters); break;
    case WORK_TOUCH:
      memset(w->src, 1, w->len);
      memset(w->dst, 0, w->len);
      break;
    case WORK_COPY: memcpy(w->dst, w->src, w->len); break;
    }
    w->t_end = now_s();
    pthread_barrier_wait(&sh->bar);
  }
  return NULL;
}

/* Runs the work `reps` times on every worker at once; *best is the shortest
 * repetition, from the first worker starting to the last one finishing.
 * The workers take the timestamps themselves: the calling thread may have
 * no CPU to run on while they work. */
static nnb_status run_parallel(par_shared *sh, par_worker *w, int n, int reps, double *best,
                               nnb_error *e) {
  sh->reps = reps;
  sh->gate = 0;
  if (pthread_mutex_init(&sh->mu, NULL) || pthread_cond_init(&sh->cv, NULL))
    return nnb_fail(e, NNB_ERR_NOMEM, "sysinfo: cannot create a mutex for the measuring threads");
  nnb_status st = NNB_OK;
  if (pthread_barrier_init(&sh->bar, NULL, (unsigned)n + 1)) {
    pthread_cond_destroy(&sh->cv);
    pthread_mutex_destroy(&sh->mu);
    return nnb_fail(e, NNB_ERR_NOMEM, "sysinfo: cannot create a barrier for %d threads", n + 1);
  }
  int created = 0;
  for (; created < n; created++) {
    w[created].sh = sh;
    int rc = pthread_create(&w[created].tid, NULL, worker_main, &w[created]);
    if (rc) {
      st = nnb_fail(e, NNB_ERR_NOMEM, "sysinfo: cannot start measuring thread %d of %d: %s",
                    created + 1, n, strerror(rc));
      break;
    }
  }
  pthread_mutex_lock(&sh->mu);
  sh->gate = st == NNB_OK ? 1 : -1;
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
  if (st == NNB_OK) {
    *best = INFINITY;
    for (int r = 0; r < reps; r++) {
      pthread_barrier_wait(&sh->bar); /* go */
      pthread_barrier_wait(&sh->bar); /* all done: their timestamps are visible */
      double t0 = w[0].t_start, t1 = w[0].t_end;
      for (int i = 1; i < n; i++) {
        t0 = fmin(t0, w[i].t_start);
        t1 = fmax(t1, w[i].t_end);
      }
      if (t1 - t0 < *best) *best = t1 - t0;
    }
  }
  for (int i = 0; i < created; i++) pthread_join(w[i].tid, NULL);
  pthread_barrier_destroy(&sh->bar);
  pthread_cond_destroy(&sh->cv);
  pthread_mutex_destroy(&sh->mu);
  return st;
}

/* One entry per CPU in the affinity mask (at least one entry, -1 when the
 * mask cannot be read). */
static int *affinity_cpus(int *n_out) {
  size_t sz;
  int ncpu;
  cpu_set_t *set = get_affinity(&sz, &ncpu);
  int n = set ? CPU_COUNT_S(sz, set) : 0;
  if (n < 1) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = online > 0 ? (int)online : 1;
  }
  int *cpus = malloc((size_t)n * sizeof *cpus);
  if (cpus) {
    int k = 0;
    for (int c = 0; set && c < ncpu && k < n; c++)
      if (CPU_ISSET_S((size_t)c, sz, set)) cpus[k++] = c;
    for (; k < n; k++) cpus[k] = -1;
  }
  if (set) CPU_FREE(set);
  *n_out = n;
  return cpus;
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Copy bandwidth: a source and a destination of `bytes` each (huge pages
 * asked for: faulting 4 KiB pages in costs more than the copies in VMs),
 * first-touched by the threads that copy them; read + write bytes counted. */
static nnb_status measure_copy(nnb_peak *out, par_worker *w, int n, size_t bytes, double S,
                               nnb_error *e) {
  const size_t huge = (size_t)2 << 20;
  size_t chunk = bytes / (size_t)n / 4096 * 4096;
  if (chunk == 0)
    return nnb_fail(e, NNB_ERR_NOMEM, "peak measurement: too little memory for a copy test");
  bytes = chunk * (size_t)n;
  size_t map = (bytes + huge - 1) / huge * huge;
  char *src = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *dst = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (src == MAP_FAILED || dst == MAP_FAILED) {
    if (src != MAP_FAILED) munmap(src, map);
    if (dst != MAP_FAILED) munmap(dst, map);
    return nnb_fail(e, NNB_ERR_NOMEM,
                    "peak measurement: cannot map 2 x %zu MiB for the copy test; "
                    "a budget under 1 second uses 64 MiB buffers",
                    bytes >> 20);
  }
#ifdef MADV_HUGEPAGE
  (void)madvise(src, map, MADV_HUGEPAGE); /* best effort */
  (void)madvise(dst, map, MADV_HUGEPAGE);
#endif
  out->copy_buffer_bytes = (int64_t)bytes;
  par_shared sh = {.kind = WORK_TOUCH};
  for (int i = 0; i < n; i++) {
    w[i].src = src + (size_t)i * chunk;
    w[i].dst = dst + (size_t)i * chunk;
    w[i].len = chunk;
  }
  double one = 0, best = 0;
  nnb_status st = run_parallel(&sh, w, n, 1, &best, e);
  if (st == NNB_OK) {
    /* One thread, on the first CPU, copying everything: one repetition
     * sizes the rest. */
    par_worker w1 = {.cpu = w[0].cpu, .src = src, .dst = dst, .len = bytes};
    sh.kind = WORK_COPY;
    st = run_parallel(&sh, &w1, 1, 1, &one, e);
    int reps = (int)clampd(0.25 * S / fmax(one, 1e-6), 2, 20);
    if (st == NNB_OK) st = run_parallel(&sh, &w1, 1, reps, &best, e);
    if (st == NNB_OK) out->single_thread_copy_gbs = 2.0 * (double)bytes / fmin(one, best) / 1e9;
    /* Every thread copying its share at once. */
    reps = (int)clampd(0.2 * S / fmax(one, 1e-6), 3, 20);
    if (st == NNB_OK) st = run_parallel(&sh, w, n, reps, &best, e);
    if (st == NNB_OK) out->all_thread_copy_gbs = 2.0 * (double)bytes / best / 1e9;
  }
  munmap(src, map);
  munmap(dst, map);
  return st;
}

nnb_status nnb_measure_peak(nnb_peak *out, double seconds_budget, nnb_error *e) {
  if (!out) return nnb_fail(e, NNB_ERR_INVALID, "nnb_measure_peak: out is NULL");
  if (!isfinite(seconds_budget) || seconds_budget < 0.05 || seconds_budget > 600)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "peak measurement: the time budget must be between 0.05 and 600 seconds, "
                    "not %g",
                    seconds_budget);
  const double S = seconds_budget, t_start = now_s();
  memset(out, 0, sizeof *out);
  out->budget_s = S;
  kernel_info k = pick_kernel();
  set_str(out->isa, sizeof out->isa, k.isa);

  int n;
  int *cpus = affinity_cpus(&n);
  par_worker *w = calloc((size_t)n, sizeof *w);
  if (!cpus || !w) {
    free(cpus);
    free(w);
    return nnb_fail(e, NNB_ERR_NOMEM, "peak measurement: out of memory for %d threads", n);
  }
  for (int i = 0; i < n; i++) w[i].cpu = cpus[i];
  free(cpus);
  out->threads = n;
  nnb_status st = NNB_OK;

  /* Single core, on the calling thread: calibrate (this also ramps the
   * clock up), then the best of 3 runs of about S/12 each. */
  volatile float sink;
  uint64_t iters = 1024;
  double t = 0;
  for (;;) {
    double t0 = now_s();
    sink = k.fn(iters);
    t = now_s() - t0;
    if (t >= 0.01 || iters >= (UINT64_C(1) << 40)) break;
    iters *= 4;
  }
  double rate = (double)iters / (t > 0 ? t : 1e-9); /* iterations per second */
  iters = (uint64_t)fmax(1.0, rate * 0.25 * S / 3);
  double best = INFINITY;
  for (int r = 0; r < 3; r++) {
    double t0 = now_s();
    sink = k.fn(iters);
    double dt = now_s() - t0;
    if (dt < best) best = dt;
  }
  (void)sink;
  out->single_core_gflops = (double)iters * k.flops_per_iter / best / 1e9;

  /* All cores: every thread runs what one did above, 3 times; best wall. */
  par_shared sh = {.kind = WORK_FMA, .fn = k.fn, .iters = iters};
  st = run_parallel(&sh, w, n, 3, &best, e);
  if (st == NNB_OK) {
    out->all_core_gflops = (double)n * (double)iters * k.flops_per_iter / best / 1e9;
    /* 256 MiB (64 MiB on short budgets), at most an eighth of RAM. */
    size_t bytes = S >= 1.0 ? (size_t)256 << 20 : (size_t)64 << 20;
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psz > 0 && (double)bytes > (double)pages * (double)psz / 8)
      bytes = (size_t)((double)pages * (double)psz / 8);
    st = measure_copy(out, w, n, bytes, S, e);
  }
  free(w);
  out->elapsed_s = now_s() - t_start;
  return st;
}

cJSON *nnb_peak_to_json(const nnb_peak *p) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  bool ok = add_str(o, "isa", p->isa) && add_num(o, "threads", p->threads, true) &&
            add_num(o, "single_core_gflops", p->single_core_gflops, true) &&
            add_num(o, "all_core_gflops", p->all_core_gflops, true) &&
            add_num(o, "copy_buffer_bytes", (double)p->copy_buffer_bytes, true) &&
            add_num(o, "single_thread_copy_gbs", p->single_thread_copy_gbs, true) &&
            add_num(o, "all_thread_copy_gbs", p->all_thread_copy_gbs, true) &&
            add_num(o, "budget_s", p->budget_s, true) &&
            add_num(o, "elapsed_s", p->elapsed_s, true);
  if (!ok) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}
