/* Pinning a benchmark's process to CPUs, from a Linux-style CPU list
 * ("0", "0-1", "1,3", "0-3,6"). A pinned case does not migrate between
 * CPUs mid-round, and two runs pinned alike place their threads alike. */
#ifndef NNB_AFFINITY_H
#define NNB_AFFINITY_H

#include <stddef.h>

#define NNB_MAX_PIN_CPU 1023

/* Parses a CPU list; with cpus != NULL (a cpu_set_t *) also fills it.
 * Returns 0, or -1 with a message in err saying what was expected. */
int nnb_cpulist_parse(const char *list, void *cpus, char *err, size_t len);

/* Pins the calling process to the CPUs of list. Returns 0, or -1 with the
 * reason in err (a bad list, or CPUs this process may not use). */
int nnb_pin_self(const char *list, char *err, size_t len);

#endif
