/* Shape inference: good graphs get the right shapes, bad ones an error that
 * names the node and the shapes involved. */
#include <criterion/criterion.h>
#include <string.h>

#include <nnbench/nnbench.h>

static nnb_graph g;
static void setup(void) { nnb_graph_init(&g); }
static void teardown(void) { nnb_graph_free(&g); }
TestSuite(graph, .init = setup, .fini = teardown);

static void assert_dims(int t, int rank, const int64_t *want) {
  cr_assert_geq(t, 0, "tensor id %d (graph error: %s)", t, g.err.msg);
  const nnb_tensor_desc *d = &g.tensors[t];
  char got[64], exp[64];
  nnb_dims_str(d->rank, d->dims, got, sizeof got);
  nnb_dims_str(rank, want, exp, sizeof exp);
  cr_assert_str_eq(got, exp, "tensor '%s' is %s, expected %s", d->name, got, exp);
}

Test(graph, linear_layer_shape) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)32, (int64_t)784);
  int w = nnb_tensor_f32(&g, "fc1.weight", NNB_ROLE_PARAM, 2, (int64_t)128, (int64_t)784);
  int b = nnb_tensor_f32(&g, "fc1.bias", NNB_ROLE_PARAM, 1, (int64_t)128);
  int y = nnb_linear(&g, x, w, b, "fc1");
  assert_dims(y, 2, (int64_t[]){32, 128});
  cr_assert_eq(g.tensors[y].role, NNB_ROLE_ACTIVATION);
  cr_assert_eq(nnb_graph_status(&g, NULL), NNB_OK);
}

Test(graph, matmul_mismatch_names_node_and_both_shapes) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)32, (int64_t)784);
  int w = nnb_tensor_f32(&g, "w", NNB_ROLE_PARAM, 2, (int64_t)128, (int64_t)700);
  cr_assert_eq(nnb_linear(&g, x, w, -1, "fc1"), -1);
  nnb_error e;
  cr_assert_eq(nnb_graph_status(&g, &e), NNB_ERR_SHAPE);
  cr_assert(strstr(e.msg, "fc1"), "message names the node: %s", e.msg);
  cr_assert(strstr(e.msg, "[32,784]") && strstr(e.msg, "[128,700]"), "both shapes: %s", e.msg);
}

Test(graph, error_is_sticky_and_keeps_the_first) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)4, (int64_t)5);
  int w = nnb_tensor_f32(&g, "w", NNB_ROLE_PARAM, 2, (int64_t)3, (int64_t)6);
  nnb_linear(&g, x, w, -1, "first_bad");
  cr_assert_eq(nnb_unary(&g, NNB_OP_RELU, x, "later"), -1, "builders do nothing after an error");
  cr_assert(strstr(g.err.msg, "first_bad"), "%s", g.err.msg);
}

Test(graph, cnn_spatial_sizes_match_the_model_definition) {
  int x =
      nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 4, (int64_t)8, (int64_t)1, (int64_t)28, (int64_t)28);
  int w1 = nnb_tensor_f32(&g, "conv1.weight", NNB_ROLE_PARAM, 4, (int64_t)32, (int64_t)1,
                          (int64_t)3, (int64_t)3);
  int w2 = nnb_tensor_f32(&g, "conv2.weight", NNB_ROLE_PARAM, 4, (int64_t)64, (int64_t)32,
                          (int64_t)3, (int64_t)3);
  int h = nnb_conv2d(&g, x, w1, -1, 1, 0, "conv1");
  assert_dims(h, 4, (int64_t[]){8, 32, 26, 26});
  h = nnb_maxpool2d(&g, h, 2, 2, "pool1");
  assert_dims(h, 4, (int64_t[]){8, 32, 13, 13});
  h = nnb_conv2d(&g, h, w2, -1, 1, 0, "conv2");
  assert_dims(h, 4, (int64_t[]){8, 64, 11, 11});
  h = nnb_maxpool2d(&g, h, 2, 2, "pool2");
  assert_dims(h, 4, (int64_t[]){8, 64, 5, 5}); /* floor */
}

Test(graph, conv_channel_mismatch) {
  int x =
      nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 4, (int64_t)1, (int64_t)3, (int64_t)8, (int64_t)8);
  int w =
      nnb_tensor_f32(&g, "w", NNB_ROLE_PARAM, 4, (int64_t)4, (int64_t)2, (int64_t)3, (int64_t)3);
  cr_assert_eq(nnb_conv2d(&g, x, w, -1, 1, 0, "convA"), -1);
  cr_assert(strstr(g.err.msg, "convA") && strstr(g.err.msg, "[1,3,8,8]"), "%s", g.err.msg);
}

Test(graph, lstm_and_attention_outputs) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)28, (int64_t)28);
  int wih = nnb_tensor_f32(&g, "wih", NNB_ROLE_PARAM, 2, (int64_t)512, (int64_t)28);
  int whh = nnb_tensor_f32(&g, "whh", NNB_ROLE_PARAM, 2, (int64_t)512, (int64_t)128);
  int bih = nnb_tensor_f32(&g, "bih", NNB_ROLE_PARAM, 1, (int64_t)512);
  int bhh = nnb_tensor_f32(&g, "bhh", NNB_ROLE_PARAM, 1, (int64_t)512);
  int outs[NNB_MAX_OUT];
  int in[5] = {x, wih, whh, bih, bhh};
  nnb_node_add(&g, NNB_OP_LSTM, in, 5, NULL, "lstm", outs);
  assert_dims(outs[0], 3, (int64_t[]){2, 28, 128});
  assert_dims(outs[1], 3, (int64_t[]){2, 28, 640});
  int last = nnb_slice(&g, outs[0], 1, 27, 1, "last");
  assert_dims(last, 3, (int64_t[]){2, 1, 128});

  int qkv = nnb_tensor_f32(&g, "qkv", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)16, (int64_t)192);
  nnb_attr at = {.attention = {4, 0}};
  nnb_node_add(&g, NNB_OP_ATTENTION, &qkv, 1, &at, "mha", outs);
  assert_dims(outs[0], 3, (int64_t[]){2, 16, 64});
  assert_dims(outs[1], 4, (int64_t[]){2, 4, 16, 16});
  cr_assert_eq(nnb_attention(&g, qkv, 5, 0, "bad_heads"), -1);
  cr_assert(strstr(g.err.msg, "bad_heads") && strstr(g.err.msg, "heads=5"), "%s", g.err.msg);
}

Test(graph, reshape_is_a_view_and_checks_count) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)3, (int64_t)4);
  int y = nnb_reshape(&g, x, 2, (int64_t[]){6, 4}, "flat");
  assert_dims(y, 2, (int64_t[]){6, 4});
  cr_assert_eq(g.tensors[y].view_of, x);
  int z = nnb_reshape(&g, y, 1, (int64_t[]){24}, "flatter");
  cr_assert_eq(g.tensors[z].view_of, x, "a view of a view points at the storage owner");
  cr_assert_eq(nnb_reshape(&g, x, 2, (int64_t[]){5, 5}, "bad_view"), -1);
  cr_assert(strstr(g.err.msg, "bad_view") && strstr(g.err.msg, "[5,5]"), "%s", g.err.msg);
}

Test(graph, broadcast_rules) {
  int a = nnb_tensor_f32(&g, "a", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)3, (int64_t)4);
  int row = nnb_tensor_f32(&g, "row", NNB_ROLE_INPUT, 1, (int64_t)4);
  int col = nnb_tensor_f32(&g, "col", NNB_ROLE_INPUT, 2, (int64_t)3, (int64_t)1);
  int bad = nnb_tensor_f32(&g, "bad", NNB_ROLE_INPUT, 1, (int64_t)3);
  cr_assert_geq(nnb_binary(&g, NNB_OP_ADD, a, row, "add_row"), 0);
  cr_assert_geq(nnb_binary(&g, NNB_OP_MUL, a, col, "mul_col"), 0);
  cr_assert_eq(nnb_binary(&g, NNB_OP_ADD, a, bad, "add_bad"), -1);
  cr_assert(strstr(g.err.msg, "add_bad") && strstr(g.err.msg, "[3]") &&
                strstr(g.err.msg, "[2,3,4]"),
            "%s", g.err.msg);
}

Test(graph, permute_mean_and_loss) {
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 3, (int64_t)2, (int64_t)5, (int64_t)7);
  int p = nnb_permute(&g, x, (int[]){2, 0, 1}, "perm");
  assert_dims(p, 3, (int64_t[]){7, 2, 5});
  int m = nnb_mean(&g, x, 1, "pool");
  assert_dims(m, 2, (int64_t[]){2, 7});
  int lbl = nnb_tensor(&g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, (int64_t[]){2});
  int loss = nnb_softmax_ce(&g, m, lbl, "loss");
  assert_dims(loss, 1, (int64_t[]){1});
  cr_assert_eq(nnb_permute(&g, x, (int[]){0, 0, 1}, "bad_perm"), -1);
  cr_assert(strstr(g.err.msg, "bad_perm"), "%s", g.err.msg);
}

Test(graph, labels_must_be_i32) {
  int lg = nnb_tensor_f32(&g, "logits", NNB_ROLE_INPUT, 2, (int64_t)4, (int64_t)10);
  int lbl = nnb_tensor_f32(&g, "labels", NNB_ROLE_LABEL, 1, (int64_t)4);
  cr_assert_eq(nnb_softmax_ce(&g, lg, lbl, "ce"), -1);
  cr_assert(strstr(g.err.msg, "i32"), "%s", g.err.msg);
}

Test(graph, op_names_round_trip) {
  for (int op = 0; op < NNB_OP_COUNT; op++) {
    const char *name = nnb_op_name((nnb_op)op);
    cr_assert(name && strcmp(name, "?"), "op %d has no name", op);
    cr_assert_eq(nnb_op_from_name(name), (nnb_op)op, "%s", name);
  }
  cr_assert_eq(nnb_op_from_name("no_such_op"), NNB_OP_COUNT);
}
