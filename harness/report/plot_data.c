#include "plot_data.h"

#include <stdlib.h>
#include <string.h>

#include "gnuplot.h"
#include "jsonpath.h"

/* A word safe inside '"..." "..."' lists and data files: no quote, no
 * backslash, no control character (a backquote is inert inside single
 * quotes). A longer word is cut, and the cut marked, as it is only a label. */
static void clean_copy(char *dst, size_t len, const char *src) {
  if (snprintf(dst, len, "%s", src) >= (int)len && len > 4) memcpy(dst + len - 4, "...", 4);
  for (char *c = dst; *c; c++)
    if (*c == '"' || *c == '\'' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f) *c = '`';
}

int nnb_pl_series_index(nnb_pl_series *s, int *n, const char *backend, const char *options,
                        int threads) {
  /* Compared by the cleaned names, which are what a series keeps. */
  char key[sizeof s->backend], opts[sizeof s->options];
  clean_copy(key, sizeof key, backend);
  for (char *c = key; *c; c++)
    if (*c == ' ' || *c == '`') *c = '_';
  clean_copy(opts, sizeof opts, options);
  for (int i = 0; i < *n; i++)
    if (!strcmp(s[i].backend, key) && !strcmp(s[i].options, opts) && s[i].threads == threads)
      return i;
  nnb_pl_series *x = &s[(*n)++];
  memcpy(x->backend, key, sizeof key);
  memcpy(x->options, opts, sizeof opts);
  x->threads = threads;
  if (snprintf(x->label, sizeof x->label, *x->options ? "%s[%s]" : "%s", x->backend, x->options) >=
      (int)sizeof x->label)
    memcpy(x->label + sizeof x->label - 4, "...", 4); /* a legend's text: the cut is marked */
  return *n - 1;
}

static int backend_rank(const cJSON *doc, const char *name) {
  int i = 0;
  cJSON *b;
  cJSON_ArrayForEach(b, cJSON_GetObjectItem(doc, "backends")) {
    if (!strcmp(nnb_json_str(b, "name"), name)) return i;
    i++;
  }
  return i;
}

static int by_rank(const void *pa, const void *pb) {
  const nnb_pl_series *a = pa, *b = pb;
  if (a->rank != b->rank) return a->rank - b->rank;
  int c = strcmp(a->backend, b->backend);
  if (!c) c = strcmp(a->options, b->options);
  return c ? c : a->threads - b->threads;
}

/* "openblas, 4 threads" only for a backend measured with several counts. */
static void label_series(nnb_pl *p) {
  for (int i = 0; i < p->nseries; i++) {
    nnb_pl_series *s = &p->series[i];
    int several = 0;
    for (int j = 0; j < p->nseries; j++)
      several |= j != i && !strcmp(p->series[j].backend, s->backend) &&
                 !strcmp(p->series[j].options, s->options);
    if (!several) continue;
    size_t at = strlen(s->label);
    if (s->threads > 0)
      snprintf(s->label + at, sizeof s->label - at, ", %d thread%s", s->threads,
               s->threads == 1 ? "" : "s");
    else
      snprintf(s->label + at, sizeof s->label - at, ", default threads");
  }
}

static void label_specs(nnb_pl *p, const cJSON **model) {
  for (int i = 0; i < p->nspecs; i++) {
    const char *name = nnb_json_str(model[i], "model");
    int several = !*name;
    for (int j = 0; j < p->nspecs; j++)
      several |= j != i && !strcmp(nnb_json_str(model[j], "model"), name);
    clean_copy(p->spec_label[i], sizeof p->spec_label[i], several ? p->spec_key[i] : name);
  }
}

nnb_status nnb_pl_collect(const cJSON *doc, nnb_pl *p, nnb_error *e) {
  memset(p, 0, sizeof *p);
  int cap = cJSON_GetArraySize(cJSON_GetObjectItem(doc, "cases")) + 1;
  p->cases = calloc((size_t)cap, sizeof *p->cases);
  p->series = calloc((size_t)cap, sizeof *p->series);
  p->spec_key = calloc((size_t)cap, sizeof *p->spec_key);
  p->spec_label = calloc((size_t)cap, sizeof *p->spec_label);
  const cJSON **model = calloc((size_t)cap, sizeof *model);
  if (!p->cases || !p->series || !p->spec_key || !p->spec_label || !model) {
    free(model);
    nnb_pl_free(p);
    return nnb_fail(e, NNB_ERR_NOMEM, "out of memory collecting the cases to plot");
  }
  cJSON *rec;
  cJSON_ArrayForEach(rec, cJSON_GetObjectItem(doc, "cases")) {
    if (strcmp(nnb_json_str(rec, "status"), "ok") || !cJSON_GetObjectItem(rec, "summary")) continue;
    const char *key =
        *nnb_json_str(rec, "spec") ? nnb_json_str(rec, "spec") : nnb_json_str(rec, "model");
    int spec = 0;
    while (spec < p->nspecs && strcmp(p->spec_key[spec], key)) spec++;
    if (spec == p->nspecs) {
      p->spec_key[p->nspecs] = key;
      model[p->nspecs++] = rec;
    }
    /* What names a series must fit, so two series never merge into one. */
    const char *name = nnb_json_str(rec, "backend"), *opts = nnb_json_str(rec, "options");
    if (strlen(name) >= sizeof p->series->backend || strlen(opts) >= sizeof p->series->options) {
      free(model);
      nnb_pl_free(p);
      return nnb_fail(e, NNB_ERR_FORMAT,
                      "a case's backend name or options are longer than %zu or %zu characters "
                      "(the limits of a plot series): '%.40s', '%.40s'",
                      sizeof p->series->backend - 1, sizeof p->series->options - 1, name, opts);
    }
    double threads = nnb_json_num(rec, "threads"), batch = nnb_json_num(rec, "batch");
    nnb_pl_case *c = &p->cases[p->ncases++];
    c->rec = rec;
    c->spec = spec;
    c->train = !strcmp(nnb_json_str(rec, "mode"), "train");
    c->batch = batch > 0 ? (int)batch : 0;
    int s = nnb_pl_series_index(p->series, &p->nseries, nnb_json_str(rec, "backend"),
                                nnb_json_str(rec, "options"), threads > 0 ? (int)threads : 0);
    p->series[s].rank = backend_rank(doc, p->series[s].backend);
  }
  qsort(p->series, (size_t)p->nseries, sizeof *p->series, by_rank);
  for (int i = 0; i < p->ncases; i++) {
    double threads = nnb_json_num(p->cases[i].rec, "threads");
    p->cases[i].series = nnb_pl_series_index(
        p->series, &p->nseries, nnb_json_str(p->cases[i].rec, "backend"),
        nnb_json_str(p->cases[i].rec, "options"), threads > 0 ? (int)threads : 0);
  }
  label_series(p);
  label_specs(p, model);
  free(model);
  return NNB_OK;
}

void nnb_pl_free(nnb_pl *p) {
  free(p->cases);
  free(p->series);
  free(p->spec_key);
  free(p->spec_label);
  memset(p, 0, sizeof *p);
}

const nnb_pl_case *nnb_pl_find(const nnb_pl *p, int series, int spec, int train, int batch) {
  for (int i = 0; i < p->ncases; i++) {
    const nnb_pl_case *c = &p->cases[i];
    if (c->series == series && c->spec == spec && c->train == train && c->batch == batch) return c;
  }
  return NULL;
}

int nnb_pl_max_batch(const nnb_pl *p, int spec, int train) {
  int best = 0;
  for (int i = 0; i < p->ncases; i++)
    if (p->cases[i].spec == spec && p->cases[i].train == train && p->cases[i].batch > best)
      best = p->cases[i].batch;
  return best;
}

void nnb_pl_data_word(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '\n')
      fputs("\\n", f); /* gnuplot breaks the line there */
    else
      fputc(strchr("\"'\\", *s) || (unsigned char)*s < 0x20 || *s == 0x7f ? '`' : *s, f);
  }
  fputc('"', f);
}

void nnb_pl_series_vars(FILE *f, const nnb_pl_series *s, int n) {
  fprintf(f, "series_backend = '");
  for (int i = 0; i < n; i++) fprintf(f, "%s%s", i ? " " : "", s[i].backend);
  fprintf(f, "'\nseries_label = '");
  for (int i = 0; i < n; i++) fprintf(f, "%s\"%s\"", i ? " " : "", s[i].label);
  fprintf(f, "'\nseries_hash = '");
  for (int i = 0; i < n; i++) {
    unsigned h = 2166136261u; /* FNV-1a */
    for (const char *c = s[i].backend; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    fprintf(f, "%s%u", i ? " " : "", h % 1000003u);
  }
  fprintf(f, "'\n");
}

void nnb_pl_panel_vars(FILE *v, int n, const char *title, int first, const char *series) {
  fprintf(v, "panel_title_%d = ", n);
  nnb_gnuplot_quote(v, title);
  if (first >= 0) fprintf(v, "\npanel_first_%d = %d\npanel_series_%d = '%s'", n, first, n, series);
  fputc('\n', v);
}

char *nnb_pl_series_list(const nnb_pl *p) {
  return calloc((size_t)p->nseries * 12 + 1, 1); /* a space and at most 11 digits each */
}

void nnb_pl_series_list_add(char *list, int k) {
  size_t at = strlen(list);
  sprintf(list + at, "%s%d", at ? " " : "", k + 1);
}
