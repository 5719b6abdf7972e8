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
#include "dn_vec.h"
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
  /* widths that fill no 8- or 16-float vector: B, H, I with T = 6; the
   * last three on both threads (work above PAR_MIN_WORK, dn_table.c), 3
   * sequences split unevenly; input per step (I < 3 rows per thread) and
   * for all steps first */
  static const int64_t lstm_shapes[][3] = {{1, 11, 30},  {2, 7, 1},   {5, 13, 3},
                                           {3, 20, 200}, {9, 37, 40}, {17, 25, 5}};
  for (size_t k = 0; k < sizeof lstm_shapes / sizeof lstm_shapes[0]; k++) {
    const int64_t B = lstm_shapes[k][0], H = lstm_shapes[k][1], I = lstm_shapes[k][2], T = 6;
    const int64_t fwd[5][4] = {{B, T, I}, {4 * H, I}, {4 * H, H}, {4 * H}, {4 * H}};
    bc_big_case(&ref, &b, NNB_OP_LSTM, fwd, (int[]){3, 2, 2, 1, 1}, 5, &none, 1e-6);
    const int64_t bwd[6][4] = {{B, T, H},  {B, T, I}, {4 * H, I},
                               {4 * H, H}, {B, T, H}, {B, T, 5 * H}};
    bc_big_case(&ref, &b, NNB_OP_LSTM_BWD, bwd, (int[]){3, 3, 2, 2, 3, 3}, 6, &none, 1e-6);
  }
  nnb_backend_close(&b);
}

/* The gate tables this CPU runs (AVX-512 only where it has it). */
static int runnable_tables(const dn_vec **out) {
  int n = 0;
  out[n++] = &dn_vec_baseline;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) out[n++] = &dn_vec_avx2;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    out[n++] = &dn_vec_avx512;
#endif
  return n;
}

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

/* The own LSTM path's gate passes, every table this CPU runs, against the
 * formulas of docs/ops.md in double: widths that fill no vector (and
 * whole ones), pre-activations far into saturation, with and without the
 * previous step's state and the next step's dh. Nothing is written past
 * the n units of each gate. */
Test(onednn_kernels, lstm_gate_passes_match_the_formulas_on_odd_sizes) {
  const dn_vec *vt[3];
  int nv = runnable_tables(vt);
  enum { MAXN = 53 };
  static const int64_t widths[] = {1, 3, 7, 8, 13, 16, 17, 33, 53};
  float *z = tu_rand(11, 4 * MAXN, -4.0f, 4.0f), *bias = tu_rand(12, 4 * MAXN, -1.0f, 1.0f);
  float *cp = tu_rand(13, MAXN, -2.0f, 2.0f), *dy = tu_rand(14, MAXN, -1.0f, 1.0f);
  float *dhn = tu_rand(15, MAXN, -1.0f, 1.0f), *dc0 = tu_rand(16, MAXN, -1.0f, 1.0f);
  cr_assert(z && bias && cp && dy && dhn && dc0);
  z[0] = 30.0f, z[MAXN + 1] = -40.0f, z[2 * MAXN + 2] = 95.0f, z[3 * MAXN + 2] = -100.0f;
  float cache[5 * MAXN + 1], h[MAXN + 1], dz[4 * MAXN + 1], dc[MAXN];
  for (int v = 0; v < nv; v++)
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++)
      for (int with = 0; with < 2; with++) {
        const int64_t n = widths[w];
        /* the gates of width n: z and bias read as [4, n] */
        cache[5 * n] = h[n] = 777.0f;
        vt[v]->lstm_fwd(n, z, bias, with ? cp : NULL, cache, h);
        cr_assert_eq(cache[5 * n], 777.0f, "%s lstm_fwd n=%ld wrote past the cache", vt[v]->isa,
                     (long)n);
        cr_assert_eq(h[n], 777.0f, "%s lstm_fwd n=%ld wrote past h", vt[v]->isa, (long)n);
        for (int64_t u = 0; u < n; u++) {
          double gi = sigmoid_d((double)z[u] + bias[u]);
          double gf = sigmoid_d((double)z[n + u] + bias[n + u]);
          double gg = tanh((double)z[2 * n + u] + bias[2 * n + u]);
          double go = sigmoid_d((double)z[3 * n + u] + bias[3 * n + u]);
          double c = gf * (with ? cp[u] : 0.0) + gi * gg, want[6] = {gi, gf, gg, go, c};
          want[5] = go * tanh(c);
          for (int q = 0; q < 6; q++) {
            float got = q < 5 ? cache[q * n + u] : h[u];
            cr_assert(fabs(got - want[q]) <= 2e-6 * (fabs(want[q]) + 1.0),
                      "%s lstm_fwd n=%ld unit %ld output %d: %.9g, want %.9g", vt[v]->isa, (long)n,
                      (long)u, q, (double)got, want[q]);
          }
        }
        /* backward from this step's cache */
        memcpy(dc, dc0, sizeof dc);
        dz[4 * n] = 777.0f;
        vt[v]->lstm_bwd(n, dy, with ? dhn : NULL, dc, cache, with ? cp : NULL, dz);
        cr_assert_eq(dz[4 * n], 777.0f, "%s lstm_bwd n=%ld wrote past dz", vt[v]->isa, (long)n);
        for (int64_t u = 0; u < n; u++) {
          double gi = cache[u], gf = cache[n + u], gg = cache[2 * n + u], go = cache[3 * n + u];
          double tc = tanh((double)cache[4 * n + u]), dh = dy[u] + (with ? dhn[u] : 0.0);
          double dcu = dc0[u] + dh * go * (1.0 - tc * tc), cprev = with ? cp[u] : 0.0;
          double want[5] = {dcu * gg * gi * (1.0 - gi), dcu * cprev * gf * (1.0 - gf),
                            dcu * gi * (1.0 - gg * gg), dh * tc * go * (1.0 - go), dcu * gf};
          for (int q = 0; q < 5; q++) {
            float got = q < 4 ? dz[q * n + u] : dc[u];
            cr_assert(fabs(got - want[q]) <= 2e-6 * (fabs(want[q]) + 1.0),
                      "%s lstm_bwd n=%ld unit %ld output %d: %.9g, want %.9g", vt[v]->isa, (long)n,
                      (long)u, q, (double)got, want[q]);
          }
        }
      }
  free(z), free(bias), free(cp), free(dy), free(dhn), free(dc0);
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
/* both LSTM paths: the primitive (its workspace for the cache) and the own
 * one, and the default (the own path where the primitive runs `ref`) */
Test(onednn, lstm_trains_as_the_reference_on_the_primitive) {
  train_agrees("lstm", 6, "lstm=primitive");
}
Test(onednn, lstm_trains_as_the_reference_by_default) { train_agrees("lstm", 6, NULL); }
/* one sequence: a single thread runs the own path's recurrence */
Test(onednn, lstm_trains_as_the_reference_one_sequence) { train_agrees("lstm", 1, "lstm=own"); }
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

/* Which LSTM path ran is in the kernel names: lstm=own runs the own path,
 * lstm=primitive the primitive (its forward and backward), and auto (the
 * default) either the own path or a primitive implementation that is not
 * oneDNN's generic `ref` one; describe() names the option. */
Test(onednn, lstm_kernel_names_say_which_path_ran) {
  static const char *const opts[] = {NULL, "lstm=own", "lstm=primitive"};
  for (int o = 0; o < 3; o++)
    for (int train = 0; train < 2; train++) {
      nnb_backend b;
      open_onednn(&b, opts[o]);
      nnb_backend_info info;
      nnb_error e = {{0}};
      cr_assert_eq(b.vt->describe(b.ctx, &info, &e), NNB_OK, "%s", e.msg);
      const char *want = o == 0 ? "auto" : o == 1 ? "own" : "primitive";
      cr_expect(!strncmp(prop(&info, "lstm"), want, strlen(want)), "lstm: %s", prop(&info, "lstm"));
      mr_run r;
      mr_start(&r, &b, "lstm", 4, train);
      mr_step(&r);
      const nnb_ext_node_kernel *x = b.vt->lookup(b.ctx, NNB_EXT_NODE_KERNEL);
      int seen = 0;
      for (int i = 0; i < r.m.g.n_nodes; i++) {
        nnb_op op = r.m.g.nodes[i].op;
        if (op != NNB_OP_LSTM && op != NNB_OP_LSTM_BWD) continue;
        const char *k = x->node_kernel(r.s.plan, i);
        bool own = !strncmp(k, "own:", 4);
        if (o == 1) cr_expect(own, "lstm=own: %s runs %s", r.m.g.nodes[i].name, k);
        if (o == 2) cr_expect(!own, "lstm=primitive: %s runs %s", r.m.g.nodes[i].name, k);
        if (o == 0)
          cr_expect(own || strncmp(k, "ref", 3), "auto: %s runs %s", r.m.g.nodes[i].name, k);
        seen++;
      }
      cr_expect_eq(seen, train ? 4 : 2, "the lstm nodes of %s", train ? "training" : "inference");
      mr_stop(&r);
      nnb_backend_close(&b);
    }
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
