/* The results format: its schema version, reading and writing results files,
 * and the flat views of a case. One table of fields (results.c) drives the
 * CSV and the console table, so the formats never drift apart. The JSON
 * schema is documented in docs/results-schema.md. */
#ifndef NNB_RESULTS_H
#define NNB_RESULTS_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include <nnbench/status.h>

#include "files.h"

#define NNB_RESULTS_SCHEMA_VERSION 1
#define NNB_NOISY_CV 0.05

/* Writes DIR/results.json and DIR/results.csv, each through a temporary
 * file renamed into place. */
nnb_status nnb_results_write(const char *dir, cJSON *doc, nnb_error *e);
/* Reads a results.json (DIR or the file itself). */
nnb_status nnb_results_read(const char *path, cJSON **doc, nnb_error *e);

/* One line per case, for the terminal. */
void nnb_results_print_table(FILE *f, cJSON *doc);

#endif
