/* Conformance checks: each op on seeded random cases, a backend against the
 * reference (NMSE), and the reference's backward ops against central finite
 * differences. Used by `nnbench check` and by the tests. */
#ifndef NNB_CHECK_H
#define NNB_CHECK_H

#include <nnbench/runtime.h>

typedef enum nnb_verdict {
  NNB_PASS = 0,
  NNB_FAIL,
  NNB_UNSUPPORTED, /* never counted as passing */
  NNB_NOT_CHECKED  /* e.g. a forward op on the reference: it is the oracle */
} nnb_verdict;

const char *nnb_verdict_name(nnb_verdict v);

typedef struct nnb_check_result {
  nnb_verdict verdict;
  int cases;            /* cases run */
  double nmse;          /* worst sum((a-b)^2)/sum(b^2) over the cases */
  double max_rel_err;   /* worst max|a-b| / max|b| over the cases */
  double threshold;     /* the NMSE (or FD relative error) a case must stay under */
  uint64_t seed;        /* of the first failing case, or of the first case */
  char detail[1200]; /* the first failure, unsupported reason or error */
} nnb_check_result;

/* How many shape/attribute variants `check` runs for an op. */
int nnb_check_variants(nnb_op op);

/* Compares `op` on backend `b` with the reference `ref` over every variant.
 * Seeds are derived from base_seed, the op and the variant. */
void nnb_check_op(nnb_backend *ref, nnb_backend *b, nnb_op op, uint64_t base_seed,
                  nnb_check_result *out);

/* On the reference: for a backward op, differentiates the forward ops whose
 * backward uses it and compares with central finite differences. Forward
 * and update ops are NNB_NOT_CHECKED (the reference defines them). */
void nnb_check_gradient(nnb_backend *ref, nnb_op op, uint64_t base_seed, nnb_check_result *out);

#endif
