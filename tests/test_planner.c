/* The memory planner: tensors alive at the same node never overlap, memory
 * is reused when lifetimes do not meet, views share their source. */
#include <criterion/criterion.h>

#include <nnbench/nnbench.h>

/* An MLP-like chain, long enough that early activations die. */
static int build_chain(nnb_graph *g, int layers) {
  int x = nnb_tensor_f32(g, "x", NNB_ROLE_INPUT, 2, (int64_t)16, (int64_t)64);
  char name[32];
  for (int i = 0; i < layers; i++) {
    snprintf(name, sizeof name, "w%d", i);
    int w = nnb_tensor_f32(g, name, NNB_ROLE_PARAM, 2, (int64_t)64, (int64_t)64);
    snprintf(name, sizeof name, "fc%d", i);
    x = nnb_linear(g, x, w, -1, name);
    snprintf(name, sizeof name, "relu%d", i);
    x = nnb_unary(g, NNB_OP_RELU, x, name);
  }
  return x;
}

static void assert_no_live_overlap(const nnb_graph *g, const nnb_memplan *p) {
  for (int a = 0; a < g->n_tensors; a++)
    for (int b = a + 1; b < g->n_tensors; b++) {
      if (p->region[a] != p->region[b]) continue;
      if (g->tensors[a].view_of >= 0 || g->tensors[b].view_of >= 0) continue;
      uint64_t sa = nnb_nbytes(&g->tensors[a]), sb = nnb_nbytes(&g->tensors[b]);
      int bytes = p->offset[a] < p->offset[b] + sb && p->offset[b] < p->offset[a] + sa;
      int live = p->region[a] == NNB_REGION_PERSISTENT ||
                 (p->first_use[a] <= p->last_use[b] && p->first_use[b] <= p->last_use[a]);
      cr_assert(
          !(bytes && live), "'%s' [%llu,+%llu) live %d..%d overlaps '%s' [%llu,+%llu) live %d..%d",
          g->tensors[a].name, (unsigned long long)p->offset[a], (unsigned long long)sa,
          p->first_use[a], p->last_use[a], g->tensors[b].name, (unsigned long long)p->offset[b],
          (unsigned long long)sb, p->first_use[b], p->last_use[b]);
    }
}

Test(planner, inference_chain_reuses_and_never_overlaps) {
  nnb_graph g;
  nnb_graph_init(&g);
  int y = build_chain(&g, 6);
  nnb_graph_mark_output(&g, y);
  nnb_memplan p;
  nnb_error e;
  cr_assert_eq(nnb_memplan_build(&g, 0, &p, &e), NNB_OK, "%s", e.msg);
  assert_no_live_overlap(&g, &p);
  cr_assert_lt(p.region_bytes[NNB_REGION_ARENA], p.arena_unshared_bytes,
               "arena %llu bytes should be smaller than without reuse (%llu)",
               (unsigned long long)p.region_bytes[NNB_REGION_ARENA],
               (unsigned long long)p.arena_unshared_bytes);
  /* a chain needs three live activations at a time (a relu's output may not
   * take its matmul's input: the two may run fused): 3 x 16x64 floats */
  cr_assert_leq(p.region_bytes[NNB_REGION_ARENA], 3 * 16 * 64 * 4 + 3 * NNB_ALIGN);
  cr_assert_eq(p.last_use[y], g.n_nodes, "a graph output stays live to the end");
  cr_assert_eq(p.role_bytes[NNB_ROLE_PARAM], 6 * 64 * 64 * 4);
  nnb_memplan_free(&p);
  nnb_graph_free(&g);
}

/* A matmul, a residual add and a relu may run as one fused kernel that
 * writes the relu's output while the matmul still reads x and the add its
 * other operand: neither shares bytes with any output of the chain. */
Test(planner, a_fusable_chain_never_writes_over_its_inputs) {
  nnb_graph g;
  nnb_graph_init(&g);
  int x0 = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)16, (int64_t)64);
  int w = nnb_tensor_f32(&g, "w", NNB_ROLE_PARAM, 2, (int64_t)64, (int64_t)64);
  int x = nnb_unary(&g, NNB_OP_TANH, x0, "x1"); /* in the arena */
  int r = nnb_unary(&g, NNB_OP_SIGMOID, x0, "res");
  int h = nnb_linear(&g, x, w, -1, "fc");
  int s = nnb_binary(&g, NNB_OP_ADD, h, r, "sum");
  int y = nnb_unary(&g, NNB_OP_RELU, s, "relu");
  nnb_graph_mark_output(&g, y);
  nnb_memplan p;
  nnb_error e;
  cr_assert_eq(nnb_memplan_build(&g, 0, &p, &e), NNB_OK, "%s", e.msg);
  assert_no_live_overlap(&g, &p);
  int chain_end = p.first_use[y];
  cr_assert_geq(p.last_use[x], chain_end, "the matmul's input lives through the fused chain");
  cr_assert_geq(p.last_use[r], chain_end, "the added operand lives through the fused chain");
  nnb_memplan_free(&p);
  nnb_graph_free(&g);
}

Test(planner, training_graph_never_overlaps) {
  nnb_graph g;
  nnb_graph_init(&g);
  int y = build_chain(&g, 4);
  int lbl = nnb_tensor(&g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, (int64_t[]){16});
  int loss = nnb_softmax_ce(&g, y, lbl, "loss");
  nnb_opt_config opt = {
      .kind = NNB_OPT_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
  nnb_error e;
  cr_assert_eq(nnb_autodiff(&g, loss, &opt, NULL, &e), NNB_OK, "%s", e.msg);
  nnb_graph_mark_output(&g, loss);
  nnb_memplan p;
  cr_assert_eq(nnb_memplan_build(&g, 0, &p, &e), NNB_OK, "%s", e.msg);
  assert_no_live_overlap(&g, &p);
  cr_assert_gt(p.role_bytes[NNB_ROLE_OPTSTATE], 2 * 4 * 64 * 64 * 4 - 1, "m and v per weight");
  cr_assert_lt(p.region_bytes[NNB_REGION_ARENA], p.arena_unshared_bytes);
  nnb_memplan_free(&p);
  nnb_graph_free(&g);
}

Test(planner, views_share_storage_and_extend_its_life) {
  nnb_graph g;
  nnb_graph_init(&g);
  int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 2, (int64_t)8, (int64_t)8);
  int a = nnb_unary(&g, NNB_OP_RELU, x, "a");
  int v = nnb_reshape(&g, a, 1, (int64_t[]){64}, "view");
  int b = nnb_unary(&g, NNB_OP_TANH, x, "b");
  int c = nnb_unary(&g, NNB_OP_SIGMOID, v, "c"); /* reads a through the view, after b */
  nnb_graph_mark_output(&g, c);
  nnb_graph_mark_output(&g, b);
  nnb_memplan p;
  nnb_error e;
  cr_assert_eq(nnb_memplan_build(&g, 0, &p, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(p.offset[v], p.offset[a]);
  cr_assert_eq(p.region[v], p.region[a]);
  cr_assert_geq(p.last_use[a], 3, "a lives until its view's last reader");
  assert_no_live_overlap(&g, &p);
  nnb_memplan_free(&p);
  nnb_graph_free(&g);
}

Test(planner, guard_bytes_separate_tensors) {
  nnb_graph g;
  nnb_graph_init(&g);
  int y = build_chain(&g, 2);
  nnb_graph_mark_output(&g, y);
  nnb_memplan p;
  nnb_error e;
  cr_assert_eq(nnb_memplan_build(&g, 256, &p, &e), NNB_OK, "%s", e.msg);
  for (int a = 0; a < g.n_tensors; a++)
    for (int b = 0; b < g.n_tensors; b++) {
      if (a == b || p.region[a] != p.region[b] || p.offset[b] <= p.offset[a]) continue;
      int live = p.region[a] == NNB_REGION_PERSISTENT ||
                 (p.first_use[a] <= p.last_use[b] && p.first_use[b] <= p.last_use[a]);
      if (live)
        cr_assert_geq(p.offset[b], p.offset[a] + nnb_nbytes(&g.tensors[a]) + 256,
                      "guard after '%s'", g.tensors[a].name);
    }
  nnb_memplan_free(&p);
  nnb_graph_free(&g);
}
