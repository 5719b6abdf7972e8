/* The openblas backend: every op against the reference on several seeds,
 * a whole training step of each model against the reference, what
 * describe() records, and the core-type choice as a pure function. Built
 * only when the plugin is (tests/CMakeLists.txt). */
#include <criterion/criterion.h>
#include <string.h>

#include <nnbench/nnbench.h>

#include "check.h"
#include "ob.h"
#include "testutil.h"
#include "weights.h"

static nnb_backend ref, ob;
static void setup(void) {
  nnb_error e;
  tu_open_reference(&ref);
  nnb_backend_config cfg = {.threads = 2};
  cr_assert_eq(nnb_backend_open("openblas", &cfg, &ob, &e), NNB_OK, "%s", e.msg);
}
static void teardown(void) {
  nnb_backend_close(&ob);
  nnb_backend_close(&ref);
  nnb_registry_unload();
}
TestSuite(openblas, .init = setup, .fini = teardown, .timeout = 300);

Test(openblas, every_op_matches_the_reference) {
  for (uint64_t seed = 1; seed <= 3; seed++)
    for (int op = 0; op < NNB_OP_COUNT; op++) {
      nnb_check_result r;
      nnb_check_op(&ref, &ob, (nnb_op)op, seed * 101, &r);
      cr_expect_eq(r.verdict, NNB_PASS, "%s seed %llu: %s (%s)", nnb_op_name((nnb_op)op),
                   (unsigned long long)seed, nnb_verdict_name(r.verdict), r.detail);
      cr_expect_gt(r.cases, 0, "%s ran no case", nnb_op_name((nnb_op)op));
    }
}

Test(openblas, describe_records_library_config_and_core_type) {
  nnb_backend_info info;
  nnb_error e;
  cr_assert_eq(ob.vt->describe(ob.ctx, &info, &e), NNB_OK, "%s", e.msg);
  cr_expect(strstr(info.library, "OpenBLAS"), "%s", info.library);
  const char *want[] = {"openblas_config", "core_type", "core_type_choice", "threading", "threads"};
  for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
    int found = 0;
    for (int i = 0; i < info.n_props; i++)
      found |= !strcmp(info.props[i].key, want[k]) && info.props[i].value[0];
    cr_expect(found, "describe() lacks %s", want[k]);
  }
  /* The default choice on this CPU, and what the library reports it runs. */
  char why[256];
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd") &&
               __builtin_cpu_supports("avx512vl");
  const char *mode = getenv("NNBENCH_OPENBLAS_CORETYPE");
  if (avx512 && (!mode || !strcmp(mode, "auto")))
    for (int i = 0; i < info.n_props; i++)
      if (!strcmp(info.props[i].key, "core_type"))
        cr_expect_str_eq(info.props[i].value, "SkylakeX", "an AVX-512 CPU gets AVX-512 kernels");
  cr_expect_not_null(ob_choose_coretype("auto", NULL, true, true, why, sizeof why));
}

Test(openblas, core_type_choice) {
  char why[256];
  cr_expect_str_eq(ob_choose_coretype("auto", NULL, true, true, why, sizeof why), "SkylakeX");
  cr_expect_str_eq(ob_choose_coretype("auto", "Haswell", true, true, why, sizeof why), "SkylakeX");
  cr_expect(strstr(why, "OPENBLAS_CORETYPE=Haswell overridden"), "%s", why);
  cr_expect_str_eq(ob_choose_coretype("auto", NULL, false, true, why, sizeof why), "Haswell");
  cr_expect_null(ob_choose_coretype("auto", NULL, false, false, why, sizeof why),
                 "without AVX2 the library detects the CPU itself");
  cr_expect_null(ob_choose_coretype("env", "Haswell", true, true, why, sizeof why),
                 "env keeps the environment's choice");
  cr_expect(strstr(why, "environment"), "%s", why);
  cr_expect_str_eq(ob_choose_coretype("Zen", NULL, true, true, why, sizeof why), "Zen");
  cr_expect(strstr(why, "coretype=Zen"), "%s", why);
}

/* Three steps of each model's whole training graph (SGD with momentum:
 * parameters move linearly with the gradients, so the comparison sees the
 * gradients' agreement; Adam's normalisation would magnify noise on
 * near-zero gradients): the same loss and parameters on both backends. */
Test(openblas, training_steps_match_the_reference, .timeout = 300) {
  const char *models[] = {"mlp", "cnn:c1=4,c2=8,c3=8,fc=16", "lstm:hidden=16",
                          "transformer:d=16,heads=2,ffn=32"};
  for (size_t k = 0; k < sizeof models / sizeof *models; k++) {
    double loss[2] = {0}, worst = 0;
    float *params[2] = {NULL, NULL};
    int64_t np = 0;
    for (int side = 0; side < 2; side++) {
      nnb_backend *b = side ? &ob : &ref;
      nnb_error e;
      nnb_model_spec spec;
      nnb_model m;
      nnb_input_shape in = {1, 28, 28, 10};
      cr_assert_eq(nnb_model_parse(models[k], &spec, &e), NNB_OK, "%s", e.msg);
      cr_assert_eq(nnb_model_build(&spec, &in, 4, 1, &m, &e), NNB_OK, "%s", e.msg);
      nnb_opt_config opt = {NNB_OPT_SGD, 0.05f, 0.9f, 0, 0, 0};
      cr_assert_eq(nnb_autodiff(&m.g, m.loss, &opt, NULL, &e), NNB_OK, "%s", e.msg);
      nnb_session s;
      cr_assert_eq(nnb_session_create(b, &m.g, &s, &e), NNB_OK, "%s", e.msg);
      nnb_weights w = {0};
      cr_assert_eq(nnb_weights_init(&m, 3, &w, &e), NNB_OK, "%s", e.msg);
      cr_assert_eq(nnb_weights_to_session(&m, &s, &w, &e), NNB_OK, "%s", e.msg);
      float *x = tu_rand(5, 4 * 784, 0, 1);
      int32_t y[4] = {1, 7, 3, 9};
      cr_assert_eq(nnb_session_upload(&s, m.x, x, &e), NNB_OK, "%s", e.msg);
      cr_assert_eq(nnb_session_upload(&s, m.labels, y, &e), NNB_OK, "%s", e.msg);
      for (int step = 0; step < 3; step++)
        cr_assert_eq(nnb_session_run(&s, &e), NNB_OK, "%s", e.msg);
      float l;
      cr_assert_eq(nnb_session_download(&s, m.loss, &l, &e), NNB_OK, "%s", e.msg);
      loss[side] = l;
      nnb_weights after = {0};
      cr_assert_eq(nnb_weights_from_session(&m, &s, &after, &e), NNB_OK, "%s", e.msg);
      np = 0;
      for (int i = 0; i < after.n; i++) np += nnb_numel(&m.g.tensors[m.params[i].tensor]);
      params[side] = malloc((size_t)np * sizeof(float));
      for (int i = 0, at = 0; i < after.n; i++) {
        int64_t n = nnb_numel(&m.g.tensors[m.params[i].tensor]);
        memcpy(params[side] + at, after.data[i], (size_t)n * sizeof(float));
        at += (int)n;
      }
      free(x);
      nnb_weights_free(&after);
      nnb_weights_free(&w);
      nnb_session_free(&s);
      nnb_model_free(&m);
    }
    worst = tu_max_rel_err(params[1], params[0], (size_t)np);
    cr_expect_float_eq(loss[1], loss[0], 1e-4 * (1 + loss[0]), "%s: loss %g vs reference %g",
                       models[k], loss[1], loss[0]);
    cr_expect_lt(worst, 1e-4, "%s: parameters after 3 SGD steps differ by %g", models[k], worst);
    free(params[0]);
    free(params[1]);
  }
}

/* Inference graphs, where a ReLU right after a matmul or convolution is
 * fused into it: the same logits as the reference. */
Test(openblas, inference_with_fused_relu_matches_the_reference) {
  const char *models[] = {"mlp", "mlp:hidden=24,layers=2", "cnn:c1=4,c2=8,c3=8,fc=16"};
  for (size_t k = 0; k < sizeof models / sizeof *models; k++) {
    float logits[2][8 * 10];
    for (int side = 0; side < 2; side++) {
      nnb_error e;
      nnb_model_spec spec;
      nnb_model m;
      nnb_input_shape in = {1, 28, 28, 10};
      cr_assert_eq(nnb_model_parse(models[k], &spec, &e), NNB_OK, "%s", e.msg);
      cr_assert_eq(nnb_model_build(&spec, &in, 8, 0, &m, &e), NNB_OK, "%s", e.msg);
      nnb_session s;
      cr_assert_eq(nnb_session_create(side ? &ob : &ref, &m.g, &s, &e), NNB_OK, "%s", e.msg);
      cr_assert_eq(nnb_model_init_session(&m, &s, 9, &e), NNB_OK, "%s", e.msg);
      float *x = tu_rand(4, 8 * 784, 0, 1);
      cr_assert_eq(nnb_session_upload(&s, m.x, x, &e), NNB_OK, "%s", e.msg);
      cr_assert_eq(nnb_session_run(&s, &e), NNB_OK, "%s", e.msg);
      cr_assert_eq(nnb_session_download(&s, m.logits, logits[side], &e), NNB_OK, "%s", e.msg);
      free(x);
      nnb_session_free(&s);
      nnb_model_free(&m);
    }
    double err = tu_max_rel_err(logits[1], logits[0], 80);
    cr_expect_lt(err, 1e-5, "%s: logits differ by %g", models[k], err);
  }
}
