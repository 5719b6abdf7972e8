#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fields.h"
#include "files.h"
#include "fmt.h"

static char *results_csv(cJSON *doc) {
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f) return NULL;
  const char *sep = "";
  for (int i = 0; i < nnb_field_count(); i++)
    if (nnb_field_at(i)->in_csv) fprintf(f, "%s%s", sep, nnb_field_at(i)->name), sep = ",";
  fputc('\n', f);
  cJSON *rec;
  char cell[2048];
  cJSON_ArrayForEach(rec, cJSON_GetObjectItem(doc, "cases")) {
    sep = "";
    for (int i = 0; i < nnb_field_count(); i++) {
      if (!nnb_field_at(i)->in_csv) continue;
      nnb_field_text(nnb_field_at(i), rec, 1, cell, sizeof cell);
      fprintf(f, "%s%s", sep, cell);
      sep = ",";
    }
    fputc('\n', f);
  }
  fclose(f);
  return out;
}

void nnb_results_print_table(FILE *f, cJSON *doc) {
  static const char *const cols[] = {"model",  "contender",       "mode",      "batch",
                                     "status", "median_s",        "ci95_lo_s", "ci95_hi_s",
                                     "rounds", "round_cv",        "noisy",     "samples_per_s",
                                     "gflops", "harness_overhead"};
  /* a CSV field under its column's name, a derived one under its heading */
  for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
    const nnb_field *fc = nnb_field_named(cols[c]);
    fprintf(f, c < 2 ? "%-14s " : "%12s ", fc->in_csv ? fc->name : fc->heading);
  }
  fputc('\n', f);
  cJSON *rec;
  char cell[512];
  cJSON_ArrayForEach(rec, cJSON_GetObjectItem(doc, "cases")) {
    for (size_t c = 0; c < sizeof cols / sizeof *cols; c++) {
      nnb_field_text(nnb_field_named(cols[c]), rec, 0, cell, sizeof cell);
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
  /* Version 1 (one process per case) reads as results of one round each. */
  if (!cJSON_IsNumber(v) || v->valueint < 1 || v->valueint > NNB_RESULTS_SCHEMA_VERSION) {
    cJSON_Delete(*doc);
    *doc = NULL;
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: schema_version %s, expected 1 to %d", file,
                    cJSON_IsNumber(v) ? "differs" : "missing", NNB_RESULTS_SCHEMA_VERSION);
  }
  if (!cJSON_IsArray(cJSON_GetObjectItem(*doc, "cases"))) {
    cJSON_Delete(*doc);
    *doc = NULL;
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: field 'cases': expected an array", file);
  }
  return NNB_OK;
}
