/* Whether two results were measured on the same kind of CPU. A ratio of
 * times from two different CPUs mixes the code's change with the
 * machine's; compare says so. */
#ifndef NNB_MACHINE_DIFF_H
#define NNB_MACHINE_DIFF_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Compares provenance.machine.cpu of two results documents: vendor, family,
 * model number, model name and ISA flags (what results from before family
 * and model were recorded lack is not compared). Returns 1 and writes a
 * sentence naming both CPUs into msg when they differ, else 0. */
int nnb_machine_diff(const cJSON *a, const cJSON *b, char *msg, size_t len);

#endif
