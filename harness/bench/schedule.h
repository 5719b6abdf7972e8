/* The order in which a run measures its cases: round by round, every case
 * once per round (A B C, then C A B, ...), each round in its own seeded
 * shuffled order, so that drift over the run (load, temperature, the other
 * vCPU) falls on every case alike instead of on whichever ran last. */
#ifndef NNB_SCHEDULE_H
#define NNB_SCHEDULE_H

#include <nnbench/status.h>

typedef struct nnb_slot {
  int case_index, round;
} nnb_slot;

/* Fills *out (malloc'd, the caller frees it) with one slot per (case,
 * round) for case i in 0..n_cases-1 and round in 0..rounds[i]-1: all round-0
 * slots first, then round 1, ...; within a round the cases in a
 * Fisher-Yates order drawn from seed and the round. *n_out receives the
 * count. Same arguments, same schedule. */
nnb_status nnb_schedule(const int *rounds, int n_cases, unsigned long long seed, nnb_slot **out,
                        int *n_out, nnb_error *e);

#endif
