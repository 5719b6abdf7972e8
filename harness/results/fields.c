/* The table of result fields (fields.h). */
#include "fields.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonpath.h"

static double planned_bytes(const cJSON *r, char *buf, size_t len) {
  return nnb_json_num(r, "memory.persistent_bytes") + nnb_json_num(r, "memory.arena_bytes");
}

/* What the backend held beyond the planner's tensors: its own workspace
 * (recorded by newer runs, else derived). */
static double beyond_plan_bytes(const cJSON *r, char *buf, size_t len) {
  double x = nnb_json_num(r, "memory.workspace_bytes");
  if (!isnan(x)) return x;
  x = nnb_json_num(r, "memory.backend_peak_bytes") - planned_bytes(r, buf, len);
  return x > 0 ? x : isnan(x) ? x : 0;
}

void nnb_case_contender(const cJSON *rec, char *buf, size_t len) {
  const char *options = nnb_json_str(rec, "options");
  snprintf(buf, len, *options ? "%s[%s]" : "%s", nnb_json_str(rec, "backend"), options);
}

static double contender(const cJSON *rec, char *buf, size_t len) {
  nnb_case_contender(rec, buf, len);
  return NAN;
}

#define TEXT NNB_FIELD_TEXT
#define INT NNB_FIELD_INT
#define NUM NNB_FIELD_NUM
#define BOOL NNB_FIELD_BOOL
#define SECONDS NNB_UNIT_SECONDS
#define FRACTION NNB_UNIT_FRACTION
#define BYTES NNB_UNIT_BYTES

/* results.csv's columns are the in_csv rows, in this order. */
static const nnb_field fields[] = {
    /* name, path, type, unit, report heading, in_csv, derive */
    {"group", "group", TEXT, 0, "group", 1, NULL},
    {"model", "model", TEXT, 0, "model", 1, NULL},
    {"spec", "spec", TEXT, 0, "spec", 1, NULL},
    {"backend", "backend", TEXT, 0, "backend", 1, NULL},
    {"options", "options", TEXT, 0, "options", 1, NULL},
    {"mode", "mode", TEXT, 0, "mode", 1, NULL},
    {"batch", "batch", INT, 0, "batch", 1, NULL},
    {"threads", "threads", INT, NNB_UNIT_THREADS, "threads", 1, NULL},
    {"status", "status", TEXT, 0, "status", 1, NULL},
    {"reason", "reason", TEXT, 0, "reason", 1, NULL},
    {"iterations", "summary.n", INT, 0, "iterations", 1, NULL},
    {"median_s", "summary.median_s", NUM, SECONDS, "median (ms)", 1, NULL},
    {"ci95_lo_s", "summary.median_ci95_lo_s", NUM, SECONDS, "CI low (ms)", 1, NULL},
    {"ci95_hi_s", "summary.median_ci95_hi_s", NUM, SECONDS, "CI high (ms)", 1, NULL},
    {"mean_s", "summary.mean_s", NUM, SECONDS, "mean (ms)", 1, NULL},
    {"min_s", "summary.min_s", NUM, SECONDS, "min (ms)", 1, NULL},
    {"p90_s", "summary.p90_s", NUM, SECONDS, "p90 (ms)", 1, NULL},
    {"p99_s", "summary.p99_s", NUM, SECONDS, "p99 (ms)", 1, NULL},
    {"stddev_s", "summary.stddev_s", NUM, SECONDS, "stddev (ms)", 1, NULL},
    {"cv", "summary.cv", NUM, FRACTION, "CV (%)", 1, NULL},
    {"cold_s", "cold_s", NUM, SECONDS, "cold (ms)", 1, NULL},
    {"samples_per_s", "throughput_samples_per_s", NUM, 0, "samples/s", 1, NULL},
    {"gflops", "gflops", NUM, 0, "GFLOP/s", 1, NULL},
    {"arithmetic_intensity", "arithmetic_intensity", NUM, 0, "FLOP/byte", 1, NULL},
    {"backend_peak_bytes", "memory.backend_peak_bytes", INT, BYTES, "backend peak (MiB)", 1, NULL},
    {"arena_bytes", "memory.arena_bytes", INT, BYTES, "arena (MiB)", 1, NULL},
    {"persistent_bytes", "memory.persistent_bytes", INT, BYTES, "persistent (MiB)", 1, NULL},
    {"peak_rss_bytes", "memory.peak_rss_bytes", INT, BYTES, "peak RSS (MiB)", 1, NULL},
    {"workspace_bytes", "memory.workspace_bytes", INT, BYTES, "workspace (MiB)", 1, NULL},
    {"harness_overhead", "harness_overhead.fraction", NUM, FRACTION, "harness overhead (%)", 1,
     NULL},
    {"noisy", "noisy", BOOL, 0, "noisy", 1, NULL},
    {"reproduce", "reproduce", TEXT, 0, "reproduce", 1, NULL},
    /* in the report only */
    {"contender", NULL, TEXT, 0, "backend", 0, contender},
    {"high_outliers", "summary.outliers.high_severe", INT, 0, "high outliers", 0, NULL},
    {"parameter_bytes", "memory.by_role_bytes.parameter", INT, BYTES, "parameters (MiB)", 0, NULL},
    {"activation_bytes", "memory.by_role_bytes.activation", INT, BYTES, "activations (MiB)", 0,
     NULL},
    {"gradient_bytes", "memory.by_role_bytes.gradient", INT, BYTES, "gradients (MiB)", 0, NULL},
    {"optimizer_state_bytes", "memory.by_role_bytes.optimizer_state", INT, BYTES,
     "optimizer state (MiB)", 0, NULL},
    {"planned_bytes", NULL, NUM, BYTES, "planned, with reuse (MiB)", 0, planned_bytes},
    {"beyond_plan_bytes", NULL, NUM, BYTES, "beyond plan (MiB)", 0, beyond_plan_bytes},
    /* accuracy records */
    {"samples", "samples", INT, 0, "samples", 0, NULL},
    {"accuracy", "accuracy", NUM, FRACTION, "accuracy (%)", 0, NULL},
    {"mean_loss", "mean_loss", NUM, 0, "mean loss", 0, NULL},
    {"agreement_with_reference", "agreement_with_reference", NUM, FRACTION,
     "agreement with reference (%)", 0, NULL},
    {"max_abs_logit_diff", "max_abs_logit_diff", NUM, NNB_UNIT_ERROR, "max |logit diff|", 0, NULL},
    {"weights", "weights", TEXT, 0, "weights", 0, NULL},
};

int nnb_field_count(void) { return (int)(sizeof fields / sizeof fields[0]); }

const nnb_field *nnb_field_at(int i) { return i >= 0 && i < nnb_field_count() ? &fields[i] : NULL; }

const nnb_field *nnb_field_named(const char *name) {
  for (int i = 0; i < nnb_field_count(); i++)
    if (!strcmp(fields[i].name, name)) return &fields[i];
  return NULL;
}

double nnb_field_num(const nnb_field *f, const cJSON *rec) {
  char unused[1];
  return f->derive ? f->derive(rec, unused, sizeof unused) : nnb_json_num(rec, f->path);
}

void nnb_field_text(const nnb_field *f, const cJSON *rec, int csv, char *buf, size_t len) {
  const cJSON *v = f->path ? nnb_json_at(rec, f->path) : NULL;
  char derived[256] = "";
  buf[0] = 0;
  if (f->type == NNB_FIELD_TEXT && f->derive) f->derive(rec, derived, sizeof derived);
  const char *text = cJSON_IsString(v) ? v->valuestring : f->derive ? derived : NULL;
  if (f->type == NNB_FIELD_TEXT && text) {
    if (!csv || !strpbrk(text, ",\"\n")) {
      snprintf(buf, len, "%s", text);
      return;
    }
    size_t at = 0;
    buf[at++] = '"';
    for (const char *s = text; *s && at + 3 < len; s++) {
      if (*s == '"') buf[at++] = '"';
      buf[at++] = *s == '\n' ? ' ' : *s;
    }
    buf[at++] = '"';
    buf[at] = 0;
    return;
  }
  if (f->type == NNB_FIELD_BOOL) {
    if (v) snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
    return;
  }
  double x = nnb_field_num(f, rec);
  if (isnan(x)) return;
  snprintf(buf, len, f->type == NNB_FIELD_INT ? "%.0f" : "%.6g", x);
}
