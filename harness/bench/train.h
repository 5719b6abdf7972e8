/* Training a model on a backend: the training graph (forward, loss,
 * backward, optimizer) prepared once, seeded shuffling each epoch, test
 * accuracy after each epoch. */
#ifndef NNB_TRAIN_H
#define NNB_TRAIN_H

#include <stdio.h>

#include "evaluate.h"

typedef struct nnb_train_config {
  nnb_model_spec spec;
  int epochs, batch, eval_batch;
  nnb_opt_config opt;
  uint64_t seed; /* initialisation and shuffling */
} nnb_train_config;

typedef struct nnb_train_progress {
  int epoch, epochs;         /* 1-based */
  int64_t step, steps;       /* within the epoch, 1-based */
  double loss;               /* of this step's batch */
  double samples_per_s;      /* over the epoch so far */
  double eta_s;              /* for the whole run */
  int epoch_done;            /* set once per epoch, after the test evaluation */
  double test_accuracy, test_loss;
} nnb_train_progress;

typedef void (*nnb_train_cb)(const nnb_train_progress *p, void *user);

/* w holds the initial weights on entry and the trained ones on return.
 * Every step's loss goes to loss_csv ("epoch,step,samples,loss") when not
 * NULL. A last partial batch of an epoch is dropped (the graph's batch size
 * is fixed); test is evaluated after each epoch when not NULL. */
nnb_status nnb_train(const nnb_train_config *c, nnb_backend *b, const nnb_dataset *train,
                     const nnb_dataset *test, nnb_weights *w, FILE *loss_csv, nnb_train_cb cb,
                     void *user, nnb_error *e);

#endif
