/* The onednn backend, loaded from the build tree: every op agrees with the
 * reference on nnbench check's seeded cases and on larger ones; whole
 * models agree with it in training (every parameter's gradient) and
 * inference; fusion and blocked layouts change results only within the
 * tolerance; PyTorch's checkpoints give PyTorch's accuracy; execute
 * allocates nothing; describe and the per-node kernel
 * names say what ran; bad options are refused by name.
 * Built only when the backend is (tests/CMakeLists.txt). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <nnbench/nnbench.h>

#include "backend_cases.h"
#include "modelrun.h"
#include "testutil.h"

static nnb_backend ref;

static void open_onednn(nnb_backend *b, const char *options) {
  nnb_error e = {{0}};
  nnb_backend_config cfg = {.threads = 2, .options = options};
  cr_assert_eq(nnb_backend_open("onednn", &cfg, b, &e), NNB_OK, "%s", e.msg);
}

static void setup(void) {
  nnb_error e = {{0}};
  cr_assert_eq(nnb_registry_load_file(NNB_BACKEND_DIR "/libnnb-onednn.so", &e), NNB_OK, "%s",
               e.msg);
  tu_open_reference(&ref);
}

static void teardown(void) {
  nnb_backend_close(&ref);
  nnb_registry_unload();
}

TestSuite(onednn, .init = setup, .fini = teardown, .timeout = 300);

static const char *prop(const nnb_backend_info *info, const char *key) {
  for (int i = 0; i < info->n_props; i++)
    if (!strcmp(info->props[i].key, key)) return info->props[i].value;
  return NULL;
}

Test(onednn, describe_records_version_runtime_isa_and_options) {
  nnb_backend b;
  open_onednn(&b, "fuse=0,layout=plain");
  nnb_backend_info info;
  nnb_error e = {{0}};
  cr_assert_eq(b.vt->describe(b.ctx, &info, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(info.name, "onednn");
  cr_expect(!strncmp(info.library, "oneDNN 2.", 9), "library: %s", info.library);
  cr_assert_not_null(prop(&info, "onednn_version"));
  cr_expect_str_eq(prop(&info, "cpu_runtime"), "OpenMP");
  const char *isa = prop(&info, "isa");
  cr_assert_not_null(isa);
  cr_expect(strcmp(isa, "other"), "the effective ISA has a name");
  cr_expect_str_eq(prop(&info, "threads"), "2");
  cr_expect_str_eq(prop(&info, "fusion"), "off");
  cr_expect_str_eq(prop(&info, "layout"), "plain");
  nnb_backend_close(&b);
}

Test(onednn, bad_options_are_refused_by_name) {
  static const char *const bad[] = {"layout=nchw", "isa=avx9", "lstm=gru"};
  for (int i = 0; i < 3; i++) {
    nnb_backend b;
    nnb_error e = {{0}};
    nnb_backend_config cfg = {.threads = 2, .options = bad[i]};
    cr_expect_neq(nnb_backend_open("onednn", &cfg, &b, &e), NNB_OK, "%s was accepted", bad[i]);
    char key[16];
    snprintf(key, sizeof key, "%.*s", (int)strcspn(bad[i], "="), bad[i]);
    cr_expect(strstr(e.msg, key) && strstr(e.msg, "expected"), "%s: %s", bad[i], e.msg);
  }
}

Test(onednn, every_op_matches_the_reference) {
  nnb_backend b;
  open_onednn(&b, NULL);
  bc_every_op(&ref, &b, 3);
  nnb_backend_close(&b);
}

Test(onednn, large_cases) {
  nnb_backend b;
  open_onednn(&b, NULL);
  nnb_attr none = {0};
  { /* transposed b, bias */
    const int64_t sh[3][4] = {{300, 200}, {100, 200}, {100}};
    nnb_attr at = {.matmul = {0, 1}};
    bc_big_case(&ref, &b, NNB_OP_MATMUL, sh, (int[]){2, 2, 1}, 3, &at, 1e-6);
  }
  { /* batched, transposed a */
    const int64_t sh[2][4] = {{6, 70, 50}, {6, 70, 40}};
    nnb_attr at = {.matmul = {1, 0}};
    bc_big_case(&ref, &b, NNB_OP_MATMUL, sh, (int[]){3, 3}, 2, &at, 1e-6);
  }
  { /* bias gradient: a matmul against ones */
    const int64_t sh[1][4] = {{4096, 72}};
    nnb_attr at = {.shape = {.rank = 1, .dims = {72}}};
    bc_big_case(&ref, &b, NNB_OP_SUM_TO, sh, (int[]){2}, 1, &at, 1e-6);
  }
  { /* a middle axis kept: the C path */
    const int64_t sh[1][4] = {{16, 12, 9, 9}};
    nnb_attr at = {.shape = {.rank = 3, .dims = {12, 1, 1}}};
    bc_big_case(&ref, &b, NNB_OP_SUM_TO, sh, (int[]){4}, 1, &at, 1e-6);
  }
  {
    const int64_t sh[3][4] = {{2048, 48}, {2048, 48}, {48}};
    nnb_attr at = {.layernorm = {1e-5f}};
    bc_big_case(&ref, &b, NNB_OP_LAYERNORM_BWD, sh, (int[]){2, 2, 1}, 3, &at, 1e-6);
  }
  {
    const int64_t sh[5][4] = {{700, 300}, {700, 300}, {700, 300}, {700, 300}, {1}};
    nnb_attr at = {.adam = {1e-3f, 0.9f, 0.999f, 1e-8f}};
    bc_big_case(&ref, &b, NNB_OP_ADAM, sh, (int[]){2, 2, 2, 2, 1}, 5, &at, 1e-6);
  }
  {
    const int64_t sh[2][4] = {{64, 48, 40}, {48, 1}}; /* a column: the strided broadcast */
    bc_big_case(&ref, &b, NNB_OP_ADD, sh, (int[]){3, 2}, 2, &none, 1e-6);
  }
  { /* 9 = 4 windows of 2 and one row and column outside every window */
    const int64_t sh[1][4] = {{16, 8, 9, 9}};
    nnb_attr at = {.pool = {2, 2, 2, 2}};
    bc_big_case(&ref, &b, NNB_OP_MAXPOOL2D, sh, (int[]){4}, 1, &at, 1e-7);
  }
  {
    const int64_t sh[2][4] = {{16, 8, 4, 4}, {16, 8, 9, 9}};
    nnb_attr at = {.pool = {2, 2, 2, 2}};
    bc_big_case(&ref, &b, NNB_OP_MAXPOOL2D_BWD, sh, (int[]){4, 4}, 2, &at, 1e-7);
  }
  { /* strided, padded convolution */
    const int64_t sh[3][4] = {{7, 5, 17, 19}, {7, 5, 3, 3}, {7}};
    nnb_attr at = {.conv = {2, 2, 1, 1}};
    bc_big_case(&ref, &b, NNB_OP_CONV2D, sh, (int[]){4, 4, 1}, 3, &at, 1e-6);
  }
  {
    const int64_t sh[2][4] = {{7, 7, 9, 10}, {7, 5, 3, 3}};
    nnb_attr at = {.conv = {2, 2, 1, 1, 3, 3, 17, 19, 1}};
    bc_big_case(&ref, &b, NNB_OP_CONV2D_BWD_DATA, sh, (int[]){4, 4}, 2, &at, 1e-6);
  }
  {
    const int64_t sh[2][4] = {{7, 7, 9, 10}, {7, 5, 17, 19}};
    nnb_attr at = {.conv = {2, 2, 1, 1, 3, 3, 17, 19, 1}};
    bc_big_case(&ref, &b, NNB_OP_CONV2D_BWD_WEIGHT, sh, (int[]){4, 4}, 2, &at, 1e-6);
  }
  for (int causal = 0; causal < 2; causal++) { /* many (sequence, head) pairs */
    const int64_t sh[1][4] = {{8, 20, 3 * 24}};
    nnb_attr at = {.attention = {4, causal}};
    bc_big_case(&ref, &b, NNB_OP_ATTENTION, sh, (int[]){3}, 1, &at, 1e-6);
  }
  { /* a batch and width where the gates run on both threads */
    const int64_t sh[5][4] = {{64, 5, 20}, {4 * 72, 20}, {4 * 72, 72}, {4 * 72}, {4 * 72}};
    bc_big_case(&ref, &b, NNB_OP_LSTM, sh, (int[]){3, 2, 2, 1, 1}, 5, &none, 1e-6);
  }
  nnb_backend_close(&b);
}

static void train_agrees(const char *spec, int batch, const char *options) {
  nnb_backend b;
  open_onednn(&b, options);
  mr_expect_train_agrees(&ref, &b, spec, batch);
  nnb_backend_close(&b);
}

Test(onednn, mlp_trains_as_the_reference) { train_agrees("mlp", 300, NULL); }
Test(onednn, cnn_trains_as_the_reference) { train_agrees("cnn", 6, NULL); }
/* channels that fill no 8-channel block: plain activations, pooling in C on them */
Test(onednn, cnn_with_odd_channels_trains_as_the_reference) {
  train_agrees("cnn:c1=5,c2=12,c3=8,fc=7", 3, NULL);
}
Test(onednn, cnn_trains_as_the_reference_plain_unfused) {
  train_agrees("cnn", 6, "layout=plain,fuse=0");
}
/* both LSTM paths: the primitive (its workspace for the cache) and the own one */
Test(onednn, lstm_trains_as_the_reference_on_the_primitive) { train_agrees("lstm", 6, NULL); }
Test(onednn, lstm_trains_as_the_reference_on_the_own_path) { train_agrees("lstm", 6, "lstm=own"); }
Test(onednn, transformer_trains_as_the_reference) { train_agrees("transformer", 6, NULL); }
Test(onednn, transformer_trains_as_the_reference_unfused) {
  train_agrees("transformer", 6, "fuse=0");
}

static int fused_nodes(nnb_backend *b, mr_run *r) {
  const nnb_ext_node_kernel *x = b->vt->lookup(b->ctx, NNB_EXT_NODE_KERNEL);
  cr_assert_not_null(x);
  int fused = 0;
  for (int i = 0; i < r->m.g.n_nodes; i++) {
    const char *k = x->node_kernel(r->s.plan, i);
    cr_assert_not_null(k, "node %d has no kernel name", i);
    cr_expect(strcmp(k, "none") || r->m.g.nodes[i].op == NNB_OP_RESHAPE,
              "node '%s' reports no kernel", r->m.g.nodes[i].name);
    fused += !strncmp(k, "fused", 5);
  }
  return fused;
}

/* In training the cnn's activations and gradients between convolutions
 * stay blocked across the forward and the backward: its pooling steps and
 * activation backwards run one primitive each, no reorder around it (a
 * reorder would add its kernel name after a '+'). */
Test(onednn, cnn_training_keeps_blocked_layouts_without_reorders) {
  nnb_backend b;
  open_onednn(&b, NULL);
  mr_run r;
  mr_start(&r, &b, "cnn", 6, 1);
  mr_step(&r);
  const nnb_ext_node_kernel *x = b.vt->lookup(b.ctx, NNB_EXT_NODE_KERNEL);
  cr_assert_not_null(x);
  int checked = 0;
  for (int i = 0; i < r.m.g.n_nodes; i++) {
    nnb_op op = r.m.g.nodes[i].op;
    if (op != NNB_OP_MAXPOOL2D && op != NNB_OP_MAXPOOL2D_BWD && op != NNB_OP_ACT_BWD) continue;
    const char *k = x->node_kernel(r.s.plan, i);
    cr_expect(k && !strchr(k, '+'), "%s runs %s", r.m.g.nodes[i].name, k ? k : "nothing");
    checked++;
  }
  cr_expect_geq(checked, 6, "the cnn's pools and activation backwards");
  mr_stop(&r);
  nnb_backend_close(&b);
}

/* Trains graph g (input x of xn floats, labels [2], parameters w[k] of
 * nw[k] floats, loss) one step on the reference and on onednn: every
 * parameter gradient within NMSE 1e-6 of the reference's, and every node
 * on_c() picks (at least one) on a C loop ("c:omp"). */
static void graph_trains_as_the_reference(nnb_graph *g, int x, size_t xn, int lbl, int loss,
                                          const int *w, const size_t *nw, int np,
                                          bool (*on_c)(const nnb_graph *g, const nnb_node *n)) {
  int *grad = malloc((size_t)g->n_tensors * sizeof *grad);
  nnb_error e = {{0}};
  cr_assert_eq(nnb_autodiff(g, loss, NULL, grad, &e), NNB_OK, "%s", e.msg);
  for (int k = 0; k < np; k++) nnb_graph_mark_output(g, grad[w[k]]);
  nnb_graph_mark_output(g, loss);
  nnb_backend b;
  open_onednn(&b, NULL);
  nnb_session s[2];
  cr_assert_eq(nnb_session_create(&ref, g, &s[0], &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_session_create(&b, g, &s[1], &e), NNB_OK, "%s", e.msg);
  float *vx = tu_rand(3, xn, 0.0f, 1.0f), *vw[8];
  for (int k = 0; k < np; k++) vw[k] = tu_rand(10 + (uint64_t)k, nw[k], -0.3f, 0.3f);
  int32_t labels[2] = {3, 7};
  float *got[2][8];
  for (int i = 0; i < 2; i++) {
    cr_assert_eq(nnb_session_upload(&s[i], x, vx, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_session_upload(&s[i], lbl, labels, &e), NNB_OK, "%s", e.msg);
    for (int k = 0; k < np; k++)
      cr_assert_eq(nnb_session_upload(&s[i], w[k], vw[k], &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_session_run(&s[i], &e), NNB_OK, "%s", e.msg);
    for (int k = 0; k < np; k++) {
      got[i][k] = malloc(nw[k] * sizeof(float));
      cr_assert_eq(nnb_session_download(&s[i], grad[w[k]], got[i][k], &e), NNB_OK, "%s", e.msg);
    }
  }
  for (int k = 0; k < np; k++) {
    double err = mr_nmse(got[1][k], got[0][k], (int64_t)nw[k]);
    cr_expect_leq(err, 1e-6, "gradient of %s: NMSE %.3g", g->tensors[w[k]].name, err);
    free(got[0][k]), free(got[1][k]), free(vw[k]);
  }
  const nnb_ext_node_kernel *kn = b.vt->lookup(b.ctx, NNB_EXT_NODE_KERNEL);
  int c_nodes = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (on_c(g, &g->nodes[i])) {
      cr_expect_str_eq(kn->node_kernel(s[1].plan, i), "c:omp", "%s", g->nodes[i].name);
      c_nodes++;
    }
  cr_expect_gt(c_nodes, 0, "no node to run on a C loop in the graph");
  free(vx);
  free(grad);
  nnb_session_free(&s[0]), nnb_session_free(&s[1]);
  nnb_backend_close(&b);
}

static bool is_pool(const nnb_graph *g, const nnb_node *n) {
  (void)g;
  return n->op == NNB_OP_MAXPOOL2D || n->op == NNB_OP_MAXPOOL2D_BWD;
}

/* Training through overlapping pooling windows (3x3, stride 2) between
 * blocked convolutions: the pooling's workspace and its backward's sums
 * where windows overlap give the reference's gradients, on the C pooling. */
Test(onednn, overlapping_pool_windows_train_as_the_reference) {
  nnb_graph g;
  nnb_graph_init(&g);
  int x =
      nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 4, (int64_t)2, (int64_t)8, (int64_t)12, (int64_t)12);
  int lbl = nnb_tensor(&g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, (int64_t[]){2});
  int w[3] = {
      nnb_tensor_f32(&g, "w1", NNB_ROLE_PARAM, 4, (int64_t)16, (int64_t)8, (int64_t)3, (int64_t)3),
      nnb_tensor_f32(&g, "w2", NNB_ROLE_PARAM, 4, (int64_t)16, (int64_t)16, (int64_t)1, (int64_t)1),
      nnb_tensor_f32(&g, "w3", NNB_ROLE_PARAM, 2, (int64_t)10, (int64_t)400)};
  int h = nnb_unary(&g, NNB_OP_RELU, nnb_conv2d(&g, x, w[0], -1, 1, 1, "c1"), "r1");
  h = nnb_maxpool2d(&g, h, 3, 2, "pool"); /* 12 -> 5 */
  h = nnb_unary(&g, NNB_OP_RELU, nnb_conv2d(&g, h, w[1], -1, 1, 0, "c2"), "r2");
  h = nnb_linear(&g, nnb_reshape(&g, h, 2, (int64_t[]){2, 400}, "flat"), w[2], -1, "fc");
  int loss = nnb_softmax_ce(&g, h, lbl, "loss");
  const size_t nw[3] = {16 * 8 * 9, 16 * 16, 10 * 400};
  graph_trains_as_the_reference(&g, x, 2 * 8 * 12 * 12, lbl, loss, w, nw, 3, is_pool);
  nnb_graph_free(&g);
}

/* The weight gradient of the convolution that reads the image x. */
static bool is_image_wgrad(const nnb_graph *g, const nnb_node *n) {
  return n->op == NNB_OP_CONV2D_BWD_WEIGHT && strcmp(g->tensors[n->in[1]].name, "x") == 0;
}

/* The weight gradient of a convolution with fewer input channels than a
 * block (3, as an RGB image), padded and strided, with a bias, from a
 * blocked dy: the C loop over output-channel blocks gives the reference's
 * weight and bias gradients, with 16 and with 8 output channels. */
Test(onednn, few_input_channel_weight_gradients_as_the_reference) {
  for (int64_t oc = 8; oc <= 16; oc += 8) {
    nnb_graph g;
    nnb_graph_init(&g);
    int x = nnb_tensor_f32(&g, "x", NNB_ROLE_INPUT, 4, (int64_t)2, (int64_t)3, (int64_t)11,
                           (int64_t)11);
    int lbl = nnb_tensor(&g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, (int64_t[]){2});
    int w[4] = {
        nnb_tensor_f32(&g, "w1", NNB_ROLE_PARAM, 4, oc, (int64_t)3, (int64_t)3, (int64_t)3),
        nnb_tensor_f32(&g, "b1", NNB_ROLE_PARAM, 1, oc),
        nnb_tensor_f32(&g, "w2", NNB_ROLE_PARAM, 4, (int64_t)16, oc, (int64_t)3, (int64_t)3),
        nnb_tensor_f32(&g, "w3", NNB_ROLE_PARAM, 2, (int64_t)10, (int64_t)144)};
    int h = nnb_unary(&g, NNB_OP_RELU, nnb_conv2d(&g, x, w[0], w[1], 2, 1, "c1"), "r1"); /* 6 */
    h = nnb_unary(&g, NNB_OP_RELU, nnb_conv2d(&g, h, w[2], -1, 1, 1, "c2"), "r2");
    h = nnb_maxpool2d(&g, h, 2, 2, "pool"); /* 6 -> 3 */
    h = nnb_linear(&g, nnb_reshape(&g, h, 2, (int64_t[]){2, 144}, "flat"), w[3], -1, "fc");
    int loss = nnb_softmax_ce(&g, h, lbl, "loss");
    const size_t nw[4] = {(size_t)oc * 27, (size_t)oc, 16 * (size_t)oc * 9, 10 * 144};
    graph_trains_as_the_reference(&g, x, 2 * 3 * 11 * 11, lbl, loss, w, nw, 4, is_image_wgrad);
    nnb_graph_free(&g);
  }
}

/* Relu nodes not folded into the node before them. */
static int unfused_relus(nnb_backend *b, mr_run *r) {
  const nnb_ext_node_kernel *x = b->vt->lookup(b->ctx, NNB_EXT_NODE_KERNEL);
  int n = 0;
  for (int i = 0; i < r->m.g.n_nodes; i++)
    n += r->m.g.nodes[i].op == NNB_OP_RELU && strncmp(x->node_kernel(r->s.plan, i), "fused", 5);
  return n;
}

/* Inference logits agree with the reference; with fusion or blocked
 * layouts off they agree within the tolerance too, and fusion folded at
 * least one node where the model has a relu or a residual, and in the mlp
 * and the cnn every relu (the planner never gives a relu's output the
 * bytes of its convolution's input). */
Test(onednn, inference_agrees_fused_or_not) {
  static const char *const specs[] = {"mlp", "cnn", "lstm", "transformer"};
  nnb_backend b, plain;
  open_onednn(&b, NULL);
  open_onednn(&plain, "fuse=0,layout=plain");
  for (int k = 0; k < 4; k++) {
    mr_run a, x, y;
    mr_start(&a, &ref, specs[k], 5, 0);
    mr_start(&x, &b, specs[k], 5, 0);
    mr_start(&y, &plain, specs[k], 5, 0);
    mr_step(&a), mr_step(&x), mr_step(&y);
    float *la = mr_fetch(&a, a.m.logits), *lx = mr_fetch(&x, x.m.logits);
    float *ly = mr_fetch(&y, y.m.logits);
    int64_t n = nnb_numel(&a.m.g.tensors[a.m.logits]);
    double ex = mr_nmse(lx, la, n), ey = mr_nmse(ly, la, n), exy = mr_nmse(lx, ly, n);
    cr_expect_leq(ex, 1e-8, "%s logits: NMSE %.3g", specs[k], ex);
    cr_expect_leq(ey, 1e-8, "%s logits unfused, plain: NMSE %.3g", specs[k], ey);
    cr_expect_leq(exy, 1e-8, "%s: fused against unfused: NMSE %.3g", specs[k], exy);
    if (k != 2) cr_expect_gt(fused_nodes(&b, &x), 0, "%s: nothing was fused", specs[k]);
    if (k < 2) cr_expect_eq(unfused_relus(&b, &x), 0, "%s: a relu was not fused", specs[k]);
    cr_expect_eq(fused_nodes(&plain, &y), 0, "%s: fuse=0 still fused", specs[k]);
    free(la), free(lx), free(ly);
    mr_stop(&a), mr_stop(&x), mr_stop(&y);
  }
  nnb_backend_close(&plain);
  nnb_backend_close(&b);
}

/* PyTorch's fixture checkpoints, loaded as `nnbench eval` loads them, give
 * PyTorch's test accuracy and mean loss on this backend. */
Test(onednn, pytorch_checkpoints_give_pytorchs_accuracy, .timeout = 600) {
  static const char *const kinds[] = {"mlp", "cnn", "lstm", "transformer"};
  nnb_backend b;
  open_onednn(&b, NULL);
  for (int k = 0; k < 4; k++) mr_expect_pytorch_accuracy(&b, kinds[k]);
  nnb_backend_close(&b);
}

/* Primitives, workspaces and the scratchpad are made in prepare: running a
 * plan allocates nothing the backend counts. */
Test(onednn, execute_allocates_nothing) {
  static const char *const specs[] = {"cnn", "lstm", "transformer"};
  nnb_backend b;
  open_onednn(&b, NULL);
  for (int k = 0; k < 3; k++) {
    mr_run r;
    mr_start(&r, &b, specs[k], 4, 1);
    nnb_memory_stats before, after;
    b.vt->memory_stats(b.ctx, &before);
    mr_step(&r), mr_step(&r);
    b.vt->memory_stats(b.ctx, &after);
    cr_expect_eq(after.n_allocs, before.n_allocs, "%s", specs[k]);
    cr_expect_eq(after.peak_bytes, before.peak_bytes, "%s", specs[k]);
    cr_expect_gt(before.current_bytes, 0);
    mr_stop(&r);
  }
  nnb_backend_close(&b);
}

/* isa= caps the ISA before oneDNN's first use; in a process that already
 * used it, only a cap at or above what runs is accepted, and a lower one
 * is refused with the reason (never silently ignored). */
Test(onednn, isa_cap_is_applied_or_refused) {
  nnb_backend b;
  nnb_error e = {{0}};
  nnb_backend_config cfg = {.threads = 2, .options = "isa=sse41"};
  if (nnb_backend_open("onednn", &cfg, &b, &e) == NNB_OK) {
    nnb_backend_info info;
    cr_assert_eq(b.vt->describe(b.ctx, &info, &e), NNB_OK, "%s", e.msg);
    cr_expect_str_eq(prop(&info, "isa"), "sse41");
    cr_expect_str_eq(prop(&info, "isa_cap"), "sse41");
    nnb_backend_close(&b);
  } else {
    cr_expect(strstr(e.msg, "isa=sse41") && strstr(e.msg, "fresh process"), "%s", e.msg);
  }
}
