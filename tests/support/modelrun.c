/* Whole-model runs for the backend tests (modelrun.h). */
#include "modelrun.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "evaluate.h"
#include "safetensors.h"
#include "testutil.h"
#include "weights.h"

void mr_start(mr_run *r, nnb_backend *b, const char *spec, int batch, int train) {
  nnb_error e = {{0}};
  nnb_model_spec sp;
  cr_assert_eq(nnb_model_parse(spec, &sp, &e), NNB_OK, "%s", e.msg);
  nnb_input_shape in = {1, 28, 28, 10};
  cr_assert_eq(nnb_model_build(&sp, &in, batch, train, &r->m, &e), NNB_OK, "%s", e.msg);
  r->grad = NULL;
  if (train) {
    r->grad = malloc((size_t)r->m.g.n_tensors * sizeof *r->grad);
    cr_assert_eq(nnb_autodiff(&r->m.g, r->m.loss, NULL, r->grad, &e), NNB_OK, "%s", e.msg);
    for (int i = 0; i < r->m.n_params; i++)
      nnb_graph_mark_output(&r->m.g, r->grad[r->m.params[i].tensor]);
  }
  nnb_graph_mark_output(&r->m.g, train ? r->m.loss : r->m.logits);
  cr_assert_eq(nnb_session_create(b, &r->m.g, &r->s, &e), NNB_OK, "%s: %s", spec, e.msg);
  nnb_weights w;
  cr_assert_eq(nnb_weights_init(&r->m, 5, &w, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_weights_to_session(&r->m, &r->s, &w, &e), NNB_OK, "%s", e.msg);
  nnb_weights_free(&w);
  size_t nx = (size_t)batch * 28 * 28;
  float *x = tu_rand(9, nx, 0.0f, 1.0f);
  cr_assert_eq(nnb_session_upload(&r->s, r->m.x, x, &e), NNB_OK, "%s", e.msg);
  free(x);
  if (train) {
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    for (int i = 0; i < batch; i++) labels[i] = (i * 7 + 3) % 10;
    cr_assert_eq(nnb_session_upload(&r->s, r->m.labels, labels, &e), NNB_OK, "%s", e.msg);
    free(labels);
  }
}

void mr_stop(mr_run *r) {
  nnb_session_free(&r->s);
  nnb_model_free(&r->m);
  free(r->grad);
}

float *mr_fetch(mr_run *r, int t) {
  nnb_error e = {{0}};
  float *v = malloc(nnb_nbytes(&r->m.g.tensors[t]));
  cr_assert_eq(nnb_session_download(&r->s, t, v, &e), NNB_OK, "%s", e.msg);
  return v;
}

void mr_step(mr_run *r) {
  nnb_error e = {{0}};
  cr_assert_eq(nnb_session_run(&r->s, &e), NNB_OK, "%s", e.msg);
}

double mr_nmse(const float *a, const float *b, int64_t n) {
  double num = 0, den = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = (double)a[i] - (double)b[i];
    num += d * d;
    den += (double)b[i] * b[i];
  }
  return den > 0 ? num / den : num;
}

void mr_expect_train_agrees(nnb_backend *ref, nnb_backend *b, const char *spec, int batch) {
  mr_run a, c;
  mr_start(&a, ref, spec, batch, 1);
  mr_start(&c, b, spec, batch, 1);
  mr_step(&a);
  mr_step(&c), mr_step(&c);
  float *la = mr_fetch(&a, a.m.loss), *lc = mr_fetch(&c, c.m.loss);
  cr_expect(fabsf(la[0] - lc[0]) <= 1e-5f * fabsf(la[0]), "%s: loss %.7g vs %.7g", spec, lc[0],
            la[0]);
  free(la), free(lc);
  for (int i = 0; i < a.m.n_params; i++) {
    int t = a.m.params[i].tensor;
    float *ga = mr_fetch(&a, a.grad[t]), *gc = mr_fetch(&c, c.grad[t]);
    double err = mr_nmse(gc, ga, nnb_numel(&a.m.g.tensors[t]));
    cr_expect_leq(err, 1e-6, "%s: gradient of %s: NMSE %.3g", spec, a.m.g.tensors[t].name, err);
    free(ga), free(gc);
  }
  mr_stop(&a), mr_stop(&c);
}

double mr_pytorch_logit_error(nnb_backend *b, const char *kind) {
  char path[512], io[512];
  snprintf(path, sizeof path, "%s/tests/fixtures/pytorch/%s.safetensors", NNB_SOURCE_DIR, kind);
  snprintf(io, sizeof io, "%s/tests/fixtures/pytorch/%s.io.safetensors", NNB_SOURCE_DIR, kind);
  nnb_safetensors st;
  nnb_error e = {{0}};
  cr_assert_eq(nnb_st_read(io, &st, &e), NNB_OK, "%s", e.msg);
  const nnb_st_tensor *xin = nnb_st_find(&st, "input"), *want = nnb_st_find(&st, "expected_logits");
  cr_assert(xin && want, "%s lacks input or expected_logits", io);
  nnb_model_spec sp;
  cr_assert_eq(nnb_model_parse(kind, &sp, &e), NNB_OK, "%s", e.msg);
  nnb_input_shape in = {1, 28, 28, 10};
  nnb_model m;
  cr_assert_eq(nnb_model_build(&sp, &in, (int)xin->dims[0], 0, &m, &e), NNB_OK, "%s", e.msg);
  nnb_weights w;
  cr_assert_eq(nnb_weights_load(&m, path, 1, &w, &e), NNB_OK, "%s", e.msg);
  nnb_session s;
  cr_assert_eq(nnb_session_create(b, &m.g, &s, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_weights_to_session(&m, &s, &w, &e), NNB_OK, "%s", e.msg);
  int64_t nx = nnb_numel(&m.g.tensors[m.x]), nl = nnb_numel(&m.g.tensors[m.logits]);
  float *x = malloc((size_t)nx * 4), *got = malloc((size_t)nl * 4), *exp_ = malloc((size_t)nl * 4);
  nnb_st_copy(&st, xin, x);
  nnb_st_copy(&st, want, exp_);
  cr_assert_eq(nnb_session_upload(&s, m.x, x, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_session_run(&s, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_session_download(&s, m.logits, got, &e), NNB_OK, "%s", e.msg);
  double worst = 0;
  for (int64_t k = 0; k < nl; k++) worst = fmax(worst, fabs((double)got[k] - exp_[k]));
  free(x), free(got), free(exp_);
  nnb_session_free(&s);
  nnb_weights_free(&w);
  nnb_model_free(&m);
  nnb_st_free(&st);
  return worst;
}

static double meta_number(const nnb_safetensors *st, const char *path, const char *key) {
  for (int i = 0; i < st->n_meta; i++)
    if (!strcmp(st->meta[i][0], key)) return atof(st->meta[i][1]);
  cr_assert_fail("%s: no metadata '%s' (scripts/make_fixtures.py writes it)", path, key);
  return 0;
}

void mr_expect_pytorch_accuracy(nnb_backend *b, const char *kind) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/fixtures/pytorch/%s.safetensors", NNB_SOURCE_DIR, kind);
  nnb_safetensors st;
  nnb_error e = {{0}};
  cr_assert_eq(nnb_st_read(path, &st, &e), NNB_OK, "%s", e.msg);
  double want_acc = meta_number(&st, path, "pytorch_test_accuracy");
  double want_loss = meta_number(&st, path, "pytorch_test_mean_loss");
  int64_t images = (int64_t)meta_number(&st, path, "test_images");
  nnb_st_free(&st);
  nnb_dataset d;
  cr_assert_eq(nnb_dataset_open("fashion-mnist", 1, 0, &d, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(d.n, images, "%s: PyTorch measured %lld test images, the dataset holds %lld", path,
               (long long)images, (long long)d.n);
  nnb_model_spec sp;
  cr_assert_eq(nnb_model_parse(kind, &sp, &e), NNB_OK, "%s", e.msg);
  nnb_input_shape in = {d.c, d.h, d.w, d.classes};
  nnb_model m;
  cr_assert_eq(nnb_model_build(&sp, &in, 1, 0, &m, &e), NNB_OK, "%s", e.msg);
  nnb_weights w;
  cr_assert_eq(nnb_weights_load(&m, path, 1, &w, &e), NNB_OK, "%s", e.msg);
  nnb_eval_result r;
  cr_assert_eq(nnb_evaluate(&sp, b, &w, &d, 256, &r, &e), NNB_OK, "%s", e.msg);
  /* a random model has near ties: float rounding may flip a few argmaxes */
  cr_expect_leq(fabs(r.accuracy - want_acc) * (double)images, 3.0,
                "%s: accuracy %.4f, PyTorch's %.4f", kind, r.accuracy, want_acc);
  cr_expect_leq(fabs(r.mean_loss - want_loss), 1e-4 * want_loss,
                "%s: mean loss %.7f, PyTorch's %.7f", kind, r.mean_loss, want_loss);
  nnb_eval_result_free(&r);
  nnb_weights_free(&w);
  nnb_model_free(&m);
  nnb_dataset_free(&d);
}
