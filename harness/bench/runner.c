#include "runner.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"
#include "case_rounds.h"
#include "memory_limit.h"
#include "model.h"
#include "peer.h"
#include "record.h"
#include "step_watchdog.h"
#include "weights.h"

#define MAX_ITERS 1000000

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static cJSON *failed(cJSON *rec, const char *status, const char *reason) {
  cJSON_DeleteItemFromObject(rec, "status");
  cJSON_DeleteItemFromObject(rec, "reason");
  cJSON_AddStringToObject(rec, "status", status);
  cJSON_AddStringToObject(rec, "reason", reason);
  return rec;
}

/* A case whose first (cold) step takes longer than its max_step is out of
 * the suite's scope (a software device's large batches in a quick suite):
 * rec becomes "skipped", with that step's time and no samples, and the
 * case's other rounds are not run. The cold step includes one-time costs,
 * so a cap needs headroom. Returns whether rec was skipped. */
static int over_max_step(const nnb_case *c, cJSON *rec) {
  const cJSON *cold = cJSON_GetObjectItem(rec, "cold_s");
  if (!(c->max_step > 0) || !nnb_case_ok(rec) || !cJSON_IsNumber(cold) ||
      !(cold->valuedouble > c->max_step))
    return 0;
  char why[256];
  snprintf(why, sizeof why,
           "its first step took %.3g s, more than max_step = %g s (the case's cap on "
           "a step; its rounds were not measured)",
           cold->valuedouble, c->max_step);
  cJSON_DeleteItemFromObject(rec, "samples_s");
  failed(rec, "skipped", why);
  return 1;
}

static void add_info(cJSON *rec, nnb_backend *b) {
  nnb_backend_info info = {0};
  nnb_error e;
  if (nnb_backend_describe(b, &info, &e) != NNB_OK) return;
  cJSON *o = cJSON_AddObjectToObject(rec, "backend_info");
  cJSON_AddStringToObject(o, "device", info.device);
  cJSON_AddStringToObject(o, "library", info.library);
  cJSON *p = cJSON_AddObjectToObject(o, "properties");
  for (int i = 0; i < info.n_props; i++)
    cJSON_AddStringToObject(p, info.props[i].key, info.props[i].value);
}

static void add_memory(cJSON *rec, const nnb_session *s, nnb_backend *b) {
  cJSON *m = cJSON_AddObjectToObject(rec, "memory");
  nnb_memory_stats ms = {0};
  b->vt->memory_stats(b->ctx, &ms);
  cJSON_AddNumberToObject(m, "backend_peak_bytes", (double)ms.peak_bytes);
  cJSON_AddNumberToObject(m, "backend_allocations", (double)ms.n_allocs);
  cJSON_AddNumberToObject(m, "device_budget_bytes", (double)ms.budget_bytes);
  cJSON_AddNumberToObject(m, "persistent_bytes",
                          (double)s->mem.region_bytes[NNB_REGION_PERSISTENT]);
  cJSON_AddNumberToObject(m, "arena_bytes", (double)s->mem.region_bytes[NNB_REGION_ARENA]);
  cJSON_AddNumberToObject(m, "arena_unshared_bytes", (double)s->mem.arena_unshared_bytes);
  /* Whatever the backend held at its peak beyond the two planned buffers:
   * its workspaces, packed weights, staging copies. */
  uint64_t planned =
      s->mem.region_bytes[NNB_REGION_PERSISTENT] + s->mem.region_bytes[NNB_REGION_ARENA];
  cJSON_AddNumberToObject(m, "workspace_bytes",
                          ms.peak_bytes > planned ? (double)(ms.peak_bytes - planned) : 0);
  cJSON *roles = cJSON_AddObjectToObject(m, "by_role_bytes");
  for (int r = 0; r < NNB_ROLE_COUNT; r++)
    cJSON_AddNumberToObject(roles, nnb_role_name((nnb_role)r), (double)s->mem.role_bytes[r]);
}

/* The next batch of real samples, in dataset order: a slice of the dataset
 * itself when it does not wrap around (no copy), else gathered into x, y.
 * The harness's own work, so it must stay small next to a step. */
static void next_batch(const nnb_model *m, const nnb_dataset *d, int64_t *at, int64_t *idx,
                       float *x, int32_t *y, const float **bx, const int32_t **by) {
  int64_t per = (int64_t)d->c * d->h * d->w;
  if (*at + m->batch <= d->n) {
    *bx = d->images + *at * per, *by = d->labels + *at;
  } else {
    for (int i = 0; i < m->batch; i++) idx[i] = (*at + i) % d->n;
    nnb_dataset_gather(d, idx, m->batch, x, y);
    *bx = x, *by = y;
  }
  *at = (*at + m->batch) % d->n;
}

/* Uploads a gathered batch (a backend call, not timed in the samples). */
static nnb_status upload_batch(const nnb_model *m, nnb_session *s, const float *x, const int32_t *y,
                               nnb_error *e) {
  nnb_status st = nnb_session_upload(s, m->x, x, e);
  if (st == NNB_OK && m->labels >= 0) st = nnb_session_upload(s, m->labels, y, e);
  return st;
}

/* The next batch, gathered and uploaded: a step's input outside the timed
 * loop, where the two need not be told apart. */
static nnb_status feed_next(const nnb_model *m, nnb_session *s, const nnb_dataset *d, int64_t *at,
                            int64_t *idx, float *x, int32_t *y, nnb_error *e) {
  const float *bx;
  const int32_t *by;
  next_batch(m, d, at, idx, x, y, &bx, &by);
  return upload_batch(m, s, bx, by, e);
}

/* Per-node times from the backend's optional profile slot: the median of a
 * few profiled runs (at least 3; up to 15 while they take under a quarter
 * of a second), after the timed loop (never inside it). Each run follows
 * the upload of the next batch, as every timed step does, so the nodes
 * start from the same cache state and their sum is comparable with a
 * step's time. */
static void add_profile(cJSON *rec, nnb_backend *b, nnb_session *s, const nnb_model *m,
                        const nnb_dataset *d, int64_t *at, int64_t *idx, float *xbuf,
                        int32_t *ybuf) {
  const nnb_graph *g = &m->g;
  enum { MIN_RUNS = 3, MAX_RUNS = 15 };
  if (!b->vt->profile || g->n_nodes < 1) return;
  double *t = calloc((size_t)g->n_nodes * MAX_RUNS, sizeof *t);
  nnb_error e;
  int ok = t != NULL, runs = 0;
  for (double t0 = now_s(); ok && (runs < MIN_RUNS || (runs < MAX_RUNS && now_s() - t0 < 0.25));
       runs++)
    ok = feed_next(m, s, d, at, idx, xbuf, ybuf, &e) == NNB_OK &&
         b->vt->profile(b->ctx, s->plan, t + (size_t)runs * g->n_nodes, &e) == NNB_OK;
  const nnb_ext_node_kernel *nk =
      b->vt->lookup ? (const nnb_ext_node_kernel *)b->vt->lookup(b->ctx, NNB_EXT_NODE_KERNEL)
                    : NULL;
  if (ok) {
    cJSON *arr = cJSON_AddArrayToObject(rec, "node_profile");
    for (int i = 0; i < g->n_nodes; i++) {
      double v[MAX_RUNS];
      for (int r = 0; r < runs; r++) v[r] = t[(size_t)r * g->n_nodes + i];
      for (int a = 1; a < runs; a++) /* insertion sort of a few */
        for (int k = a; k > 0 && v[k] < v[k - 1]; k--) {
          double x = v[k];
          v[k] = v[k - 1], v[k - 1] = x;
        }
      double med = v[runs / 2];
      const nnb_node *n = &g->nodes[i];
      double flops = nnb_node_flops(g, n);
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", n->name);
      cJSON_AddStringToObject(o, "op", nnb_op_name(n->op));
      cJSON_AddNumberToObject(o, "seconds", med);
      cJSON_AddNumberToObject(o, "flops", flops);
      cJSON_AddNumberToObject(o, "gflops", med > 0 ? flops / med / 1e9 : 0);
      const char *kernel = nk ? nk->node_kernel(s->plan, i) : NULL;
      if (kernel) cJSON_AddStringToObject(o, "kernel", kernel);
      cJSON_AddItemToArray(arr, o);
    }
  }
  free(t);
}

/* Steady when the median of the last WARM_K warm-up times is within
 * WARM_TOL of the median of the WARM_K before them: no trend left. */
enum { WARM_K = NNB_WARM_WINDOW, WARM_MAX = NNB_WARM_MAX_STEPS };
#define WARM_TOL NNB_WARM_TOLERANCE

static double median5(const double *v) {
  double s[WARM_K];
  memcpy(s, v, sizeof s);
  for (int a = 1; a < WARM_K; a++)
    for (int k = a; k > 0 && s[k] < s[k - 1]; k--) {
      double t = s[k];
      s[k] = s[k - 1], s[k - 1] = t;
    }
  return s[WARM_K / 2];
}

static int steady(const double *t, int n) {
  if (n < 2 * WARM_K) return 0;
  double last = median5(t + n - WARM_K), before = median5(t + n - 2 * WARM_K);
  return before > 0 && fabs(last - before) <= WARM_TOL * before;
}

/* Warm-up: at least c->warmup steps (0: none at all), then on until the
 * step time is steady, for at most a quarter of min_time (and 50 ms at
 * least, WARM_MAX steps at most): caches, page faults, lazy initialisation
 * and frequency ramps settle at their own pace, which a fixed count cannot
 * know. Records warmup_iters, warmup_s and warmup_steady. */
static nnb_status warm_up(const nnb_case *c, const nnb_model *m, nnb_session *s,
                          const nnb_dataset *d, int64_t *at, int64_t *idx, float *x, int32_t *y,
                          cJSON *rec, nnb_error *e) {
  double t[WARM_MAX], t0 = now_s(), cap = NNB_WARM_CAP_S(c->min_time);
  int n = 0, ok = 0;
  nnb_status st = NNB_OK;
  while (c->warmup > 0 && n < WARM_MAX) {
    st = feed_next(m, s, d, at, idx, x, y, e);
    double t1 = now_s();
    if (st == NNB_OK) st = nnb_session_run(s, e);
    if (st != NNB_OK) break;
    t[n++] = now_s() - t1;
    if (n < c->warmup) continue;
    if ((ok = steady(t, n)) || now_s() - t0 >= cap) break;
  }
  cJSON_AddNumberToObject(rec, "warmup_iters", n);
  cJSON_AddNumberToObject(rec, "warmup_s", now_s() - t0);
  cJSON_AddBoolToObject(rec, "warmup_steady", ok);
  return st;
}

/* The case's memory estimated from its plan, recorded, and refused over
 * the case's limit before anything large is allocated. */
static nnb_status check_memory(const nnb_case *c, const nnb_graph *g, nnb_backend *b,
                               uint64_t batch_bytes, cJSON *rec, nnb_error *e) {
  nnb_mem_estimate est;
  nnb_status st = nnb_mem_estimate_graph(g, b, batch_bytes, &est, e);
  if (st != NNB_OK) return st;
  cJSON *o = cJSON_AddObjectToObject(rec, "memory_estimate");
  cJSON_AddNumberToObject(o, "total_bytes", (double)est.total);
  cJSON_AddNumberToObject(o, "persistent_bytes", (double)est.persistent);
  cJSON_AddNumberToObject(o, "arena_bytes", (double)est.arena);
  cJSON_AddNumberToObject(o, "host_bytes", (double)est.host);
  cJSON_AddNumberToObject(o, "backend_bytes", (double)est.backend);
  cJSON_AddNumberToObject(o, "limit_bytes", (double)c->memory_limit);
  return nnb_mem_check(&est, c->memory_limit, e);
}

cJSON *nnb_measure_case(const nnb_case *c, const nnb_dataset *d, unsigned long long seed) {
  cJSON *rec = cJSON_CreateObject();
  cJSON_AddStringToObject(rec, "status", "ok");
  nnb_error e = {{0}};
  nnb_model_spec spec;
  if (nnb_model_parse(c->model, &spec, &e) != NNB_OK) return failed(rec, "failed", e.msg);
  cJSON_AddStringToObject(rec, "spec", spec.text);
  nnb_backend b;
  nnb_backend_config cfg = {.threads = c->threads, .options = *c->options ? c->options : NULL};
  nnb_status st = nnb_backend_open(c->backend, &cfg, &b, &e);
  if (st != NNB_OK) return failed(rec, "failed", e.msg);
  add_info(rec, &b);
  nnb_input_shape in = {d->c, d->h, d->w, d->classes};
  nnb_model m;
  int train = c->mode == NNB_MODE_TRAIN;
  st = nnb_model_build(&spec, &in, c->batch, train, &m, &e);
  if (st != NNB_OK) {
    nnb_backend_close(&b);
    return failed(rec, "failed", e.msg);
  }
  nnb_opt_config opt = NNB_BENCH_OPTIMIZER;
  if (train) st = nnb_autodiff(&m.g, m.loss, &opt, NULL, &e);
  cJSON_AddNumberToObject(rec, "parameters", (double)nnb_model_param_count(&m));
  int64_t per = (int64_t)d->c * d->h * d->w, at = 0;
  if (st == NNB_OK) st = check_memory(c, &m.g, &b, (uint64_t)(c->batch * per) * 4, rec, &e);
  nnb_session s = {0};
  double t0 = now_s();
  if (st == NNB_OK) st = nnb_session_create(&b, &m.g, &s, &e);
  cJSON_AddNumberToObject(rec, "setup_s", now_s() - t0);
  nnb_weights w = {0};
  if (st == NNB_OK) st = nnb_weights_init(&m, seed, &w, &e);
  if (st == NNB_OK) st = nnb_weights_to_session(&m, &s, &w, &e);
  float *x = malloc((size_t)(c->batch * per) * sizeof *x);
  int32_t *y = malloc((size_t)c->batch * sizeof *y);
  int64_t *idx = malloc((size_t)c->batch * sizeof *idx);
  double *samples = malloc(1024 * sizeof *samples);
  int n = 0, cap = 1024;
  if (st == NNB_OK && (!x || !y || !idx || !samples))
    st = nnb_fail(&e, NNB_ERR_NOMEM, "out of memory");
  /* The first iteration is the cold one, reported on its own; then warm-up. */
  if (st == NNB_OK) {
    st = feed_next(&m, &s, d, &at, idx, x, y, &e);
    nnb_step_watchdog dog; /* a first step over max_step ends this child */
    nnb_step_watchdog_start(&dog, c->max_step);
    double t = now_s();
    if (st == NNB_OK) st = nnb_session_run(&s, &e);
    double cold = now_s() - t;
    nnb_step_watchdog_stop(&dog);
    cJSON_AddNumberToObject(rec, "cold_s", cold);
  }
  int skip = st == NNB_OK && over_max_step(c, rec);
  if (st == NNB_OK && !skip) st = warm_up(c, &m, &s, d, &at, idx, x, y, rec, &e);
  double start = now_s(), loop_s = 0, backend_s = 0;
  cJSON *losses = train && !skip ? cJSON_CreateArray() : NULL;
  while (st == NNB_OK && !skip && n < MAX_ITERS &&
         (n < c->min_iters || now_s() - start < c->min_time)) {
    /* One step as a training loop lives it: the harness gathers a batch, the
     * backend uploads it, runs, and (training) hands back the loss. Only the
     * run is a sample; the split between harness and backend time is kept to
     * show what the harness itself costs. */
    double t_begin = now_s();
    const float *bx;
    const int32_t *by;
    next_batch(&m, d, &at, idx, x, y, &bx, &by);
    double t_up = now_s();
    st = upload_batch(&m, &s, bx, by, &e);
    double t = now_s();
    if (st == NNB_OK) st = nnb_session_run(&s, &e);
    double t_run = now_s();
    samples[n++] = t_run - t;
    double t_loss = t_run;
    if (train && st == NNB_OK) { /* outside the timed region: the loss curve of these steps */
      float loss = 0;
      st = nnb_session_download(&s, m.loss, &loss, &e);
      if (st == NNB_OK && !isfinite(loss)) /* timings of garbage are no result */
        st = nnb_fail(&e, NNB_ERR_BACKEND, "the training loss is %g at timed step %d", (double)loss,
                      n);
      t_loss = now_s();
      cJSON_AddItemToArray(losses, cJSON_CreateNumber(loss));
    }
    double t_end = now_s();
    backend_s += (t_run - t_up) + (t_loss - t_run);
    loop_s += t_end - t_begin;
    if (n == cap) {
      double *q = realloc(samples, (size_t)(cap *= 2) * sizeof *q);
      if (!q)
        st = nnb_fail(&e, NNB_ERR_NOMEM, "out of memory for samples");
      else
        samples = q;
    }
  }
  if (losses) cJSON_AddItemToObject(rec, "loss", losses);
  if (st == NNB_OK && skip) {
    add_memory(rec, &s, &b);
  } else if (st == NNB_OK) {
    cJSON_AddItemToObject(rec, "samples_s", cJSON_CreateDoubleArray(samples, n));
    nnb_record_work(rec, &m.g);
    add_memory(rec, &s, &b);
    cJSON *h = cJSON_AddObjectToObject(rec, "harness_overhead");
    cJSON_AddNumberToObject(h, "fraction", loop_s > 0 ? (loop_s - backend_s) / loop_s : 0);
    cJSON_AddNumberToObject(h, "per_step_s", n ? (loop_s - backend_s) / n : 0);
    add_profile(rec, &b, &s, &m, d, &at, idx, x, y);
  } else {
    failed(rec, st == NNB_ERR_UNSUPPORTED ? "unsupported" : "failed", e.msg);
  }
  free(x), free(y), free(idx), free(samples);
  nnb_weights_free(&w);
  nnb_session_free(&s);
  nnb_model_free(&m);
  nnb_backend_close(&b);
  return rec;
}

static cJSON *fail_record(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static cJSON *fail_record(const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *rec = cJSON_CreateObject();
  cJSON_AddStringToObject(rec, "status", "failed");
  cJSON_AddStringToObject(rec, "reason", msg);
  return rec;
}

/* Seconds a case's child outlives its timeout on its own clock: the parent
 * normally kills it first, with a better message. */
#define CHILD_GRACE_S 5

/* The child's side of its leash: its own process group (so the parent's
 * kill reaches whatever it started), death with the parent (however the
 * parent dies: SIGTERM, Ctrl-C, SIGKILL), and its timeout on its own clock,
 * which holds even when the parent is stopped. */
static void leash_child(pid_t parent, double timeout_s) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(4); /* the parent died before the line above */
  signal(SIGALRM, SIG_DFL);
  double t = timeout_s + CHILD_GRACE_S;
  alarm(t < 1e6 ? (unsigned)t + 1 : 1000000u);
}

/* Ends the child and everything in its process group. */
static void kill_child(pid_t pid) {
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL); /* should it not have reached setpgid yet */
}

cJSON *nnb_run_isolated(cJSON *(*fn)(void *arg), void *arg, double timeout_s) {
  int fd[2];
  if (pipe(fd)) return fail_record("cannot create a pipe: %s", strerror(errno));
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]), close(fd[1]);
    return fail_record("cannot fork: %s", strerror(errno));
  }
  if (pid == 0) {
    leash_child(parent, timeout_s);
    close(fd[0]);
    nnb_registry_trust_init(true);      /* this child is the isolation */
    dup2(STDERR_FILENO, STDOUT_FILENO); /* a plugin's chatter must never reach our stdout */
    cJSON *rec = fn(arg);
    char *text = cJSON_PrintUnformatted(rec);
    size_t len = text ? strlen(text) : 0, off = 0;
    while (off < len) {
      ssize_t w = write(fd[1], text + off, len - off);
      if (w <= 0) _exit(3);
      off += (size_t)w;
    }
    _exit(0);
  }
  setpgid(pid, pid); /* also here: no window in which kill_child misses its group */
  close(fd[1]);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    kill_child(pid);
    close(fd[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    return fail_record("out of memory reading the case's result");
  }
  double deadline = now_s() + timeout_s;
  int timed_out = 0;
  for (;;) {
    double left = deadline - now_s();
    if (left <= 0) {
      timed_out = 1;
      break;
    }
    struct pollfd p = {fd[0], POLLIN, 0};
    int r = poll(&p, 1, left > 1e6 ? 1000000000 : (int)(left * 1000) + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    if (cap - len < 4096) {
      char *q = realloc(buf, cap * 2);
      if (!q) break; /* what came so far fails to parse: reported as no result */
      buf = q, cap *= 2;
    }
    ssize_t got = read(fd[0], buf + len, cap - len - 1);
    if (got <= 0) break; /* EOF: the child is done */
    len += (size_t)got;
  }
  if (timed_out) kill_child(pid);
  close(fd[0]);
  buf[len] = 0;
  int status = 0;
  struct rusage ru = {0};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  cJSON *rec = NULL;
  if (timed_out)
    rec = fail_record("timeout: no result within %.0f s (the child was killed)", timeout_s);
  else if (WIFSIGNALED(status))
    rec = fail_record("crashed: killed by signal %d (%s)", WTERMSIG(status),
                      strsignal(WTERMSIG(status)));
  else if (!(rec = cJSON_Parse(buf))) {
    rec = fail_record("exited with status %d without a result",
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    cJSON_AddNumberToObject(rec, "exit_status", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  }
  free(buf);
  cJSON *mem = cJSON_GetObjectItem(rec, "memory");
  if (!mem) mem = cJSON_AddObjectToObject(rec, "memory");
  cJSON_AddNumberToObject(mem, "peak_rss_bytes", (double)ru.ru_maxrss * 1024.0);
  cJSON_AddNumberToObject(rec, "child_cpu_s",
                          (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
                              (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec);
  return rec;
}

typedef struct case_arg {
  const nnb_case *c;
  const nnb_dataset *d;
  unsigned long long seed;
} case_arg;

static cJSON *run_case_fn(void *p) {
  const case_arg *a = p;
  char err[256];
  if (*a->c->pin && nnb_pin_self(a->c->pin, err, sizeof err)) return fail_record("%s", err);
  uint64_t cap = nnb_mem_cap_self(a->c->memory_limit);
  cJSON *rec = nnb_measure_case(a->c, a->d, a->seed);
  cJSON *est = cJSON_GetObjectItem(rec, "memory_estimate");
  if (est) cJSON_AddNumberToObject(est, "cap_bytes", (double)cap);
  return rec;
}

cJSON *nnb_run_case(const nnb_case *c, const nnb_dataset *d, unsigned long long seed) {
  char exe[512], why[768];
  if (nnb_peer_lookup(c->backend, exe, sizeof exe, why, sizeof why)) {
    if (!*exe) return fail_record("%s", why);
    cJSON *rec = nnb_peer_run_case(exe, c, d, seed);
    over_max_step(c, rec); /* a peer runs its round whole; the rounds after it are spared */
    return rec;
  }
  case_arg a = {c, d, seed};
  cJSON *rec = nnb_run_isolated(run_case_fn, &a, c->timeout);
  const cJSON *code = cJSON_GetObjectItem(rec, "exit_status");
  if (c->max_step > 0 && cJSON_IsNumber(code) && code->valueint == NNB_EXIT_OVER_MAX_STEP) {
    char msg[256];
    snprintf(msg, sizeof msg,
             "its first step was still running after max_step = %g s (the case's cap on a "
             "step), so it was stopped; its rounds were not measured",
             c->max_step);
    cJSON_DeleteItemFromObject(rec, "exit_status");
    nnb_model_spec spec; /* the child's record, with its spec, never came */
    nnb_error ignored;
    if (nnb_model_parse(c->model, &spec, &ignored) == NNB_OK)
      cJSON_AddStringToObject(rec, "spec", spec.text);
    return failed(rec, "skipped", msg);
  }
  cJSON *reason = cJSON_GetObjectItem(rec, "reason");
  /* A child that died without a result may have met its memory cap (a
   * sanitizer aborts where malloc would return NULL): say it was there. */
  if (c->memory_limit && cJSON_IsString(reason) &&
      (!strncmp(reason->valuestring, "crashed", 7) || !strncmp(reason->valuestring, "exited", 6))) {
    char lim[32], msg[700];
    nnb_mem_format(c->memory_limit, lim, sizeof lim);
    snprintf(msg, sizeof msg,
             "%s (it ran under a memory cap of %s beyond its start; an allocation "
             "past it fails: out of memory?)",
             reason->valuestring, lim);
    cJSON_SetValuestring(reason, msg);
  }
  return rec;
}
