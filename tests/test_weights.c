/* Checkpoints: a model's parameters saved as safetensors under PyTorch's
 * names load back exactly; a file that lacks a parameter, holds one of
 * another shape, holds an unknown tensor (strict loading) or belongs to
 * another model is refused with a message naming the file and the tensor.
 * Initial values follow PyTorch's default initialisation. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "safetensors.h"
#include "weights.h"

static const nnb_input_shape mnist = {1, 28, 28, 10};
static char path[64];

static void setup(void) {
  snprintf(path, sizeof path, "/tmp/nnb-weights-XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  close(fd);
}
static void teardown(void) { remove(path); }
TestSuite(weights, .init = setup, .fini = teardown);

static void build(const char *text, nnb_model *m) {
  nnb_model_spec s;
  nnb_error e;
  cr_assert_eq(nnb_model_parse(text, &s, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_model_build(&s, &mnist, 1, 0, m, &e), NNB_OK, "%s", e.msg);
}

Test(weights, save_then_load_is_exact_for_every_model) {
  const char *kinds[] = {"mlp", "cnn", "lstm", "transformer"};
  for (int k = 0; k < 4; k++) {
    nnb_model m;
    build(kinds[k], &m);
    nnb_weights w, back;
    nnb_error e;
    cr_assert_eq(nnb_weights_init(&m, 11, &w, &e), NNB_OK, "%s", e.msg);
    const char *const meta[][2] = {{"model", m.spec.text}};
    cr_assert_eq(nnb_weights_save(&m, &w, path, meta, 1, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_weights_load(&m, path, 1, &back, &e), NNB_OK, "%s: %s", kinds[k], e.msg);
    cr_assert_eq(back.n, m.n_params);
    for (int i = 0; i < m.n_params; i++) {
      const nnb_tensor_desc *d = &m.g.tensors[m.params[i].tensor];
      cr_expect_eq(memcmp(w.data[i], back.data[i], nnb_nbytes(d)), 0, "%s: %s differs", kinds[k],
                   d->name);
    }
    nnb_weights_free(&w);
    nnb_weights_free(&back);
    nnb_model_free(&m);
  }
}

/* PyTorch's default initialisation, written out from its documentation:
 * (bound, constant?) for a parameter of a seed model. */
static double torch_bound(const nnb_model *m, const char *name, int *constant) {
  *constant = 0;
  if (!strcmp(name, "pos") || strstr(name, "in_proj_bias") || strstr(name, "out_proj.bias") ||
      (strstr(name, "norm") && strstr(name, ".bias")))
    return *constant = 1, 0.0;
  if (strstr(name, "norm") && strstr(name, ".weight")) return *constant = 1, 1.0;
  if (!strncmp(name, "lstm.", 5)) return 1 / sqrt((double)m->spec.hidden);
  if (strstr(name, "in_proj_weight")) return sqrt(6.0 / (m->spec.d + 3.0 * m->spec.d));
  /* Linear and Conv2d, weight and bias: U(+-1/sqrt(fan_in)) of the weight */
  char w[NNB_NAME_LEN];
  snprintf(w, sizeof w, "%.*s.weight", (int)(strrchr(name, '.') - name), name);
  const nnb_tensor_desc *d = &m->g.tensors[nnb_graph_find(&m->g, w)];
  return 1 / sqrt((double)(nnb_numel(d) / d->dims[0]));
}

Test(weights, initialisation_is_pytorchs_default) {
  const char *kinds[] = {"mlp", "cnn", "lstm", "transformer"};
  for (int k = 0; k < 4; k++) {
    nnb_model m;
    build(kinds[k], &m);
    nnb_weights a, b, c;
    nnb_error e;
    cr_assert_eq(nnb_weights_init(&m, 1, &a, &e), NNB_OK);
    cr_assert_eq(nnb_weights_init(&m, 1, &b, &e), NNB_OK);
    cr_assert_eq(nnb_weights_init(&m, 2, &c, &e), NNB_OK);
    for (int i = 0; i < m.n_params; i++) {
      const nnb_tensor_desc *d = &m.g.tensors[m.params[i].tensor];
      int64_t n = nnb_numel(d);
      int constant;
      double bound = torch_bound(&m, d->name, &constant), lo = INFINITY, hi = -INFINITY, sum = 0;
      for (int64_t j = 0; j < n; j++) {
        lo = fmin(lo, a.data[i][j]), hi = fmax(hi, a.data[i][j]), sum += a.data[i][j];
        cr_assert(constant ? a.data[i][j] == bound : fabs(a.data[i][j]) <= bound,
                  "%s %s[%lld] = %g, bound %g", kinds[k], d->name, (long long)j, a.data[i][j],
                  bound);
      }
      cr_expect_eq(memcmp(a.data[i], b.data[i], nnb_nbytes(d)), 0, "%s: same seed", d->name);
      if (constant) continue;
      cr_expect_neq(memcmp(a.data[i], c.data[i], nnb_nbytes(d)), 0, "%s: other seed", d->name);
      if (n >= 64) /* uniform over the whole range, centred */
        cr_expect(hi > 0.9 * bound && lo < -0.9 * bound && fabs(sum / (double)n) < 0.2 * bound,
                  "%s %s: range [%g, %g], mean %g, bound %g", kinds[k], d->name, lo, hi,
                  sum / (double)n, bound);
    }
    nnb_weights_free(&a), nnb_weights_free(&b), nnb_weights_free(&c);
    nnb_model_free(&m);
  }
}

/* Writes mlp's parameters, with `drop` left out, `reshape` given another
 * shape and `extra` added (each may be NULL). */
static void write_mlp(const char *drop, const char *reshape, const char *extra) {
  nnb_model m;
  build("mlp", &m);
  nnb_weights w;
  nnb_error e;
  cr_assert_eq(nnb_weights_init(&m, 3, &w, &e), NNB_OK);
  nnb_st_entry en[8];
  int64_t dims[8][NNB_MAX_RANK];
  int n = 0;
  for (int i = 0; i < m.n_params; i++) {
    const nnb_tensor_desc *d = &m.g.tensors[m.params[i].tensor];
    if (drop && !strcmp(d->name, drop)) continue;
    memcpy(dims[n], d->dims, sizeof dims[n]);
    if (reshape && !strcmp(d->name, reshape)) dims[n][d->rank - 1]--;
    en[n] = (nnb_st_entry){d->name, d->rank, dims[n], w.data[i]};
    n++;
  }
  static const int64_t one[1] = {1};
  if (extra) en[n++] = (nnb_st_entry){extra, 1, one, w.data[0]};
  cr_assert_eq(nnb_st_write(path, en, n, NULL, 0, &e), NNB_OK, "%s", e.msg);
  nnb_weights_free(&w);
  nnb_model_free(&m);
}

static void expect_refused(int strict, const char *phrase) {
  nnb_model m;
  build("mlp", &m);
  nnb_weights w;
  nnb_error e = {{0}};
  cr_expect_eq(nnb_weights_load(&m, path, strict, &w, &e), NNB_ERR_FORMAT, "%s", phrase);
  cr_expect(strstr(e.msg, path), "message '%s' does not name the file", e.msg);
  cr_expect(strstr(e.msg, phrase), "message '%s' does not say '%s'", e.msg, phrase);
  cr_expect(w.data == NULL && w.n == 0);
  nnb_model_free(&m);
}

Test(weights, missing_parameter) {
  write_mlp("fc2.bias", NULL, NULL);
  expect_refused(0, "no tensor 'fc2.bias', which model mlp:hidden=128,layers=1 needs");
}

Test(weights, wrong_shape) {
  write_mlp(NULL, "fc1.weight", NULL);
  expect_refused(0, "'fc1.weight' is [128,783], model mlp:hidden=128,layers=1 needs [128,784]");
}

Test(weights, unknown_tensor_only_in_strict_loading) {
  write_mlp(NULL, NULL, "fc3.weight");
  expect_refused(1, "unexpected tensor 'fc3.weight' (model mlp:hidden=128,layers=1 has no such");
  nnb_model m;
  build("mlp", &m);
  nnb_weights w;
  nnb_error e;
  cr_expect_eq(nnb_weights_load(&m, path, 0, &w, &e), NNB_OK, "non-strict: %s", e.msg);
  nnb_weights_free(&w);
  nnb_model_free(&m);
}

Test(weights, another_models_checkpoint_says_which_model_it_holds) {
  nnb_model c;
  build("cnn", &c);
  nnb_weights w;
  nnb_error e;
  cr_assert_eq(nnb_weights_init(&c, 1, &w, &e), NNB_OK);
  const char *const meta[][2] = {{"model", c.spec.text}};
  cr_assert_eq(nnb_weights_save(&c, &w, path, meta, 1, &e), NNB_OK, "%s", e.msg);
  nnb_weights_free(&w);
  nnb_model_free(&c);
  expect_refused(1, "'fc1.weight' is [64,576], model mlp:hidden=128,layers=1 needs [128,784] "
                    "(the file's metadata says it holds model cnn:c1=32,c2=64,c3=64,fc=64)");
  /* the same model at other sizes */
  nnb_model big;
  build("mlp:hidden=64", &big);
  cr_assert_eq(nnb_weights_init(&big, 1, &w, &e), NNB_OK);
  const char *const meta2[][2] = {{"model", big.spec.text}};
  cr_assert_eq(nnb_weights_save(&big, &w, path, meta2, 1, &e), NNB_OK, "%s", e.msg);
  nnb_weights_free(&w);
  nnb_model_free(&big);
  expect_refused(1, "holds model mlp:hidden=64,layers=1");
}

Test(weights, not_a_checkpoint) {
  FILE *f = fopen(path, "wb");
  fputs("not safetensors", f);
  fclose(f);
  nnb_model m;
  build("mlp", &m);
  nnb_weights w;
  nnb_error e = {{0}};
  cr_expect_neq(nnb_weights_load(&m, path, 1, &w, &e), NNB_OK);
  cr_expect(strstr(e.msg, path), "%s", e.msg);
  remove(path);
  cr_expect_eq(nnb_weights_load(&m, path, 1, &w, &e), NNB_ERR_IO);
  cr_expect(strstr(e.msg, path) && strstr(e.msg, "cannot open"), "%s", e.msg);
  nnb_model_free(&m);
}
