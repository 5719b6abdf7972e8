/* A training step in two halves on one session, so that something can
 * happen between the gradients and the update: the data-parallel benchmark
 * averages the gradients over the ranks there.
 *
 * Autodiff appends the optimizer updates after the backward, so a training
 * graph's nodes are [forward + backward | updates]. The session plans the
 * whole graph's memory once (a gradient lives from its producer to the
 * update that reads it); two more backend plans are prepared through the
 * plugin ABI's own prepare(), each over one part of the nodes and the
 * session's bindings. Running the first leaves every gradient in its place
 * in the arena; it can be read and written there before the second runs.
 * Nothing in the ABI changes. */
#ifndef NNB_SPLIT_STEP_H
#define NNB_SPLIT_STEP_H

#include <stdint.h>

#include <nnbench/runtime.h>

typedef struct nnb_split_step {
  nnb_session session;               /* the whole graph: memory, bindings (its own plan unused) */
  nnb_graph grads_part, update_part; /* views of the graph's nodes, sharing its tensors */
  nnb_plan *grads_plan, *update_plan;
  int n_grads, n_params;
  int *grads, *params;             /* tensor ids: the gradients the updates read, the parameters */
  int64_t grad_elems, param_elems; /* floats in all of them */
} nnb_split_step;

/* g: a training graph with optimizer updates (nnb_autodiff with opt). */
nnb_status nnb_split_step_create(nnb_backend *b, const nnb_graph *g, nnb_split_step *out,
                                 nnb_error *e);
void nnb_split_step_free(nnb_split_step *s);

/* Forward and backward: the gradients are ready when it returns. */
nnb_status nnb_split_step_grads(nnb_split_step *s, nnb_error *e);
/* The optimizer updates, reading the gradients where they are. */
nnb_status nnb_split_step_update(nnb_split_step *s, nnb_error *e);

/* Every gradient into / from flat (grad_elems floats, in `grads` order). */
nnb_status nnb_split_step_get_grads(nnb_split_step *s, float *flat, nnb_error *e);
nnb_status nnb_split_step_put_grads(nnb_split_step *s, const float *flat, nnb_error *e);
/* Every parameter into flat (param_elems floats, in `params` order). */
nnb_status nnb_split_step_get_params(nnb_split_step *s, float *flat, nnb_error *e);

#endif
