/* What the measuring layer adds to a results document (docs/results-schema.md). */
#ifndef NNB_RECORD_H
#define NNB_RECORD_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include <nnbench/graph.h>

/* Provenance: nnbench version and commit, build, machine (sysinfo), the
 * command line, dataset and seed. */
cJSON *nnb_provenance(int argc, char **argv, const char *dataset_name, unsigned int dataset_crc,
                      unsigned long long seed);

/* The time now in UTC, as strftime's fmt writes it. */
void nnb_utc_now(const char *fmt, char *buf, size_t len);


/* Sets "summary", "throughput_samples_per_s", "gflops", "arithmetic_intensity"
 * and "noisy" of an ok case record from its "samples_s" and, with two ok
 * rounds or more, its "rounds": then the centre and CI are the rounds'
 * (round_stats.h), else the iterations' (stats.h, bootstrap seeded).
 * Called again after each round, it replaces what it set before. */
void nnb_case_summarize(cJSON *rec, int batch, unsigned long long seed);

/* Adds "flops_per_step", "bytes_per_step" and "nodes": the work of one
 * step of g, by the graph's formulas (the same for every contender). */
void nnb_record_work(cJSON *rec, const nnb_graph *g);

#endif
