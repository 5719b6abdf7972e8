/* What nnbench asks a peer and what it makes of the answer: one round of a
 * benchmark case (raw step times, turned into the record a plugin's round
 * gives) and the logits for the accuracy section. The model, the data and
 * the weights are nnbench's own: the peer gets the model's sizes, the files
 * of the dataset with their checksum, and a checkpoint. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evaluate.h"
#include "model.h"
#include "peer.h"
#include "record.h"
#include "runner.h"
#include "weights.h"

typedef struct peer_job {
  const char *exe;
  char name[64]; /* the peer's name, for messages */
  char dir[256]; /* temporary folder for the checkpoint, "" when none */
  char weights[512];
  nnb_model_spec spec;
  nnb_model m;
  int built;
} peer_job;

static cJSON *fail(cJSON *rec, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cJSON *fail(cJSON *rec, const char *status, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON_DeleteItemFromObject(rec, "status");
  cJSON_AddStringToObject(rec, "status", status);
  cJSON_AddStringToObject(rec, "reason", msg);
  return rec;
}

static cJSON *model_json(const nnb_model_spec *s, const nnb_input_shape *in) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "kind", nnb_model_kind_name(s->kind));
  cJSON_AddStringToObject(o, "spec", s->text);
  switch (s->kind) {
  case NNB_MODEL_MLP:
  case NNB_MODEL_LSTM:
    cJSON_AddNumberToObject(o, "hidden", s->hidden);
    cJSON_AddNumberToObject(o, "layers", s->layers);
    break;
  case NNB_MODEL_CNN:
    cJSON_AddNumberToObject(o, "c1", s->c1);
    cJSON_AddNumberToObject(o, "c2", s->c2);
    cJSON_AddNumberToObject(o, "c3", s->c3);
    cJSON_AddNumberToObject(o, "fc", s->fc);
    break;
  default:
    cJSON_AddNumberToObject(o, "d", s->d);
    cJSON_AddNumberToObject(o, "layers", s->layers);
    cJSON_AddNumberToObject(o, "heads", s->heads);
    cJSON_AddNumberToObject(o, "ffn", s->ffn);
  }
  cJSON *i = cJSON_AddObjectToObject(o, "input");
  cJSON_AddNumberToObject(i, "c", in->c);
  cJSON_AddNumberToObject(i, "h", in->h);
  cJSON_AddNumberToObject(i, "w", in->w);
  cJSON_AddNumberToObject(i, "classes", in->classes);
  return o;
}

/* The samples the peer must read: IDX files are named (images, labels);
 * any other kind only by its name, which a peer may refuse. */
static cJSON *dataset_json(const nnb_dataset *d, const char *split) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", d->name);
  cJSON_AddStringToObject(o, "split", split);
  cJSON_AddNumberToObject(o, "samples", (double)d->n);
  char crc[16];
  snprintf(crc, sizeof crc, "%08x", d->checksum);
  cJSON_AddStringToObject(o, "crc32", crc);
  const char *comma = strstr(d->source, ", ");
  int idx = comma && (!strcmp(d->name, "fashion-mnist") || !strcmp(d->name, "mnist") ||
                      !strcmp(d->name, "idx"));
  cJSON_AddStringToObject(o, "format", idx ? "idx" : d->name);
  if (idx) {
    char images[512];
    snprintf(images, sizeof images, "%.*s", (int)(comma - d->source), d->source);
    cJSON_AddStringToObject(o, "images", images);
    cJSON_AddStringToObject(o, "labels", comma + 2);
  } else {
    cJSON_AddStringToObject(o, "source", d->source);
  }
  return o;
}

static void job_free(peer_job *j) {
  if (*j->dir) {
    unlink(j->weights);
    rmdir(j->dir);
  }
  if (j->built) nnb_model_free(&j->m);
}

/* Parses and builds the model, and writes nnbench's seeded initial weights
 * to a temporary checkpoint unless `weights` names one. */
static nnb_status job_init(peer_job *j, const char *exe, const char *model, const char *weights,
                           const nnb_dataset *d, int batch, int train, unsigned long long seed,
                           nnb_error *e) {
  memset(j, 0, sizeof *j);
  j->exe = exe;
  const char *base = strrchr(exe, '/');
  base = base ? base + 1 : exe;
  if (!strncmp(base, NNB_PEER_PREFIX, strlen(NNB_PEER_PREFIX))) base += strlen(NNB_PEER_PREFIX);
  snprintf(j->name, sizeof j->name, "%s", base);
  nnb_status st = nnb_model_parse(model, &j->spec, e);
  nnb_input_shape in = {d->c, d->h, d->w, d->classes};
  if (st == NNB_OK) st = nnb_model_build(&j->spec, &in, batch, train, &j->m, e);
  if (st != NNB_OK) return st;
  j->built = 1;
  nnb_opt_config opt = NNB_BENCH_OPTIMIZER;
  if (train && (st = nnb_autodiff(&j->m.g, j->m.loss, &opt, NULL, e)) != NNB_OK) return st;
  if (weights) {
    snprintf(j->weights, sizeof j->weights, "%s", weights);
    return NNB_OK;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(j->dir, sizeof j->dir, "%s/nnb-peer-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(j->dir)) {
    *j->dir = 0;
    return nnb_fail(e, NNB_ERR_IO, "cannot create a temporary folder for the peer's weights");
  }
  snprintf(j->weights, sizeof j->weights, "%s/weights.safetensors", j->dir);
  nnb_weights w = {0};
  st = nnb_weights_init(&j->m, seed, &w, e);
  if (st == NNB_OK) st = nnb_weights_save(&j->m, &w, j->weights, NULL, 0, e);
  nnb_weights_free(&w);
  return st;
}

static cJSON *request(const peer_job *j, const char *op, const nnb_dataset *d, const char *split,
                      unsigned long long seed) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddNumberToObject(r, "protocol", NNB_PEER_PROTOCOL);
  cJSON_AddStringToObject(r, "op", op);
  cJSON_AddItemToObject(r, "model", model_json(&j->spec, &j->m.input));
  cJSON_AddItemToObject(r, "dataset", dataset_json(d, split));
  cJSON_AddStringToObject(r, "weights", j->weights);
  cJSON_AddNumberToObject(r, "seed", (double)seed);
  return r;
}

/* Sends the request; on an answer that is not "ok" fills rec's status and
 * reason and returns NULL. */
static cJSON *ask(const peer_job *j, cJSON *req, double timeout_s, const char *pin, cJSON *rec,
                  nnb_peer_usage *use) {
  char why[768];
  cJSON *a = nnb_peer_exchange(j->exe, req, timeout_s, pin, use, why, sizeof why);
  cJSON_Delete(req);
  if (!a) {
    fail(rec, "failed", "peer %s: %s", j->name, why);
    return NULL;
  }
  const char *st = cJSON_GetObjectItem(a, "status")->valuestring;
  if (strcmp(st, "ok")) {
    const char *r = cJSON_GetObjectItem(a, "reason")->valuestring;
    fail(rec, strcmp(st, "refused") ? "failed" : "unsupported",
         strcmp(st, "refused") ? "peer %s failed: %s" : "peer %s refused: %s", j->name, r);
    cJSON_Delete(a);
    return NULL;
  }
  return a;
}

/* The answer must be about the very samples nnbench holds. */
static int same_data(const peer_job *j, cJSON *a, const nnb_dataset *d, cJSON *rec) {
  cJSON *crc = cJSON_GetObjectItem(a, "dataset_crc32");
  char want[16];
  snprintf(want, sizeof want, "%08x", d->checksum);
  if (cJSON_IsString(crc) && !strcmp(crc->valuestring, want)) return 1;
  fail(rec, "failed", "peer %s read other data: its \"dataset_crc32\" is not nnbench's %s", j->name,
       want);
  return 0;
}

static double number(cJSON *o, const char *key) {
  cJSON *v = cJSON_GetObjectItem(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* "samples_s": a non-empty array of positive, finite seconds. */
static int valid_samples(cJSON *arr) {
  if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1) return 0;
  for (cJSON *v = arr->child; v; v = v->next)
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || !isfinite(v->valuedouble)) return 0;
  return 1;
}

/* How the warm-up went, as a plugin's round records it. */
static void copy_warmup(cJSON *rec, cJSON *a) {
  cJSON *n = cJSON_GetObjectItem(a, "warmup_iters"), *s = cJSON_GetObjectItem(a, "warmup_s");
  cJSON *ok = cJSON_GetObjectItem(a, "warmup_steady");
  cJSON_AddNumberToObject(rec, "warmup_iters", cJSON_IsNumber(n) ? n->valuedouble : 0);
  cJSON_AddNumberToObject(rec, "warmup_s", cJSON_IsNumber(s) ? s->valuedouble : 0);
  cJSON_AddBoolToObject(rec, "warmup_steady", cJSON_IsTrue(ok));
}

/* The peer's library and settings, shaped as a plugin's describe(). */
static void add_info(cJSON *rec, cJSON *a, const peer_job *j) {
  cJSON *o = cJSON_AddObjectToObject(rec, "backend_info");
  cJSON *dev = cJSON_GetObjectItem(a, "device"), *lib = cJSON_GetObjectItem(a, "library");
  cJSON_AddStringToObject(o, "device", cJSON_IsString(dev) ? dev->valuestring : "?");
  cJSON_AddStringToObject(o, "library", cJSON_IsString(lib) ? lib->valuestring : "?");
  cJSON *props = cJSON_AddObjectToObject(o, "properties");
  cJSON *set = cJSON_GetObjectItem(a, "settings");
  for (cJSON *v = set ? set->child : NULL; v; v = v->next) {
    if (cJSON_IsString(v)) {
      cJSON_AddStringToObject(props, v->string, v->valuestring);
    } else {
      char *t = cJSON_PrintUnformatted(v);
      cJSON_AddStringToObject(props, v->string, t ? t : "?");
      free(t);
    }
  }
  cJSON *p = cJSON_AddObjectToObject(rec, "peer");
  cJSON_AddStringToObject(p, "name", j->name);
  cJSON_AddStringToObject(p, "executable", j->exe);
  cJSON_AddNumberToObject(p, "protocol", NNB_PEER_PROTOCOL);
}

cJSON *nnb_peer_run_case(const char *exe, const nnb_case *c, const nnb_dataset *d,
                         unsigned long long seed) {
  cJSON *rec = cJSON_CreateObject();
  cJSON_AddStringToObject(rec, "status", "ok");
  cJSON_AddStringToObject(rec, "backend_kind", "peer");
  peer_job j;
  nnb_error e = {{0}};
  int train = c->mode == NNB_MODE_TRAIN;
  if (job_init(&j, exe, c->model, NULL, d, c->batch, train, seed, &e) != NNB_OK) {
    job_free(&j);
    return fail(rec, "failed", "%s", e.msg);
  }
  cJSON_AddStringToObject(rec, "spec", j.spec.text);
  int64_t params = nnb_model_param_count(&j.m);
  cJSON_AddNumberToObject(rec, "parameters", (double)params);
  cJSON *req = request(&j, "measure", d, "train", seed);
  cJSON_AddStringToObject(req, "mode", nnb_mode_name(c->mode));
  cJSON_AddNumberToObject(req, "batch", c->batch);
  cJSON_AddNumberToObject(req, "threads", c->threads);
  cJSON_AddStringToObject(req, "options", c->options);
  cJSON *w = cJSON_AddObjectToObject(req, "warmup");
  cJSON_AddNumberToObject(w, "min_steps", c->warmup);
  cJSON_AddNumberToObject(w, "max_steps", NNB_WARM_MAX_STEPS);
  cJSON_AddNumberToObject(w, "max_s", NNB_WARM_CAP_S(c->min_time));
  cJSON_AddNumberToObject(w, "window", NNB_WARM_WINDOW);
  cJSON_AddNumberToObject(w, "tolerance", NNB_WARM_TOLERANCE);
  cJSON_AddNumberToObject(req, "min_time", c->min_time);
  cJSON_AddNumberToObject(req, "min_iters", c->min_iters);
  nnb_opt_config opt = NNB_BENCH_OPTIMIZER;
  cJSON *o = cJSON_AddObjectToObject(req, "optimizer");
  cJSON_AddStringToObject(o, "name", "adam");
  cJSON_AddNumberToObject(o, "lr", opt.lr);
  cJSON_AddNumberToObject(o, "beta1", opt.beta1);
  cJSON_AddNumberToObject(o, "beta2", opt.beta2);
  cJSON_AddNumberToObject(o, "eps", opt.eps);
  nnb_peer_usage use = {0};
  cJSON *a = ask(&j, req, c->timeout, c->pin, rec, &use);
  if (a && same_data(&j, a, d, rec)) {
    cJSON *samples = cJSON_DetachItemFromObject(a, "samples_s");
    double cold = number(a, "cold_s");
    if (number(a, "parameters") != (double)params)
      fail(rec, "failed",
           "peer %s: its model has %.0f parameters, nnbench's %lld: not the same model", j.name,
           number(a, "parameters"), (long long)params);
    else if (!valid_samples(samples))
      fail(rec, "failed",
           "peer %s: answer's \"samples_s\": expected an array of at least one positive, finite "
           "number of seconds",
           j.name);
    else if (!(cold > 0))
      fail(rec, "failed", "peer %s: answer's \"cold_s\": expected the first step's seconds",
           j.name);
    else {
      add_info(rec, a, &j);
      cJSON_AddNumberToObject(rec, "cold_s", cold);
      copy_warmup(rec, a);
      if (number(a, "setup_s") >= 0) cJSON_AddNumberToObject(rec, "setup_s", number(a, "setup_s"));
      if (train && cJSON_IsArray(cJSON_GetObjectItem(a, "loss")))
        cJSON_AddItemToObject(rec, "loss", cJSON_DetachItemFromObject(a, "loss"));
      cJSON_AddItemToObject(rec, "samples_s", samples);
      samples = NULL;
      nnb_record_work(rec, &j.m.g);
    }
    cJSON_Delete(samples);
  }
  cJSON *mem = cJSON_AddObjectToObject(rec, "memory");
  cJSON_AddNumberToObject(mem, "peak_rss_bytes", use.peak_rss_bytes);
  cJSON_AddNumberToObject(rec, "child_cpu_s", use.cpu_s);
  cJSON_Delete(a);
  job_free(&j);
  return rec;
}

cJSON *nnb_peer_evaluate(const char *exe, const char *model, const char *weights,
                         const nnb_dataset *test, unsigned long long seed, double timeout_s) {
  cJSON *rec = cJSON_CreateObject();
  cJSON_AddStringToObject(rec, "status", "ok");
  peer_job j;
  nnb_error e = {{0}};
  if (job_init(&j, exe, model, weights, test, 1, 0, seed, &e) != NNB_OK) {
    job_free(&j);
    return fail(rec, "failed", "%s", e.msg);
  }
  cJSON *req = request(&j, "evaluate", test, "test", seed);
  cJSON_AddNumberToObject(req, "batch", 256);
  nnb_peer_usage use;
  cJSON *a = ask(&j, req, timeout_s, NULL, rec, &use);
  if (a && same_data(&j, a, test, rec)) {
    cJSON *lg = cJSON_GetObjectItem(a, "logits");
    int64_t n = test->n, k = test->classes;
    nnb_eval_result r = {.n = n, .classes = (int)k};
    r.logits = malloc((size_t)(n * k) * sizeof *r.logits);
    int ok = r.logits && cJSON_IsArray(lg) && cJSON_GetArraySize(lg) == n * k;
    int64_t i = 0;
    for (cJSON *v = ok ? lg->child : NULL; v && ok; v = v->next, i++)
      ok = cJSON_IsNumber(v) && isfinite(v->valuedouble), r.logits[i] = (float)v->valuedouble;
    if (!ok) {
      fail(rec, "failed",
           "peer %s: answer's \"logits\": expected %lld x %lld finite numbers, row by row", j.name,
           (long long)n, (long long)k);
    } else {
      nnb_eval_score(&r, test->labels);
      cJSON_AddNumberToObject(rec, "accuracy", r.accuracy);
      cJSON_AddNumberToObject(rec, "mean_loss", r.mean_loss);
      cJSON_AddItemToObject(rec, "logits", cJSON_DetachItemFromObject(a, "logits"));
    }
    nnb_eval_result_free(&r);
  }
  cJSON_Delete(a);
  job_free(&j);
  return rec;
}
