#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "files.h"

/* ---- the field table: every flat view of a case comes from here -------- */

typedef enum { F_STR, F_NUM, F_INT, F_BOOL } ftype;
typedef struct field {
  const char *column; /* CSV header */
  const char *path;   /* "key" or "object.key" in the case record */
  ftype type;
} field;

static const field fields[] = {
    {"group", "group", F_STR},
    {"model", "model", F_STR},
    {"spec", "spec", F_STR},
    {"backend", "backend", F_STR},
    {"mode", "mode", F_STR},
    {"batch", "batch", F_INT},
    {"threads", "threads", F_INT},
    {"status", "status", F_STR},
    {"reason", "reason", F_STR},
    {"iterations", "summary.n", F_INT},
    {"median_s", "summary.median_s", F_NUM},
    {"ci95_lo_s", "summary.median_ci95_lo_s", F_NUM},
    {"ci95_hi_s", "summary.median_ci95_hi_s", F_NUM},
    {"mean_s", "summary.mean_s", F_NUM},
    {"min_s", "summary.min_s", F_NUM},
    {"p90_s", "summary.p90_s", F_NUM},
    {"p99_s", "summary.p99_s", F_NUM},
    {"stddev_s", "summary.stddev_s", F_NUM},
    {"cv", "summary.cv", F_NUM},
    {"ci_method", "summary.ci_method", F_STR},
    {"rounds", "summary.rounds", F_INT},
    {"round_cv", "summary.between_round_cv", F_NUM},
    {"jitter_cv", "summary.jitter_cv", F_NUM},
    {"loaded_rounds", "summary.loaded_rounds", F_INT},
    {"cold_s", "cold_s", F_NUM},
    {"samples_per_s", "throughput_samples_per_s", F_NUM},
    {"gflops", "gflops", F_NUM},
    {"arithmetic_intensity", "arithmetic_intensity", F_NUM},
    {"backend_peak_bytes", "memory.backend_peak_bytes", F_INT},
    {"arena_bytes", "memory.arena_bytes", F_INT},
    {"persistent_bytes", "memory.persistent_bytes", F_INT},
    {"peak_rss_bytes", "memory.peak_rss_bytes", F_INT},
    {"workspace_bytes", "memory.workspace_bytes", F_INT},
    {"harness_overhead", "harness_overhead.fraction", F_NUM},
    {"noisy", "noisy", F_BOOL},
    {"reproduce", "reproduce", F_STR},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

static cJSON *lookup(cJSON *rec, const char *path) {
  char key[64];
  const char *dot = strchr(path, '.');
  if (!dot) return cJSON_GetObjectItem(rec, path);
  snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
  return cJSON_GetObjectItem(cJSON_GetObjectItem(rec, key), dot + 1);
}

/* A field as text ("" when absent); CSV-quoted when asked. */
static void field_text(cJSON *rec, const field *f, int csv, char *buf, size_t len) {
  cJSON *v = lookup(rec, f->path);
  buf[0] = 0;
  if (!v) return;
  if (f->type == F_STR && cJSON_IsString(v)) {
    if (!csv || !strpbrk(v->valuestring, ",\"\n")) {
      snprintf(buf, len, "%s", v->valuestring);
      return;
    }
    size_t at = 0;
    buf[at++] = '"';
    for (const char *s = v->valuestring; *s && at + 3 < len; s++) {
      if (*s == '"') buf[at++] = '"';
      buf[at++] = *s == '\n' ? ' ' : *s;
    }
    buf[at++] = '"';
    buf[at] = 0;
  } else if (f->type == F_BOOL) {
    snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
  } else if (f->type == F_INT && cJSON_IsNumber(v)) {
    snprintf(buf, len, "%.0f", v->valuedouble);
  } else if (cJSON_IsNumber(v)) {
    snprintf(buf, len, "%.6g", v->valuedouble);
  }
}

static char *results_csv(cJSON *doc) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f) return NULL;
  for (size_t i = 0; i < N_FIELDS; i++) fprintf(f, "%s%s", i ? "," : "", fields[i].column);
  fputc('\n', f);
  cJSON *rec;
  char cell[2048];
  cJSON_ArrayForEach(rec, cJSON_GetObjectItem(doc, "cases")) {
    for (size_t i = 0; i < N_FIELDS; i++) {
      field_text(rec, &fields[i], 1, cell, sizeof cell);
      fprintf(f, "%s%s", i ? "," : "", cell);
    }
    fputc('\n', f);
  }
  fclose(f);
  return out;
}

void nnb_results_print_table(FILE *f, cJSON *doc) {
  static const char *const cols[] = {
      "model",     "backend", "mode",     "batch", "status",        "median_s", "ci95_lo_s",
      "ci95_hi_s", "rounds",  "round_cv", "noisy", "samples_per_s", "gflops",   "harness_overhead"};
  for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
    fprintf(f, c < 2 ? "%-14s " : "%12s ", cols[c]);
  fputc('\n', f);
  cJSON *rec;
  char cell[512];
  cJSON_ArrayForEach(rec, cJSON_GetObjectItem(doc, "cases")) {
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++)
      for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp(fields[i].column, cols[c])) {
          field_text(rec, &fields[i], 0, cell, sizeof cell);
          fprintf(f, c < 2 ? "%-14.14s " : "%12.12s ", cell);
        }
    fputc('\n', f);
  }
}

nnb_status nnb_results_write(const char *dir, cJSON *doc, nnb_error *e) {
  char path[1024];
  nnb_status made = nnb_mkdir_p(dir, e);
  if (made != NNB_OK) return made;
  char *json = cJSON_Print(doc), *csv = results_csv(doc);
  nnb_status st =
      json && csv ? NNB_OK : nnb_fail(e, NNB_ERR_NOMEM, "out of memory formatting results");
  if (st == NNB_OK) {
    snprintf(path, sizeof path, "%s/results.json", dir);
    st = nnb_write_file_atomic(path, json, e);
  }
  if (st == NNB_OK) {
    snprintf(path, sizeof path, "%s/results.csv", dir);
    st = nnb_write_file_atomic(path, csv, e);
  }
  free(json);
  free(csv);
  return st;
}

nnb_status nnb_results_read(const char *path, cJSON **doc, nnb_error *e) {
  char file[1100];
  struct stat sb;
  snprintf(file, sizeof file, "%s", path);
  if (!stat(path, &sb) && S_ISDIR(sb.st_mode)) snprintf(file, sizeof file, "%s/results.json", path);
  FILE *f = fopen(file, "rb");
  if (!f) return nnb_fail(e, NNB_ERR_IO, "cannot read %s: %s", file, strerror(errno));
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *text = malloc((size_t)len + 1);
  size_t got = text ? fread(text, 1, (size_t)len, f) : 0;
  fclose(f);
  if (!text || got != (size_t)len) {
    free(text);
    return nnb_fail(e, NNB_ERR_IO, "cannot read %s", file);
  }
  text[len] = 0;
  *doc = cJSON_Parse(text);
  free(text);
  if (!*doc) return nnb_fail(e, NNB_ERR_FORMAT, "%s: not valid JSON", file);
  cJSON *v = cJSON_GetObjectItem(*doc, "schema_version");
  if (!cJSON_IsNumber(v) || v->valueint != NNB_RESULTS_SCHEMA_VERSION) {
    cJSON_Delete(*doc);
    *doc = NULL;
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: schema_version %s, expected %d", file,
                    cJSON_IsNumber(v) ? "differs" : "missing", NNB_RESULTS_SCHEMA_VERSION);
  }
  if (!cJSON_IsArray(cJSON_GetObjectItem(*doc, "cases"))) {
    cJSON_Delete(*doc);
    *doc = NULL;
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: field 'cases': expected an array", file);
  }
  return NNB_OK;
}
