/* Evaluating a model on a dataset: accuracy, mean loss and the logits, for
 * comparing backends on the same weights. */
#ifndef NNB_EVALUATE_H
#define NNB_EVALUATE_H

#include "dataset.h"
#include "weights.h"

typedef struct nnb_eval_result {
  int64_t n;         /* samples evaluated */
  int classes;
  double accuracy;   /* top-1 */
  double mean_loss;  /* softmax cross-entropy, computed on the host in double */
  float *logits;     /* n * classes */
} nnb_eval_result;

/* Runs the inference graph in batches of `batch` (the last one padded, its
 * padding ignored). */
nnb_status nnb_evaluate(const nnb_model_spec *spec, nnb_backend *b, const nnb_weights *w,
                        const nnb_dataset *d, int batch, nnb_eval_result *out, nnb_error *e);
void nnb_eval_result_free(nnb_eval_result *r);
/* Top-1 agreement of two results' logits, and the largest |difference|. */
void nnb_eval_compare(const nnb_eval_result *a, const nnb_eval_result *ref, double *agreement,
                      double *max_abs_diff);

#endif
