/* One seed model on one backend, for the backend tests that compare whole
 * models with the reference: a session with seeded weights, inputs and
 * labels; with train, the loss and every parameter's gradient are outputs. */
#ifndef NNB_MODELRUN_H
#define NNB_MODELRUN_H

#include <nnbench/nnbench.h>

#include "model.h"

typedef struct mr_run {
  nnb_model m;
  nnb_session s;
  int *grad; /* per forward tensor: its gradient, or -1 */
} mr_run;

/* Builds spec for 28x28x1 inputs and 10 classes, creates the session on b
 * and uploads weights (seed 5), inputs and labels. */
void mr_start(mr_run *r, nnb_backend *b, const char *spec, int batch, int train);
void mr_stop(mr_run *r);
/* Tensor t downloaded into a malloc'd array. */
float *mr_fetch(mr_run *r, int t);
void mr_step(mr_run *r);
/* Normalised mean squared error of a against the reference b. */
double mr_nmse(const float *a, const float *b, int64_t n);
/* Runs spec on b (two steps, so arena reuse across runs is exercised) and
 * on ref (one step) and expects the loss within 1e-5 relative and every
 * parameter's gradient within NMSE 1e-6. */
void mr_expect_train_agrees(nnb_backend *ref, nnb_backend *b, const char *spec, int batch);

/* tests/fixtures/pytorch/<kind>.safetensors (a PyTorch state dict) run
 * forward on b on the `input` images of <kind>.io.safetensors: the largest
 * |logit - PyTorch's `expected_logits`|. */
double mr_pytorch_logit_error(nnb_backend *b, const char *kind);

/* The same state dict loaded as `nnbench eval` loads a checkpoint (strict)
 * and evaluated on b over Fashion-MNIST's test split: expects the accuracy
 * and mean loss PyTorch measured (the file's metadata) within a tie's worth
 * of images and 1e-4 relative. */
void mr_expect_pytorch_accuracy(nnb_backend *b, const char *kind);

#endif
