/* FLOP and byte counts per node. */
#include <criterion/criterion.h>

#include <nnbench/nnbench.h>

Test(work, matmul_counts_two_flops_per_multiply_add_plus_bias) {
  nnb_graph g;
  nnb_graph_init(&g);
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)32, (int64_t)784);
  int w = nnb_tensor_f32(&g, "w", NNB_ROLE_PARAM, 2, (int64_t)128, (int64_t)784);
  int b = nnb_tensor_f32(&g, "b", NNB_ROLE_PARAM, 1, (int64_t)128);
  nnb_linear(&g, x, w, b, "fc1");
  const nnb_node *n = &g.nodes[0];
  cr_assert_float_eq(nnb_node_flops(&g, n), 2.0 * 32 * 128 * 784 + 32 * 128, 0.5);
  cr_assert_float_eq(nnb_node_bytes(&g, n), 4.0 * (32 * 784 + 128 * 784 + 128 + 32 * 128), 0.5);
  nnb_graph_free(&g);
}

Test(work, batched_matmul_and_transpose) {
  nnb_graph g;
  nnb_graph_init(&g);
  int a = nnb_tensor_f32(&g, "a", NNB_ROLE_INPUT, 3, (int64_t)4, (int64_t)7, (int64_t)5);
  int b = nnb_tensor_f32(&g, "b", NNB_ROLE_INPUT, 3, (int64_t)4, (int64_t)7, (int64_t)3);
  nnb_matmul(&g, a, b, -1, 1, 0, "atb"); /* [4,5,7] x [4,7,3]: k = 7 */
  cr_assert_float_eq(nnb_node_flops(&g, &g.nodes[0]), 2.0 * 4 * 5 * 3 * 7, 0.5);
  nnb_graph_free(&g);
}

Test(work, conv_and_elementwise) {
  nnb_graph g;
  nnb_graph_init(&g);
  int x =
      nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 4, (int64_t)2, (int64_t)3, (int64_t)10, (int64_t)10);
  int w =
      nnb_tensor_f32(&g, "w", NNB_ROLE_PARAM, 4, (int64_t)8, (int64_t)3, (int64_t)3, (int64_t)3);
  int y = nnb_conv2d(&g, x, w, -1, 1, 0, "conv");
  cr_assert_float_eq(nnb_node_flops(&g, &g.nodes[0]), 2.0 * (2 * 8 * 8 * 8) * (3 * 3 * 3), 0.5);
  nnb_unary(&g, NNB_OP_RELU, y, "relu");
  cr_assert_float_eq(nnb_node_flops(&g, &g.nodes[1]), 2.0 * 8 * 8 * 8, 0.5);
  cr_assert_float_eq(nnb_node_bytes(&g, &g.nodes[1]), 2 * 4.0 * (2 * 8 * 8 * 8), 0.5);
  nnb_reshape(&g, y, 2, (int64_t[]){2, 512}, "flat");
  cr_assert_float_eq(nnb_node_bytes(&g, &g.nodes[2]), 0.0, 0.0, "a view moves nothing");
  nnb_graph_free(&g);
}
