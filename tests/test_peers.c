/* External peers: a fake peer (tests/fixtures/peers/nnb-peer-fake) with
 * known step times proves that nnbench computes the statistics itself, that
 * every way a peer can misbehave fails its case with the reason, and what
 * provenance a peer's record carries; the PyTorch peer runs one tiny case
 * and must agree with the reference on a PyTorch checkpoint. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nnbench/runtime.h>

#include "dataset.h"
#include "peer.h"
#include "record.h"
#include "results.h"
#include "runner.h"
#include "suite.h"
#include "suite_run.h"

#define FAKE_DIR NNB_SOURCE_DIR "/tests/fixtures/peers"

static char dir[64];
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-peers-XXXXXX");
  cr_assert(mkdtemp(dir));
  setenv("NNBENCH_PEER_PATH", FAKE_DIR, 1);
  setenv("TMPDIR", dir, 1);
  unsetenv("NNB_FAKE_PEER");
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
  nnb_registry_unload();
}
TestSuite(peers, .init = setup, .fini = teardown, .timeout = 300);

static nnb_case tiny_case(const char *backend, nnb_mode mode) {
  nnb_case c = {.mode = mode,
                .batch = 4,
                .threads = 2,
                .min_time = 0,
                .timeout = 20,
                .min_iters = 3,
                .warmup = 1};
  snprintf(c.model, sizeof c.model, "mlp");
  snprintf(c.backend, sizeof c.backend, "%s", backend);
  return c;
}

static const char *str(cJSON *o, const char *k) {
  cJSON *v = cJSON_GetObjectItem(o, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}
static double num(cJSON *o, const char *k) {
  cJSON *v = cJSON_GetObjectItem(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int tmp_entries(void) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d));) n += de->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

Test(peers, statistics_come_from_the_peers_raw_samples) {
  nnb_dataset d;
  nnb_error e;
  cr_assert_eq(nnb_dataset_open("synthetic:n=64", 0, 0, &d, &e), NNB_OK, "%s", e.msg);
  nnb_case c = tiny_case("fake", NNB_MODE_TRAIN);
  cJSON *rec = nnb_run_case(&c, &d, 1);
  cr_assert_str_eq(str(rec, "status"), "ok", "%s", str(rec, "reason"));
  nnb_case_summarize(rec, c.batch, 1);
  cJSON *s = cJSON_GetObjectItem(rec, "summary");
  cr_expect_eq(num(s, "n"), 9);
  cr_expect_float_eq(num(s, "median_s"), 0.005, 1e-12, "the median of 1..9 ms");
  cr_expect_float_eq(num(s, "min_s"), 0.001, 1e-12);
  cr_expect_float_eq(num(s, "max_s"), 0.009, 1e-12);
  cr_expect_float_eq(num(s, "mean_s"), 0.005, 1e-12);
  cr_expect_float_eq(num(rec, "throughput_samples_per_s"), 4 / 0.005, 1e-6);
  cr_expect_float_eq(num(rec, "cold_s"), 0.25, 1e-12);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "loss")), 2);
  cr_expect_eq(num(rec, "warmup_iters"), 1, "the warm-up rule reached the peer");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(rec, "warmup_steady")));
  cr_expect_geq(num(rec, "child_cpu_s"), 0);
  /* Provenance: what ran, with which settings, and the process's memory. */
  cr_expect_str_eq(str(rec, "backend_kind"), "peer");
  cJSON *info = cJSON_GetObjectItem(rec, "backend_info");
  cr_expect_str_eq(str(info, "library"), "fake 1.0");
  cr_expect_str_eq(str(info, "device"), "fake device");
  cJSON *props = cJSON_GetObjectItem(info, "properties");
  cr_expect_str_eq(str(props, "threads"), "2", "the case's threads reached the peer");
  cr_expect_str_eq(str(props, "weights_exist"), "true", "the checkpoint existed while it ran");
  cJSON *peer = cJSON_GetObjectItem(rec, "peer");
  cr_expect_str_eq(str(peer, "executable"), FAKE_DIR "/nnb-peer-fake");
  cr_expect_gt(num(cJSON_GetObjectItem(rec, "memory"), "peak_rss_bytes"), 0);
  cr_expect_eq(tmp_entries(), 0, "the temporary checkpoint is gone");
  /* The work per step is nnbench's, the same as a plugin's for this case. */
  nnb_case rc = tiny_case("reference", NNB_MODE_TRAIN);
  cJSON *ref = nnb_run_case(&rc, &d, 1);
  cr_assert_str_eq(str(ref, "status"), "ok", "%s", str(ref, "reason"));
  cr_expect_gt(num(rec, "flops_per_step"), 0);
  cr_expect_eq(num(rec, "flops_per_step"), num(ref, "flops_per_step"));
  cr_expect_eq(num(rec, "parameters"), num(ref, "parameters"));
  cJSON_Delete(ref);
  cJSON_Delete(rec);
  nnb_dataset_free(&d);
}

Test(peers, every_misbehaviour_fails_its_case_with_the_reason) {
  static const struct {
    const char *how, *status, *reason;
  } cases[] = {
      {"crash", "failed", "signal 11"},
      {"hang", "failed", "timeout"},
      {"badjson", "failed", "invalid JSON"},
      {"exit", "failed", "status 3"},
      {"noprotocol", "failed", "\"protocol\": expected 1"},
      {"refuse", "unsupported", "refused: fake cannot run this model"},
      {"fail", "failed", "failed: fake ran out of fake memory"},
      {"wrongdata", "failed", "read other data"},
      {"params", "failed", "5 parameters, nnbench's 101770"},
      {"nosamples", "failed", "\"samples_s\""},
  };
  nnb_dataset d;
  nnb_error e;
  cr_assert_eq(nnb_dataset_open("synthetic:n=64", 0, 0, &d, &e), NNB_OK, "%s", e.msg);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    setenv("NNB_FAKE_PEER", cases[i].how, 1);
    nnb_case c = tiny_case("fake", NNB_MODE_INFER);
    c.timeout = 2;
    cJSON *rec = nnb_run_case(&c, &d, 1);
    cr_expect_str_eq(str(rec, "status"), cases[i].status, "%s", cases[i].how);
    cr_expect(strstr(str(rec, "reason"), cases[i].reason), "%s: reason '%s' should say '%s'",
              cases[i].how, str(rec, "reason"), cases[i].reason);
    cr_expect_null(cJSON_GetObjectItem(rec, "samples_s"), "%s: no samples", cases[i].how);
    cJSON_Delete(rec);
  }
  cr_expect_eq(tmp_entries(), 0, "no temporary checkpoint is left behind");
  nnb_dataset_free(&d);
}

Test(peers, peers_are_found_and_describe_themselves) {
  char path[512], why[512];
  cr_expect(nnb_peer_lookup("fake", path, sizeof path, why, sizeof why));
  cr_expect_str_eq(path, FAKE_DIR "/nnb-peer-fake");
  cr_expect_not(nnb_peer_lookup("reference", path, sizeof path, why, sizeof why),
                "a plugin is not a peer");
  cr_expect_not(nnb_peer_lookup("../fake", path, sizeof path, why, sizeof why));
  nnb_peer_info list[16];
  int n = nnb_peer_list(list, 16), fake = -1, torch = -1;
  for (int i = 0; i < n; i++) {
    if (!strcmp(list[i].name, "fake")) fake = i;
    if (!strcmp(list[i].name, "pytorch")) torch = i;
  }
  cr_assert(fake >= 0 && torch >= 0, "the shipped peer and the one on the path are listed");
  cr_expect(list[fake].available, "%s", list[fake].reason);
  cr_expect_str_eq(list[fake].library, "fake 1.0");
  setenv("NNB_FAKE_PEER", "refuse", 1);
  n = nnb_peer_list(list, 16);
  for (int i = 0; i < n; i++)
    if (!strcmp(list[i].name, "fake")) {
      cr_expect_not(list[i].available);
      cr_expect_str_eq(list[i].reason, "fake cannot run this model");
    }
}

static cJSON *run_suite(const char *ini, int accuracy_samples) {
  char path[256], out[256], resdir[300];
  snprintf(path, sizeof path, "%s/s.ini", dir);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fputs(ini, f);
  fclose(f);
  nnb_suite s;
  nnb_error e;
  cr_assert_eq(nnb_suite_load(path, &s, &e), NNB_OK, "%s", e.msg);
  snprintf(resdir, sizeof resdir, "%s/results", dir);
  nnb_run_options o = {.out_dir = resdir, .accuracy_samples = accuracy_samples};
  int failed = 0;
  cr_assert_eq(nnb_suite_run(&s, &o, out, sizeof out, &failed, &e), NNB_OK, "%s", e.msg);
  nnb_suite_free(&s);
  cJSON *doc;
  cr_assert_eq(nnb_results_read(out, &doc, &e), NNB_OK, "%s", e.msg);
  return doc;
}

/* The first row of arr whose "backend" (or, in the backends list, "name") is `backend`. */
static cJSON *row_of(cJSON *arr, const char *backend) {
  cJSON *r;
  cJSON_ArrayForEach(r, arr) {
    if (!strcmp(str(r, "backend"), backend) || !strcmp(str(r, "name"), backend)) return r;
  }
  return NULL;
}

Test(peers, all_means_the_plugins_and_a_named_peer_joins_them) {
  cJSON *doc = run_suite("[suite]\nname = p\ndataset = synthetic:n=64\nmin_time = 0\n"
                         "min_iters = 2\nwarmup = 0\ntimeout = 20\nrounds = 3\npin = 0\n"
                         "[g]\nmodels = mlp\nbackends = all fake\nbatch = 2\n",
                         16);
  cJSON *cases = cJSON_GetObjectItem(doc, "cases");
  cr_expect(row_of(cases, "reference"), "all brought the plugins");
  cr_expect_null(row_of(cases, "all"));
  cJSON *fake = row_of(cases, "fake");
  cr_assert(fake, "the named peer ran");
  cr_expect_str_eq(str(fake, "status"), "ok", "%s", str(fake, "reason"));
  cr_expect(cJSON_GetObjectItem(fake, "summary"), "summarised like a plugin's case");
  /* Measured in rounds like a plugin: three processes, each pinned. */
  cJSON *rounds = cJSON_GetObjectItem(fake, "rounds");
  cr_expect_eq(cJSON_GetArraySize(rounds), 3);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(fake, "samples_s")), 3 * 9);
  cr_expect_str_eq(str(cJSON_GetArrayItem(rounds, 2), "pin"), "0");
  cJSON *props = cJSON_GetObjectItem(cJSON_GetObjectItem(fake, "backend_info"), "properties");
  cr_expect_str_eq(str(props, "cpus"), "0", "the peer's process was pinned");
  cJSON *listed = row_of(cJSON_GetObjectItem(doc, "backends"), "fake");
  cr_assert(listed, "the results list the peer with the backends");
  cr_expect_str_eq(str(listed, "kind"), "peer");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(listed, "available")));
  cr_expect(strstr(str(fake, "reproduce"), "--backend fake"), "%s", str(fake, "reproduce"));
  /* The fake's logits say class 0 for every sample: nnbench scores them. */
  nnb_dataset test;
  nnb_error e;
  cr_assert_eq(nnb_dataset_open("synthetic:n=64", 1, 16, &test, &e), NNB_OK, "%s", e.msg);
  int zeros = 0;
  for (int i = 0; i < test.n; i++) zeros += test.labels[i] == 0;
  cJSON *acc = row_of(cJSON_GetObjectItem(doc, "accuracy"), "fake");
  cr_assert(acc);
  cr_expect_str_eq(str(acc, "status"), "ok", "%s", str(acc, "reason"));
  cr_expect_float_eq(num(acc, "accuracy"), zeros / 16.0, 1e-12);
  cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(acc, "agreement_with_reference")));
  nnb_dataset_free(&test);
  cJSON_Delete(doc);
}

/* The real PyTorch peer: CI installs python3-torch, so this never skips. A
 * checkpoint made by PyTorch is evaluated by both; they must agree. */
Test(peers, pytorch_measures_a_tiny_case_and_agrees_with_the_reference) {
  setenv("NNBENCH_PEER_PATH", NNB_SOURCE_DIR "/peers", 1);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/python3 -c \"import sys, torch; sys.path.insert(0, '%s/scripts'); "
           "from nnb_torch_models import MLP, save_safetensors; torch.manual_seed(5); "
           "save_safetensors('%s/mlp:hidden=8.safetensors', MLP(hidden=8).state_dict())\"",
           NNB_SOURCE_DIR, dir);
  cr_assert_eq(system(cmd), 0, "PyTorch wrote a checkpoint (python3-torch installed?)");
  char ini[1024];
  snprintf(ini, sizeof ini,
           "[suite]\nname = t\nmin_time = 0\nmin_iters = 3\nwarmup = 1\ntimeout = 120\n"
           "threads = 1\nweights = %s\n[g]\nmodels = mlp:hidden=8\n"
           "backends = reference pytorch\nmode = train infer\nbatch = 4\n",
           dir);
  cJSON *doc = run_suite(ini, 64);
  cJSON *c;
  int seen = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    if (strcmp(str(c, "backend"), "pytorch")) continue;
    seen++;
    cr_expect_str_eq(str(c, "status"), "ok", "%s", str(c, "reason"));
    cr_expect_geq(cJSON_GetArraySize(cJSON_GetObjectItem(c, "samples_s")), 3);
    cJSON *info = cJSON_GetObjectItem(c, "backend_info");
    cr_expect(!strncmp(str(info, "library"), "torch ", 6), "%s", str(info, "library"));
    cr_expect_str_eq(str(cJSON_GetObjectItem(info, "properties"), "threads"), "1");
  }
  cr_expect_eq(seen, 2, "train and infer");
  cJSON *accs = cJSON_GetObjectItem(doc, "accuracy");
  cJSON *ref = row_of(accs, "reference"), *pt = row_of(accs, "pytorch");
  cr_assert(ref && pt);
  cr_assert_str_eq(str(pt, "status"), "ok", "%s", str(pt, "reason"));
  cr_expect_eq(num(pt, "agreement_with_reference"), 1.0);
  cr_expect_lt(num(pt, "max_abs_logit_diff"), 1e-4);
  cr_expect_float_eq(num(pt, "accuracy"), num(ref, "accuracy"), 1e-12);
  cr_expect_float_eq(num(pt, "mean_loss"), num(ref, "mean_loss"), 1e-4);
  cJSON_Delete(doc);
}
