/* Benchmark results: the provenance of a run, each case's record with its
 * statistics, and the writers. One table of fields (results.c) drives the
 * CSV and the console table, so the formats never drift apart. The JSON
 * schema is documented in docs/results-schema.md. */
#ifndef NNB_RESULTS_H
#define NNB_RESULTS_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include <nnbench/status.h>

#define NNB_RESULTS_SCHEMA_VERSION 1
#define NNB_NOISY_CV 0.05

/* Provenance: nnbench version and commit, build, machine (sysinfo), the
 * command line, dataset and seed. */
cJSON *nnb_provenance(int argc, char **argv, const char *dataset_name, unsigned int dataset_crc,
                      unsigned long long seed);

/* Adds "summary", "throughput_samples_per_s", "gflops", "arithmetic_intensity"
 * and "noisy" to an ok case record from its "samples_s" (bootstrap seeded). */
void nnb_case_summarize(cJSON *rec, int batch, unsigned long long seed);

/* Writes DIR/results.json and DIR/results.csv, each through a temporary
 * file renamed into place. */
nnb_status nnb_results_write(const char *dir, cJSON *doc, nnb_error *e);
/* Reads a results.json (DIR or the file itself). */
nnb_status nnb_results_read(const char *path, cJSON **doc, nnb_error *e);

/* One line per case, for the terminal. */
void nnb_results_print_table(FILE *f, cJSON *doc);

/* Creates dir and any missing parents (mkdir -p). */
nnb_status nnb_mkdir_p(const char *dir, nnb_error *e);

/* Replaces path with text atomically (atomic_file.h): a reader sees the old
 * file or the new one, and no signal leaves a temporary file behind. */
nnb_status nnb_write_file_atomic(const char *path, const char *text, nnb_error *e);

#endif
