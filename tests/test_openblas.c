/* The openblas backend, loaded from the build tree: every op agrees with
 * the reference on nnbench check's seeded cases, and on larger ones that
 * take the parallel paths (two threads); whole models agree with it in
 * training (gradients) and inference; the relu fusion changes no bit;
 * execute allocates nothing; and the core-type decision keeps explicit
 * settings and otherwise picks AVX-512 kernels where the CPU has them.
 * Built only when the backend is (tests/CMakeLists.txt). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <nnbench/host_buffer.h>
#include <nnbench/nnbench.h>

#include "backend_cases.h"
#include "check.h"
#include "model.h"
#include "modelrun.h"
#include "ob_coretype.h"
#include "ob_vec.h"
#include "split_step.h"
#include "testutil.h"
#include "weights.h"

static nnb_backend ref;

static void open_openblas(nnb_backend *b, const char *options) {
  nnb_error e = {{0}};
  nnb_backend_config cfg = {.threads = 2, .options = options};
  cr_assert_eq(nnb_backend_open("openblas", &cfg, b, &e), NNB_OK, "%s", e.msg);
}

static void setup(void) {
  nnb_error e = {{0}};
  cr_assert_eq(nnb_registry_load_file(NNB_BACKEND_DIR "/libnnb-openblas.so", &e), NNB_OK, "%s",
               e.msg);
  tu_open_reference(&ref);
}

static void teardown(void) {
  nnb_backend_close(&ref);
  nnb_registry_unload();
}

TestSuite(openblas, .init = setup, .fini = teardown, .timeout = 300);

static const char *prop(const nnb_backend_info *info, const char *key) {
  for (int i = 0; i < info->n_props; i++)
    if (!strcmp(info->props[i].key, key)) return info->props[i].value;
  return NULL;
}

Test(openblas, describe_records_version_config_and_core_type) {
  nnb_backend ob;
  open_openblas(&ob, NULL);
  nnb_backend_info info;
  nnb_error e = {{0}};
  cr_assert_eq(ob.vt->describe(ob.ctx, &info, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(info.name, "openblas");
  cr_expect(!strncmp(info.library, "OpenBLAS 0.", 11), "library: %s", info.library);
  const char *config = prop(&info, "openblas_config"), *core = prop(&info, "core_type");
  cr_assert_not_null(config);
  cr_assert_not_null(core);
  cr_assert_not_null(prop(&info, "core_type_reason"));
  cr_expect(strstr(config, core), "the config string '%s' names the core in use '%s'", config,
            core);
  cr_expect_str_eq(prop(&info, "threads"), "2");
  /* Unless this backend is told otherwise, an AVX-512 CPU gets AVX-512 kernels. */
  ob_cpu cpu;
  ob_cpu_detect(&cpu);
  const char *nnb = getenv("NNB_OPENBLAS_CORETYPE");
  if (ob_cpu_has_avx512(&cpu) && !(nnb && nnb[0]))
    cr_expect(ob_coretype_is_avx512(core), "AVX-512 CPU but core type %s (%s)", core,
              prop(&info, "core_type_reason"));
  /* the backend's own GEMMs: on by default on the AVX2 table only, and
   * each option turns its own on or off */
  static const char *const own[][3] = {{"lstm_packed", "lstm_step_gemm", "packed once per op"},
                                       {"prepack", "unwritten_weights", "packed once per change"},
                                       {"fewrow", "fewrow_gemm", "in place"}};
  bool avx2 = !strcmp(prop(&info, "vector_isa"), "avx2");
  for (int i = 0; i < 3; i++)
    cr_expect_str_eq(prop(&info, own[i][1]), avx2 ? own[i][2] : "OpenBLAS sgemm", "%s", own[i][1]);
  nnb_backend_close(&ob);
  for (int i = 0; i < 3; i++)
    for (int on = 0; on < 2; on++) {
      char opt[64];
      snprintf(opt, sizeof opt, "%s=%d", own[i][0], on);
      open_openblas(&ob, opt);
      cr_assert_eq(ob.vt->describe(ob.ctx, &info, &e), NNB_OK, "%s", e.msg);
      cr_expect_str_eq(prop(&info, own[i][1]), on ? own[i][2] : "OpenBLAS sgemm", "%s", opt);
      nnb_backend_close(&ob);
    }
}

Test(openblas, every_op_matches_the_reference) {
  nnb_backend ob;
  open_openblas(&ob, NULL);
  bc_every_op(&ref, &ob, 3);
  nnb_backend_close(&ob);
}

Test(openblas, large_cases_take_the_parallel_paths) {
  nnb_backend ob;
  open_openblas(&ob, NULL);
  nnb_attr none = {0};
  { /* a GEMM split over the team, bias in the epilogue */
    const int64_t sh[3][4] = {{300, 200}, {100, 200}, {100}};
    nnb_attr at = {.matmul = {0, 1}};
    bc_big_case(&ref, &ob, NNB_OP_MATMUL, sh, (int[]){2, 2, 1}, 3, &at, 1e-6);
  }
  for (int ta = 0; ta < 2; ta++) /* one row or one column of C: SGEMV, every transposition */
    for (int tb = 0; tb < 2; tb++)
      for (int row = 0; row < 2; row++) {
        int64_t m = row ? 1 : 37, n = row ? 45 : 1, k = 29;
        const int64_t sh[2][4] = {{ta ? k : m, ta ? m : k}, {tb ? n : k, tb ? k : n}};
        nnb_attr at = {.matmul = {ta, tb}};
        bc_big_case(&ref, &ob, NNB_OP_MATMUL, sh, (int[]){2, 2}, 2, &at, 1e-6);
      }
  /* short K, 2.2 MB of C per thread: blocks of rows, the last partial */
  for (int ta = 0; ta < 2; ta++) {
    const int64_t sh[2][4] = {{ta ? 20 : 1600, ta ? 1600 : 20}, {20, 700}};
    nnb_attr at = {.matmul = {ta, 0}};
    bc_big_case(&ref, &ob, NNB_OP_MATMUL, sh, (int[]){2, 2}, 2, &at, 1e-6);
  }
  { /* few rows against 8.6 MB of weight, and a short K into 8.6 MB of C
     * (over 4 MiB per thread): the in-place kernels where the option asks */
    nnb_backend few;
    open_openblas(&few, "fewrow=1,prepack=0");
    const int64_t nt[2][4] = {{40, 1200}, {1800, 1200}}, tn[2][4] = {{20, 1800}, {20, 1200}};
    nnb_attr at_nt = {.matmul = {0, 1}}, at_tn = {.matmul = {1, 0}};
    bc_big_case(&ref, &few, NNB_OP_MATMUL, nt, (int[]){2, 2}, 2, &at_nt, 1e-6);
    bc_big_case(&ref, &few, NNB_OP_MATMUL, tn, (int[]){2, 2}, 2, &at_tn, 1e-6);
    nnb_backend_close(&few);
  }
  { /* bias gradient: per-thread partial sums */
    const int64_t sh[1][4] = {{4096, 72}};
    nnb_attr at = {.shape = {.rank = 1, .dims = {72}}};
    bc_big_case(&ref, &ob, NNB_OP_SUM_TO, sh, (int[]){2}, 1, &at, 1e-6);
  }
  {
    const int64_t sh[3][4] = {{2048, 48}, {2048, 48}, {48}};
    nnb_attr at = {.layernorm = {1e-5f}};
    bc_big_case(&ref, &ob, NNB_OP_LAYERNORM_BWD, sh, (int[]){2, 2, 1}, 3, &at, 1e-6);
  }
  {
    const int64_t sh[5][4] = {{700, 300}, {700, 300}, {700, 300}, {700, 300}, {1}};
    nnb_attr at = {.adam = {1e-3f, 0.9f, 0.999f, 1e-8f}};
    bc_big_case(&ref, &ob, NNB_OP_ADAM, sh, (int[]){2, 2, 2, 2, 1}, 5, &at, 1e-6);
  }
  {
    const int64_t sh[2][4] = {{64, 48, 40}, {48, 1}}; /* a column: the strided broadcast */
    bc_big_case(&ref, &ob, NNB_OP_ADD, sh, (int[]){3, 2}, 2, &none, 1e-6);
  }
  {
    const int64_t sh[1][4] = {{16, 8, 33, 31}};
    nnb_attr at = {.pool = {3, 3, 2, 2}};
    bc_big_case(&ref, &ob, NNB_OP_MAXPOOL2D, sh, (int[]){4}, 1, &at, 1e-6);
  }
  { /* strided, padded convolution: im2col's general path; 7 images make
     * groups of 3 on each of two threads, the last one partial */
    const int64_t sh[3][4] = {{7, 5, 17, 19}, {7, 5, 3, 3}, {7}};
    nnb_attr at = {.conv = {2, 2, 1, 1}};
    bc_big_case(&ref, &ob, NNB_OP_CONV2D, sh, (int[]){4, 4, 1}, 3, &at, 1e-6);
  }
  {
    const int64_t sh[2][4] = {{7, 7, 9, 10}, {7, 5, 3, 3}};
    nnb_attr at = {.conv = {2, 2, 1, 1, 3, 3, 17, 19, 1}};
    bc_big_case(&ref, &ob, NNB_OP_CONV2D_BWD_DATA, sh, (int[]){4, 4}, 2, &at, 1e-6);
  }
  {
    const int64_t sh[2][4] = {{7, 7, 9, 10}, {7, 5, 17, 19}};
    nnb_attr at = {.conv = {2, 2, 1, 1, 3, 3, 17, 19, 1}};
    bc_big_case(&ref, &ob, NNB_OP_CONV2D_BWD_WEIGHT, sh, (int[]){4, 4}, 2, &at, 1e-6);
  }
  { /* a causal attention, many (sequence, head) pairs */
    const int64_t sh[1][4] = {{8, 20, 3 * 24}};
    nnb_attr at = {.attention = {4, 1}};
    bc_big_case(&ref, &ob, NNB_OP_ATTENTION, sh, (int[]){3}, 1, &at, 1e-6);
  }
  nnb_backend_close(&ob);
}

static void train_agrees(const char *spec, int batch, const char *options) {
  nnb_backend ob;
  open_openblas(&ob, options);
  mr_expect_train_agrees(&ref, &ob, spec, batch);
  nnb_backend_close(&ob);
}

Test(openblas, mlp_trains_as_the_reference) { train_agrees("mlp", 300, NULL); }
Test(openblas, cnn_trains_as_the_reference) { train_agrees("cnn", 6, NULL); }
/* both ways of sharing the recurrence among threads, each with the input
 * projection of all steps at once and step by step */
Test(openblas, lstm_trains_as_the_reference_split_by_units) {
  train_agrees("lstm", 6, "lstm_split=1,lstm_input=0");
  train_agrees("lstm", 6, "lstm_split=1,lstm_input=1");
}
Test(openblas, lstm_trains_as_the_reference_split_by_sequences) {
  train_agrees("lstm", 6, "lstm_split=0,lstm_input=0");
  train_agrees("lstm", 6, "lstm_split=0,lstm_input=1");
}
/* the per-step products on weights packed once (lstm_packed=1) and as
 * OpenBLAS's calls, every way of splitting and of taking the input,
 * forward and backward: odd batches (not whole blocks of 6 rows, per
 * thread either), odd inputs, hidden sizes that are not whole panels of 16
 * (by units, a thread's last panel partial) */
Test(openblas, lstm_on_odd_sizes_every_gemm_and_split) {
  for (int o = 0; o < 8; o++) {
    char opts[80];
    snprintf(opts, sizeof opts, "lstm_packed=%d,lstm_split=%d,lstm_input=%d", o / 4, o / 2 % 2,
             o % 2);
    nnb_backend ob;
    open_openblas(&ob, opts);
    bc_lstm_case(&ref, &ob, 13, 4, 7, 40);
    bc_lstm_case(&ref, &ob, 31, 3, 29, 53);
    bc_lstm_case(&ref, &ob, 2, 3, 5, 9);
    nnb_backend_close(&ob);
  }
}
/* the per-step products packed and as OpenBLAS's calls */
Test(openblas, lstm_trains_as_the_reference_either_gemm) {
  train_agrees("lstm", 6, "lstm_packed=1,lstm_split=0");
  train_agrees("lstm", 6, "lstm_packed=1,lstm_split=1");
  train_agrees("lstm", 6, "lstm_packed=0,lstm_split=0");
}
Test(openblas, transformer_trains_as_the_reference) { train_agrees("transformer", 6, NULL); }
/* a batch of one: every GEMM with one row is an SGEMV */
Test(openblas, lstm_trains_as_the_reference_one_sequence) { train_agrees("lstm", 1, NULL); }
Test(openblas, mlp_trains_as_the_reference_one_sample) { train_agrees("mlp", 1, NULL); }

/* Inference logits agree with the reference, and running with the relu
 * fusion off (option fuse=0) gives the same bits. */
Test(openblas, inference_agrees_fused_or_not) {
  static const char *const specs[] = {"mlp", "cnn", "lstm", "transformer"};
  nnb_backend ob, plain;
  open_openblas(&ob, NULL);
  open_openblas(&plain, "fuse=0");
  for (int k = 0; k < 8; k++) { /* batches of 5 and of 1 (SGEMV) */
    int batch = k < 4 ? 5 : 1;
    mr_run a, b, c;
    mr_start(&a, &ref, specs[k % 4], batch, 0);
    mr_start(&b, &ob, specs[k % 4], batch, 0);
    mr_start(&c, &plain, specs[k % 4], batch, 0);
    mr_step(&a), mr_step(&b), mr_step(&c);
    float *la = mr_fetch(&a, a.m.logits), *lb = mr_fetch(&b, b.m.logits),
          *lc = mr_fetch(&c, c.m.logits);
    int64_t n = nnb_numel(&a.m.g.tensors[a.m.logits]);
    double err = mr_nmse(lb, la, n);
    cr_expect_leq(err, 1e-8, "%s, batch %d, logits: NMSE %.3g", specs[k % 4], batch, err);
    cr_expect_arr_eq(lb, lc, (size_t)n * sizeof *lb,
                     "%s, batch %d: fused and unfused logits differ", specs[k % 4], batch);
    free(la), free(lb), free(lc);
    mr_stop(&a), mr_stop(&b), mr_stop(&c);
  }
  nnb_backend_close(&plain);
  nnb_backend_close(&ob);
}

/* Workspaces are made in prepare: running a plan allocates nothing the
 * backend counts. */
/* Weights no node writes are packed once (prepack=1) and packed again
 * after an upload changed them: logits against the reference before and
 * after new weights arrive; prepack=0 for the same bits' worth of answer. */
Test(openblas, packed_weights_agree_and_follow_uploads) {
  static const char *const specs[] = {"mlp", "cnn"};
  nnb_backend packed, plain;
  open_openblas(&packed, "prepack=1");
  open_openblas(&plain, "prepack=0");
  for (int k = 0; k < 2; k++) {
    mr_run a, b, c;
    nnb_memory_stats m0, m1, m2;
    plain.vt->memory_stats(plain.ctx, &m0);
    mr_start(&a, &ref, specs[k], 16, 0);
    mr_start(&c, &plain, specs[k], 16, 0);
    plain.vt->memory_stats(plain.ctx, &m1);
    packed.vt->memory_stats(packed.ctx, &m2);
    mr_start(&b, &packed, specs[k], 16, 0);
    nnb_memory_stats m3;
    packed.vt->memory_stats(packed.ctx, &m3);
    /* the packed copy is counted: more than the unpacked plan holds */
    cr_expect_gt(m3.current_bytes - m2.current_bytes, m1.current_bytes - m0.current_bytes,
                 "%s: no weight was kept packed", specs[k]);
    int64_t n = nnb_numel(&a.m.g.tensors[a.m.logits]);
    for (int round = 0; round < 2; round++) {
      if (round == 1) { /* new weights, through upload */
        nnb_weights w;
        nnb_error e = {{0}};
        cr_assert_eq(nnb_weights_init(&a.m, 11, &w, &e), NNB_OK, "%s", e.msg);
        mr_run *runs[3] = {&a, &b, &c};
        for (int r = 0; r < 3; r++)
          cr_assert_eq(nnb_weights_to_session(&runs[r]->m, &runs[r]->s, &w, &e), NNB_OK, "%s",
                       e.msg);
        nnb_weights_free(&w);
      }
      mr_step(&a), mr_step(&b), mr_step(&c), mr_step(&b);
      float *la = mr_fetch(&a, a.m.logits), *lb = mr_fetch(&b, b.m.logits),
            *lc = mr_fetch(&c, c.m.logits);
      double eb = mr_nmse(lb, la, n), ec = mr_nmse(lc, la, n);
      cr_expect_leq(eb, 1e-8, "%s, weights %d, packed once: NMSE %.3g", specs[k], round, eb);
      cr_expect_leq(ec, 1e-8, "%s, weights %d, OpenBLAS: NMSE %.3g", specs[k], round, ec);
      free(la), free(lb), free(lc);
    }
    mr_stop(&a), mr_stop(&b), mr_stop(&c);
  }
  nnb_backend_close(&plain);
  nnb_backend_close(&packed);
}

/* Weights a training graph updates are never kept packed: one plan
 * (the updates are its nodes), or two plans on the same bindings (data-
 * parallel training: the first reads the weights and may keep them
 * packed, the second writes them). Each step's loss must be the loss at
 * the updated weights, as with nothing packed. */
Test(openblas, packed_weights_follow_the_updates) {
  nnb_backend packed, plain;
  nnb_error e = {{0}};
  open_openblas(&packed, "prepack=1");
  open_openblas(&plain, "prepack=0");
  nnb_model m;
  nnb_model_spec spec;
  nnb_input_shape in = {1, 28, 28, 10};
  nnb_opt_config opt = {NNB_OPT_ADAM, 1e-2f, 0, 0.9f, 0.999f, 1e-8f};
  cr_assert_eq(nnb_model_parse("mlp", &spec, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_model_build(&spec, &in, 16, 1, &m, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_autodiff(&m.g, m.loss, &opt, NULL, &e), NNB_OK, "%s", e.msg);
  nnb_graph_mark_output(&m.g, m.loss);
  nnb_session whole, whole_packed;
  nnb_split_step split;
  cr_assert_eq(nnb_session_create(&plain, &m.g, &whole, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_session_create(&packed, &m.g, &whole_packed, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_split_step_create(&packed, &m.g, &split, &e), NNB_OK, "%s", e.msg);
  nnb_session *ss[3] = {&whole, &whole_packed, &split.session};
  nnb_weights w;
  cr_assert_eq(nnb_weights_init(&m, 5, &w, &e), NNB_OK, "%s", e.msg);
  float *x = tu_rand(3, 16 * 28 * 28, 0.0f, 1.0f);
  int32_t y[16];
  for (int i = 0; i < 16; i++) y[i] = (i * 3 + 1) % 10;
  for (int k = 0; k < 3; k++) {
    cr_assert_eq(nnb_weights_to_session(&m, ss[k], &w, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_session_upload(ss[k], m.x, x, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_session_upload(ss[k], m.labels, y, &e), NNB_OK, "%s", e.msg);
  }
  nnb_weights_free(&w);
  float first = 0.0f;
  for (int step = 0; step < 4; step++) {
    float loss[3];
    cr_assert_eq(nnb_session_run(&whole, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_session_run(&whole_packed, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_split_step_grads(&split, &e), NNB_OK, "%s", e.msg);
    for (int k = 0; k < 3; k++)
      cr_assert_eq(nnb_session_download(ss[k], m.loss, &loss[k], &e), NNB_OK, "%s", e.msg);
    for (int k = 1; k < 3; k++)
      cr_expect(fabsf(loss[k] - loss[0]) <= 1e-5f * fabsf(loss[0]),
                "step %d, %s: loss %.8g against %.8g", step, k == 1 ? "one plan" : "two plans",
                (double)loss[k], (double)loss[0]);
    cr_assert_eq(nnb_split_step_update(&split, &e), NNB_OK, "%s", e.msg);
    if (step == 0) first = loss[0];
    if (step == 3) /* else a stale copy could not show */
      cr_expect_gt(fabsf(loss[0] - first), 1e-3f * first, "the updates did not change the loss");
  }
  free(x);
  nnb_split_step_free(&split);
  nnb_session_free(&whole_packed);
  nnb_session_free(&whole);
  nnb_model_free(&m);
  nnb_backend_close(&plain);
  nnb_backend_close(&packed);
}

/* A watch is marked by writes that overlap it, from an upload or from
 * another plan, never by its owner's own writes; removed, it is not. */
Test(openblas, host_watches_see_overlapping_writes) {
  nnb_memory_stats mem = {0};
  nnb_buffer *buf = NULL;
  nnb_error e = {{0}};
  cr_assert_eq(nnb_host_buffer_alloc(&mem, "test", 256, &buf, &e), NNB_OK);
  nnb_host_watch w1, w2;
  int owner1, owner2;
  nnb_host_watch_add(buf, &w1, 64, 64, &owner1);
  nnb_host_watch_add(buf, &w2, 192, 32, &owner2);
  cr_expect(w1.changed && w2.changed, "a new watch starts changed");
  w1.changed = w2.changed = false;
  float v[16] = {0};
  cr_assert_eq(nnb_host_buffer_upload("test", buf, 0, v, 64, &e), NNB_OK);
  cr_expect(!w1.changed && !w2.changed, "bytes [0, 64) are outside both");
  cr_assert_eq(nnb_host_buffer_upload("test", buf, 124, v, 8, &e), NNB_OK);
  cr_expect(w1.changed && !w2.changed, "bytes [124, 132) overlap the first only");
  w1.changed = false;
  nnb_host_mark_written(buf, 100, 100, &owner1);
  cr_expect(!w1.changed && w2.changed, "the owner's own writes do not count");
  w2.changed = false;
  nnb_host_watch_remove(buf, &w2);
  nnb_host_mark_written(buf, 0, 256, NULL);
  cr_expect(w1.changed && !w2.changed, "a removed watch is not marked");
  nnb_host_watch_remove(buf, &w1);
  cr_expect_null(buf->watch);
  nnb_host_buffer_free(&mem, buf);
}

Test(openblas, execute_allocates_nothing) {
  nnb_backend ob;
  open_openblas(&ob, NULL);
  mr_run r;
  mr_start(&r, &ob, "cnn", 4, 1);
  nnb_memory_stats before, after;
  ob.vt->memory_stats(ob.ctx, &before);
  mr_step(&r), mr_step(&r);
  ob.vt->memory_stats(ob.ctx, &after);
  cr_expect_eq(after.n_allocs, before.n_allocs);
  cr_expect_eq(after.peak_bytes, before.peak_bytes);
  cr_expect_gt(before.current_bytes, 0);
  mr_stop(&r);
  nnb_backend_close(&ob);
}

Test(openblas, core_type_decision) {
  char why[256];
  /* this backend's own variable always wins */
  cr_expect_str_eq(ob_coretype_decide("Haswell", "SkylakeX", true, NULL, why, sizeof why),
                   "Haswell");
  cr_expect(strstr(why, "NNB_OPENBLAS_CORETYPE=Haswell"), "%s", why);
  /* AVX-512 CPU, OpenBLAS fell back to AVX2 kernels: SkylakeX */
  cr_expect_str_eq(ob_coretype_decide(NULL, NULL, true, "Haswell", why, sizeof why), "SkylakeX");
  cr_expect(strstr(why, "Haswell"), "%s", why);
  cr_expect_str_eq(ob_coretype_decide("", "", true, "Zen", why, sizeof why), "SkylakeX");
  /* the same when the environment asked for AVX2 kernels; the reason says how to keep them */
  cr_expect_str_eq(ob_coretype_decide(NULL, "Haswell", true, "Haswell", why, sizeof why),
                   "SkylakeX");
  cr_expect(strstr(why, "NNB_OPENBLAS_CORETYPE=Haswell"), "%s", why);
  /* AVX-512 kernels already (OpenBLAS's own or the environment's): kept */
  cr_expect_null(ob_coretype_decide(NULL, NULL, true, "Cooperlake", why, sizeof why));
  cr_expect_null(ob_coretype_decide(NULL, "skylakex", true, "SkylakeX", why, sizeof why));
  cr_expect(strstr(why, "respected"), "%s", why);
  /* no AVX-512: whatever OpenBLAS or the environment chose */
  cr_expect_null(ob_coretype_decide(NULL, NULL, false, "Haswell", why, sizeof why));
  cr_expect_null(ob_coretype_decide(NULL, "Sandybridge", false, "Sandybridge", why, sizeof why));
  cr_expect(strstr(why, "OPENBLAS_CORETYPE=Sandybridge"), "%s", why);

  cr_expect(ob_coretype_is_avx512("SkylakeX"));
  cr_expect(ob_coretype_is_avx512("cooperlake"));
  cr_expect_not(ob_coretype_is_avx512("Haswell"));
  cr_expect_not(ob_coretype_is_avx512(NULL));
}

Test(openblas, vector_isa_decision) {
  char why[256];
  cr_expect_str_eq(ob_vec_isa_decide(NULL, true, true, why, sizeof why), "avx512");
  cr_expect_str_eq(ob_vec_isa_decide("", false, true, why, sizeof why), "avx2");
  cr_expect_str_eq(ob_vec_isa_decide(NULL, false, false, why, sizeof why), "baseline");
  /* a narrower table than the CPU's: the AVX2 paths on an AVX-512 machine */
  cr_expect_str_eq(ob_vec_isa_decide("AVX2", true, true, why, sizeof why), "avx2");
  cr_expect(strstr(why, "NNB_OPENBLAS_VEC=AVX2"), "%s", why);
  cr_expect_str_eq(ob_vec_isa_decide("baseline", false, true, why, sizeof why), "baseline");
  /* wider than the CPU, or unknown: refused, with the reason */
  cr_expect_null(ob_vec_isa_decide("avx512", false, true, why, sizeof why));
  cr_expect(strstr(why, "cannot run"), "%s", why);
  cr_expect_null(ob_vec_isa_decide("sse9", true, true, why, sizeof why));
  cr_expect(strstr(why, "expected avx512, avx2 or baseline"), "%s", why);
}

/* The variable reaches the backend: the baseline kernels run every op as
 * the reference does, and the provenance says so; a wrong value fails. */
Test(openblas, vector_isa_can_be_narrowed) {
  cr_assert_eq(setenv("NNB_OPENBLAS_VEC", "baseline", 1), 0);
  nnb_backend ob;
  open_openblas(&ob, NULL);
  unsetenv("NNB_OPENBLAS_VEC");
  nnb_backend_info info;
  nnb_error e = {{0}};
  cr_assert_eq(ob.vt->describe(ob.ctx, &info, &e), NNB_OK, "%s", e.msg);
  cr_assert_not_null(prop(&info, "vector_isa_reason"));
  cr_expect_str_eq(prop(&info, "vector_isa"), "baseline");
  cr_expect(strstr(prop(&info, "vector_isa_reason"), "NNB_OPENBLAS_VEC"));
  for (int op = 0; op < NNB_OP_COUNT; op++) {
    nnb_check_result r;
    nnb_check_op(&ref, &ob, (nnb_op)op, 1, &r);
    cr_expect_eq(r.verdict, NNB_PASS, "%s on baseline kernels: %s", nnb_op_name((nnb_op)op),
                 r.detail);
  }
  nnb_backend_close(&ob);
  cr_assert_eq(setenv("NNB_OPENBLAS_VEC", "sse9", 1), 0);
  nnb_backend_config cfg = {.threads = 1};
  cr_expect_neq(nnb_backend_open("openblas", &cfg, &ob, &e), NNB_OK);
  cr_expect(strstr(e.msg, "NNB_OPENBLAS_VEC=sse9"), "%s", e.msg);
  unsetenv("NNB_OPENBLAS_VEC");
}

Test(openblas, cpu_features_are_consistent) {
  ob_cpu c;
  ob_cpu_detect(&c);
  /* AVX-512 usable implies the OS saves ZMM state and the weaker sets exist */
  if (ob_cpu_has_avx512(&c)) cr_expect(c.os_zmm && c.os_ymm && c.avx512f);
  if (c.os_zmm) cr_expect(c.os_ymm);
#if defined(__x86_64__)
  cr_expect(c.vendor[0], "CPUID gives a vendor string");
  cr_expect_eq(ob_cpu_has_avx2(&c),
               (bool)__builtin_cpu_supports("avx2") && (bool)__builtin_cpu_supports("fma"));
  cr_expect_eq(c.avx512f && c.os_zmm, (bool)__builtin_cpu_supports("avx512f"));
#endif
}

/* --backend-opt reaches the plugin as nnb_backend_config.options: fuse=0
 * turns the relu fusion off, which describe() reports with the case. */
Test(openblas, backend_options_reach_the_plugin_through_the_cli) {
  char dir[] = "/tmp/nnb-ob-opt-XXXXXX", cmd[1024], *out;
  cr_assert(mkdtemp(dir));
  snprintf(cmd, sizeof cmd,
           NNB_BINARY_DIR "/nnbench bench --model mlp --backend openblas --backend-opt fuse=0 "
                          "--min-time 0 --min-iters 2 --warmup 1 --dataset synthetic:n=32 "
                          "--out %s/r --json 2>/dev/null",
           dir);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  cJSON *doc = cJSON_Parse(out);
  cr_assert(doc, "%s", out);
  cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "cases"), 0);
  cr_expect_str_eq(cJSON_GetObjectItem(c, "options")->valuestring, "fuse=0");
  cJSON *props = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "backend_info"), "properties");
  cr_expect_str_eq(cJSON_GetObjectItem(props, "relu_fusion")->valuestring, "off");
  cJSON_Delete(doc);
  free(out);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

/* The vector tables' own kernels against plain loops, on every table this
 * CPU runs (AVX-512 only where it has it): odd sizes, both transpositions,
 * leading dimensions wider than the rows, ties and a NaN in the pooling
 * windows. */
static int runnable_tables(const ob_vec **out) {
  ob_cpu c;
  ob_cpu_detect(&c);
  int n = 0;
  out[n++] = &ob_vec_baseline;
  if (ob_cpu_has_avx2(&c)) out[n++] = &ob_vec_avx2;
  if (ob_cpu_has_avx512(&c)) out[n++] = &ob_vec_avx512;
  return n;
}

/* Element (i, j) of op(A) op(B) over k in double, and the sum of its
 * terms' magnitudes in *mag (the scale of its rounding). */
static double plain_dot(bool ta, bool tb, int64_t i, int64_t j, int64_t k, const float *a,
                        int64_t lda, const float *b, int64_t ldb, double *mag) {
  double sum = 0.0;
  *mag = 0.0;
  for (int64_t p = 0; p < k; p++) {
    double x = ta ? a[p * lda + i] : a[i * lda + p];
    double y = tb ? b[j * ldb + p] : b[p * ldb + j];
    sum += x * y, *mag += fabs(x * y);
  }
  return sum;
}

Test(openblas_kernels, gemm_small_matches_a_plain_product) {
  const ob_vec *vt[3];
  int nv = runnable_tables(vt);
  static const int64_t sizes[][3] = {{1, 1, 1},    {3, 5, 7},    {4, 16, 16},
                                     {16, 16, 16}, {17, 33, 5},  {5, 17, 64},
                                     {64, 64, 64}, {13, 64, 31}, {64, 1, 64}};
  float *a = tu_rand(1, 70 * 70, -1.0f, 1.0f), *b = tu_rand(2, 70 * 70, -1.0f, 1.0f);
  float *c = malloc(70 * 70 * sizeof *c);
  cr_assert(a && b && c);
  for (int v = 0; v < nv; v++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
      for (int t = 0; t < 4; t++) {
        int64_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2], ldc = n + 2;
        bool ta = t & 1, tb = t & 2;
        int64_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1;
        for (int64_t i = 0; i < 70 * 70; i++) c[i] = 12345.0f;
        vt[v]->gemm_small(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, c, ldc);
        for (int64_t i = 0; i < m; i++)
          for (int64_t j = 0; j < n; j++) {
            double mag, want = 0.5 * plain_dot(ta, tb, i, j, k, a, lda, b, ldb, &mag);
            mag *= 0.5;
            cr_assert(fabs(c[i * ldc + j] - want) <= 1e-6 * (mag + 1.0),
                      "%s gemm_small ta=%d tb=%d %ldx%ldx%ld: C[%ld,%ld] = %g, want %g", vt[v]->isa,
                      ta, tb, (long)m, (long)n, (long)k, (long)i, (long)j, (double)c[i * ldc + j],
                      want);
          }
        for (int64_t j = n; j < ldc && m > 0; j++) /* past the rows: untouched */
          cr_assert_eq(c[j], 12345.0f, "%s gemm_small wrote past row 0", vt[v]->isa);
      }
  free(a), free(b), free(c);
}

/* The few-row kernels (A B^T by dot products; A^T B with a short k)
 * against a plain loop on every table: rows, columns and k not multiples
 * of the register tiles, k across several of the kernels' blocks, alpha,
 * C = and C +=, leading dimensions wider than the rows; nothing past n
 * columns written. */
Test(openblas_kernels, fewrow_gemms_match_a_plain_product) {
  const ob_vec *vt[3];
  int nv = runnable_tables(vt);
  static const int64_t sizes[][3] = {{1, 1, 1},     {2, 3, 7},      {3, 4, 8},    {7, 17, 9},
                                     {32, 40, 600}, {13, 18, 1100}, {6, 16, 256}, {5, 33, 257},
                                     {64, 9, 31},   {70, 150, 20}};
  enum { MAXD = 1100, LD = MAXD + 3 };
  float *a = tu_rand(7, 64 * LD + LD, -1.0f, 1.0f), *b = tu_rand(8, MAXD * LD, -1.0f, 1.0f);
  float *c0 = tu_rand(9, 64 * LD, -1.0f, 1.0f), *c = malloc(64 * LD * sizeof *c);
  cr_assert(a && b && c0 && c);
  for (int v = 0; v < nv; v++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
      for (int form = 0; form < 4; form++) { /* kernel (nt, tn) x (C =, C +=) */
        bool tn = form / 2, acc = form & 1;
        int64_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
        if (tn) { /* the short side is k, the long one m */
          int64_t t = m;
          m = k, k = t;
        }
        if (m > 64 && !tn) continue;
        int64_t lda = (tn ? m : k) + 3, ldb = (tn ? n : k) + 1, ldc = n + 5;
        memcpy(c, c0, 64 * LD * sizeof *c);
        if (tn)
          vt[v]->gemm_tn_short(m, n, k, 0.5f, a, lda, b, ldb, c, ldc, acc);
        else
          vt[v]->gemm_nt_dot(m, n, k, 0.5f, a, lda, b, ldb, c, ldc, acc);
        for (int64_t i = 0; i < m; i++) {
          for (int64_t j = 0; j < n; j++) {
            double mag, want = 0.5 * plain_dot(tn, !tn, i, j, k, a, lda, b, ldb, &mag) +
                               (acc ? c0[i * ldc + j] : 0.0);
            mag = 0.5 * mag + fabs(c0[i * ldc + j]);
            cr_assert(fabs(c[i * ldc + j] - want) <= 1e-6 * (mag + 1.0),
                      "%s fewrow tn %d acc %d %ldx%ldx%ld: C[%ld,%ld] = %g, want %g", vt[v]->isa,
                      tn, acc, (long)m, (long)n, (long)k, (long)i, (long)j, (double)c[i * ldc + j],
                      want);
          }
          for (int64_t j = n; j < ldc; j++)
            cr_assert_eq(c[i * ldc + j], c0[i * ldc + j], "%s fewrow tn %d wrote past column %ld",
                         vt[v]->isa, tn, (long)n);
        }
        for (int64_t i = m * ldc; i < 64 * LD; i++)
          cr_assert_eq(c[i], c0[i], "%s fewrow tn %d wrote past row %ld", vt[v]->isa, tn, (long)m);
      }
  free(a), free(b), free(c0), free(c);
}

Test(openblas_kernels, pooling_finds_the_first_maximum_as_the_reference) {
  const ob_vec *vt[3];
  int nv = runnable_tables(vt);
  static const int64_t shapes[][2] = {{2, 2}, {7, 9}, {26, 26}, {11, 11}, {5, 3}, {4, 34}};
  enum { MAXF = 34 * 34 };
  float x[MAXF], dy[MAXF], y[MAXF], dx[MAXF];
  for (int v = 0; v < nv; v++)
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
      int64_t h = shapes[s][0], w = shapes[s][1], oh = h / 2, ow = w / 2;
      uint64_t st = 7 + s;
      for (int64_t i = 0; i < h * w; i++) { /* few values: many ties, and negatives */
        st = st * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((int)(st >> 60) - 6);
      }
      x[1] = NAN; /* a NaN: never greater, so never the maximum after the first */
      for (int64_t i = 0; i < oh * ow; i++) dy[i] = (float)(i + 1);
      vt[v]->pool2(h, w, x, y);
      for (int mask = 0; mask < 2; mask++) {
        for (int64_t i = 0; i < h * w; i++) dx[i] = 99.0f;
        vt[v]->pool2_bwd(h, w, x, dy, dx, mask);
        for (int64_t i = 0; i < oh; i++)
          for (int64_t j = 0; j < ow; j++) {
            int64_t at[4] = {2 * i * w + 2 * j, 2 * i * w + 2 * j + 1, (2 * i + 1) * w + 2 * j,
                             (2 * i + 1) * w + 2 * j + 1};
            int best = 0;
            for (int q = 1; q < 4; q++)
              if (x[at[q]] > x[at[best]]) best = q;
            float m = x[at[best]];
            if (!mask)
              cr_assert(m == y[i * ow + j] || (isnan(m) && isnan(y[i * ow + j])),
                        "%s pool2 %ldx%ld (%ld,%ld)", vt[v]->isa, (long)h, (long)w, (long)i,
                        (long)j);
            float g = dy[i * ow + j] * (mask && !(m > 0.0f) ? 0.0f : 1.0f);
            for (int q = 0; q < 4; q++)
              cr_assert_eq(dx[at[q]], q == best ? g : 0.0f, "%s pool2_bwd %ldx%ld mask %d",
                           vt[v]->isa, (long)h, (long)w, mask);
          }
        for (int64_t r = 0; r < h; r++) /* the rows and columns no window covers */
          for (int64_t col = 0; col < w; col++)
            if (r >= 2 * oh || col >= 2 * ow)
              cr_assert_eq(dx[r * w + col], 0.0f, "%s pool2_bwd left (%ld,%ld)", vt[v]->isa,
                           (long)r, (long)col);
      }
    }
}

Test(openblas_kernels, row_copies_copy_and_add_only_their_rows) {
  const ob_vec *vt[3];
  int nv = runnable_tables(vt);
  float *src = tu_rand(3, 40 * 30, -1.0f, 1.0f), dst[40 * 31], want[40 * 31];
  cr_assert(src);
  for (int v = 0; v < nv; v++)
    for (int64_t cols = 1; cols <= 29; cols += 7)
      for (int add = 0; add < 2; add++) {
        for (int64_t i = 0; i < 40 * 31; i++) dst[i] = want[i] = (float)(i % 5);
        for (int64_t r = 0; r < 40; r++)
          for (int64_t j = 0; j < cols; j++)
            want[r * 31 + j] = add ? want[r * 31 + j] + src[r * 30 + j] : src[r * 30 + j];
        (add ? vt[v]->add_rows : vt[v]->copy_rows)(dst, 31, src, 30, 40, cols);
        cr_assert_arr_eq(dst, want, sizeof dst, "%s %s cols %ld", vt[v]->isa,
                         add ? "add_rows" : "copy_rows", (long)cols);
      }
  free(src);
}

/* The LSTM's packed GEMM: W = [W1 W2] packed in two calls side by side
 * along k, C = A W^T and C += A W^T, and W^T [k, n] packed as such, C =
 * A (W^T)^T, against a plain loop; rows not a
 * multiple of the micro-kernel's, columns not of a panel, odd k, leading
 * dimensions wider than the rows; nothing past n columns written. */
Test(openblas_kernels, packed_gemm_matches_a_plain_product) {
  const ob_vec *vt[3];
  int nv = runnable_tables(vt);
  static const int64_t sizes[][4] = {/* m, n, k1, k2 */
                                     {1, 1, 1, 0},    {5, 17, 3, 4},    {13, 40, 29, 0},
                                     {6, 16, 1, 1},   {7, 33, 28, 101}, {128, 128, 28, 128},
                                     {17, 50, 0, 13}, {12, 8, 5, 6}};
  enum { MAXM = 128, MAXN = 128, MAXK = 156, LDA = MAXK + 3, LDC = MAXN + 5, LDW = MAXK + 1 };
  float *a = tu_rand(4, MAXM * LDA, -1.0f, 1.0f), *w = tu_rand(5, MAXN * LDW, -1.0f, 1.0f);
  float *c0 = tu_rand(6, MAXM * LDC, -1.0f, 1.0f), *c = malloc(MAXM * LDC * sizeof *c);
  float *bp = malloc((MAXN + OB_PANEL) * MAXK * sizeof *bp);
  float *wt = malloc(MAXK * (MAXN + 2) * sizeof *wt);
  cr_assert(a && w && c0 && c && bp && wt);
  for (int v = 0; v < nv; v++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
      for (int form = 0; form < 3; form++) { /* 0: C =, 1: C +=, 2: C = from W^T [k, n] */
        bool acc = form == 1;
        int64_t m = sizes[s][0], n = sizes[s][1], k1 = sizes[s][2], k2 = sizes[s][3], k = k1 + k2;
        int64_t lda = k + 3, ldc = n + 5, ldw = k + 1; /* W [n, k] with ldw: W1 | W2 */
        for (int64_t i = 0; i < (n + OB_PANEL) * k; i++)
          bp[i] = NAN; /* shows what is left unpacked */
        if (form < 2) {
          vt[v]->pack_panels(n, k1, w, ldw, 1, bp, k);
          vt[v]->pack_panels(n, k2, w + k1, ldw, 1, bp + k1 * OB_PANEL, k);
        } else {
          for (int64_t p = 0; p < k; p++)
            for (int64_t j = 0; j < n; j++) wt[p * (n + 2) + j] = w[j * ldw + p];
          vt[v]->pack_panels(n, k, wt, 1, n + 2, bp, k);
        }
        memcpy(c, c0, MAXM * LDC * sizeof *c);
        vt[v]->gemm_packed(m, n, k, a, lda, bp, c, ldc, acc);
        for (int64_t i = 0; i < m; i++) {
          for (int64_t j = 0; j < n; j++) {
            double mag, want = plain_dot(false, true, i, j, k, a, lda, w, ldw, &mag);
            if (acc) want += c0[i * ldc + j], mag += fabs(c0[i * ldc + j]);
            cr_assert(fabs(c[i * ldc + j] - want) <= 1e-6 * (mag + 1.0),
                      "%s gemm_packed form %d %ldx%ldx(%ld+%ld): C[%ld,%ld] = %g, want %g",
                      vt[v]->isa, form, (long)m, (long)n, (long)k1, (long)k2, (long)i, (long)j,
                      (double)c[i * ldc + j], want);
          }
          for (int64_t j = n; j < ldc; j++) /* past the columns: untouched */
            cr_assert_eq(c[i * ldc + j], c0[i * ldc + j], "%s gemm_packed wrote past column %ld",
                         vt[v]->isa, (long)n);
        }
        for (int64_t i = m * ldc; i < MAXM * LDC; i++) /* past the rows: untouched */
          cr_assert_eq(c[i], c0[i], "%s gemm_packed wrote past row %ld", vt[v]->isa, (long)m);
      }
  free(a), free(w), free(c0), free(c), free(bp), free(wt);
}
