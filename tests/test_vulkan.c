/* The vulkan backend, loaded from the build tree, on whatever device the
 * loader offers (lavapipe in CI, whose ICD scripts/test.sh pins): every op
 * agrees with the reference on nnbench check's seeded cases (guard zones
 * included), with each GEMM tile size, split-K and staged memory too; whole
 * models agree in training; a bad label is reported by sync; execute
 * creates nothing; device ranking; and zero validation-layer messages with
 * synchronization validation on. Built only when the backend is; where it is
 * built, a missing device fails these tests instead of skipping them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <nnbench/nnbench.h>

#include "check.h"
#include "modelrun.h"
#include "testutil.h"
#include "vk_ext.h"
#include "vk_rank.h"

static nnb_backend ref;

static void open_vulkan(nnb_backend *b, const char *options) {
  nnb_error e = {{0}};
  nnb_backend_config cfg = {.options = options};
  cr_assert_eq(nnb_backend_open("vulkan", &cfg, b, &e), NNB_OK,
               "%s (CI installs lavapipe and pins its ICD: scripts/test.sh)", e.msg);
}

static const vk_ext *ext_of(nnb_backend *b) {
  const vk_ext *x = b->vt->lookup(b->ctx, VK_EXT_NAME);
  cr_assert_not_null(x);
  return x;
}

static void setup(void) {
  nnb_error e = {{0}};
  cr_assert_eq(nnb_registry_load_file(NNB_BACKEND_DIR "/libnnb-vulkan.so", &e), NNB_OK, "%s",
               e.msg);
  tu_open_reference(&ref);
}

static void teardown(void) {
  nnb_backend_close(&ref);
  nnb_registry_unload();
}

TestSuite(vulkan, .init = setup, .fini = teardown, .timeout = 300);

static const char *prop(const nnb_backend_info *info, const char *key) {
  for (int i = 0; i < info->n_props; i++)
    if (!strcmp(info->props[i].key, key)) return info->props[i].value;
  return NULL;
}

Test(vulkan, describe_records_device_driver_and_shaders) {
  nnb_backend vk;
  open_vulkan(&vk, NULL);
  nnb_backend_info info;
  nnb_error e = {{0}};
  cr_assert_eq(vk.vt->describe(vk.ctx, &info, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(info.name, "vulkan");
  static const char *const keys[] = {"device_type", "driver",        "driver_version",
                                     "api_version", "subgroup_size", "shared_memory_bytes",
                                     "limits",      "loader",        "spirv_hash"};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    cr_expect_not_null(prop(&info, keys[i]), "no %s", keys[i]);
  const char *type = prop(&info, "device_type");
  if (type && !strncmp(type, "CPU", 3))
    cr_expect(strstr(info.device, "software Vulkan on the CPU"), "%s", info.device);
  nnb_backend_close(&vk);
}

/* Every op on the given seeds, against the reference. */
static void all_ops(nnb_backend *vk, uint64_t seed0, uint64_t seed1, const nnb_op *only, int n_only,
                    const char *what) {
  for (uint64_t seed = seed0; seed <= seed1; seed++)
    for (int k = 0; k < (only ? n_only : NNB_OP_COUNT); k++) {
      nnb_op op = only ? only[k] : (nnb_op)k;
      nnb_check_result r;
      nnb_check_op(&ref, vk, op, seed, &r);
      cr_expect_eq(r.verdict, NNB_PASS, "%s: %s seed %llu: %s (%s)", what, nnb_op_name(op),
                   (unsigned long long)seed, nnb_verdict_name(r.verdict), r.detail);
      cr_expect_eq(r.cases, nnb_check_variants(op), "%s ran %d cases", nnb_op_name(op), r.cases);
    }
}

Test(vulkan, every_op_matches_the_reference) {
  nnb_backend vk;
  open_vulkan(&vk, NULL);
  all_ops(&vk, 1, 3, NULL, 0, "default");
  nnb_backend_close(&vk);
}

static const nnb_op gemm_ops[] = {NNB_OP_MATMUL,          NNB_OP_CONV2D,
                                  NNB_OP_CONV2D_BWD_DATA, NNB_OP_CONV2D_BWD_WEIGHT,
                                  NNB_OP_LSTM_BWD,        NNB_OP_ATTENTION_BWD};

Test(vulkan, every_tile_size_and_split_k_agree) {
  static const char *const opts[] = {"tile=1", "tile=32", "tile=64", "tile=128", "split_k=3"};
  for (int i = 0; i < 5; i++) {
    nnb_backend vk;
    open_vulkan(&vk, opts[i]);
    all_ops(&vk, 1, 1, gemm_ops, 6, opts[i]);
    nnb_backend_close(&vk);
  }
}

/* staging=1 keeps device buffers out of host-visible memory even where the
 * device has it, so the path a discrete GPU takes is tested here too. */
Test(vulkan, staged_memory_agrees) {
  nnb_backend vk;
  open_vulkan(&vk, "staging=1");
  nnb_backend_info info;
  nnb_error e = {{0}};
  cr_assert_eq(vk.vt->describe(vk.ctx, &info, &e), NNB_OK, "%s", e.msg);
  cr_expect(strstr(prop(&info, "memory"), "staged"), "%s", prop(&info, "memory"));
  static const nnb_op ops[] = {NNB_OP_MATMUL, NNB_OP_SOFTMAX_CE, NNB_OP_ADAM, NNB_OP_SLICE_BWD};
  all_ops(&vk, 2, 2, ops, 4, "staging=1");
  mr_expect_train_agrees(&ref, &vk, "mlp", 5);
  /* every session is gone; the reusable staging buffer stays, counted */
  nnb_memory_stats st;
  vk.vt->memory_stats(vk.ctx, &st);
  cr_expect_gt(st.current_bytes, 0, "the staging buffer is not in memory_stats");
  nnb_backend_close(&vk);
}

static void train_agrees(const char *spec, int batch) {
  nnb_backend vk;
  open_vulkan(&vk, NULL);
  mr_expect_train_agrees(&ref, &vk, spec, batch);
  nnb_backend_close(&vk);
}

Test(vulkan, mlp_trains_as_the_reference) { train_agrees("mlp", 6); }
Test(vulkan, cnn_trains_as_the_reference) { train_agrees("cnn", 3); }
/* the seed model at a quarter of its width: lavapipe runs the 28 steps'
 * small GEMMs slowly, and the tests keep under a minute */
Test(vulkan, lstm_trains_as_the_reference) { train_agrees("lstm:hidden=32", 3); }
Test(vulkan, transformer_trains_as_the_reference) { train_agrees("transformer", 3); }

Test(vulkan, reproduces_pytorch_logits) {
  nnb_backend vk;
  open_vulkan(&vk, NULL);
  static const char *const kinds[] = {"mlp", "cnn", "lstm", "transformer"};
  for (int i = 0; i < 4; i++) {
    double worst = mr_pytorch_logit_error(&vk, kinds[i]);
    cr_expect_lt(worst, 1e-4, "%s: max |logit - PyTorch's| = %.3g", kinds[i], worst);
  }
  nnb_backend_close(&vk);
}

/* softmax_ce with one label out of range: the execute call's error comes
 * from sync (the shader records it), names the node, row and label, and is
 * cleared, so the next run with good labels succeeds. */
Test(vulkan, a_bad_label_is_reported_by_sync) {
  nnb_backend vk;
  open_vulkan(&vk, NULL);
  nnb_graph g;
  nnb_graph_init(&g);
  int x = nnb_tensor_f32(&g, "logits", NNB_ROLE_INPUT, 2, (int64_t)4, (int64_t)5);
  int64_t four = 4;
  int lab = nnb_tensor(&g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, &four);
  int loss = nnb_softmax_ce(&g, x, lab, "loss");
  nnb_graph_mark_output(&g, loss);
  nnb_error e = {{0}};
  nnb_session s;
  cr_assert_eq(nnb_session_create(&vk, &g, &s, &e), NNB_OK, "%s", e.msg);
  float *v = tu_rand(3, 20, -1, 1);
  cr_assert_eq(nnb_session_upload(&s, x, v, &e), NNB_OK, "%s", e.msg);
  int32_t bad[4] = {0, 1, 7, 2}, good[4] = {0, 1, 4, 2};
  cr_assert_eq(nnb_session_upload(&s, lab, bad, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(nnb_session_run(&s, &e), NNB_ERR_INVALID);
  cr_expect(strstr(e.msg, "'loss'") && strstr(e.msg, "label 7") && strstr(e.msg, "row 2") &&
                strstr(e.msg, "[0,5)"),
            "%s", e.msg);
  cr_assert_eq(nnb_session_upload(&s, lab, good, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(nnb_session_run(&s, &e), NNB_OK, "%s", e.msg);
  float got;
  cr_assert_eq(nnb_session_download(&s, loss, &got, &e), NNB_OK, "%s", e.msg);
  cr_expect(isfinite(got) && got > 0, "loss %g", (double)got);
  free(v);
  nnb_session_free(&s);
  nnb_graph_free(&g);
  nnb_backend_close(&vk);
}

/* Pipelines, descriptor sets, workspaces and the command buffer are made
 * in prepare: running a plan creates no Vulkan object and allocates
 * nothing; profile gives every node a time from GPU timestamps. */
Test(vulkan, execute_creates_nothing_and_profile_times_nodes) {
  nnb_backend vk;
  open_vulkan(&vk, NULL);
  mr_run r;
  mr_start(&r, &vk, "cnn", 2, 1);
  nnb_memory_stats before, after;
  vk.vt->memory_stats(vk.ctx, &before);
  uint64_t objects = ext_of(&vk)->objects_created(vk.ctx);
  mr_step(&r), mr_step(&r);
  vk.vt->memory_stats(vk.ctx, &after);
  cr_expect_eq(ext_of(&vk)->objects_created(vk.ctx), objects);
  cr_expect_eq(after.n_allocs, before.n_allocs);
  cr_expect_eq(after.peak_bytes, before.peak_bytes);
  cr_expect_gt(before.current_bytes, 0);
  int n = r.m.g.n_nodes;
  double *secs = calloc((size_t)n, sizeof *secs), total = 0;
  nnb_error e = {{0}};
  cr_assert_eq(vk.vt->profile(vk.ctx, r.s.plan, secs, &e), NNB_OK, "%s", e.msg);
  for (int i = 0; i < n; i++) {
    cr_expect(secs[i] >= 0 && secs[i] < 10, "node %s: %g s", r.m.g.nodes[i].name, secs[i]);
    total += secs[i];
  }
  cr_expect_gt(total, 0);
  free(secs);
  mr_stop(&r);
  nnb_backend_close(&vk);
}

/* The validation layer with synchronization validation watches a training
 * step of each model with attention, recurrence and convolution (a missing
 * barrier never shows as a wrong result on lavapipe, which runs dispatches
 * one after another). */
Test(vulkan, no_validation_messages) {
  nnb_backend vk;
  open_vulkan(&vk, "validation=1");
  static const char *const specs[] = {"cnn", "lstm:hidden=16,layers=1",
                                      "transformer:d=32,layers=1"};
  for (int k = 0; k < 3; k++) {
    mr_run r;
    mr_start(&r, &vk, specs[k], 2, 1);
    mr_step(&r), mr_step(&r);
    float *l = mr_fetch(&r, r.m.loss);
    cr_expect(isfinite(l[0]), "%s: loss %g", specs[k], (double)l[0]);
    free(l);
    mr_stop(&r);
  }
  cr_expect_eq(ext_of(&vk)->validation_messages(vk.ctx), 0,
               "%llu validation messages (printed above)",
               (unsigned long long)ext_of(&vk)->validation_messages(vk.ctx));
  nnb_backend_close(&vk);
}

/* The same layer, with the barriers left out, reports the hazards: the
 * test above can fail. */
Test(vulkan, validation_sees_missing_barriers) {
  nnb_backend vk;
  open_vulkan(&vk, "validation=1,barriers=0");
  mr_run r;
  mr_start(&r, &vk, "mlp", 2, 1);
  mr_step(&r);
  mr_stop(&r);
  cr_expect_gt(ext_of(&vk)->validation_messages(vk.ctx), 0);
  nnb_backend_close(&vk);
}

Test(vulkan, device_ranking) {
  char why[256];
  vk_dev_desc cpu_only[] = {{VK_KIND_CPU, "llvmpipe (LLVM 15)", 1, NULL}};
  cr_expect_eq(vk_pick_device(cpu_only, 1, NULL, 0, why, sizeof why), 0);
  vk_dev_desc mixed[] = {{VK_KIND_CPU, "llvmpipe", 1, NULL},
                         {VK_KIND_INTEGRATED, "Intel UHD 770", 1, NULL},
                         {VK_KIND_VIRTUAL, "virtio-gpu", 1, NULL},
                         {VK_KIND_DISCRETE, "NVIDIA H200", 1, NULL},
                         {VK_KIND_DISCRETE, "AMD MI300", 0, "Vulkan 1.2 is needed"}};
  /* discrete > integrated > virtual; the CPU device only when asked */
  cr_expect_eq(vk_pick_device(mixed, 5, NULL, 0, why, sizeof why), 3);
  cr_expect_eq(vk_pick_device(mixed, 5, "", 1, why, sizeof why), 1);
  cr_expect_eq(vk_pick_device(mixed, 5, NULL, 2, why, sizeof why), 2);
  cr_expect_eq(vk_pick_device(mixed, 5, NULL, 3, why, sizeof why), -1);
  cr_expect(strstr(why, "3 usable") && strstr(why, "device=NAME"), "%s", why);
  cr_expect_eq(vk_pick_device(mixed, 5, "llvm", 0, why, sizeof why), 0);
  cr_expect_eq(vk_pick_device(mixed, 5, "h200", 0, why, sizeof why), 3);
  cr_expect_eq(vk_pick_device(mixed, 5, "1", 0, why, sizeof why), 1);
  cr_expect_eq(vk_pick_device(mixed, 5, "9", 0, why, sizeof why), -1);
  cr_expect(strstr(why, "device=9") && strstr(why, "0..4"), "%s", why);
  cr_expect_eq(vk_pick_device(mixed, 5, "MI300", 0, why, sizeof why), -1);
  cr_expect(strstr(why, "Vulkan 1.2 is needed"), "%s", why);
  cr_expect_eq(vk_pick_device(mixed, 5, "quantum", 0, why, sizeof why), -1);
  cr_expect(strstr(why, "matches no device"), "%s", why);
  /* an unusable GPU does not hide the CPU device */
  vk_dev_desc old_gpu[] = {{VK_KIND_DISCRETE, "old", 0, "Vulkan 1.2 is needed"},
                           {VK_KIND_CPU, "llvmpipe", 1, NULL}};
  cr_expect_eq(vk_pick_device(old_gpu, 2, NULL, 0, why, sizeof why), 1);
  cr_expect_eq(vk_pick_device(NULL, 0, NULL, 0, why, sizeof why), -1);
  cr_expect(strstr(why, "no physical device"), "%s", why);
  char v[32];
  cr_expect(vk_option("tile=64,device=NVIDIA H200,validation=1", "device", v, sizeof v));
  cr_expect_str_eq(v, "NVIDIA H200");
  cr_expect_not(vk_option("tile=64", "device", v, sizeof v));
  cr_expect_not(vk_option("xdevice=1", "device", v, sizeof v));
}
