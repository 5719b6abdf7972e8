/* What the measuring layer adds to a results document (docs/results-schema.md). */
#ifndef NNB_RECORD_H
#define NNB_RECORD_H

#include <cjson/cJSON.h>

/* Provenance: nnbench version and commit, build, machine (sysinfo), the
 * command line, dataset and seed. */
cJSON *nnb_provenance(int argc, char **argv, const char *dataset_name, unsigned int dataset_crc,
                      unsigned long long seed);

/* Adds "summary", "throughput_samples_per_s", "gflops", "arithmetic_intensity"
 * and "noisy" to an ok case record from its "samples_s" (bootstrap seeded). */
void nnb_case_summarize(cJSON *rec, int batch, unsigned long long seed);

#endif
