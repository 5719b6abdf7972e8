#include "suite.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affinity.h"
#include "model.h"

#define MAX_GROUPS 64
#define MAX_MODELS 64
#define MAX_BACKENDS 16
#define MAX_MODES 2
#define MAX_BATCHES 64

/* The keys a section may set, in one table so each can be refused when
 * given twice; those before K_MODELS are [suite]'s alone. */
enum {
  K_NAME,
  K_DESCRIPTION,
  K_DATASET,
  K_WEIGHTS,
  K_SEED,
  K_ACCURACY_SAMPLES,
  K_MODELS,
  K_BACKENDS,
  K_OPTIONS,
  K_MODE,
  K_BATCH,
  K_THREADS,
  K_MIN_ITERS,
  K_WARMUP,
  K_ROUNDS,
  K_PIN,
  K_MIN_TIME,
  K_TIMEOUT,
  K_MAX_STEP,
  N_KEYS
};
static const char *const keys[N_KEYS] = {
    "name",     "description", "dataset",  "weights", "seed",    "accuracy_samples", "models",
    "backends", "options",     "mode",     "batch",   "threads", "min_iters",        "warmup",
    "rounds",   "pin",         "min_time", "timeout", "max_step"};

/* One section's settings before expansion; unset fields inherit [suite]. */
typedef struct group {
  char name[64];
  char models[1024], backends[512], modes[64], batches[256], options[256];
  int has_options; /* options set in this section (possibly to "") */
  int threads, min_iters, warmup, rounds;
  double min_time, timeout, max_step;
  char pin[64];
  unsigned set; /* bit k: keys[k] was given */
} group;

/* inih keeps a section's name in a buffer of this size (its MAX_SECTION). */
#define INIH_SECTION 50

/* Feeds inih one line at a time, so the parser knows the line's number and
 * whether it is indented (a continuation), and so that what inih would
 * silently cut (a line longer than its line buffer, a long section name) is
 * refused instead. */
typedef struct reader {
  FILE *f;
  char *buf;
  size_t cap;
  int line;         /* of the line last handed to inih */
  int indented;     /* it starts with a space or tab */
  int section_line; /* the last [section] line */
  int bad;          /* the line refused, 0 when none */
  char why[160];    /* why it was refused */
} reader;

static char *refuse_line(reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *refuse_line(reader *r, const char *fmt, ...) {
  r->bad = r->line;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->why, sizeof r->why, fmt, ap);
  va_end(ap);
  return NULL; /* ends the parse: the caller reports the line */
}

static char *read_line(char *str, int num, void *stream) {
  reader *r = stream;
  ssize_t n = getline(&r->buf, &r->cap, r->f);
  if (n < 0) return NULL;
  r->line++;
  size_t len = (size_t)n - (r->buf[n - 1] == '\n');
  if (memchr(r->buf, 0, (size_t)n)) return refuse_line(r, "the line holds a NUL byte");
  if (len + 2 > (size_t)num)
    return refuse_line(r,
                       "line longer than %d characters (the limit per line); continue a long "
                       "list on the next line, indented",
                       num - 2);
  memcpy(str, r->buf, (size_t)n + 1);
  r->indented = *str == ' ' || *str == '\t';
  const char *start = str + strspn(str, " \t");
  if (*start == '[') {
    r->section_line = r->line;
    if (strcspn(start + 1, "]\n") >= INIH_SECTION)
      return refuse_line(r, "section name longer than %d characters", INIH_SECTION - 1);
  }
  return str;
}

typedef struct parse {
  nnb_suite *s;
  reader *r;
  group defaults;
  group groups[MAX_GROUPS];
  int n_groups;
  int err_line; /* the line of the first error the handler found, 0 when none */
  char err[768];
  char last_sec[64], last_key[32];
  int last_line;
} parse;

const char *nnb_mode_name(nnb_mode m) { return m == NNB_MODE_TRAIN ? "train" : "infer"; }

static int fail(parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(parse *p, const char *fmt, ...) {
  if (p->err_line) return 0; /* inih reports the first error's line: keep its text */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, sizeof p->err, fmt, ap);
  va_end(ap);
  p->err_line = p->r->line;
  return 0;
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

/* Sets dst to v, or appends v after `sep` for a continuation line; refuses
 * what does not fit. */
static int put(parse *p, const char *sec, const char *key, char *dst, size_t len, const char *v,
               int append, char sep) {
  size_t at = append ? strlen(dst) : 0, gap = append && at;
  if (at + gap + strlen(v) >= len)
    return fail(p, "[%s] %s: value longer than %zu characters (the limit for this key)", sec, key,
                len - 1);
  if (gap) dst[at++] = sep;
  memcpy(dst + at, v, strlen(v) + 1);
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

static group *find_group(parse *p, const char *sec) {
  int i = 0;
  while (i < p->n_groups && strcmp(p->groups[i].name, sec)) i++;
  if (i < p->n_groups) return &p->groups[i];
  if (strlen(sec) >= sizeof p->groups[0].name)
    return fail(p, "[%.40s...]: section name longer than %zu characters", sec,
                sizeof p->groups[0].name - 1),
           NULL;
  if (i == MAX_GROUPS) return fail(p, "[%s]: more than %d groups", sec, MAX_GROUPS), NULL;
  p->groups[i] = (group){.threads = -1,
                         .min_iters = -1,
                         .warmup = -1,
                         .rounds = -1,
                         .min_time = -1,
                         .timeout = -1,
                         .max_step = -1};
  snprintf(p->groups[i].name, sizeof p->groups[i].name, "%s", sec);
  p->n_groups++;
  return &p->groups[i];
}

static int handler(void *user, const char *sec, const char *key, const char *v) {
  parse *p = user;
  int is_suite = !strcmp(sec, "suite");
  if (!*sec) return fail(p, "'%s' is outside any section (start with [suite])", key);
  group *g = is_suite ? &p->defaults : find_group(p, sec);
  if (!g) return 0;
  int k = 0;
  while (k < N_KEYS && strcmp(keys[k], key)) k++;
  if (k == N_KEYS || (k < K_MODELS && !is_suite))
    return fail(
        p, "[%s] unknown key '%s' (expected %s)", sec, key,
        is_suite ? "name, description, dataset, seed, weights, accuracy_samples, backends, "
                   "options, models, mode, batch, "
                   "threads, min_time, min_iters, warmup, rounds, pin, timeout or max_step"
                 : "models, mode, batch, backends, options, threads, min_time, min_iters, warmup, "
                   "rounds, pin, timeout or max_step");
  /* inih hands an indented line on as another value of the key above it. */
  int cont = p->r->indented && p->last_line > p->r->section_line && !strcmp(p->last_sec, sec) &&
             !strcmp(p->last_key, key);
  if (!cont && (g->set >> k & 1))
    return fail(p,
                "[%s] %s is given twice (to continue a list, indent the next line instead of "
                "repeating the key)",
                sec, key);
  g->set |= 1u << k;
  snprintf(p->last_sec, sizeof p->last_sec, "%s", sec);
  snprintf(p->last_key, sizeof p->last_key, "%s", key);
  p->last_line = p->r->line;
  double d = 0;
  switch (k) {
  case K_NAME: return put(p, sec, key, p->s->name, sizeof p->s->name, v, cont, ' ');
  case K_DESCRIPTION:
    return put(p, sec, key, p->s->description, sizeof p->s->description, v, cont, ' ');
  case K_DATASET: return put(p, sec, key, p->s->dataset, sizeof p->s->dataset, v, cont, ' ');
  case K_WEIGHTS: return put(p, sec, key, p->s->weights, sizeof p->s->weights, v, cont, ' ');
  case K_MODELS: return put(p, sec, key, g->models, sizeof g->models, v, cont, ' ');
  case K_BACKENDS: return put(p, sec, key, g->backends, sizeof g->backends, v, cont, ' ');
  case K_OPTIONS: {
    char pair[256];
    if (bad_pair(v, pair, sizeof pair))
      return fail(p, "[%s] options: '%s' is not key=value (expected k=v,k=v)", sec, pair);
    g->has_options = 1; /* a continuation line adds pairs */
    return put(p, sec, key, g->options, sizeof g->options, v, cont, ',');
  }
  case K_MODE: return put(p, sec, key, g->modes, sizeof g->modes, v, cont, ' ');
  case K_BATCH: return put(p, sec, key, g->batches, sizeof g->batches, v, cont, ' ');
  }
  if (cont)
    return fail(p, "[%s] %s takes one number; the indented line continues it with '%s'", sec, key,
                v);
  switch (k) {
  case K_SEED:
    if (!num(p, sec, key, v, 0, 1e15, &d)) return 0;
    p->s->seed = (unsigned long long)d;
    return 1;
  case K_ACCURACY_SAMPLES:
    return num(p, sec, key, v, 0, 1e7, &d) ? (p->s->accuracy_samples = (int)d, 1) : 0;
  case K_THREADS: return num(p, sec, key, v, 0, 1024, &d) ? (g->threads = (int)d, 1) : 0;
  case K_MIN_ITERS: return num(p, sec, key, v, 1, 1e7, &d) ? (g->min_iters = (int)d, 1) : 0;
  case K_WARMUP: return num(p, sec, key, v, 0, 1e6, &d) ? (g->warmup = (int)d, 1) : 0;
  case K_ROUNDS: return num(p, sec, key, v, 1, 1000, &d) ? (g->rounds = (int)d, 1) : 0;
  case K_PIN: {
    char err[160];
    if (nnb_cpulist_parse(v, NULL, err, sizeof err))
      return fail(p, "[%s] pin = '%s': %s", sec, v, err);
    return put(p, sec, key, g->pin, sizeof g->pin, v, 0, ' ');
  }
  case K_MIN_TIME: return num(p, sec, key, v, 0, 86400, &g->min_time);
  case K_MAX_STEP: return num(p, sec, key, v, 0, 86400, &g->max_step);
  default: return num(p, sec, key, v, 1, 86400, &g->timeout); /* K_TIMEOUT */
  }
}

/* Splits `list` on spaces (and commas when numeric); more than max items
 * gives -1, never a shortened list. */
static int split(char *list, int numeric, char **items, int max) {
  int n = 0;
  const char *sep = numeric ? " ,\t" : " \t";
  char *save = NULL;
  for (char *t = strtok_r(list, sep, &save); t; t = strtok_r(NULL, sep, &save)) {
    if (n == max) return -1;
    items[n++] = t;
  }
  return n;
}

static nnb_status too_many(const char *path, const char *grp, const char *key, int max,
                           nnb_error *e) {
  return nnb_fail(e, NNB_ERR_FORMAT, "%s: [%s] %s: more than %d items (the limit per group)", path,
                  grp, key, max);
}

static nnb_status grow(nnb_suite *s, int *cap) {
  int n = *cap ? 2 * *cap : 64;
  if (n > NNB_SUITE_MAX_CASES) n = NNB_SUITE_MAX_CASES;
  nnb_case *c = realloc(s->cases, (size_t)n * sizeof *c);
  if (!c) return NNB_ERR_NOMEM;
  s->cases = c, *cap = n;
  return NNB_OK;
}

static nnb_status expand(parse *p, const char *path, nnb_error *e) {
  int cap = 0; /* cases grow as the groups expand */
  nnb_suite *s = p->s;
  group *d = &p->defaults;
  for (int gi = 0; gi < p->n_groups; gi++) {
    group g = p->groups[gi];
#define INHERIT(f)                                                                                 \
  if (g.f < 0) g.f = d->f
    INHERIT(threads);
    INHERIT(min_iters);
    INHERIT(warmup);
    INHERIT(rounds);
    INHERIT(min_time);
    INHERIT(timeout);
    INHERIT(max_step);
#undef INHERIT
    /* The defaults' buffers are the same size as the group's. */
    if (!(g.set >> K_PIN & 1)) memcpy(g.pin, d->pin, sizeof g.pin);
    if (!g.has_options) memcpy(g.options, d->options, sizeof g.options);
    if (!*g.models) memcpy(g.models, d->models, sizeof g.models);
    if (!*g.backends)
      snprintf(g.backends, sizeof g.backends, "%s", *d->backends ? d->backends : "all");
    if (!*g.modes) snprintf(g.modes, sizeof g.modes, "%s", *d->modes ? d->modes : "infer");
    if (!*g.batches) snprintf(g.batches, sizeof g.batches, "%s", *d->batches ? d->batches : "1");
    char *models[MAX_MODELS], *backends[MAX_BACKENDS], *modes[MAX_MODES], *batches[MAX_BATCHES];
    int nm = split(g.models, 0, models, MAX_MODELS),
        nb = split(g.backends, 0, backends, MAX_BACKENDS);
    int nmo = split(g.modes, 1, modes, MAX_MODES), nba = split(g.batches, 1, batches, MAX_BATCHES);
    if (nm < 0) return too_many(path, g.name, "models", MAX_MODELS, e);
    if (nb < 0) return too_many(path, g.name, "backends", MAX_BACKENDS, e);
    if (nmo < 0) return too_many(path, g.name, "mode", MAX_MODES, e);
    if (nba < 0) return too_many(path, g.name, "batch", MAX_BATCHES, e);
    if (!nm)
      return nnb_fail(e, NNB_ERR_FORMAT, "%s: [%s] has no models (key 'models')", path, g.name);
    for (int i = 0; i < nm; i++) {
      nnb_model_spec spec;
      nnb_error me;
      if (strlen(models[i]) >= sizeof s->cases[0].model)
        return nnb_fail(e, NNB_ERR_FORMAT,
                        "%s: [%s] model spec '%.40s...' is longer than %zu characters", path,
                        g.name, models[i], sizeof s->cases[0].model - 1);
      if (nnb_model_parse(models[i], &spec, &me) != NNB_OK)
        return nnb_fail(e, NNB_ERR_FORMAT, "%s: [%s] models: %s", path, g.name, me.msg);
    }
    for (int i = 0; i < nb; i++)
      if (strlen(backends[i]) >= sizeof s->cases[0].backend)
        return nnb_fail(e, NNB_ERR_FORMAT,
                        "%s: [%s] backend name '%.40s...' is longer than %zu characters", path,
                        g.name, backends[i], sizeof s->cases[0].backend - 1);
    for (int i = 0; i < nmo; i++)
      if (strcmp(modes[i], "infer") && strcmp(modes[i], "train"))
        return nnb_fail(e, NNB_ERR_FORMAT, "%s: [%s] mode '%s': expected infer and/or train", path,
                        g.name, modes[i]);
    for (int i = 0; i < nba; i++) {
      char *end;
      errno = 0;
      long b = strtol(batches[i], &end, 10);
      if (errno || *end || b < 1 || b > 1 << 20)
        return nnb_fail(e, NNB_ERR_FORMAT,
                        "%s: [%s] batch '%s': expected positive integers up to %d", path, g.name,
                        batches[i], 1 << 20);
    }
    for (int a = 0; a < nm; a++)
      for (int b = 0; b < nb; b++)
        for (int c = 0; c < nmo; c++)
          for (int k = 0; k < nba; k++) {
            if (s->n_cases == NNB_SUITE_MAX_CASES)
              return nnb_fail(e, NNB_ERR_FORMAT, "%s: more than %d cases (the limit per suite)",
                              path, NNB_SUITE_MAX_CASES);
            if (s->n_cases == cap && grow(s, &cap) != NNB_OK)
              return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory for %d cases", path,
                              2 * s->n_cases);
            nnb_case *x = &s->cases[s->n_cases++];
            *x = (nnb_case){.mode = strcmp(modes[c], "train") ? NNB_MODE_INFER : NNB_MODE_TRAIN,
                            .batch = atoi(batches[k]),
                            .threads = g.threads,
                            .min_time = g.min_time,
                            .timeout = g.timeout,
                            .max_step = g.max_step,
                            .min_iters = g.min_iters,
                            .warmup = g.warmup,
                            .rounds = g.rounds};
            /* every length was checked above */
            snprintf(x->pin, sizeof x->pin, "%s", g.pin);
            snprintf(x->group, sizeof x->group, "%s", g.name);
            snprintf(x->model, sizeof x->model, "%s", models[a]);
            snprintf(x->backend, sizeof x->backend, "%s", backends[b]);
            snprintf(x->options, sizeof x->options, "%s", g.options);
          }
  }
  return NNB_OK;
}

static nnb_status parse_file(const char *path, parse *p, nnb_error *e) {
  reader r = {0};
  p->r = &r;
  r.f = fopen(path, "r");
  if (!r.f) return nnb_fail(e, NNB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  int line = ini_parse_stream(read_line, &r, handler, p);
  int read_err = ferror(r.f);
  fclose(r.f);
  free(r.buf);
  if (line == -2) return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory", path);
  if (line > 0)
    return nnb_fail(e, NNB_ERR_FORMAT, "%s:%d: %s", path, line,
                    line == p->err_line ? p->err
                                        : "syntax error (expected [section] or key = value)");
  if (r.bad) return nnb_fail(e, NNB_ERR_FORMAT, "%s:%d: %s", path, r.bad, r.why);
  if (read_err) return nnb_fail(e, NNB_ERR_IO, "%s: read error", path);
  return NNB_OK;
}

nnb_status nnb_suite_load(const char *path, nnb_suite *s, nnb_error *e) {
  memset(s, 0, sizeof *s);
  if (strlen(path) >= sizeof s->path)
    return nnb_fail(e, NNB_ERR_INVALID, "%.60s...: suite path longer than %zu characters", path,
                    sizeof s->path - 1);
  snprintf(s->path, sizeof s->path, "%s", path);
  snprintf(s->dataset, sizeof s->dataset, "fashion-mnist");
  s->seed = 1;
  s->accuracy_samples = -1;
  parse *p = calloc(1, sizeof *p);
  if (!p) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory reading %s", path);
  p->s = s;
  p->defaults = (group){.threads = 0,
                        .min_iters = 10,
                        .warmup = 3,
                        .rounds = NNB_SUITE_DEFAULT_ROUNDS,
                        .min_time = 1.0,
                        .timeout = 300,
                        .max_step = 0};
  nnb_status st = parse_file(path, p, e);
  if (st == NNB_OK && !p->n_groups)
    st = nnb_fail(e, NNB_ERR_FORMAT,
                  "%s: no groups: add a section such as [infer] with models = ...", path);
  if (st == NNB_OK) st = expand(p, path, e);
  if (st == NNB_OK && !*s->name) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strcspn(base, ".");
    if (n >= sizeof s->name)
      st = nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: the file name is longer than %zu characters, the limit of a suite name: "
                    "set name = ... in [suite]",
                    path, sizeof s->name - 1);
    else
      snprintf(s->name, sizeof s->name, "%.*s", (int)n, base);
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
