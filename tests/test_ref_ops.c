/* Worked examples for the reference's forward and update ops, computed by
 * hand; the backward ops are checked against finite differences
 * (test_check.c, test_autodiff.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include <nnbench/nnbench.h>

#include "testutil.h"

static nnb_backend ref;
static nnb_graph g;
static void setup(void) {
  tu_open_reference(&ref);
  nnb_graph_init(&g);
}
static void teardown(void) {
  nnb_graph_free(&g);
  nnb_backend_close(&ref);
  nnb_registry_unload();
}
TestSuite(ref_ops, .init = setup, .fini = teardown);

/* Runs g with the given leaf values (NULL-terminated pairs) and returns out's values. */
static void run(int out, float *got, int n_leaves, const int *leaves, const float *const *values) {
  nnb_graph_mark_output(&g, out);
  nnb_session s;
  nnb_error e;
  cr_assert_eq(nnb_session_create(&ref, &g, &s, &e), NNB_OK, "%s", e.msg);
  for (int i = 0; i < n_leaves; i++) nnb_session_upload(&s, leaves[i], values[i], &e);
  cr_assert_eq(nnb_session_run(&s, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_session_download(&s, out, got, &e), NNB_OK, "%s", e.msg);
  nnb_session_free(&s);
}

static void expect(const float *got, const float *want, int n, double tol) {
  for (int i = 0; i < n; i++)
    cr_expect_float_eq(got[i], want[i], tol, "element %d: got %.7g, want %.7g", i, got[i], want[i]);
}

Test(ref_ops, matmul_with_bias_and_transposes) {
  int a = nnb_tensor_f32(&g, "a", NNB_ROLE_INPUT, 2, (int64_t)2, (int64_t)3);
  int b = nnb_tensor_f32(&g, "b", NNB_ROLE_INPUT, 2, (int64_t)2, (int64_t)3); /* [N,K]: trans_b */
  int bias = nnb_tensor_f32(&g, "bias", NNB_ROLE_INPUT, 1, (int64_t)2);
  int c = nnb_matmul(&g, a, b, bias, 0, 1, "c");
  float av[] = {1, 2, 3, 4, 5, 6}, bv[] = {1, 0, -1, 2, 1, 0}, biasv[] = {10, 20}, got[4];
  run(c, got, 3, (int[]){a, b, bias}, (const float *const[]){av, bv, biasv});
  /* row 1: (1-3)+10, (2+2)+20; row 2: (4-6)+10, (8+5)+20 */
  expect(got, (float[]){8, 24, 8, 33}, 4, 0);
}

Test(ref_ops, batched_matmul_transposed_a) {
  int a =
      nnb_tensor_f32(&g, "a", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)2, (int64_t)1); /* [B,K,M] */
  int b =
      nnb_tensor_f32(&g, "b", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)2, (int64_t)1); /* [B,K,N] */
  int c = nnb_matmul(&g, a, b, -1, 1, 0, "c");
  float av[] = {1, 2, 3, 4}, bv[] = {5, 6, 7, 8}, got[2];
  run(c, got, 2, (int[]){a, b}, (const float *const[]){av, bv});
  expect(got, (float[]){1 * 5 + 2 * 6, 3 * 7 + 4 * 8}, 2, 0);
}

Test(ref_ops, conv2d_stride_and_padding) {
  int x =
      nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 4, (int64_t)1, (int64_t)1, (int64_t)3, (int64_t)3);
  int w =
      nnb_tensor_f32(&g, "w", NNB_ROLE_INPUT, 4, (int64_t)1, (int64_t)1, (int64_t)2, (int64_t)2);
  int bias = nnb_tensor_f32(&g, "bias", NNB_ROLE_INPUT, 1, (int64_t)1);
  int y = nnb_conv2d(&g, x, w, bias, 2, 1, "conv"); /* padded 5x5, stride 2: 2x2 out */
  float xv[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, wv[] = {1, 2, 3, 4}, bv[] = {0.5f}, got[4];
  run(y, got, 3, (int[]){x, w, bias}, (const float *const[]){xv, wv, bv});
  /* windows at padded (0,0): only x00 under w11 = 4; (0,2): x01*3 + x02*4 = 6+12;
   * (2,0): x10*2 + x20*4 = 8+28; (2,2): x11*1 + x12*2 + x21*3 + x22*4 = 5+12+24+36 */
  expect(got, (float[]){4.5f, 18.5f, 36.5f, 77.5f}, 4, 0);
}

Test(ref_ops, maxpool_floor_and_first_maximum) {
  int x =
      nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 4, (int64_t)1, (int64_t)1, (int64_t)3, (int64_t)3);
  int y = nnb_maxpool2d(&g, x, 2, 2, "pool"); /* 3x3 -> 1x1 (floor) */
  float xv[] = {1, 7, 0, 3, 2, 9, 8, 8, 8}, got[1];
  run(y, got, 1, (int[]){x}, (const float *const[]){xv});
  expect(got, (float[]){7}, 1, 0);
}

Test(ref_ops, activations) {
  const nnb_op ops[] = {NNB_OP_RELU, NNB_OP_GELU, NNB_OP_TANH, NNB_OP_SIGMOID};
  float xv[] = {-2, 0, 1.5f}, got[3];
  for (int k = 0; k < 4; k++) {
    nnb_graph_free(&g);
    nnb_graph_init(&g);
    int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 1, (int64_t)3);
    int y = nnb_unary(&g, ops[k], x, "act");
    run(y, got, 1, (int[]){x}, (const float *const[]){xv});
    for (int i = 0; i < 3; i++) {
      double v = xv[i], want = k == 0   ? fmax(v, 0)
                               : k == 1 ? 0.5 * v * (1 + erf(v / sqrt(2.0)))
                               : k == 2 ? tanh(v)
                                        : 1 / (1 + exp(-v));
      cr_expect_float_eq(got[i], want, 1e-6, "%s(%g) = %g, want %g", nnb_op_name(ops[k]), v, got[i],
                         want);
    }
  }
}

Test(ref_ops, gelu_is_the_erf_form) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 1, (int64_t)1);
  int y = nnb_unary(&g, NNB_OP_GELU, x, "gelu");
  float xv[] = {1.0f}, got[1];
  run(y, got, 1, (int[]){x}, (const float *const[]){xv});
  cr_expect_float_eq(got[0], 0.8413447f, 1e-6, "gelu(1) = %.7f (the tanh form gives 0.8411920)",
                     got[0]);
}

Test(ref_ops, add_and_mul_broadcast) {
  int a = nnb_tensor_f32(&g, "a", NNB_ROLE_INPUT, 2, (int64_t)2, (int64_t)3);
  int col = nnb_tensor_f32(&g, "col", NNB_ROLE_INPUT, 2, (int64_t)2, (int64_t)1);
  int row = nnb_tensor_f32(&g, "row", NNB_ROLE_INPUT, 1, (int64_t)3);
  int y = nnb_binary(&g, NNB_OP_MUL, nnb_binary(&g, NNB_OP_ADD, a, row, "add"), col, "mul");
  float av[] = {1, 2, 3, 4, 5, 6}, cv[] = {10, -1}, rv[] = {1, 1, 2}, got[6];
  run(y, got, 3, (int[]){a, col, row}, (const float *const[]){av, cv, rv});
  expect(got, (float[]){20, 30, 50, -5, -6, -8}, 6, 0);
}

Test(ref_ops, softmax_is_stable) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)2, (int64_t)2);
  int y = nnb_softmax(&g, x, "softmax");
  float xv[] = {0, 0, 1000, 1001}, got[4]; /* exp(1000) overflows unless the max is subtracted */
  run(y, got, 1, (int[]){x}, (const float *const[]){xv});
  float e1 = (float)(1 / (1 + M_E)), e2 = (float)(M_E / (1 + M_E));
  expect(got, (float[]){0.5f, 0.5f, e1, e2}, 4, 1e-6);
}

Test(ref_ops, layernorm_biased_variance) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)1, (int64_t)4);
  int gm = nnb_tensor_f32(&g, "gamma", NNB_ROLE_INPUT, 1, (int64_t)4);
  int bt = nnb_tensor_f32(&g, "beta", NNB_ROLE_INPUT, 1, (int64_t)4);
  int y = nnb_layernorm(&g, x, gm, bt, 1e-5f, "ln");
  float xv[] = {1, 2, 3, 4}, gv[] = {1, 1, 2, 2}, bv[] = {0, 0, 0, 1}, got[4];
  run(y, got, 3, (int[]){x, gm, bt}, (const float *const[]){xv, gv, bv});
  double rstd = 1 / sqrt(1.25 + 1e-5); /* mean 2.5, population variance 1.25 */
  expect(got,
         (float[]){(float)(-1.5 * rstd), (float)(-0.5 * rstd), (float)(1.0 * rstd),
                   (float)(3.0 * rstd + 1)},
         4, 1e-6);
}

Test(ref_ops, permute_slice_mean) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)2, (int64_t)2);
  int p = nnb_permute(&g, x, (int[]){2, 0, 1}, "perm");
  float xv[] = {0, 1, 2, 3, 4, 5, 6, 7}, got[8];
  run(p, got, 1, (int[]){x}, (const float *const[]){xv});
  expect(got, (float[]){0, 2, 4, 6, 1, 3, 5, 7}, 8, 0); /* y[k][i][j] = x[i][j][k] */
  nnb_graph_free(&g);
  nnb_graph_init(&g);
  x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)2, (int64_t)2);
  int s = nnb_slice(&g, x, 1, 1, 1, "last");
  run(s, got, 1, (int[]){x}, (const float *const[]){xv});
  expect(got, (float[]){2, 3, 6, 7}, 4, 0);
  nnb_graph_free(&g);
  nnb_graph_init(&g);
  x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)2, (int64_t)2);
  int m = nnb_mean(&g, x, 1, "mean");
  run(m, got, 1, (int[]){x}, (const float *const[]){xv});
  expect(got, (float[]){1, 2, 5, 6}, 4, 0);
}

Test(ref_ops, lstm_one_step_by_hand) {
  /* B=1, T=1, I=1, H=1: z = w_ih*x + b_ih + b_hh (h0 = 0), c = i*g (c0 = 0), h = o*tanh(c) */
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 3, (int64_t)1, (int64_t)1, (int64_t)1);
  int wih = nnb_tensor_f32(&g, "wih", NNB_ROLE_INPUT, 2, (int64_t)4, (int64_t)1);
  int whh = nnb_tensor_f32(&g, "whh", NNB_ROLE_INPUT, 2, (int64_t)4, (int64_t)1);
  int bih = nnb_tensor_f32(&g, "bih", NNB_ROLE_INPUT, 1, (int64_t)4);
  int bhh = nnb_tensor_f32(&g, "bhh", NNB_ROLE_INPUT, 1, (int64_t)4);
  int y = nnb_lstm(&g, x, wih, whh, bih, bhh, "lstm");
  float xv[] = {2}, wi[] = {0.5f, -1, 0.25f, 1}, wh[] = {9, 9, 9, 9}, bi[] = {0, 1, 0, 0},
        bh[] = {0.5f, 0, 0, -1}, got[1];
  run(y, got, 5, (int[]){x, wih, whh, bih, bhh}, (const float *const[]){xv, wi, wh, bi, bh});
  double i = 1 / (1 + exp(-1.5)), gg = tanh(0.5), o = 1 / (1 + exp(-1.0)), c = i * gg;
  cr_expect_float_eq(got[0], o * tanh(c), 1e-6, "h = %g, want %g", got[0], o * tanh(c));
}

Test(ref_ops, attention_single_token_returns_v) {
  int qkv = nnb_tensor_f32(&g, "qkv", NNB_ROLE_INPUT, 3, (int64_t)1, (int64_t)1, (int64_t)6);
  int y = nnb_attention(&g, qkv, 2, 0, "attn");
  float v[] = {1, 2, 3, 4, 7, -8}, got[2];
  run(y, got, 1, (int[]){qkv}, (const float *const[]){v});
  expect(got, (float[]){7, -8}, 2, 0);
}

Test(ref_ops, softmax_cross_entropy) {
  int lg = nnb_tensor_f32(&g, "logits", NNB_ROLE_INPUT, 2, (int64_t)2, (int64_t)2);
  int lb = nnb_tensor(&g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, (int64_t[]){2});
  int loss = nnb_softmax_ce(&g, lg, lb, "ce");
  float lv[] = {0, 0, 0, logf(3)}, got[1];
  int32_t labels[] = {0, 1};
  run(loss, got, 2, (int[]){lg, lb}, (const float *const[]){lv, (const float *)labels});
  cr_expect_float_eq(got[0], (log(2.0) + log(4.0 / 3.0)) / 2, 1e-6, "loss %g", got[0]);
}

Test(ref_ops, bad_label_is_an_error_naming_the_node) {
  int lg = nnb_tensor_f32(&g, "logits", NNB_ROLE_INPUT, 2, (int64_t)1, (int64_t)3);
  int lb = nnb_tensor(&g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, (int64_t[]){1});
  int loss = nnb_softmax_ce(&g, lg, lb, "the_loss");
  nnb_graph_mark_output(&g, loss);
  nnb_session s;
  nnb_error e;
  cr_assert_eq(nnb_session_create(&ref, &g, &s, &e), NNB_OK, "%s", e.msg);
  int32_t bad[] = {7};
  nnb_session_upload(&s, lb, bad, &e);
  cr_expect_eq(nnb_session_run(&s, &e), NNB_ERR_INVALID);
  cr_expect(strstr(e.msg, "the_loss") && strstr(e.msg, "label 7"), "%s", e.msg);
  nnb_session_free(&s);
}

/* One step of each optimizer against PyTorch's formulas, by hand. */
Test(ref_ops, sgd_momentum_and_adam_steps) {
  int p = nnb_tensor_f32(&g, "p", NNB_ROLE_PARAM, 1, (int64_t)2);
  int gr = nnb_tensor_f32(&g, "g", NNB_ROLE_INPUT, 1, (int64_t)2);
  int v = nnb_tensor_f32(&g, "v", NNB_ROLE_OPTSTATE, 1, (int64_t)2);
  nnb_attr at = {.sgd = {0.1f, 0.9f}};
  nnb_node_add(&g, NNB_OP_SGD_MOMENTUM, (int[]){p, gr, v}, 3, &at, "sgd", NULL);
  float pv[] = {1, -1}, gv[] = {0.5f, 2}, vv[] = {1, 0}, got[2];
  run(p, got, 3, (int[]){p, gr, v}, (const float *const[]){pv, gv, vv});
  expect(got, (float[]){1 - 0.1f * (0.9f + 0.5f), -1 - 0.1f * 2}, 2, 1e-6);

  nnb_graph_free(&g);
  nnb_graph_init(&g);
  p = nnb_tensor_f32(&g, "p", NNB_ROLE_PARAM, 1, (int64_t)1);
  gr = nnb_tensor_f32(&g, "g", NNB_ROLE_INPUT, 1, (int64_t)1);
  int m = nnb_tensor_f32(&g, "m", NNB_ROLE_OPTSTATE, 1, (int64_t)1);
  v = nnb_tensor_f32(&g, "v", NNB_ROLE_OPTSTATE, 1, (int64_t)1);
  int step = nnb_tensor_f32(&g, "step", NNB_ROLE_OPTSTATE, 1, (int64_t)1);
  nnb_attr ad = {.adam = {0.01f, 0.9f, 0.999f, 1e-8f}};
  nnb_node_add(&g, NNB_OP_ADAM, (int[]){p, gr, m, v, step}, 5, &ad, "adam", NULL);
  float p1[] = {1}, g1[] = {0.5f}, m1[] = {0.2f}, v1[] = {0.04f}, s1[] = {1};
  run(p, got, 5, (int[]){p, gr, m, v, step}, (const float *const[]){p1, g1, m1, v1, s1});
  double mm = 0.9 * 0.2 + 0.1 * 0.5, vv2 = 0.999 * 0.04 + 0.001 * 0.25; /* step becomes 2 */
  double want = 1 - (0.01 / (1 - 0.81)) * mm / (sqrt(vv2) / sqrt(1 - 0.998001) + 1e-8);
  cr_expect_float_eq(got[0], want, 1e-6, "adam: %.7g, want %.7g", got[0], want);
}
