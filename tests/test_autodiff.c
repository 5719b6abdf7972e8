/* Autodiff: derived gradients match central finite differences on small
 * graphs, including tensors used twice (residual paths), and optimizer
 * updates are appended with PyTorch's state names. */
#include <criterion/criterion.h>
#include <string.h>

#include <nnbench/nnbench.h>

#include "testutil.h"

#define TOL 1e-2

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
TestSuite(autodiff, .init = setup, .fini = teardown);

/* loss = sum(y * r), r a fixed random input */
static int project(int y) {
  const nnb_tensor_desc *d = &g.tensors[y];
  int r = nnb_tensor(&g, "r", NNB_ROLE_INPUT, NNB_F32, d->rank, d->dims);
  int p = nnb_binary(&g, NNB_OP_MUL, y, r, "y*r");
  nnb_attr one = {.shape = {.rank = 1, .dims = {1}}};
  return nnb_node_add(&g, NNB_OP_SUM_TO, &p, 1, &one, "loss", NULL);
}

static void expect_gradients(int loss, int label_max, uint64_t seed) {
  char msg[512];
  double err = tu_gradient_error(&ref, &g, loss, label_max, seed, 12, msg, sizeof msg);
  cr_assert(err >= 0 && err <= TOL, "gradient error %.3g > %.g: %s", err, TOL, msg);
}

Test(autodiff, residual_path_sums_gradients) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_PARAM, 2, (int64_t)3, (int64_t)5);
  int w = nnb_tensor_f32(&g, "w", NNB_ROLE_PARAM, 2, (int64_t)5, (int64_t)5);
  int h = nnb_linear(&g, x, w, -1, "h");
  h = nnb_unary(&g, NNB_OP_TANH, h, "act");
  int y = nnb_binary(&g, NNB_OP_ADD, h, x, "residual"); /* x read twice */
  expect_gradients(project(y), 0, 1);
  int sums = 0;
  for (int i = 0; i < g.n_nodes; i++) sums += strstr(g.nodes[i].name, ".grad_sum") != NULL;
  cr_assert_geq(sums, 1, "the two gradients of x are summed by an add node");
}

Test(autodiff, mlp_with_cross_entropy) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)6, (int64_t)7);
  int w1 = nnb_tensor_f32(&g, "fc1.weight", NNB_ROLE_PARAM, 2, (int64_t)9, (int64_t)7);
  int b1 = nnb_tensor_f32(&g, "fc1.bias", NNB_ROLE_PARAM, 1, (int64_t)9);
  int w2 = nnb_tensor_f32(&g, "fc2.weight", NNB_ROLE_PARAM, 2, (int64_t)4, (int64_t)9);
  int b2 = nnb_tensor_f32(&g, "fc2.bias", NNB_ROLE_PARAM, 1, (int64_t)4);
  int lbl = nnb_tensor(&g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, (int64_t[]){6});
  int h = nnb_unary(&g, NNB_OP_GELU, nnb_linear(&g, x, w1, b1, "fc1"), "act");
  int loss = nnb_softmax_ce(&g, nnb_linear(&g, h, w2, b2, "fc2"), lbl, "loss");
  expect_gradients(loss, 4, 2);
}

Test(autodiff, conv_pool_flatten) {
  int x =
      nnb_tensor_f32(&g, "x", NNB_ROLE_PARAM, 4, (int64_t)2, (int64_t)2, (int64_t)9, (int64_t)9);
  int w = nnb_tensor_f32(&g, "conv.weight", NNB_ROLE_PARAM, 4, (int64_t)3, (int64_t)2, (int64_t)3,
                         (int64_t)3);
  int b = nnb_tensor_f32(&g, "conv.bias", NNB_ROLE_PARAM, 1, (int64_t)3);
  int h = nnb_conv2d(&g, x, w, b, 1, 1, "conv");
  h = nnb_unary(&g, NNB_OP_SIGMOID, h, "act");
  h = nnb_maxpool2d(&g, h, 2, 2, "pool");
  h = nnb_reshape(&g, h, 2, (int64_t[]){2, 3 * 4 * 4}, "flatten");
  expect_gradients(project(h), 0, 3);
}

Test(autodiff, lstm_last_step_then_linear) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_PARAM, 3, (int64_t)2, (int64_t)4, (int64_t)3);
  int wih = nnb_tensor_f32(&g, "lstm.weight_ih_l0", NNB_ROLE_PARAM, 2, (int64_t)20, (int64_t)3);
  int whh = nnb_tensor_f32(&g, "lstm.weight_hh_l0", NNB_ROLE_PARAM, 2, (int64_t)20, (int64_t)5);
  int bih = nnb_tensor_f32(&g, "lstm.bias_ih_l0", NNB_ROLE_PARAM, 1, (int64_t)20);
  int bhh = nnb_tensor_f32(&g, "lstm.bias_hh_l0", NNB_ROLE_PARAM, 1, (int64_t)20);
  int y = nnb_lstm(&g, x, wih, whh, bih, bhh, "lstm");
  int last = nnb_slice(&g, y, 1, 3, 1, "last");
  last = nnb_reshape(&g, last, 2, (int64_t[]){2, 5}, "squeeze");
  expect_gradients(project(last), 0, 4);
}

Test(autodiff, pre_norm_attention_block) {
  int64_t b = 2, t = 4, d = 6;
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_PARAM, 3, b, t, d);
  int gm = nnb_tensor_f32(&g, "norm.weight", NNB_ROLE_PARAM, 1, d);
  int bt = nnb_tensor_f32(&g, "norm.bias", NNB_ROLE_PARAM, 1, d);
  int win = nnb_tensor_f32(&g, "in_proj_weight", NNB_ROLE_PARAM, 2, 3 * d, d);
  int wout = nnb_tensor_f32(&g, "out_proj.weight", NNB_ROLE_PARAM, 2, d, d);
  int h = nnb_layernorm(&g, x, gm, bt, 1e-5f, "norm");
  h = nnb_linear(&g, h, win, -1, "in_proj");
  h = nnb_attention(&g, h, 2, 1, "attn");
  h = nnb_linear(&g, h, wout, -1, "out_proj");
  h = nnb_binary(&g, NNB_OP_ADD, x, h, "residual");
  h = nnb_mean(&g, h, 1, "pool");
  expect_gradients(project(h), 0, 5);
}

Test(autodiff, permute_and_broadcast_mul) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_PARAM, 3, (int64_t)2, (int64_t)3, (int64_t)4);
  int s = nnb_tensor_f32(&g, "scale", NNB_ROLE_PARAM, 2, (int64_t)3, (int64_t)1);
  int h = nnb_binary(&g, NNB_OP_MUL, x, s, "scaled");
  h = nnb_permute(&g, h, (int[]){2, 0, 1}, "perm");
  h = nnb_softmax(&g, h, "softmax");
  expect_gradients(project(h), 0, 6);
}

Test(autodiff, optimizer_updates_use_pytorch_state_names) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)4, (int64_t)3);
  int w = nnb_tensor_f32(&g, "fc.weight", NNB_ROLE_PARAM, 2, (int64_t)2, (int64_t)3);
  int bb = nnb_tensor_f32(&g, "fc.bias", NNB_ROLE_PARAM, 1, (int64_t)2);
  int lbl = nnb_tensor(&g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, (int64_t[]){4});
  int loss = nnb_softmax_ce(&g, nnb_linear(&g, x, w, bb, "fc"), lbl, "loss");
  nnb_opt_config opt = {NNB_OPT_ADAM, 1e-3f, 0, 0.9f, 0.999f, 1e-8f};
  nnb_error e;
  cr_assert_eq(nnb_autodiff(&g, loss, &opt, NULL, &e), NNB_OK, "%s", e.msg);
  int adams = 0;
  for (int i = 0; i < g.n_nodes; i++) adams += g.nodes[i].op == NNB_OP_ADAM;
  cr_assert_eq(adams, 2, "one update per parameter");
  cr_assert_geq(nnb_graph_find(&g, "fc.weight.exp_avg"), 0);
  cr_assert_geq(nnb_graph_find(&g, "fc.weight.exp_avg_sq"), 0);
  cr_assert_geq(nnb_graph_find(&g, "fc.bias.step"), 0);
  cr_assert_eq(g.tensors[nnb_graph_find(&g, "fc.bias.exp_avg")].role, NNB_ROLE_OPTSTATE);
}

Test(autodiff, rejects_a_non_scalar_loss) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_PARAM, 1, (int64_t)3);
  nnb_error e;
  cr_assert_eq(nnb_autodiff(&g, x, NULL, NULL, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "loss"), "%s", e.msg);
}
