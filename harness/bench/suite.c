#include "suite.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define MAX_GROUPS 64

/* One section's settings before expansion; unset fields inherit [suite]. */
typedef struct group {
  char name[64];
  char models[1024], backends[512], modes[64], batches[256], options[256];
  int has_options; /* options set in this section (possibly to "") */
  int threads, min_iters, warmup;
  double min_time, timeout;
} group;

typedef struct parse {
  nnb_suite *s;
  group defaults;
  group groups[MAX_GROUPS];
  int n_groups;
  char err[768];
} parse;

const char *nnb_mode_name(nnb_mode m) { return m == NNB_MODE_TRAIN ? "train" : "infer"; }

static int fail(parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parse *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, sizeof p->err, fmt, ap);
  va_end(ap);
  return 0; /* inih stops and reports this line */
}

static int num(parse *p, const char *sec, const char *key, const char *v, double lo, double hi,
               double *out) {
  char *end;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || end == v || *end || !(d >= lo && d <= hi))
    return fail(p, "[%s] %s = '%s': expected a number in [%g, %g]", sec, key, v, lo, hi);
  *out = d;
  return 1;
}

static int copy(parse *p, const char *sec, const char *key, char *dst, size_t len, const char *v) {
  if (strlen(v) >= len)
    return fail(p, "[%s] %s: value longer than %zu characters", sec, key, len - 1);
  memcpy(dst, v, strlen(v) + 1);
  return 1;
}

/* Options are "k=v,k=v": every pair has a key and an '='. */
static const char *bad_pair(const char *opts, char *buf, size_t len) {
  for (const char *p = opts; *p;) {
    size_t n = strcspn(p, ",");
    const char *eq = memchr(p, '=', n);
    if (!eq || eq == p) {
      snprintf(buf, len, "%.*s", (int)n, p);
      return buf;
    }
    p += n + (p[n] == ',');
  }
  return NULL;
}

static int handler(void *user, const char *sec, const char *key, const char *v) {
  parse *p = user;
  int is_suite = !strcmp(sec, "suite");
  group *g = &p->defaults;
  if (!*sec) return fail(p, "'%s' is outside any section (start with [suite])", key);
  if (!is_suite) {
    int i = 0;
    while (i < p->n_groups && strcmp(p->groups[i].name, sec)) i++;
    if (i == p->n_groups) {
      if (i == MAX_GROUPS) return fail(p, "more than %d groups", MAX_GROUPS);
      p->groups[i] =
          (group){.threads = -1, .min_iters = -1, .warmup = -1, .min_time = -1, .timeout = -1};
      snprintf(p->groups[i].name, sizeof p->groups[i].name, "%s", sec);
      p->n_groups++;
    }
    g = &p->groups[i];
  }
  double d = 0;
  if (is_suite && !strcmp(key, "name")) return copy(p, sec, key, p->s->name, sizeof p->s->name, v);
  if (is_suite && !strcmp(key, "description"))
    return copy(p, sec, key, p->s->description, sizeof p->s->description, v);
  if (is_suite && !strcmp(key, "dataset"))
    return copy(p, sec, key, p->s->dataset, sizeof p->s->dataset, v);
  if (is_suite && !strcmp(key, "weights"))
    return copy(p, sec, key, p->s->weights, sizeof p->s->weights, v);
  if (is_suite && !strcmp(key, "seed")) {
    if (!num(p, sec, key, v, 0, 1e15, &d)) return 0;
    p->s->seed = (unsigned long long)d;
    return 1;
  }
  if (!strcmp(key, "models")) return copy(p, sec, key, g->models, sizeof g->models, v);
  if (!strcmp(key, "backends")) return copy(p, sec, key, g->backends, sizeof g->backends, v);
  if (!strcmp(key, "options")) {
    char pair[256];
    if (bad_pair(v, pair, sizeof pair))
      return fail(p, "[%s] options: '%s' is not key=value (expected k=v,k=v)", sec, pair);
    g->has_options = 1;
    return copy(p, sec, key, g->options, sizeof g->options, v);
  }
  if (!strcmp(key, "mode")) return copy(p, sec, key, g->modes, sizeof g->modes, v);
  if (!strcmp(key, "batch")) return copy(p, sec, key, g->batches, sizeof g->batches, v);
  if (!strcmp(key, "threads"))
    return num(p, sec, key, v, 0, 1024, &d) ? (g->threads = (int)d, 1) : 0;
  if (!strcmp(key, "min_iters"))
    return num(p, sec, key, v, 1, 1e7, &d) ? (g->min_iters = (int)d, 1) : 0;
  if (!strcmp(key, "warmup")) return num(p, sec, key, v, 0, 1e6, &d) ? (g->warmup = (int)d, 1) : 0;
  if (!strcmp(key, "min_time")) return num(p, sec, key, v, 0, 86400, &g->min_time);
  if (!strcmp(key, "timeout")) return num(p, sec, key, v, 1, 86400, &g->timeout);
  return fail(
      p, "[%s] unknown key '%s' (expected %s)", sec, key,
      is_suite
          ? "name, description, dataset, seed, weights, backends, options, models, mode, batch, "
            "threads, min_time, min_iters, warmup or timeout"
          : "models, mode, batch, backends, options, threads, min_time, min_iters, warmup or "
            "timeout");
}

/* Splits `list` on spaces (and commas when numeric) into a static-size array. */
static int split(char *list, int numeric, char **items, int max) {
  int n = 0;
  const char *sep = numeric ? " ,\t" : " \t";
  char *save = NULL;
  for (char *t = strtok_r(list, sep, &save); t && n < max; t = strtok_r(NULL, sep, &save))
    items[n++] = t;
  return n;
}

static nnb_status expand(parse *p, const char *path, nnb_error *e) {
  nnb_suite *s = p->s;
  group *d = &p->defaults;
  for (int gi = 0; gi < p->n_groups; gi++) {
    group g = p->groups[gi];
#define INHERIT(f)                                                                                 \
  if (g.f < 0) g.f = d->f
    INHERIT(threads);
    INHERIT(min_iters);
    INHERIT(warmup);
    INHERIT(min_time);
    INHERIT(timeout);
#undef INHERIT
    if (!g.has_options) snprintf(g.options, sizeof g.options, "%s", d->options);
    if (!*g.models) snprintf(g.models, sizeof g.models, "%s", d->models);
    if (!*g.backends)
      snprintf(g.backends, sizeof g.backends, "%s", *d->backends ? d->backends : "all");
    if (!*g.modes) snprintf(g.modes, sizeof g.modes, "%s", *d->modes ? d->modes : "infer");
    if (!*g.batches) snprintf(g.batches, sizeof g.batches, "%s", *d->batches ? d->batches : "1");
    char *models[64], *backends[16], *modes[4], *batches[64];
    int nm = split(g.models, 0, models, 64), nb = split(g.backends, 0, backends, 16);
    int nmo = split(g.modes, 1, modes, 4), nba = split(g.batches, 1, batches, 64);
    if (!nm)
      return nnb_fail(e, NNB_ERR_FORMAT, "%s: [%s] has no models (key 'models')", path, g.name);
    for (int i = 0; i < nm; i++) {
      nnb_model_spec spec;
      nnb_error me;
      if (nnb_model_parse(models[i], &spec, &me) != NNB_OK)
        return nnb_fail(e, NNB_ERR_FORMAT, "%s: [%s] models: %s", path, g.name, me.msg);
    }
    for (int i = 0; i < nmo; i++)
      if (strcmp(modes[i], "infer") && strcmp(modes[i], "train"))
        return nnb_fail(e, NNB_ERR_FORMAT, "%s: [%s] mode '%s': expected infer and/or train", path,
                        g.name, modes[i]);
    for (int i = 0; i < nba; i++) {
      char *end;
      long b = strtol(batches[i], &end, 10);
      if (*end || b < 1 || b > 1 << 20)
        return nnb_fail(e, NNB_ERR_FORMAT, "%s: [%s] batch '%s': expected positive integers", path,
                        g.name, batches[i]);
    }
    for (int a = 0; a < nm; a++)
      for (int b = 0; b < nb; b++)
        for (int c = 0; c < nmo; c++)
          for (int k = 0; k < nba; k++) {
            if (s->n_cases == NNB_SUITE_MAX_CASES)
              return nnb_fail(e, NNB_ERR_FORMAT, "%s: more than %d cases", path,
                              NNB_SUITE_MAX_CASES);
            nnb_case *x = &s->cases[s->n_cases++];
            *x = (nnb_case){.mode = strcmp(modes[c], "train") ? NNB_MODE_INFER : NNB_MODE_TRAIN,
                            .batch = atoi(batches[k]),
                            .threads = g.threads,
                            .min_time = g.min_time,
                            .timeout = g.timeout,
                            .min_iters = g.min_iters,
                            .warmup = g.warmup};
            snprintf(x->group, sizeof x->group, "%s", g.name);
            snprintf(x->model, sizeof x->model, "%s", models[a]);
            snprintf(x->backend, sizeof x->backend, "%s", backends[b]);
            snprintf(x->options, sizeof x->options, "%s", g.options);
          }
  }
  return NNB_OK;
}

nnb_status nnb_suite_load(const char *path, nnb_suite *s, nnb_error *e) {
  memset(s, 0, sizeof *s);
  snprintf(s->path, sizeof s->path, "%s", path);
  snprintf(s->dataset, sizeof s->dataset, "fashion-mnist");
  s->seed = 1;
  parse *p = calloc(1, sizeof *p);
  s->cases = calloc(NNB_SUITE_MAX_CASES, sizeof *s->cases);
  if (!p || !s->cases) {
    free(p);
    nnb_suite_free(s);
    return nnb_fail(e, NNB_ERR_NOMEM, "out of memory reading %s", path);
  }
  p->s = s;
  p->defaults =
      (group){.threads = 0, .min_iters = 10, .warmup = 3, .min_time = 1.0, .timeout = 300};
  int line = ini_parse(path, handler, p);
  nnb_status st = NNB_OK;
  if (line == -1)
    st = nnb_fail(e, NNB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  else if (line == -2)
    st = nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory", path);
  else if (line > 0)
    st = nnb_fail(e, NNB_ERR_FORMAT, "%s:%d: %s", path, line,
                  *p->err ? p->err : "syntax error (expected [section] or key = value)");
  else if (!p->n_groups)
    st = nnb_fail(e, NNB_ERR_FORMAT,
                  "%s: no groups: add a section such as [infer] with models = ...", path);
  if (st == NNB_OK) st = expand(p, path, e);
  if (st == NNB_OK && !*s->name) {
    const char *base = strrchr(path, '/');
    snprintf(s->name, sizeof s->name, "%s", base ? base + 1 : path);
    s->name[strcspn(s->name, ".")] = 0;
  }
  free(p);
  if (st != NNB_OK) nnb_suite_free(s);
  return st;
}

void nnb_suite_free(nnb_suite *s) {
  free(s->cases);
  s->cases = NULL;
  s->n_cases = 0;
}

/* True when the pairs "k=v,..." of opts hold the key of the pair at pair. */
static int has_key(const char *opts, const char *pair) {
  size_t klen = strcspn(pair, "=");
  for (const char *p = opts; *p;) {
    size_t n = strcspn(p, ",");
    if (n > klen && p[klen] == '=' && !strncmp(p, pair, klen)) return 1;
    p += n + (p[n] == ',');
  }
  return 0;
}

nnb_status nnb_suite_set_options(nnb_suite *s, const char *opts, nnb_error *e) {
  char pair[256];
  if (bad_pair(opts, pair, sizeof pair))
    return nnb_fail(e, NNB_ERR_INVALID, "backend option '%s' is not key=value", pair);
  for (int i = 0; i < s->n_cases; i++) {
    nnb_case *c = &s->cases[i];
    char merged[sizeof c->options];
    size_t used = (size_t)snprintf(merged, sizeof merged, "%s", opts);
    for (const char *p = c->options; *p && used < sizeof merged;) {
      size_t n = strcspn(p, ",");
      snprintf(pair, sizeof pair, "%.*s", (int)n, p);
      if (!has_key(opts, pair))
        used +=
            (size_t)snprintf(merged + used, sizeof merged - used, "%s%s", used ? "," : "", pair);
      p += n + (p[n] == ',');
    }
    if (used >= sizeof merged)
      return nnb_fail(e, NNB_ERR_INVALID, "backend options of [%s] longer than %zu characters",
                      c->group, sizeof merged - 1);
    memcpy(c->options, merged, used + 1);
  }
  return NNB_OK;
}
