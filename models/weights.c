/* Model parameters in host memory, and their safetensors checkpoints. */
#include "weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

static const nnb_tensor_desc *param_desc(const nnb_model *m, int k) {
  return &m->g.tensors[m->params[k].tensor];
}

static nnb_status alloc_weights(const nnb_model *m, nnb_weights *w, nnb_error *e) {
  w->n = m->n_params;
  w->data = calloc((size_t)w->n + 1, sizeof *w->data);
  for (int k = 0; w->data && k < w->n; k++)
    if (!(w->data[k] = malloc(nnb_nbytes(param_desc(m, k))))) break;
  for (int k = 0; w->data && k < w->n; k++)
    if (!w->data[k]) {
      nnb_weights_free(w);
      return nnb_fail(e, NNB_ERR_NOMEM, "out of memory for the parameters of %s", m->spec.text);
    }
  return w->data ? NNB_OK : nnb_fail(e, NNB_ERR_NOMEM, "out of memory");
}

void nnb_weights_free(nnb_weights *w) {
  for (int k = 0; w->data && k < w->n; k++) free(w->data[k]);
  free(w->data);
  memset(w, 0, sizeof *w);
}

nnb_status nnb_weights_init(const nnb_model *m, uint64_t seed, nnb_weights *w, nnb_error *e) {
  nnb_status st = alloc_weights(m, w, e);
  for (int k = 0; st == NNB_OK && k < w->n; k++) nnb_model_init_param(m, k, seed, w->data[k]);
  return st;
}

nnb_status nnb_weights_from_session(const nnb_model *m, nnb_session *s, nnb_weights *w,
                                    nnb_error *e) {
  nnb_status st = w->data ? NNB_OK : alloc_weights(m, w, e);
  for (int k = 0; st == NNB_OK && k < w->n; k++)
    st = nnb_session_download(s, m->params[k].tensor, w->data[k], e);
  return st;
}

nnb_status nnb_weights_to_session(const nnb_model *m, nnb_session *s, const nnb_weights *w,
                                  nnb_error *e) {
  nnb_status st = NNB_OK;
  for (int k = 0; st == NNB_OK && k < w->n; k++)
    st = nnb_session_upload(s, m->params[k].tensor, w->data[k], e);
  return st;
}

static int same_dims(const nnb_st_tensor *t, const nnb_tensor_desc *d) {
  if (t->rank != d->rank) return 0;
  for (int i = 0; i < d->rank; i++)
    if (t->dims[i] != d->dims[i]) return 0;
  return 1;
}

/* Weights enter here: a NaN or infinity would only come out later as a
 * meaningless accuracy, so it is refused with where it sits. */
static nnb_status check_finite(const char *path, const nnb_tensor_desc *d, const float *v,
                               nnb_error *e) {
  int64_t n = nnb_numel(d);
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return nnb_fail(e, NNB_ERR_FORMAT,
                      "%s: tensor '%s' holds a non-finite value (%g) at element %lld; a "
                      "checkpoint of NaN or infinite weights cannot be evaluated",
                      path, d->name, (double)v[i], (long long)i);
  return NNB_OK;
}

nnb_status nnb_weights_load(const nnb_model *m, const char *path, int strict, nnb_weights *w,
                            nnb_error *e) {
  nnb_safetensors st;
  nnb_status s = nnb_st_read(path, &st, e);
  if (s != NNB_OK) return s;
  s = alloc_weights(m, w, e);
  for (int k = 0; s == NNB_OK && k < w->n; k++) {
    const nnb_tensor_desc *d = param_desc(m, k);
    const nnb_st_tensor *t = nnb_st_find(&st, d->name);
    char want[64], got[64];
    if (!t)
      s = nnb_fail(e, NNB_ERR_FORMAT, "%s: no tensor '%s', which model %s needs", path, d->name,
                   m->spec.text);
    else if (!same_dims(t, d))
      s = nnb_fail(e, NNB_ERR_FORMAT, "%s: '%s' is %s, model %s needs %s", path, d->name,
                   nnb_dims_str(t->rank, t->dims, got, sizeof got), m->spec.text,
                   nnb_dims_str(d->rank, d->dims, want, sizeof want));
    else
      nnb_st_copy(&st, t, w->data[k]);
    if (s == NNB_OK) s = check_finite(path, d, w->data[k], e);
  }
  for (int i = 0; s == NNB_OK && strict && i < st.n; i++) {
    int known = 0;
    for (int k = 0; k < m->n_params && !known; k++)
      known = !strcmp(st.tensors[i].name, param_desc(m, k)->name);
    if (!known)
      s = nnb_fail(e, NNB_ERR_FORMAT, "%s: unexpected tensor '%s' (model %s has no such parameter)",
                   path, st.tensors[i].name, m->spec.text);
  }
  if (s != NNB_OK) {
    nnb_weights_free(w);
    for (int i = 0; i < st.n_meta; i++) /* nnbench's checkpoints say what they hold */
      if (!strcmp(st.meta[i][0], "model"))
        snprintf(e->msg + strlen(e->msg), sizeof e->msg - strlen(e->msg),
                 " (the file's metadata says it holds model %.128s)", st.meta[i][1]);
  }
  nnb_st_free(&st);
  return s;
}

nnb_status nnb_weights_save(const nnb_model *m, const nnb_weights *w, const char *path,
                            const char *const (*meta)[2], int n_meta, nnb_error *e) {
  nnb_st_entry *ent = calloc((size_t)w->n + 1, sizeof *ent);
  if (!ent) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory");
  for (int k = 0; k < w->n; k++) {
    const nnb_tensor_desc *d = param_desc(m, k);
    ent[k] = (nnb_st_entry){d->name, d->rank, d->dims, w->data[k]};
  }
  nnb_status s = nnb_st_write(path, ent, w->n, meta, n_meta, e);
  free(ent);
  return s;
}
