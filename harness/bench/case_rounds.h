/* A case's record gathered from its rounds. Each round is one child
 * process's record (nnb_run_case); the case keeps the first round's record
 * (spec, backend description, work, memory, loss curve) and adds
 * to it every round's samples and a "rounds" entry per round:
 *
 *   samples_s   every timed iteration of every round, in round order;
 *   rounds[k]   round, order (its position in the run's schedule), status,
 *               first and n (its slice of samples_s), median_s, cv (the
 *               iterations' spread within the round: jitter), cold_s,
 *               warmup_iters, warmup_s, warmup_steady, peak_rss_bytes, pin,
 *               conditions (nnb_conditions_json);
 *   node_profile[k].seconds  the median of the rounds' figures for the
 *               node, which seconds_by_round lists (2 rounds or more).
 *
 * A failed round fails the case (status and reason name the round); its
 * later rounds are not run. */
#ifndef NNB_CASE_ROUNDS_H
#define NNB_CASE_ROUNDS_H

#define NNB_MAX_ROUNDS 1000 /* the most rounds a case may have */

#include <cjson/cJSON.h>

/* Adds round `round` (its record `r`, consumed) to the case record *rec
 * (NULL before the first round: then *rec becomes r itself). order is the
 * slot's index in the run's schedule; conditions (consumed) is the round's
 * conditions object or NULL; pin the CPU list the child was pinned to. */
void nnb_case_add_round(cJSON **rec, cJSON *r, int round, int order, cJSON *conditions,
                        const char *pin);

/* True when the case record's status is "ok". */
int nnb_case_ok(const cJSON *rec);

/* The round medians of an ok case's ok rounds, into m[0..max); returns how
 * many. A record without "rounds" (one process, as before rounds existed)
 * has none. */
int nnb_case_round_medians(const cJSON *rec, double *m, int max);

#endif
