/* Cases shared by the tests of compute backends: one op on large seeded
 * inputs, whole models trained or run on a backend and on the reference,
 * every op of nnbench check. Each asserts with Criterion. */
#ifndef NNB_BACKEND_CASES_H
#define NNB_BACKEND_CASES_H

#include <nnbench/nnbench.h>

#include "model.h"

/* sum((a-b)^2) / sum(b^2), in double. */
double bc_nmse(const float *a, const float *b, int64_t n);

/* Every op on check's cases for seeds 1..seeds passes on b. */
void bc_every_op(nnb_backend *ref, nnb_backend *b, int seeds);

/* One node on both backends with the same seeded inputs; every output and
 * (for updates) every written input agrees within NMSE tol. shapes[i] and
 * ranks[i] describe input i. */
void bc_big_case(nnb_backend *ref, nnb_backend *b, nnb_op op, const int64_t (*shapes)[4],
                 const int *ranks, int n_in, const nnb_attr *at, double tol);

/* One model on one backend: a session with seeded weights and inputs;
 * with train, the loss and every parameter's gradient are outputs. */
typedef struct bc_run {
  nnb_model m;
  nnb_session s;
  int *grad; /* per forward tensor: its gradient, or -1 */
} bc_run;

void bc_start(bc_run *r, nnb_backend *b, const char *spec, int batch, int train);
void bc_stop(bc_run *r);
void bc_step(bc_run *r);
/* Tensor t's values (malloc'd). */
float *bc_fetch(bc_run *r, int t);

/* Forward and backward of a whole model (run twice on b: arena memory
 * reused across runs): the loss and every parameter's gradient agree with
 * the reference's (loss within 1e-5 relative, gradients NMSE <= tol). */
void bc_train_agrees(nnb_backend *ref, nnb_backend *b, const char *spec, int batch, double tol);

#endif
