#include "suite_run.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buildinfo.h"
#include "case_rounds.h"
#include "evaluate.h"
#include "fmt.h"
#include "memory_limit.h"
#include "peer.h"
#include "record.h"
#include "results.h"
#include "round_conditions.h"
#include "run_dir.h"
#include "runner.h"
#include "schedule.h"
#include "shard.h"
#include "sysinfo.h"

#define BENCH_SAMPLES 2048 /* real samples cycled through by the timed loops */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The exact command that measures one case again. */
static void reproducer(const nnb_suite *s, const nnb_case *c, int rounds, char *buf, size_t len) {
  int at =
      snprintf(buf, len,
               "nnbench bench --model %s --backend %s --mode %s --batch %d --threads %d "
               "--min-time %g --min-iters %d --warmup %d --rounds %d --timeout %g --dataset %s "
               "--seed %llu",
               c->model, c->backend, nnb_mode_name(c->mode), c->batch, c->threads, c->min_time,
               c->min_iters, c->warmup, rounds, c->timeout, s->dataset, s->seed);
  if (*c->pin && at > 0 && (size_t)at < len)
    at += snprintf(buf + at, len - (size_t)at, " --pin %s", c->pin);
  if (c->max_step > 0 && at > 0 && (size_t)at < len)
    snprintf(buf + at, len - (size_t)at, " --max-step %g", c->max_step);
  for (const char *p = c->options; *p;) {
    size_t n = strcspn(p, ","), used = strlen(buf);
    snprintf(buf + used, len - used, " --backend-opt %.*s", (int)n, p);
    p += n + (p[n] == ',');
  }
}

/* The record's command that measures its case again, set or replaced. */
static void set_reproduce(cJSON *rec, const nnb_suite *s, const nnb_case *c, int rounds) {
  char repro[1024];
  reproducer(s, c, rounds, repro, sizeof repro);
  cJSON *text = cJSON_CreateString(repro);
  if (!cJSON_GetObjectItem(rec, "reproduce"))
    cJSON_AddItemToObject(rec, "reproduce", text);
  else
    cJSON_ReplaceItemInObject(rec, "reproduce", text);
}

/* What names a case in the results, and the command that measures it again. */
static void add_identity(cJSON *rec, const nnb_suite *s, const nnb_case *c, int rounds) {
  cJSON_AddStringToObject(rec, "group", c->group);
  cJSON_AddStringToObject(rec, "model", c->model);
  cJSON_AddStringToObject(rec, "backend", c->backend);
  if (*c->options) cJSON_AddStringToObject(rec, "options", c->options);
  cJSON_AddStringToObject(rec, "mode", nnb_mode_name(c->mode));
  cJSON_AddNumberToObject(rec, "batch", c->batch);
  cJSON_AddNumberToObject(rec, "threads", c->threads);
  set_reproduce(rec, s, c, rounds);
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
  uint64_t memory_limit;
} acc_arg;

static cJSON *accuracy_child(void *p) {
  const acc_arg *a = p;
  nnb_mem_cap_self(a->memory_limit);
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

static cJSON *peer_missing(const char *why) {
  cJSON *rec = cJSON_CreateObject();
  cJSON_AddStringToObject(rec, "status", "failed");
  cJSON_AddStringToObject(rec, "reason", why);
  return rec;
}

/* A result's logits as the child sent them; a value that is not a number
 * (JSON has no NaN: it arrives as null) stays NaN, never 0. */
static nnb_eval_result logits_of(cJSON *rec, int classes) {
  cJSON *arr = cJSON_GetObjectItem(rec, "logits"), *x;
  int n = cJSON_GetArraySize(arr), i = 0;
  nnb_eval_result r = {0};
  r.classes = classes;
  r.logits = malloc((size_t)(n ? n : 1) * sizeof *r.logits);
  if (!r.logits || classes < 1) return r;
  cJSON_ArrayForEach(x, arr) r.logits[i++] = cJSON_IsNumber(x) ? (float)x->valuedouble : NAN;
  r.n = n / classes;
  return r;
}

static void agreement(cJSON *a, cJSON *ref, int classes, double *agree, double *maxdiff) {
  nnb_eval_result ra = logits_of(a, classes), rr = logits_of(ref, classes);
  nnb_eval_compare(&ra, &rr, agree, maxdiff);
  nnb_eval_result_free(&ra);
  nnb_eval_result_free(&rr);
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
        acc_arg a = {cases[j].model, cases[j].backend, weights, test, seed, cases[j].memory_limit};
        char exe[512], why[768];
        cJSON *rec =
            !nnb_peer_lookup(cases[j].backend, exe, sizeof exe, why, sizeof why)
                ? nnb_run_isolated(accuracy_child, &a, cases[j].timeout)
            : *exe ? nnb_peer_evaluate(exe, cases[j].model, weights, test, seed, cases[j].timeout)
                   : peer_missing(why);
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

/* The document of a new run: suite, provenance, backends, no cases yet. */
static cJSON *new_document(const nnb_suite *s, const nnb_run_options *o, const nnb_dataset *data,
                           const char *fingerprint, const nnb_case *cases, int n) {
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "schema_version", NNB_RESULTS_SCHEMA_VERSION);
  cJSON *suite = cJSON_AddObjectToObject(doc, "suite");
  cJSON_AddStringToObject(suite, "name", s->name);
  cJSON_AddStringToObject(suite, "description", s->description);
  cJSON_AddStringToObject(suite, "file", s->path);
  cJSON_AddStringToObject(suite, "fingerprint", fingerprint);
  cJSON_AddItemToObject(doc, "provenance",
                        nnb_provenance(o->argc, o->argv, data->name, data->checksum, s->seed));
  cJSON *backends = cJSON_AddArrayToObject(doc, "backends");
  for (int k = 0; k < nnb_registry_count(); k++) {
    const nnb_plugin *p = nnb_registry_get(k);
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", p->name);
    cJSON_AddStringToObject(b, "kind", "plugin");
    cJSON_AddBoolToObject(b, "available", p->available);
    cJSON_AddStringToObject(b, "reason", p->reason);
    cJSON_AddStringToObject(b, "path", p->path);
    cJSON_AddItemToArray(backends, b);
  }
  nnb_peers_json(backends, cases, n);
  cJSON_AddArrayToObject(doc, "cases");
  return doc;
}

/* o's member `key`, an object (or an array when `array`), made when missing
 * or of another type. */
static cJSON *member(cJSON *o, const char *key, int array) {
  cJSON *m = cJSON_GetObjectItem(o, key);
  if (array ? cJSON_IsArray(m) : cJSON_IsObject(m)) return m;
  cJSON_DeleteItemFromObject(o, key);
  return array ? cJSON_AddArrayToObject(o, key) : cJSON_AddObjectToObject(o, key);
}

/* The document of the interrupted run in dir, when it may be continued;
 * its "run" object records this continuation. */
static nnb_status resumed_document(const char *dir, const nnb_run_options *o,
                                   const char *fingerprint, cJSON **doc, nnb_error *e) {
  nnb_status st = nnb_results_read(dir, doc, e);
  if (st != NNB_OK) return st;
  char machine[600] = "unknown machine";
  nnb_sysinfo si;
  nnb_error ignored;
  if (nnb_sysinfo_collect(&si, &ignored) == NNB_OK) {
    cJSON *m = nnb_sysinfo_to_json(&si);
    nnb_run_machine_id(m, machine, sizeof machine);
    cJSON_Delete(m);
  }
  st = nnb_run_check_resume(*doc, fingerprint, nnb_git_commit(), machine, o->force, e);
  if (st != NNB_OK) {
    cJSON_Delete(*doc);
    *doc = NULL;
    return st;
  }
  cJSON *resumes = member(member(*doc, "run", 0), "resumes", 1);
  cJSON *r = cJSON_CreateObject();
  char stamp[32];
  nnb_utc_now("%Y-%m-%dT%H:%M:%SZ", stamp, sizeof stamp);
  cJSON_AddStringToObject(r, "utc", stamp);
  cJSON_AddStringToObject(r, "git_commit", nnb_git_commit());
  cJSON_AddStringToObject(r, "machine", machine);
  cJSON_AddBoolToObject(r, "forced", o->force);
  cJSON_AddItemToArray(resumes, r);
  return NNB_OK;
}

/* Sets the run's progress: complete only once every case and the accuracy
 * section are recorded, so an interrupted run says it is partial. */
static void set_progress(cJSON *doc, int planned, int recorded, int complete) {
  cJSON *run = member(doc, "run", 0);
  cJSON_DeleteItemFromObject(run, "complete");
  cJSON_DeleteItemFromObject(run, "cases_planned");
  cJSON_DeleteItemFromObject(run, "cases_recorded");
  cJSON_AddBoolToObject(run, "complete", complete);
  cJSON_AddNumberToObject(run, "cases_planned", planned);
  cJSON_AddNumberToObject(run, "cases_recorded", recorded);
}

/* Whether round `round` of a case needs no measuring: its record (NULL when
 * none yet) failed, which ends the case, or already holds that round. */
static int measured(const cJSON *rec, int round) {
  if (!rec) return 0;
  if (!nnb_case_ok(rec)) return 1;
  const cJSON *x;
  cJSON_ArrayForEach(x, cJSON_GetObjectItem(rec, "rounds")) {
    const cJSON *r = cJSON_GetObjectItem(x, "round");
    if (cJSON_IsNumber(r) && r->valueint == round) return 1;
  }
  return 0;
}

/* Cases whose every round is recorded (or that failed). */
static int cases_recorded(cJSON *const *recs, const int *rounds, int n) {
  int count = 0;
  for (int i = 0; i < n; i++) {
    int all = recs[i] != NULL;
    for (int r = 0; all && r < rounds[i]; r++) all = measured(recs[i], r);
    count += all;
  }
  return count;
}

/* The document's cases in suite order: for each case, the record an
 * interrupted run left (its rounds are kept and the missing ones measured)
 * or a placeholder. Records of no case of this run (a forced continuation
 * of another suite) stay after them, never dropped. */
static void place_cases(cJSON *doc, const nnb_suite *s, const nnb_case *cases, const int *rounds,
                        int n, cJSON **recs) {
  cJSON *old = cJSON_DetachItemFromObject(doc, "cases");
  cJSON *arr = cJSON_AddArrayToObject(doc, "cases");
  for (int i = 0; i < n; i++) {
    char want[512], have[512];
    nnb_case_key(&cases[i], want, sizeof want);
    cJSON *rec = old ? old->child : NULL;
    for (; rec; rec = rec->next) {
      cJSON *status = cJSON_GetObjectItem(rec, "status");
      nnb_record_key(rec, have, sizeof have);
      if (!strcmp(want, have) && cJSON_IsString(status) && strcmp(status->valuestring, "pending"))
        break;
    }
    if (rec) {
      recs[i] = cJSON_DetachItemViaPointer(old, rec);
      cJSON_AddItemToArray(arr, recs[i]);
      continue;
    }
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "status", "pending");
    cJSON_AddStringToObject(p, "reason", "not measured yet");
    add_identity(p, s, &cases[i], rounds[i]);
    cJSON_AddItemToArray(arr, p);
  }
  while (old && old->child) {
    cJSON *rec = cJSON_DetachItemViaPointer(old, old->child);
    cJSON *status = cJSON_GetObjectItem(rec, "status");
    if (cJSON_IsString(status) && !strcmp(status->valuestring, "pending"))
      cJSON_Delete(rec);
    else
      cJSON_AddItemToArray(arr, rec);
  }
  cJSON_Delete(old);
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
    char stamp[32];
    nnb_utc_now("%Y%m%dT%H%M%SZ", stamp, sizeof stamp);
    snprintf(out_dir, len, "results/%s-%s", s->name, stamp);
  }
  if (st != NNB_OK) {
    nnb_dataset_free(&data);
    nnb_dataset_free(&test);
    return st;
  }
  nnb_case *cases;
  int n = expand_backends(s, &cases);
  for (int i = 0; i < n; i++) cases[i].memory_limit = o->memory_limit;
  char fingerprint[9];
  nnb_run_fingerprint(s, cases, n, fingerprint); /* of the whole run, shard or not */
  cJSON *shard = NULL;
  nnb_input_shape shape = {data.c, data.h, data.w, data.classes};
  st = nnb_shard_cases(&o->shard, &shape, cases, &n, &shard, e);
  nnb_run_lock lock = {-1};
  cJSON *doc = NULL;
  if (st == NNB_OK) st = nnb_mkdir_p(out_dir, e);
  if (st == NNB_OK) st = nnb_run_dir_lock(out_dir, &lock, e);
  if (st == NNB_OK && o->resume)
    st = resumed_document(out_dir, o, fingerprint, &doc, e);
  else if (st == NNB_OK && (st = nnb_run_dir_check_new(out_dir, e)) == NNB_OK)
    doc = new_document(s, o, &data, fingerprint, cases, n);
  if (st == NNB_OK)
    st = nnb_shard_mark(doc, shard, e);
  else
    cJSON_Delete(shard);
  cJSON **recs = calloc((size_t)(n ? n : 1), sizeof *recs);
  int *rounds = malloc((size_t)(n ? n : 1) * sizeof *rounds), n_slots = 0;
  nnb_slot *slots = NULL;
  for (int i = 0; rounds && i < n; i++)
    rounds[i] = o->rounds > 0 ? o->rounds : cases[i].rounds > 0 ? cases[i].rounds : 1;
  if (st == NNB_OK && (!recs || !rounds))
    st = nnb_fail(e, NNB_ERR_NOMEM, "out of memory for %d cases", n);
  else if (st == NNB_OK)
    st = nnb_schedule(rounds, n, s->seed, &slots, &n_slots, e);
  if (st == NNB_OK) place_cases(doc, s, cases, rounds, n, recs);
  cJSON *arr = cJSON_GetObjectItem(doc, "cases");
  int tty = isatty(STDERR_FILENO), todo = 0, done = 0;
  for (int k = 0; st == NNB_OK && k < n_slots; k++)
    todo += !measured(recs[slots[k].case_index], slots[k].round);
  if (st == NNB_OK && o->resume)
    fprintf(stderr, "continuing %s: %d of %d case(s) recorded, %d round(s) to measure\n", out_dir,
            cases_recorded(recs, rounds, n), n, todo);
  if (st == NNB_OK) {
    set_progress(doc, n, cases_recorded(recs, rounds, n), 0);
    st = nnb_results_write(out_dir, doc, e);
  }
  double t0 = now_s();
  for (int k = 0; k < n_slots && st == NNB_OK; k++) {
    int i = slots[k].case_index, round = slots[k].round;
    nnb_case c = cases[i];
    if (o->pin) snprintf(c.pin, sizeof c.pin, "%s", o->pin);
    /* max_step is judged on a case's first round only: a case near the cap
     * is then measured whole or skipped whole, never dropped midway */
    nnb_case measure = c;
    if (recs[i] && nnb_case_ok(recs[i])) measure.max_step = 0;
    /* a failed round ends its case; a round recorded before an interruption stays */
    if (measured(recs[i], round)) continue;
    char eta[32];
    fmt_eta(done ? (now_s() - t0) / done * (todo - done) : -1, eta, sizeof eta);
    fprintf(stderr, "%s[%d/%d] %s %s %s batch %d round %d/%d (ETA %s)%s", tty ? "\r\033[K" : "",
            k + 1, n_slots, c.model, c.backend, nnb_mode_name(c.mode), c.batch, round + 1,
            rounds[i], eta, tty ? "" : "\n");
    nnb_conditions before, after;
    nnb_conditions_snapshot(&before);
    cJSON *r = nnb_run_case(&measure, &data, s->seed);
    nnb_conditions_snapshot(&after);
    done++;
    cJSON *cpu = cJSON_GetObjectItem(r, "child_cpu_s");
    cJSON *cond = nnb_conditions_json(&before, &after, cJSON_IsNumber(cpu) ? cpu->valuedouble : 0);
    int first = !recs[i];
    nnb_case_add_round(&recs[i], r, round, k, cond, c.pin);
    cJSON *rec = recs[i];
    if (first) {
      add_identity(rec, s, &c, rounds[i]);
      cJSON_ReplaceItemInArray(arr, i, rec);
    } else { /* a continuation may measure more rounds than the run planned */
      set_reproduce(rec, s, &c, rounds[i]);
    }
    if (nnb_case_ok(rec)) {
      nnb_case_summarize(rec, c.batch, s->seed);
    } else {
      cJSON *status = cJSON_GetObjectItem(rec, "status"), *why = cJSON_GetObjectItem(rec, "reason");
      /* a case the suite's max_step leaves out is no failure */
      *n_failed += !cJSON_IsString(status) || strcmp(status->valuestring, "skipped");
      fprintf(stderr, "%s  %s: %s\n", tty ? "\n" : "",
              cJSON_IsString(status) ? status->valuestring : "failed",
              cJSON_IsString(why) ? why->valuestring : "?");
    }
    set_progress(doc, n, cases_recorded(recs, rounds, n), 0);
    /* after every round, atomically: an interrupted run keeps what it measured */
    st = nnb_results_write(out_dir, doc, e);
  }
  free(slots);
  if (tty) fprintf(stderr, "\r\033[K");
  if (st == NNB_OK && o->accuracy_samples > 0) {
    cJSON_DeleteItemFromObject(doc, "accuracy");
    cJSON_AddItemToObject(
        doc, "accuracy",
        accuracy_section(cases, n, &test, s->seed, o->weights ? o->weights : s->weights));
  }
  if (st == NNB_OK) {
    set_progress(doc, n, cases_recorded(recs, rounds, n), 1);
    st = nnb_results_write(out_dir, doc, e);
  }
  nnb_run_dir_unlock(&lock);
  free(rounds);
  free(recs);
  cJSON_Delete(doc);
  free(cases);
  nnb_dataset_free(&data);
  nnb_dataset_free(&test);
  return st;
}
