#include "evaluate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int argmax(const float *v, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

static double ce_loss(const float *v, int n, int label) {
  double mx = v[argmax(v, n)], sum = 0;
  for (int i = 0; i < n; i++) sum += exp((double)v[i] - mx);
  return mx + log(sum) - v[label];
}

void nnb_eval_result_free(nnb_eval_result *r) {
  free(r->logits);
  memset(r, 0, sizeof *r);
}

nnb_status nnb_evaluate(const nnb_model_spec *spec, nnb_backend *b, const nnb_weights *w,
                        const nnb_dataset *d, int batch, nnb_eval_result *out, nnb_error *e) {
  memset(out, 0, sizeof *out);
  if (d->n < 1) return nnb_fail(e, NNB_ERR_INVALID, "dataset %s has no samples", d->name);
  if (batch > d->n) batch = (int)d->n;
  nnb_input_shape in = {d->c, d->h, d->w, d->classes};
  nnb_model m;
  nnb_status st = nnb_model_build(spec, &in, batch, 0, &m, e);
  if (st != NNB_OK) return st;
  nnb_session s;
  st = nnb_session_create(b, &m.g, &s, e);
  if (st != NNB_OK) {
    nnb_model_free(&m);
    return st;
  }
  int64_t per = (int64_t)d->c * d->h * d->w;
  int k = d->classes;
  float *x = calloc((size_t)(batch * per), sizeof *x), *lg = malloc((size_t)batch * k * sizeof *lg);
  int32_t *y = calloc((size_t)batch, sizeof *y);
  int64_t *idx = malloc((size_t)batch * sizeof *idx);
  out->logits = malloc((size_t)(d->n * k) * sizeof *out->logits);
  if (!x || !lg || !y || !idx || !out->logits) st = nnb_fail(e, NNB_ERR_NOMEM, "out of memory");
  if (st == NNB_OK) st = nnb_weights_to_session(&m, &s, w, e);
  int64_t correct = 0;
  double loss = 0;
  for (int64_t at = 0; st == NNB_OK && at < d->n; at += batch) {
    int64_t cnt = d->n - at < batch ? d->n - at : batch;
    for (int64_t i = 0; i < cnt; i++) idx[i] = at + i;
    memset(x, 0, (size_t)(batch * per) * sizeof *x); /* padding rows are zeros, then ignored */
    nnb_dataset_gather(d, idx, cnt, x, y);
    st = nnb_session_upload(&s, m.x, x, e);
    if (st == NNB_OK) st = nnb_session_run(&s, e);
    if (st == NNB_OK) st = nnb_session_download(&s, m.logits, lg, e);
    for (int64_t i = 0; st == NNB_OK && i < cnt; i++) {
      const float *row = lg + i * k;
      correct += argmax(row, k) == y[i];
      loss += ce_loss(row, k, y[i]);
      memcpy(out->logits + (at + i) * k, row, (size_t)k * sizeof *row);
    }
  }
  if (st == NNB_OK) {
    out->n = d->n;
    out->classes = k;
    out->accuracy = (double)correct / (double)d->n;
    out->mean_loss = loss / (double)d->n;
  } else {
    nnb_eval_result_free(out);
  }
  free(x), free(lg), free(y), free(idx);
  nnb_session_free(&s);
  nnb_model_free(&m);
  return st;
}

void nnb_eval_compare(const nnb_eval_result *a, const nnb_eval_result *ref, double *agreement,
                      double *max_abs_diff) {
  int64_t same = 0, n = a->n < ref->n ? a->n : ref->n;
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    const float *p = a->logits + i * a->classes, *q = ref->logits + i * ref->classes;
    same += argmax(p, a->classes) == argmax(q, ref->classes);
    for (int c = 0; c < a->classes; c++) {
      double dd = fabs((double)p[c] - (double)q[c]);
      if (!(dd <= worst)) worst = dd;
    }
  }
  *agreement = n ? (double)same / (double)n : 0;
  *max_abs_diff = worst;
}
