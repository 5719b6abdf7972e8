#include "split_step.h"

#include <stdlib.h>
#include <string.h>

static int listed(const int *v, int n, int t) {
  for (int i = 0; i < n; i++)
    if (v[i] == t) return 1;
  return 0;
}

nnb_status nnb_split_step_create(nnb_backend *b, const nnb_graph *g, nnb_split_step *s,
                                 nnb_error *e) {
  memset(s, 0, sizeof *s);
  int first = g->n_nodes;
  for (int i = 0; i < g->n_nodes && first == g->n_nodes; i++)
    if (nnb_op_is_update(g->nodes[i].op)) first = i;
  for (int i = first; i < g->n_nodes; i++)
    if (!nnb_op_is_update(g->nodes[i].op))
      return nnb_fail(e, NNB_ERR_INVALID,
                      "node '%s' (%s) follows an optimizer update: the graph cannot be split into "
                      "gradients and updates",
                      g->nodes[i].name, nnb_op_name(g->nodes[i].op));
  if (first == 0 || first == g->n_nodes)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "the graph has %s: a training graph with optimizer updates is needed",
                    first ? "no optimizer update" : "nothing before its updates");
  s->grads = malloc((size_t)g->n_tensors * sizeof *s->grads);
  s->params = malloc((size_t)g->n_tensors * sizeof *s->params);
  if (!s->grads || !s->params) {
    nnb_split_step_free(s);
    return nnb_fail(e, NNB_ERR_NOMEM, "out of memory");
  }
  for (int i = first; i < g->n_nodes; i++)
    for (int k = 0; k < g->nodes[i].n_in; k++) {
      int t = g->nodes[i].in[k];
      nnb_role r = g->tensors[t].role;
      if (r == NNB_ROLE_GRADIENT && !listed(s->grads, s->n_grads, t)) {
        s->grads[s->n_grads++] = t;
        s->grad_elems += nnb_numel(&g->tensors[t]);
      }
      if (r == NNB_ROLE_PARAM && !listed(s->params, s->n_params, t)) {
        s->params[s->n_params++] = t;
        s->param_elems += nnb_numel(&g->tensors[t]);
      }
    }
  nnb_status st = nnb_session_create(b, g, &s->session, e);
  if (st != NNB_OK) {
    nnb_split_step_free(s);
    return st;
  }
  s->grads_part = *g;
  s->grads_part.n_nodes = first;
  s->update_part = *g;
  s->update_part.nodes = g->nodes + first;
  s->update_part.n_nodes = g->n_nodes - first;
  const nnb_backend_vtable *vt = b->vt;
  st = nnb_plugin_status(
      vt->prepare(b->ctx, &s->grads_part, s->session.bindings, &s->grads_plan, e), e);
  if (st == NNB_OK)
    st = nnb_plugin_status(
        vt->prepare(b->ctx, &s->update_part, s->session.bindings, &s->update_plan, e), e);
  if (st != NNB_OK) nnb_split_step_free(s);
  return st;
}

void nnb_split_step_free(nnb_split_step *s) {
  nnb_backend *b = s->session.backend;
  if (b && s->grads_plan) b->vt->plan_free(b->ctx, s->grads_plan);
  if (b && s->update_plan) b->vt->plan_free(b->ctx, s->update_plan);
  nnb_session_free(&s->session);
  free(s->grads);
  free(s->params);
  memset(s, 0, sizeof *s);
}

static nnb_status run(nnb_split_step *s, nnb_plan *plan, nnb_error *e) {
  nnb_backend *b = s->session.backend;
  nnb_status st = b->vt->execute(b->ctx, plan, e);
  if (st == NNB_OK) st = b->vt->sync(b->ctx, e);
  return nnb_plugin_status(st, e);
}

nnb_status nnb_split_step_grads(nnb_split_step *s, nnb_error *e) {
  return run(s, s->grads_plan, e);
}

nnb_status nnb_split_step_update(nnb_split_step *s, nnb_error *e) {
  return run(s, s->update_plan, e);
}

/* Each of the n tensors ids[] into (or, put, from) consecutive floats. */
static nnb_status move(nnb_split_step *s, const int *ids, int n, float *flat, int put,
                       nnb_error *e) {
  nnb_status st = NNB_OK;
  for (int i = 0; i < n && st == NNB_OK; i++) {
    st = put ? nnb_session_upload(&s->session, ids[i], flat, e)
             : nnb_session_download(&s->session, ids[i], flat, e);
    flat += nnb_numel(&s->session.graph->tensors[ids[i]]);
  }
  return st;
}

nnb_status nnb_split_step_get_grads(nnb_split_step *s, float *flat, nnb_error *e) {
  return move(s, s->grads, s->n_grads, flat, 0, e);
}

nnb_status nnb_split_step_put_grads(nnb_split_step *s, const float *flat, nnb_error *e) {
  return move(s, s->grads, s->n_grads, (float *)flat, 1, e);
}

nnb_status nnb_split_step_get_params(nnb_split_step *s, float *flat, nnb_error *e) {
  return move(s, s->params, s->n_params, flat, 0, e);
}
