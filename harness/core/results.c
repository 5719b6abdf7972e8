#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buildinfo.h"
#include "fmt.h"
#include "stats.h"
#include "sysinfo.h"

#define BOOTSTRAP_RESAMPLES 2000

cJSON *nnb_provenance(int argc, char **argv, const char *dataset_name, unsigned int dataset_crc,
                      unsigned long long seed) {
  cJSON *p = cJSON_CreateObject();
  cJSON_AddStringToObject(p, "nnbench_version", nnb_version());
  cJSON_AddStringToObject(p, "git_commit", nnb_git_commit());
  cJSON_AddStringToObject(p, "build_type", nnb_build_type());
  cJSON_AddStringToObject(p, "compiler", nnb_compiler());
  cJSON_AddBoolToObject(p, "sanitized", nnb_sanitized());
  char cmd[4096] = "";
  for (int i = 0; i < argc; i++) {
    strncat(cmd, i ? " " : "", sizeof cmd - strlen(cmd) - 1);
    strncat(cmd, argv[i], sizeof cmd - strlen(cmd) - 1);
  }
  cJSON_AddStringToObject(p, "command", cmd);
  time_t t = time(NULL);
  struct tm tm;
  char stamp[32];
  gmtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cJSON_AddStringToObject(p, "created_utc", stamp);
  cJSON_AddStringToObject(p, "dataset", dataset_name);
  char crc[16];
  snprintf(crc, sizeof crc, "%08x", dataset_crc);
  cJSON_AddStringToObject(p, "dataset_crc32", crc);
  cJSON_AddNumberToObject(p, "seed", (double)seed);
  nnb_sysinfo si;
  nnb_error e;
  if (nnb_sysinfo_collect(&si, &e) == NNB_OK) {
    cJSON_AddItemToObject(p, "machine", nnb_sysinfo_to_json(&si));
  } else {
    cJSON_AddStringToObject(p, "machine_error", e.msg);
  }
  /* The roofline's ceilings: measured once per run, before any case. */
  nnb_peak peak;
  fprintf(stderr, "measuring peak FLOP/s and bandwidth (1 s) ...\n");
  if (nnb_measure_peak(&peak, 1.0, &e) == NNB_OK)
    cJSON_AddItemToObject(p, "peak", nnb_peak_to_json(&peak));
  else
    cJSON_AddStringToObject(p, "peak_error", e.msg);
  return p;
}

static double num(cJSON *o, const char *key) {
  cJSON *v = cJSON_GetObjectItem(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

void nnb_case_summarize(cJSON *rec, int batch, unsigned long long seed) {
  cJSON *arr = cJSON_GetObjectItem(rec, "samples_s");
  int n = cJSON_GetArraySize(arr);
  if (!n) return;
  double *v = malloc((size_t)n * sizeof *v);
  if (!v) return;
  for (int i = 0; i < n; i++) v[i] = cJSON_GetArrayItem(arr, i)->valuedouble;
  nnb_summary s;
  nnb_error e;
  if (nnb_summarize(v, n, BOOTSTRAP_RESAMPLES, seed, &s, &e) == NNB_OK) {
    cJSON *o = cJSON_AddObjectToObject(rec, "summary");
    cJSON_AddNumberToObject(o, "n", s.n);
    cJSON_AddNumberToObject(o, "min_s", s.min);
    cJSON_AddNumberToObject(o, "median_s", s.median);
    cJSON_AddNumberToObject(o, "mean_s", s.mean);
    cJSON_AddNumberToObject(o, "p90_s", s.p90);
    cJSON_AddNumberToObject(o, "p99_s", s.p99);
    cJSON_AddNumberToObject(o, "max_s", s.max);
    cJSON_AddNumberToObject(o, "stddev_s", s.stddev);
    cJSON_AddNumberToObject(o, "cv", s.cv);
    cJSON_AddNumberToObject(o, "median_ci95_lo_s", s.ci_lo);
    cJSON_AddNumberToObject(o, "median_ci95_hi_s", s.ci_hi);
    cJSON_AddBoolToObject(o, "p90_meaningful", s.p90_meaningful);
    cJSON_AddBoolToObject(o, "p99_meaningful", s.p99_meaningful);
    cJSON *out = cJSON_AddObjectToObject(o, "outliers");
    cJSON_AddNumberToObject(out, "low_severe", s.outliers_low_severe);
    cJSON_AddNumberToObject(out, "low_mild", s.outliers_low_mild);
    cJSON_AddNumberToObject(out, "high_mild", s.outliers_high_mild);
    cJSON_AddNumberToObject(out, "high_severe", s.outliers_high_severe);
    double flops = num(rec, "flops_per_step"), bytes = num(rec, "bytes_per_step");
    cJSON_AddNumberToObject(rec, "throughput_samples_per_s", batch / s.median);
    cJSON_AddNumberToObject(rec, "throughput_ci95_lo", batch / s.ci_hi);
    cJSON_AddNumberToObject(rec, "throughput_ci95_hi", batch / s.ci_lo);
    cJSON_AddNumberToObject(rec, "gflops", flops / s.median / 1e9);
    cJSON_AddNumberToObject(rec, "arithmetic_intensity", bytes > 0 ? flops / bytes : 0);
    cJSON_AddBoolToObject(rec, "noisy", s.cv > NNB_NOISY_CV);
  }
  free(v);
}

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
      "model",     "backend", "mode",  "batch",         "status", "median_s",        "ci95_lo_s",
      "ci95_hi_s", "cv",      "noisy", "samples_per_s", "gflops", "harness_overhead"};
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

nnb_status nnb_mkdir_p(const char *dir, nnb_error *e) {
  char buf[1024];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
    return nnb_fail(e, NNB_ERR_INVALID, "path too long: %s", dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) && errno != EEXIST)
      return nnb_fail(e, NNB_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) && errno != EEXIST)
    return nnb_fail(e, NNB_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
  return NNB_OK;
}

nnb_status nnb_write_file_atomic(const char *path, const char *text, nnb_error *e) {
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return nnb_fail(e, NNB_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
  size_t n = strlen(text);
  int ok = fwrite(text, 1, n, f) == n;
  ok &= fclose(f) == 0;
  if (!ok || rename(tmp, path)) {
    int err = errno;
    remove(tmp);
    return nnb_fail(e, NNB_ERR_IO, "cannot write %s: %s", path, strerror(err));
  }
  return NNB_OK;
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
  int is_dir = !stat(path, &sb) && S_ISDIR(sb.st_mode);
  if (nnb_format(file, sizeof file, e, "a results path", is_dir ? "%s/results.json" : "%s", path))
    return NNB_ERR_INVALID;
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
