/* Cases shared by the tests of compute backends: one op on large seeded
 * inputs on a backend and on the reference, and every op of nnbench check
 * (whole models: modelrun.h). Each asserts with Criterion. */
#ifndef NNB_BACKEND_CASES_H
#define NNB_BACKEND_CASES_H

#include <nnbench/nnbench.h>

/* Every op on check's cases for seeds 1..seeds passes on b. */
void bc_every_op(nnb_backend *ref, nnb_backend *b, int seeds);

/* One node on both backends with the same seeded inputs; every output and
 * (for updates) every written input agrees within NMSE tol. shapes[i] and
 * ranks[i] describe input i. */
void bc_big_case(nnb_backend *ref, nnb_backend *b, nnb_op op, const int64_t (*shapes)[4],
                 const int *ranks, int n_in, const nnb_attr *at, double tol);

/* The lstm op and its backward on sizes that fit no block evenly: batch
 * sequences of t steps, i inputs, h hidden units (gate rows 4h), against
 * the reference. */
void bc_lstm_case(nnb_backend *ref, nnb_backend *b, int64_t batch, int64_t t, int64_t i, int64_t h);

#endif
