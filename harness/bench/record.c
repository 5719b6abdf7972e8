/* What the measuring layer adds to a results document: the run's provenance
 * and each case's summary figures. */
#include "record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buildinfo.h"
#include "case_rounds.h"
#include "results.h"
#include "round_stats.h"
#include "stats.h"
#include "sysinfo.h"

#define BOOTSTRAP_RESAMPLES 2000

void nnb_utc_now(const char *fmt, char *buf, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  if (!strftime(buf, len, fmt, &tm) && len) buf[0] = 0;
}

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
  char stamp[32];
  nnb_utc_now("%Y-%m-%dT%H:%M:%SZ", stamp, sizeof stamp);
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

/* Replaces (or adds) key in o. */
static void put(cJSON *o, const char *key, cJSON *v) {
  if (cJSON_GetObjectItem(o, key))
    cJSON_ReplaceItemInObject(o, key, v);
  else
    cJSON_AddItemToObject(o, key, v);
}

/* The mean of the rounds' own coefficients of variation: the spread of
 * iterations within a process (jitter), apart from the spread between
 * processes. */
static double jitter_cv(cJSON *rec, double fallback, int *loaded) {
  double sum = 0;
  int n = 0;
  cJSON *x;
  *loaded = 0;
  cJSON_ArrayForEach(x, cJSON_GetObjectItem(rec, "rounds")) {
    double cv = num(x, "cv");
    if (cv >= 0) sum += cv, n++;
    *loaded += cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(x, "conditions"), "loaded"));
  }
  return n ? sum / n : fallback;
}

void nnb_case_summarize(cJSON *rec, int batch, unsigned long long seed) {
  cJSON *arr = cJSON_GetObjectItem(rec, "samples_s");
  int n = cJSON_GetArraySize(arr);
  if (!n) return;
  double *v = malloc((size_t)n * sizeof *v), m[NNB_MAX_ROUNDS];
  if (!v) return;
  int i = 0;
  cJSON *x;
  cJSON_ArrayForEach(x, arr) v[i++] =
      x->valuedouble; /* one pass: indexing a cJSON array is linear */
  int r = nnb_case_round_medians(rec, m, NNB_MAX_ROUNDS);
  nnb_summary s;
  nnb_round_summary rs;
  nnb_error e;
  /* With two rounds or more the interval comes from the rounds, and the
   * iterations' bootstrap is not needed (one resample keeps it cheap). */
  int by_rounds = r >= 2 && nnb_rounds_summarize(m, r, &rs, &e) == NNB_OK;
  if (nnb_summarize(v, n, by_rounds ? 1 : BOOTSTRAP_RESAMPLES, seed, &s, &e) == NNB_OK) {
    if (by_rounds) s.median = rs.centre, s.ci_lo = rs.ci_lo, s.ci_hi = rs.ci_hi;
    int loaded;
    double jitter = jitter_cv(rec, s.cv, &loaded);
    cJSON *o = cJSON_CreateObject();
    put(rec, "summary", o);
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
    cJSON_AddStringToObject(o, "ci_method", by_rounds ? "rounds" : "iterations");
    cJSON_AddNumberToObject(o, "rounds", by_rounds ? r : 1);
    if (by_rounds) cJSON_AddNumberToObject(o, "between_round_cv", rs.between_cv);
    cJSON_AddNumberToObject(o, "jitter_cv", jitter);
    cJSON_AddNumberToObject(o, "loaded_rounds", loaded);
    cJSON_AddBoolToObject(o, "p90_meaningful", s.p90_meaningful);
    cJSON_AddBoolToObject(o, "p99_meaningful", s.p99_meaningful);
    cJSON *out = cJSON_AddObjectToObject(o, "outliers");
    cJSON_AddNumberToObject(out, "low_severe", s.outliers_low_severe);
    cJSON_AddNumberToObject(out, "low_mild", s.outliers_low_mild);
    cJSON_AddNumberToObject(out, "high_mild", s.outliers_high_mild);
    cJSON_AddNumberToObject(out, "high_severe", s.outliers_high_severe);
    double flops = num(rec, "flops_per_step"), bytes = num(rec, "bytes_per_step");
    put(rec, "throughput_samples_per_s", cJSON_CreateNumber(batch / s.median));
    put(rec, "throughput_ci95_lo", cJSON_CreateNumber(batch / s.ci_hi));
    put(rec, "throughput_ci95_hi", cJSON_CreateNumber(batch / s.ci_lo));
    put(rec, "gflops", cJSON_CreateNumber(flops / s.median / 1e9));
    put(rec, "arithmetic_intensity", cJSON_CreateNumber(bytes > 0 ? flops / bytes : 0));
    put(rec, "noisy", cJSON_CreateBool((by_rounds ? rs.between_cv : s.cv) > NNB_NOISY_CV));
  }
  free(v);
}

void nnb_record_work(cJSON *rec, const nnb_graph *g) {
  double flops = 0, bytes = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    flops += nnb_node_flops(g, &g->nodes[i]);
    bytes += nnb_node_bytes(g, &g->nodes[i]);
  }
  cJSON_AddNumberToObject(rec, "flops_per_step", flops);
  cJSON_AddNumberToObject(rec, "bytes_per_step", bytes);
  cJSON_AddNumberToObject(rec, "nodes", g->n_nodes);
}
