/* The conformance checker: the reference agrees with itself and with finite
 * differences; a plugin with known faults gets FAIL and UNSUPPORTED where
 * it should, never a pass it did not earn. */
#include <criterion/criterion.h>
#include <string.h>

#include <nnbench/nnbench.h>

#include "check.h"
#include "testutil.h"

static nnb_backend ref;
static void setup(void) { tu_open_reference(&ref); }
static void teardown(void) {
  nnb_backend_close(&ref);
  nnb_registry_unload();
}
TestSuite(check, .init = setup, .fini = teardown, .timeout = 300);

Test(check, every_op_builds_and_runs_on_the_reference) {
  for (int op = 0; op < NNB_OP_COUNT; op++) {
    nnb_check_result r;
    nnb_check_op(&ref, &ref, (nnb_op)op, 7, &r);
    cr_expect_eq(r.verdict, NNB_PASS, "%s: %s (%s)", nnb_op_name((nnb_op)op),
                 nnb_verdict_name(r.verdict), r.detail);
    cr_expect_eq(r.cases, nnb_check_variants((nnb_op)op), "%s ran %d cases",
                 nnb_op_name((nnb_op)op), r.cases);
    cr_expect_leq(r.nmse, 0.0, "%s: the same kernels must agree exactly", nnb_op_name((nnb_op)op));
  }
}

Test(check, reference_gradients_match_finite_differences) {
  for (int op = 0; op < NNB_OP_COUNT; op++) {
    nnb_check_result r;
    nnb_check_gradient(&ref, (nnb_op)op, 11, &r);
    if (nnb_op_is_update((nnb_op)op)) {
      cr_expect_eq(r.verdict, NNB_NOT_CHECKED, "%s", nnb_op_name((nnb_op)op));
      continue;
    }
    cr_expect_eq(r.verdict, NNB_PASS, "%s: %s", nnb_op_name((nnb_op)op), r.detail);
    cr_expect_gt(r.cases, 0, "%s ran no case", nnb_op_name((nnb_op)op));
  }
}

Test(check, faults_are_found) {
  nnb_error e;
  cr_assert_eq(nnb_registry_load_file(NNB_FIXTURE_DIR "/libnnb-faulty.so", &e), NNB_OK, "%s",
               e.msg);
  nnb_backend bad;
  nnb_backend_config cfg = {0};
  cr_assert_eq(nnb_backend_open("faulty", &cfg, &bad, &e), NNB_OK, "%s", e.msg);
  nnb_check_result r;

  nnb_check_op(&ref, &bad, NNB_OP_RELU, 1, &r);
  cr_expect_eq(r.verdict, NNB_PASS, "relu is right: %s", r.detail);

  nnb_check_op(&ref, &bad, NNB_OP_ADD, 1, &r);
  cr_expect_eq(r.verdict, NNB_FAIL, "add is wrong");
  cr_expect(strstr(r.detail, "NMSE"), "the message shows the error: %s", r.detail);
  cr_expect_gt(r.nmse, r.threshold);

  nnb_check_op(&ref, &bad, NNB_OP_FILL, 1, &r);
  cr_expect_eq(r.verdict, NNB_FAIL, "fill writes out of bounds");
  cr_expect(strstr(r.detail, "out-of-bounds"), "%s", r.detail);

  nnb_check_op(&ref, &bad, NNB_OP_MATMUL, 1, &r);
  cr_expect_eq(r.verdict, NNB_UNSUPPORTED);
  cr_expect(strstr(r.detail, "relu, add and fill only"), "the plugin's reason: %s", r.detail);
  nnb_backend_close(&bad);
}
