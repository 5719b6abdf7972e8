#include "suite_run.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evaluate.h"
#include "fmt.h"
#include "record.h"
#include "results.h"
#include "runner.h"

#define BENCH_SAMPLES 2048 /* real samples cycled through by the timed loops */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The exact command that measures one case again. */
static void reproducer(const nnb_suite *s, const nnb_case *c, char *buf, size_t len) {
  snprintf(buf, len,
           "nnbench bench --model %s --backend %s --mode %s --batch %d --threads %d --min-time %g "
           "--min-iters %d --warmup %d --timeout %g --dataset %s --seed %llu",
           c->model, c->backend, nnb_mode_name(c->mode), c->batch, c->threads, c->min_time,
           c->min_iters, c->warmup, c->timeout, s->dataset, s->seed);
  for (const char *p = c->options; *p;) {
    size_t n = strcspn(p, ","), used = strlen(buf);
    snprintf(buf + used, len - used, " --backend-opt %.*s", (int)n, p);
    p += n + (p[n] == ',');
  }
}

/* Every case with "all" replaced by the available backends; a backend asked
 * for by name stays, so its unavailability is recorded as that case's failure. */
static int expand_backends(const nnb_suite *s, nnb_case **out) {
  nnb_case *v = calloc((size_t)s->n_cases * 16 + 1, sizeof *v);
  int n = 0;
  for (int i = 0; v && i < s->n_cases; i++) {
    if (strcmp(s->cases[i].backend, "all")) {
      v[n++] = s->cases[i];
      continue;
    }
    for (int k = 0; k < nnb_registry_count() && k < 16; k++) {
      const nnb_plugin *p = nnb_registry_get(k);
      if (!p->available) continue;
      v[n] = s->cases[i];
      snprintf(v[n].backend, sizeof v[n].backend, "%s", p->name);
      n++;
    }
  }
  *out = v;
  return n;
}

static void fmt_eta(double s, char *buf, size_t len) {
  if (!(s >= 0) || s > 1e7)
    snprintf(buf, len, "?");
  else if (s >= 3600)
    snprintf(buf, len, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
  else
    snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

/* ---- accuracy: the same weights on every backend ------------------------ */

typedef struct acc_arg {
  const char *model, *backend;
  const char *weights; /* a checkpoint, or NULL for the seeded initialisation */
  const nnb_dataset *test;
  unsigned long long seed;
} acc_arg;

static cJSON *accuracy_child(void *p) {
  const acc_arg *a = p;
  cJSON *rec = cJSON_CreateObject();
  nnb_error e = {{0}};
  nnb_model_spec spec;
  nnb_backend b;
  nnb_backend_config cfg = {0};
  nnb_model m;
  nnb_weights w = {0};
  nnb_eval_result r = {0};
  nnb_input_shape in = {a->test->c, a->test->h, a->test->w, a->test->classes};
  nnb_status st = nnb_model_parse(a->model, &spec, &e);
  if (st == NNB_OK) st = nnb_model_build(&spec, &in, 1, 0, &m, &e);
  if (st == NNB_OK) {
    st = a->weights ? nnb_weights_load(&m, a->weights, 1, &w, &e)
                    : nnb_weights_init(&m, a->seed, &w, &e);
    nnb_model_free(&m);
  }
  if (st == NNB_OK) st = nnb_backend_open(a->backend, &cfg, &b, &e);
  if (st == NNB_OK) {
    st = nnb_evaluate(&spec, &b, &w, a->test, 256, &r, &e);
    nnb_backend_close(&b);
  }
  if (st == NNB_OK) {
    cJSON_AddStringToObject(rec, "status", "ok");
    cJSON_AddNumberToObject(rec, "accuracy", r.accuracy);
    cJSON_AddNumberToObject(rec, "mean_loss", r.mean_loss);
    cJSON_AddItemToObject(rec, "logits", cJSON_CreateFloatArray(r.logits, (int)(r.n * r.classes)));
  } else {
    cJSON_AddStringToObject(rec, "status", "failed");
    cJSON_AddStringToObject(rec, "reason", e.msg);
  }
  nnb_eval_result_free(&r);
  nnb_weights_free(&w);
  return rec;
}

static void agreement(cJSON *a, cJSON *ref, int classes, double *agree, double *maxdiff) {
  cJSON *la = cJSON_GetObjectItem(a, "logits"), *lr = cJSON_GetObjectItem(ref, "logits");
  int n = cJSON_GetArraySize(la) / classes, same = 0;
  double worst = 0;
  cJSON *x = la ? la->child : NULL, *y = lr ? lr->child : NULL;
  for (int i = 0; i < n && x && y; i++) {
    int ba = 0, br = 0;
    double va = -INFINITY, vr = -INFINITY;
    for (int c = 0; c < classes && x && y; c++, x = x->next, y = y->next) {
      if (x->valuedouble > va) va = x->valuedouble, ba = c;
      if (y->valuedouble > vr) vr = y->valuedouble, br = c;
      worst = fmax(worst, fabs(x->valuedouble - y->valuedouble));
    }
    same += ba == br;
  }
  *agree = n ? (double)same / n : 0;
  *maxdiff = worst;
}

/* The weights every backend evaluates for `model`: DIR/<model>.safetensors
 * (what `nnbench train --out` writes) when a folder is given, else the seeded
 * initialisation. Says which in `what`. */
static const char *weights_for(const char *dir, const char *model, char *path, size_t len,
                               char *what, size_t wlen) {
  if (!dir || !*dir) {
    snprintf(what, wlen, "seeded initialisation (untrained)");
    return NULL;
  }
  snprintf(path, len, "%s/%s.safetensors", dir, model);
  snprintf(what, wlen, "%s", path);
  return path;
}

static cJSON *accuracy_section(const nnb_case *cases, int n, const nnb_dataset *test,
                               unsigned long long seed, const char *weights_dir) {
  cJSON *arr = cJSON_CreateArray();
  for (int i = 0; i < n; i++) {
    int seen = 0; /* each (model, backend) once, the reference first */
    for (int j = 0; j < i && !seen; j++) seen = !strcmp(cases[j].model, cases[i].model);
    if (seen) continue;
    char wpath[1024], what[1024];
    const char *weights =
        weights_for(weights_dir, cases[i].model, wpath, sizeof wpath, what, sizeof what);
    cJSON *ref = NULL;
    for (int pass = 0; pass < 2; pass++)
      for (int j = i; j < n; j++) {
        if (strcmp(cases[j].model, cases[i].model)) continue;
        int is_ref = !strcmp(cases[j].backend, "reference");
        if (is_ref != (pass == 0)) continue;
        int dup = 0;
        for (int k = i; k < j && !dup; k++)
          dup = !strcmp(cases[k].model, cases[j].model) &&
                !strcmp(cases[k].backend, cases[j].backend);
        if (dup) continue;
        fprintf(stderr, "accuracy: %s on %s (%lld test samples)\n", cases[j].model,
                cases[j].backend, (long long)test->n);
        acc_arg a = {cases[j].model, cases[j].backend, weights, test, seed};
        cJSON *rec = nnb_run_isolated(accuracy_child, &a, cases[j].timeout);
        cJSON *row = cJSON_CreateObject();
        cJSON_AddStringToObject(row, "model", cases[j].model);
        cJSON_AddStringToObject(row, "backend", cases[j].backend);
        cJSON_AddStringToObject(row, "weights", what);
        cJSON_AddNumberToObject(row, "samples", (double)test->n);
        cJSON *status = cJSON_GetObjectItem(rec, "status");
        cJSON_AddStringToObject(row, "status",
                                cJSON_IsString(status) ? status->valuestring : "failed");
        if (cJSON_IsString(status) && !strcmp(status->valuestring, "ok")) {
          cJSON_AddNumberToObject(row, "accuracy",
                                  cJSON_GetObjectItem(rec, "accuracy")->valuedouble);
          cJSON_AddNumberToObject(row, "mean_loss",
                                  cJSON_GetObjectItem(rec, "mean_loss")->valuedouble);
          if (ref) {
            double ag, md;
            agreement(rec, ref, test->classes, &ag, &md);
            cJSON_AddNumberToObject(row, "agreement_with_reference", ag);
            cJSON_AddNumberToObject(row, "max_abs_logit_diff", md);
          }
        } else {
          cJSON *reason = cJSON_GetObjectItem(rec, "reason");
          cJSON_AddStringToObject(row, "reason",
                                  cJSON_IsString(reason) ? reason->valuestring : "?");
        }
        cJSON_AddItemToArray(arr, row);
        if (is_ref && !ref)
          ref = rec;
        else
          cJSON_Delete(rec);
      }
    cJSON_Delete(ref);
  }
  return arr;
}

nnb_status nnb_suite_run(const nnb_suite *s, const nnb_run_options *o, char *out_dir, size_t len,
                         int *n_failed, nnb_error *e) {
  *n_failed = 0;
  nnb_status st = nnb_registry_load(e);
  if (st != NNB_OK) return st;
  nnb_dataset data = {0}, test = {0};
  st = nnb_dataset_open(s->dataset, 0, BENCH_SAMPLES, &data, e);
  if (st == NNB_OK && o->accuracy_samples > 0)
    st = nnb_dataset_open(s->dataset, 1, o->accuracy_samples, &test, e);
  if (st != NNB_OK) return st;
  if (o->out_dir) {
    st = nnb_format(out_dir, len, e, "the results folder's path", "%s", o->out_dir);
  } else {
    time_t t = time(NULL);
    struct tm tm;
    char stamp[32];
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out_dir, len, "results/%s-%s", s->name, stamp);
  }
  if (st != NNB_OK || (st = nnb_mkdir_p(out_dir, e)) != NNB_OK) {
    nnb_dataset_free(&data);
    nnb_dataset_free(&test);
    return st;
  }
  nnb_case *cases;
  int n = expand_backends(s, &cases);
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "schema_version", NNB_RESULTS_SCHEMA_VERSION);
  cJSON *suite = cJSON_AddObjectToObject(doc, "suite");
  cJSON_AddStringToObject(suite, "name", s->name);
  cJSON_AddStringToObject(suite, "description", s->description);
  cJSON_AddStringToObject(suite, "file", s->path);
  cJSON_AddItemToObject(doc, "provenance",
                        nnb_provenance(o->argc, o->argv, data.name, data.checksum, s->seed));
  cJSON *backends = cJSON_AddArrayToObject(doc, "backends");
  for (int k = 0; k < nnb_registry_count(); k++) {
    const nnb_plugin *p = nnb_registry_get(k);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", p->name);
    cJSON_AddBoolToObject(b, "available", p->available);
    cJSON_AddStringToObject(b, "reason", p->reason);
    cJSON_AddStringToObject(b, "path", p->path);
    cJSON_AddItemToArray(backends, b);
  }
  cJSON *arr = cJSON_AddArrayToObject(doc, "cases");
  int tty = isatty(STDERR_FILENO);
  double t0 = now_s();
  for (int i = 0; i < n && st == NNB_OK; i++) {
    const nnb_case *c = &cases[i];
    char eta[32], repro[1024];
    fmt_eta(i ? (now_s() - t0) / i * (n - i) : -1, eta, sizeof eta);
    fprintf(stderr, "%s[%d/%d] %s %s %s batch %d (ETA %s)%s", tty ? "\r\033[K" : "", i + 1, n,
            c->model, c->backend, nnb_mode_name(c->mode), c->batch, eta, tty ? "" : "\n");
    cJSON *rec = nnb_run_case(c, &data, s->seed);
    cJSON_AddStringToObject(rec, "group", c->group);
    cJSON_AddStringToObject(rec, "model", c->model);
    cJSON_AddStringToObject(rec, "backend", c->backend);
    if (*c->options) cJSON_AddStringToObject(rec, "options", c->options);
    cJSON_AddStringToObject(rec, "mode", nnb_mode_name(c->mode));
    cJSON_AddNumberToObject(rec, "batch", c->batch);
    cJSON_AddNumberToObject(rec, "threads", c->threads);
    reproducer(s, c, repro, sizeof repro);
    cJSON_AddStringToObject(rec, "reproduce", repro);
    nnb_case_summarize(rec, c->batch, s->seed);
    cJSON *status = cJSON_GetObjectItem(rec, "status");
    if (!cJSON_IsString(status) || strcmp(status->valuestring, "ok")) {
      (*n_failed)++;
      cJSON *why = cJSON_GetObjectItem(rec, "reason");
      fprintf(stderr, "%s  %s: %s\n", tty ? "\n" : "",
              cJSON_IsString(status) ? status->valuestring : "failed",
              cJSON_IsString(why) ? why->valuestring : "?");
    }
    cJSON_AddItemToArray(arr, rec);
    st = nnb_results_write(out_dir, doc,
                           e); /* after every case: an interrupted run keeps its results */
  }
  if (tty) fprintf(stderr, "\r\033[K");
  if (st == NNB_OK && o->accuracy_samples > 0) {
    cJSON_AddItemToObject(
        doc, "accuracy",
        accuracy_section(cases, n, &test, s->seed, o->weights ? o->weights : s->weights));
    st = nnb_results_write(out_dir, doc, e);
  }
  cJSON_Delete(doc);
  free(cases);
  nnb_dataset_free(&data);
  nnb_dataset_free(&test);
  return st;
}
