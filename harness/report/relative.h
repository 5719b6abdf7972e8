/* Speeds relative to another contender, with confidence intervals, for the
 * report's first section, its peer section and the plot against the peer.
 *
 * A contender's time is its case's median (the geometric mean of round
 * medians when measured in rounds) with a 95% interval; the ratio of two
 * is taken on the log scale, where each interval's half-width is
 * (ln hi - ln lo) / 2 and the two combine in quadrature (independent
 * measurements). */
#ifndef NNB_RELATIVE_H
#define NNB_RELATIVE_H

#include <cjson/cJSON.h>

typedef struct nnb_rel {
  double ratio, lo, hi; /* NaN when either case lacks a time */
} nnb_rel;

/* How many times faster case a is than case b: b's time / a's time. */
nnb_rel nnb_rel_speed(const cJSON *a, const cJSON *b);

/* "2.13 [1.98, 2.29]"; "" when NaN. */
void nnb_rel_format(nnb_rel r, char *buf, size_t len);

/* The name of the peer the results compare against: the first ok case
 * whose record says "backend_kind": "peer" ("pytorch" preferred); NULL
 * when no peer ran. */
const char *nnb_rel_peer(const cJSON *doc);

/* A case's contender: its backend, with its options when it has any
 * ("openblas[fuse=0]"): options make another contender. */
void nnb_rel_contender(const cJSON *rec, char *buf, size_t len);

/* The ok case of (spec, mode, batch) on `contender` with the smallest
 * median over thread counts (its best), or NULL; a batch that is not a
 * number (missing from a record) matches nothing. */
const cJSON *nnb_rel_best(const cJSON *doc, const char *spec, const char *mode, double batch,
                          const char *contender);

/* True for a case that ran and has a median time. */
int nnb_rel_timed(const cJSON *rec);

/* The status ("skipped", "failed", ...) of the contender's untimed case of
 * that model spec, mode and batch, for a table cell that has no ratio; ""
 * when it has no such case. */
const char *nnb_rel_untimed_status(const cJSON *doc, const char *spec, const char *mode,
                                   double batch, const char *contender);

#endif
