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

#include <nnbench/nnbench.h>

#include "backend_cases.h"
#include "check.h"
#include "model.h"
#include "modelrun.h"
#include "ob_coretype.h"
#include "testutil.h"

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
  nnb_backend_close(&ob);
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
