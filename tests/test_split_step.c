/* A training step split into gradients and updates (split_step.h) does
 * exactly what the whole step does, and leaves the gradients where they can
 * be read and replaced in between. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "split_step.h"
#include "testutil.h"
#include "weights.h"

static const nnb_input_shape in = {1, 8, 8, 10};

static void build(nnb_model *m, int with_opt) {
  nnb_model_spec spec;
  nnb_error e;
  nnb_opt_config opt = {NNB_OPT_ADAM, 1e-2f, 0, 0.9f, 0.999f, 1e-8f};
  cr_assert_eq(nnb_model_parse("mlp:hidden=16", &spec, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_model_build(&spec, &in, 4, 1, m, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_autodiff(&m->g, m->loss, with_opt ? &opt : NULL, NULL, &e), NNB_OK, "%s", e.msg);
}

/* Seeded inputs and labels into the session. */
static void feed(nnb_model *m, nnb_session *s, int step) {
  nnb_error e;
  float *x = tu_rand(100 + (uint64_t)step, 4 * 64, 0, 1);
  int32_t y[4] = {step % 10, (step + 3) % 10, (step + 5) % 10, 9};
  cr_assert_eq(nnb_session_upload(s, m->x, x, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_session_upload(s, m->labels, y, &e), NNB_OK, "%s", e.msg);
  free(x);
}

Test(split_step, the_halves_equal_the_whole_step) {
  nnb_backend b;
  nnb_error e;
  tu_open_reference(&b);
  nnb_model m;
  build(&m, 1);
  nnb_weights w;
  cr_assert_eq(nnb_weights_init(&m, 5, &w, &e), NNB_OK, "%s", e.msg);
  nnb_session whole;
  nnb_split_step split;
  cr_assert_eq(nnb_session_create(&b, &m.g, &whole, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_split_step_create(&b, &m.g, &split, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(split.n_params, m.n_params);
  cr_assert_eq(split.n_grads, m.n_params, "one gradient per parameter, found %d", split.n_grads);
  cr_assert_eq(split.grad_elems, split.param_elems);
  cr_assert_eq(nnb_weights_to_session(&m, &whole, &w, &e), NNB_OK);
  cr_assert_eq(nnb_weights_to_session(&m, &split.session, &w, &e), NNB_OK);
  float *g = malloc((size_t)split.grad_elems * sizeof *g);
  float *a = malloc((size_t)split.param_elems * sizeof *a);
  float *p = malloc((size_t)split.param_elems * sizeof *p);
  for (int step = 0; step < 3; step++) {
    feed(&m, &whole, step);
    feed(&m, &split.session, step);
    cr_assert_eq(nnb_session_run(&whole, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_split_step_grads(&split, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_split_step_get_grads(&split, g, &e), NNB_OK, "%s", e.msg);
    double norm = 0;
    for (int64_t i = 0; i < split.grad_elems; i++) norm += (double)g[i] * g[i];
    cr_assert_gt(norm, 0, "the gradients read between the halves are all zero");
    cr_assert_eq(nnb_split_step_put_grads(&split, g, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_split_step_update(&split, &e), NNB_OK, "%s", e.msg);
  }
  /* the parameters of both, element for element */
  nnb_split_step other = split; /* read the whole session's through the same tensor list */
  other.session = whole;
  cr_assert_eq(nnb_split_step_get_params(&other, a, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_split_step_get_params(&split, p, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(memcmp(a, p, (size_t)split.param_elems * sizeof *a), 0,
               "the split step's parameters differ from the whole step's");

  /* a gradient replaced between the halves is what the update uses */
  for (int64_t i = 0; i < split.grad_elems; i++) g[i] = 0;
  feed(&m, &split.session, 7);
  cr_assert_eq(nnb_split_step_grads(&split, &e), NNB_OK);
  cr_assert_eq(nnb_split_step_put_grads(&split, g, &e), NNB_OK);
  cr_assert_eq(nnb_split_step_update(&split, &e), NNB_OK);
  cr_assert_eq(nnb_split_step_get_params(&split, p, &e), NNB_OK);
  /* Adam with a zero gradient still moves by its momentum: the step must
   * differ from one with the real gradient, which the whole session takes */
  feed(&m, &whole, 7);
  cr_assert_eq(nnb_session_run(&whole, &e), NNB_OK);
  other.session = whole;
  cr_assert_eq(nnb_split_step_get_params(&other, a, &e), NNB_OK);
  cr_assert_neq(memcmp(a, p, (size_t)split.param_elems * sizeof *a), 0,
                "the update ignored the gradients written between the halves");
  free(g), free(a), free(p);
  nnb_split_step_free(&split);
  nnb_session_free(&whole);
  nnb_weights_free(&w);
  nnb_model_free(&m);
  nnb_backend_close(&b);
}

Test(split_step, refuses_a_graph_without_updates) {
  nnb_backend b;
  nnb_error e;
  tu_open_reference(&b);
  nnb_model m;
  build(&m, 0);
  nnb_split_step s;
  cr_assert_neq(nnb_split_step_create(&b, &m.g, &s, &e), NNB_OK);
  cr_assert(strstr(e.msg, "no optimizer update"), "%s", e.msg);
  nnb_model_free(&m);
  nnb_backend_close(&b);
}
