/* What the measuring layer adds to a results document: the run's provenance
 * and each case's summary figures. */
#include "record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buildinfo.h"
#include "results.h"
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
