/* The data-parallel benchmark over MPI (dist.h). */
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <cjson/cJSON.h>

#include "dist.h"
#include "files.h"
#include "fmt.h"
#include "model.h"
#include "record.h"
#include "results.h"
#include "run_dir.h"
#include "runner.h"
#include "split_step.h"
#include "weights.h"

int nnb_dist_available(char *why, size_t len) {
  snprintf(why, len, "built with MPI");
  return 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Waits for every rank of comm without spinning: a rank outside the ranks
 * being measured must not take the measured ones' cores. */
static void wait_asleep(MPI_Comm comm) {
  MPI_Request r;
  int done = 0;
  MPI_Ibarrier(comm, &r);
  while (!done) {
    MPI_Test(&r, &done, MPI_STATUS_IGNORE);
    if (!done) nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
}

/* Whether every rank of comm is still fine: the worst status of all. */
static nnb_status agree(nnb_status st, MPI_Comm comm, nnb_error *e) {
  int mine = (int)st, worst = 0;
  MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, comm);
  if (worst != NNB_OK && st == NNB_OK)
    return nnb_fail(e, (nnb_status)worst, "another rank failed (its message is on its stderr)");
  return st;
}

typedef struct job {
  const nnb_dist_config *c;
  nnb_backend *b;
  nnb_model_spec spec;
  const nnb_dataset *data;
  int64_t *order; /* the data's seeded order, the same on every rank */
} job;

enum { NT = 5 }; /* the times kept per step (see outcome) */

typedef struct outcome {
  int ranks, batch_per_rank, global_batch;
  /* medians of the slowest rank's per step: the whole step; forward,
   * backward and update; reading, reducing and writing the gradients; the
   * allreduce alone; waiting for the slowest rank before it */
  double step_s, compute_s, comm_s, allreduce_s, wait_s;
  int64_t grad_elems, param_elems;
  int identical;     /* parameters bit-identical on every rank after every step */
  int first_differs; /* the first step they were not, -1 none */
  uint32_t params_crc;
} outcome;

static int by_value(const void *pa, const void *pb) {
  double a = *(const double *)pa, b = *(const double *)pb;
  return (a > b) - (a < b);
}

static double median(double *v, int n) {
  if (n < 1) return NAN;
  qsort(v, (size_t)n, sizeof *v, by_value);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Trains `steps + warmup` steps on the ranks of comm (this rank `r` of k),
 * each on batch_per_rank samples of every global batch. params (may be
 * NULL) receives the final parameters; w the weights, for saving. */
static nnb_status train(const job *j, MPI_Comm comm, int r, int k, int batch_per_rank, outcome *o,
                        float **params, nnb_model *m, nnb_weights *w, nnb_error *e) {
  const nnb_dist_config *c = j->c;
  const nnb_dataset *d = j->data;
  memset(o, 0, sizeof *o);
  o->ranks = k;
  o->batch_per_rank = batch_per_rank;
  o->global_batch = batch_per_rank * k;
  o->identical = 1;
  o->first_differs = -1;
  nnb_input_shape in = {d->c, d->h, d->w, d->classes};
  nnb_opt_config opt = NNB_BENCH_OPTIMIZER;
  nnb_split_step ss = {0};
  nnb_status st = nnb_model_build(&j->spec, &in, batch_per_rank, 1, m, e);
  if (st == NNB_OK) st = nnb_autodiff(&m->g, m->loss, &opt, NULL, e);
  if (st == NNB_OK) st = nnb_weights_init(m, c->seed, w, e); /* the same on every rank */
  if (st == NNB_OK) st = nnb_split_step_create(j->b, &m->g, &ss, e);
  if (st == NNB_OK) st = nnb_weights_to_session(m, &ss.session, w, e);
  int n = c->warmup + c->steps;
  int64_t per = (int64_t)d->c * d->h * d->w;
  float *x = malloc((size_t)(batch_per_rank * per) * sizeof *x);
  int32_t *y = malloc((size_t)batch_per_rank * sizeof *y);
  int64_t *idx = malloc((size_t)batch_per_rank * sizeof *idx);
  float *grads = malloc((size_t)(ss.grad_elems + 1) * sizeof *grads);
  float *pv = malloc((size_t)(ss.param_elems + 1) * sizeof *pv);
  double *t = calloc((size_t)(NT * n + 1), sizeof *t),
         *worst = calloc((size_t)(NT * n + 1), sizeof *t);
  unsigned *all = malloc((size_t)k * 2 * sizeof *all); /* each rank's checksum and status */
  if (st == NNB_OK && (!x || !y || !idx || !grads || !pv || !t || !worst || !all))
    st = nnb_fail(e, NNB_ERR_NOMEM, "out of memory");
  st = agree(st, comm, e);
  o->grad_elems = ss.grad_elems;
  o->param_elems = ss.param_elems;
  for (int s = 0; s < n && st == NNB_OK; s++) {
    for (int i = 0; i < batch_per_rank; i++) /* this rank's part of global batch s */
      idx[i] = j->order[((int64_t)s * o->global_batch + (int64_t)r * batch_per_rank + i) % d->n];
    nnb_dataset_gather(d, idx, batch_per_rank, x, y);
    st = nnb_session_upload(&ss.session, m->x, x, e);
    if (st == NNB_OK) st = nnb_session_upload(&ss.session, m->labels, y, e);
    double t0 = now_s(), t1 = t0, t2 = t0, t2b = t0, t3 = t0, t4 = t0;
    if (st == NNB_OK) st = nnb_split_step_grads(&ss, e);
    t1 = now_s();
    if (st == NNB_OK) st = nnb_split_step_get_grads(&ss, grads, e);
    t2 = now_s();
    /* apart from the allreduce's own time: waiting for the slowest rank */
    MPI_Barrier(comm);
    t2b = now_s();
    /* every rank reaches the allreduce, failed or not, so none waits forever */
    MPI_Allreduce(MPI_IN_PLACE, grads, (int)ss.grad_elems, MPI_FLOAT, MPI_SUM, comm);
    t3 = now_s();
    float scale = 1.0f / (float)k; /* the mean over the ranks: the global batch's gradient */
    for (int64_t i = 0; i < ss.grad_elems; i++) grads[i] *= scale;
    if (st == NNB_OK) st = nnb_split_step_put_grads(&ss, grads, e);
    t4 = now_s();
    if (st == NNB_OK) st = nnb_split_step_update(&ss, e);
    double t5 = now_s();
    double *ts = t + NT * s;
    ts[0] = t5 - t0, ts[1] = (t1 - t0) + (t5 - t4), ts[2] = t4 - t1, ts[3] = t3 - t2b;
    ts[4] = t2b - t2;
    /* outside the timed region: are the parameters the same on every rank? */
    unsigned mine[2] = {0, (unsigned)st};
    if (st == NNB_OK) st = nnb_split_step_get_params(&ss, pv, e);
    mine[0] = (unsigned)crc32(0, (const Bytef *)pv, (uInt)(ss.param_elems * (int64_t)sizeof *pv));
    mine[1] = (unsigned)st;
    MPI_Allgather(mine, 2, MPI_UNSIGNED, all, 2, MPI_UNSIGNED, comm);
    for (int q = 0; q < k; q++) {
      if (all[2 * q + 1] != NNB_OK && st == NNB_OK)
        st = nnb_fail(e, (nnb_status)all[2 * q + 1], "rank %d failed at step %d", q, s + 1);
      if (all[2 * q] != mine[0] && o->identical) {
        o->identical = 0;
        o->first_differs = s + 1;
      }
    }
    o->params_crc = mine[0];
  }
  if (st == NNB_OK) {
    MPI_Allreduce(t, worst, NT * n, MPI_DOUBLE, MPI_MAX, comm);
    double *col = malloc((size_t)(c->steps + 1) * sizeof *col);
    double *res[NT] = {&o->step_s, &o->compute_s, &o->comm_s, &o->allreduce_s, &o->wait_s};
    for (int q = 0; col && q < NT; q++) {
      for (int s = 0; s < c->steps; s++) col[s] = worst[NT * (c->warmup + s) + q];
      *res[q] = median(col, c->steps);
    }
    free(col);
    if (params) {
      *params = malloc((size_t)(ss.param_elems + 1) * sizeof **params);
      if (*params) memcpy(*params, pv, (size_t)ss.param_elems * sizeof *pv);
    }
    st = nnb_weights_from_session(m, &ss.session, w, e);
  }
  free(x), free(y), free(idx), free(grads), free(pv), free(t), free(worst), free(all);
  nnb_split_step_free(&ss);
  return st;
}

static cJSON *outcome_json(const outcome *o, const char *scaling, const outcome *one) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddStringToObject(r, "scaling", scaling);
  cJSON_AddNumberToObject(r, "ranks", o->ranks);
  cJSON_AddNumberToObject(r, "batch_per_rank", o->batch_per_rank);
  cJSON_AddNumberToObject(r, "global_batch", o->global_batch);
  cJSON_AddNumberToObject(r, "step_s", o->step_s);
  cJSON_AddNumberToObject(r, "compute_s", o->compute_s);
  cJSON_AddNumberToObject(r, "comm_s", o->comm_s);
  cJSON_AddNumberToObject(r, "allreduce_s", o->allreduce_s);
  cJSON_AddNumberToObject(r, "wait_s", o->wait_s);
  cJSON_AddNumberToObject(r, "allreduce_share", o->allreduce_s / o->step_s);
  cJSON_AddNumberToObject(r, "wait_share", o->wait_s / o->step_s);
  cJSON_AddNumberToObject(r, "comm_share", o->comm_s / o->step_s);
  cJSON_AddNumberToObject(r, "samples_per_s", o->global_batch / o->step_s);
  double payload = 4.0 * (double)o->grad_elems;
  cJSON_AddNumberToObject(r, "allreduce_bytes", payload);
  /* a ring allreduce sends 2 (k-1)/k of the buffer from each rank: the least any can */
  cJSON_AddNumberToObject(r, "bytes_sent_per_rank", 2.0 * (o->ranks - 1) / o->ranks * payload);
  double eff =
      !strcmp(scaling, "strong") ? one->step_s / (o->ranks * o->step_s) : one->step_s / o->step_s;
  cJSON_AddNumberToObject(r, "efficiency", eff);
  cJSON_AddNumberToObject(r, "speedup",
                          !strcmp(scaling, "strong") ? one->step_s / o->step_s
                                                     : o->ranks * one->step_s / o->step_s);
  cJSON_AddBoolToObject(r, "params_identical", o->identical);
  if (!o->identical) cJSON_AddNumberToObject(r, "params_first_differ_step", o->first_differs);
  char crc[16];
  snprintf(crc, sizeof crc, "%08x", o->params_crc);
  cJSON_AddStringToObject(r, "params_crc32", crc);
  return r;
}

typedef struct host_info {
  char library[MPI_MAX_LIBRARY_VERSION_STRING];
  int major, minor, world, on_my_host;
  cJSON *hosts;
} host_info;

static void describe_mpi(host_info *h, int rank) {
  int len = 0;
  MPI_Get_library_version(h->library, &len);
  h->library[strcspn(h->library, "\n")] = 0; /* Open MPI adds its repository's line */
  MPI_Get_version(&h->major, &h->minor);
  MPI_Comm_size(MPI_COMM_WORLD, &h->world);
  char me[MPI_MAX_PROCESSOR_NAME] = "";
  MPI_Get_processor_name(me, &len);
  char *all = calloc((size_t)h->world, MPI_MAX_PROCESSOR_NAME);
  h->hosts = cJSON_CreateArray();
  h->on_my_host = 1;
  if (!all) return;
  MPI_Allgather(me, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all, MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
                MPI_COMM_WORLD);
  h->on_my_host = 0;
  for (int q = 0; q < h->world; q++) {
    const char *name = all + (size_t)q * MPI_MAX_PROCESSOR_NAME;
    h->on_my_host += !strcmp(name, me);
    int seen = 0;
    for (int p = 0; p < q; p++) seen |= !strcmp(all + (size_t)p * MPI_MAX_PROCESSOR_NAME, name);
    if (!seen) cJSON_AddItemToArray(h->hosts, cJSON_CreateString(name));
  }
  (void)rank;
  free(all);
}

/* 1, 2, 4, ... and world: the rank counts measured. */
static int rank_counts(int world, int *out) {
  int n = 0;
  for (int k = 1; k < world; k *= 2) out[n++] = k;
  out[n++] = world;
  return n;
}

nnb_status nnb_dist_bench(const nnb_dist_config *c, char *out_dir, size_t len, int *rank,
                          nnb_error *e) {
  MPI_Init(NULL, NULL);
  int world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  host_info h;
  describe_mpi(&h, *rank);
  nnb_status st = NNB_OK;
  if (c->ranks != world)
    st = nnb_fail(e, NNB_ERR_INVALID,
                  "--ranks %d, but mpirun started %d rank(s): run it as mpirun -np %d nnbench "
                  "bench ... --ranks %d",
                  c->ranks, world, c->ranks, c->ranks);
  job j = {.c = c};
  nnb_dataset data = {0};
  nnb_backend b = {0};
  int threads = c->threads;
  if (threads <= 0) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cores / h.on_my_host > 1 ? (int)(cores / h.on_my_host) : 1;
  }
  nnb_backend_config cfg = {.threads = threads, .options = c->options};
  if (st == NNB_OK) st = nnb_model_parse(c->model, &j.spec, e);
  if (st == NNB_OK) st = nnb_dataset_open(c->dataset, 0, 0, &data, e);
  if (st == NNB_OK && !(j.order = malloc((size_t)data.n * sizeof *j.order)))
    st = nnb_fail(e, NNB_ERR_NOMEM, "out of memory");
  if (st == NNB_OK) {
    for (int64_t i = 0; i < data.n; i++) j.order[i] = i;
    nnb_shuffle(j.order, data.n, c->seed);
    j.data = &data;
  }
  if (st == NNB_OK) st = nnb_backend_open(c->backend, &cfg, &b, e);
  j.b = &b;
  nnb_run_lock lock = {-1};
  if (*rank == 0 && st == NNB_OK) {
    if (c->out_dir)
      st = nnb_format(out_dir, len, e, "the results folder's path", "%s", c->out_dir);
    else {
      char stamp[32];
      nnb_utc_now("%Y%m%dT%H%M%SZ", stamp, sizeof stamp);
      snprintf(out_dir, len, "results/dist-%s", stamp);
    }
    if (st == NNB_OK) st = nnb_mkdir_p(out_dir, e);
    if (st == NNB_OK) st = nnb_run_dir_lock(out_dir, &lock, e);
    if (st == NNB_OK) st = nnb_run_dir_check_new(out_dir, e);
  }
  st = agree(st, MPI_COMM_WORLD, e);
  int counts[40], n_counts = rank_counts(world, counts);
  cJSON *rows = cJSON_CreateArray();
  outcome one = {0};
  float *one_params = NULL, *most_params = NULL;
  double max_diff = 0;
  nnb_model keep_m = {0};
  nnb_weights keep_w = {0};
  for (int ci = 0; ci < n_counts && st == NNB_OK; ci++)
    for (int weak = 0; weak < 2 && st == NNB_OK; weak++) {
      int k = counts[ci];
      if (k == 1 && weak) continue; /* one rank: strong and weak are the same run */
      int per = weak ? c->batch : c->batch / k;
      if (!weak && (per < 1 || c->batch % k)) {
        if (*rank == 0)
          fprintf(stderr, "strong scaling on %d ranks skipped: batch %d does not split evenly\n", k,
                  c->batch);
        continue;
      }
      MPI_Comm comm;
      MPI_Comm_split(MPI_COMM_WORLD, *rank < k ? 0 : MPI_UNDEFINED, *rank, &comm);
      outcome o = {0};
      nnb_model m = {0};
      nnb_weights w = {0};
      int last_strong = !weak && k == world;
      if (*rank < k) {
        if (*rank == 0)
          fprintf(stderr, "%s scaling: %d rank(s), batch %d per rank, %d steps\n",
                  weak ? "weak" : "strong", k, per, c->steps);
        st = train(&j, comm, *rank, k, per, &o,
                   k == 1 || last_strong ? (k == 1 ? &one_params : &most_params) : NULL, &m, &w, e);
        MPI_Comm_free(&comm);
      }
      wait_asleep(MPI_COMM_WORLD);
      st = agree(st, MPI_COMM_WORLD, e);
      if (st == NNB_OK && k == 1) one = o;
      if (st == NNB_OK && *rank == 0) {
        cJSON *row = outcome_json(&o, weak ? "weak" : "strong", &one);
        if (last_strong && one_params && most_params) {
          for (int64_t i = 0; i < o.param_elems; i++)
            max_diff = fmax(max_diff, fabs((double)most_params[i] - one_params[i]));
          cJSON_AddNumberToObject(row, "max_abs_param_diff_vs_one_rank", max_diff);
        }
        cJSON_AddItemToArray(rows, row);
        if (k == 1) cJSON_AddItemToArray(rows, outcome_json(&o, "weak", &one));
      }
      if (last_strong) {
        keep_m = m, keep_w = w;
      } else {
        nnb_weights_free(&w);
        nnb_model_free(&m);
      }
    }
  if (*rank == 0 && st == NNB_OK) {
    char path[1200];
    snprintf(path, sizeof path, "%s/params.safetensors", out_dir);
    st = nnb_weights_save(&keep_m, &keep_w, path, NULL, 0, e);
  }
  if (*rank == 0 && st == NNB_OK) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "schema_version", NNB_RESULTS_SCHEMA_VERSION);
    cJSON *suite = cJSON_AddObjectToObject(doc, "suite");
    cJSON_AddStringToObject(suite, "name", "dist");
    cJSON_AddStringToObject(suite, "description", "data-parallel training over MPI ranks");
    cJSON_AddStringToObject(suite, "file", "(command line)");
    cJSON_AddItemToObject(doc, "provenance",
                          nnb_provenance(c->argc, c->argv, data.name, data.checksum, c->seed));
    cJSON *mpi = cJSON_AddObjectToObject(doc, "mpi");
    cJSON_AddStringToObject(mpi, "library", h.library);
    char ver[32];
    snprintf(ver, sizeof ver, "%d.%d", h.major, h.minor);
    cJSON_AddStringToObject(mpi, "standard", ver);
    cJSON_AddNumberToObject(mpi, "ranks", world);
    cJSON_AddItemToObject(mpi, "hosts", cJSON_Duplicate(h.hosts, 1));
    cJSON_AddNumberToObject(mpi, "threads_per_rank", threads);
    cJSON *dist = cJSON_AddObjectToObject(doc, "distributed");
    cJSON_AddStringToObject(dist, "model", c->model);
    cJSON_AddStringToObject(dist, "backend", c->backend);
    if (c->options && *c->options) cJSON_AddStringToObject(dist, "options", c->options);
    cJSON_AddNumberToObject(dist, "batch", c->batch);
    cJSON_AddNumberToObject(dist, "steps", c->steps);
    cJSON_AddNumberToObject(dist, "warmup", c->warmup);
    cJSON_AddNumberToObject(dist, "gradient_floats", (double)one.grad_elems);
    cJSON_AddNumberToObject(dist, "parameter_floats", (double)one.param_elems);
    cJSON_AddItemToObject(dist, "runs", rows);
    rows = NULL;
    cJSON_AddArrayToObject(doc, "cases");
    cJSON *run = cJSON_AddObjectToObject(doc, "run");
    cJSON_AddBoolToObject(run, "complete", 1);
    cJSON_AddNumberToObject(run, "cases_planned", 0);
    cJSON_AddNumberToObject(run, "cases_recorded", 0);
    st = nnb_results_write(out_dir, doc, e);
    cJSON_Delete(doc);
  }
  st = agree(st, MPI_COMM_WORLD, e);
  cJSON_Delete(rows);
  cJSON_Delete(h.hosts);
  free(one_params), free(most_params);
  nnb_weights_free(&keep_w);
  nnb_model_free(&keep_m);
  nnb_run_dir_unlock(&lock);
  if (b.vt) nnb_backend_close(&b);
  free(j.order);
  nnb_dataset_free(&data);
  MPI_Finalize();
  return st;
}
