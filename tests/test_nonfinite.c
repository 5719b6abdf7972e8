/* Numbers that are not finite are errors where they enter, never coerced:
 * a checkpoint of NaN weights, a backend's NaN logits, a training run whose
 * loss diverges (which stops, writes no checkpoint over a good one, and
 * leaves no temporary file, whatever signal ends it). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "evaluate.h"
#include "model.h"
#include "results.h"
#include "suite.h"
#include "suite_run.h"
#include "testutil.h"
#include "weights.h"

#define NNBENCH NNB_BINARY_DIR "/nnbench"
#define SPEC "mlp:hidden=8"

static char dir[64];
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-nonfinite-XXXXXX");
  cr_assert(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
  nnb_registry_unload();
}
TestSuite(nonfinite, .init = setup, .fini = teardown, .timeout = 120);

/* Seeded weights of SPEC for 1x28x28 inputs, one value poisoned when
 * poison is not 0 (NaN or an infinity): element 3 of the last tensor, the
 * output bias, which no ReLU can hide. */
static void weights_of(nnb_model *m, nnb_weights *w, float poison) {
  nnb_model_spec spec;
  nnb_error e;
  nnb_input_shape in = {1, 28, 28, 10};
  cr_assert_eq(nnb_model_parse(SPEC, &spec, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_model_build(&spec, &in, 1, 0, m, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_weights_init(m, 7, w, &e), NNB_OK, "%s", e.msg);
  if (poison != 0) w->data[w->n - 1][3] = poison;
}

static void checkpoint(const char *path, float poison) {
  nnb_model m;
  nnb_weights w;
  nnb_error e;
  weights_of(&m, &w, poison);
  cr_assert_eq(nnb_weights_save(&m, &w, path, NULL, 0, &e), NNB_OK, "%s", e.msg);
  nnb_weights_free(&w);
  nnb_model_free(&m);
}

Test(nonfinite, a_checkpoint_of_nan_weights_is_refused_by_eval) {
  float poisons[] = {NAN, INFINITY, -INFINITY};
  for (int i = 0; i < 3; i++) {
    char path[128], cmd[512], *out = NULL;
    snprintf(path, sizeof path, "%s/bad%d.safetensors", dir, i);
    checkpoint(path, poisons[i]);
    snprintf(cmd, sizeof cmd,
             NNBENCH " eval --model " SPEC " --weights %s --backend reference "
                     "--dataset synthetic:n=32 --json 2>&1",
             path);
    cr_expect_eq(tu_run(cmd, &out), 1, "never status ok with loss 0: %s", out);
    cr_expect(strstr(out, "holds a non-finite value") && strstr(out, "at element 3") &&
                  strstr(out, path),
              "names the file, the tensor and the element: %s", out);
    free(out);
  }
}

Test(nonfinite, the_accuracy_section_fails_a_nan_checkpoint) {
  char path[128], text[512];
  snprintf(path, sizeof path, "%s/%s.safetensors", dir, SPEC);
  checkpoint(path, NAN);
  snprintf(text, sizeof text,
           "[suite]\nname = nan\ndataset = synthetic:n=64\nmin_time = 0\nmin_iters = 2\n"
           "warmup = 0\nweights = %s\n[g]\nmodels = " SPEC "\nbackends = reference\nbatch = 2\n",
           dir);
  char ini[128];
  snprintf(ini, sizeof ini, "%s/s.ini", dir);
  FILE *f = fopen(ini, "w");
  cr_assert(f);
  fputs(text, f);
  fclose(f);
  nnb_suite s;
  nnb_error e;
  cr_assert_eq(nnb_suite_load(ini, &s, &e), NNB_OK, "%s", e.msg);
  char out[256], res[300];
  snprintf(res, sizeof res, "%s/res", dir);
  nnb_run_options o = {.out_dir = res, .accuracy_samples = 8};
  int failed = 0;
  cr_assert_eq(nnb_suite_run(&s, &o, out, sizeof out, &failed, &e), NNB_OK, "%s", e.msg);
  nnb_suite_free(&s);
  cJSON *doc;
  cr_assert_eq(nnb_results_read(out, &doc, &e), NNB_OK, "%s", e.msg);
  cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "accuracy"), 0);
  cr_assert(row);
  cr_expect_str_eq(cJSON_GetObjectItem(row, "status")->valuestring, "failed");
  cr_expect(strstr(cJSON_GetObjectItem(row, "reason")->valuestring, "non-finite"), "%s",
            cJSON_GetObjectItem(row, "reason")->valuestring);
  cr_expect_null(cJSON_GetObjectItem(row, "accuracy"), "no accuracy for NaN weights");
  cJSON_Delete(doc);
}

Test(nonfinite, nan_logits_are_the_backends_error_and_never_agree) {
  nnb_model m;
  nnb_weights w;
  nnb_error e;
  weights_of(&m, &w, NAN); /* past the loader, as a backend's own NaN would be */
  nnb_model_free(&m);
  nnb_backend b;
  tu_open_reference(&b);
  nnb_dataset d;
  cr_assert_eq(nnb_dataset_open("synthetic:n=16", 1, 0, &d, &e), NNB_OK, "%s", e.msg);
  nnb_model_spec spec;
  cr_assert_eq(nnb_model_parse(SPEC, &spec, &e), NNB_OK);
  nnb_eval_result r;
  cr_expect_neq(nnb_evaluate(&spec, &b, &w, &d, 8, &r, &e), NNB_OK);
  cr_expect(strstr(e.msg, "backend reference gave a non-finite logit"), "%s", e.msg);
  nnb_backend_close(&b);
  nnb_dataset_free(&d);
  nnb_weights_free(&w);

  float la[] = {1, 2, 3, NAN, 5, 6}, lr[] = {1, 2, 3, 4, 5, 6};
  nnb_eval_result a = {.n = 2, .classes = 3, .logits = la},
                  ref = {.n = 2, .classes = 3, .logits = lr};
  double agree, diff;
  nnb_eval_compare(&a, &ref, &agree, &diff);
  cr_expect_float_eq(agree, 0.5, 1e-12, "the row with a NaN does not agree");
  cr_expect(isnan(diff), "the largest difference is NaN, not the largest of the rest: %g", diff);
}

static int tmp_files(void) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d));) n += strstr(de->d_name, ".tmp") != NULL;
  if (d) closedir(d);
  return n;
}

Test(nonfinite, a_diverging_training_run_stops_and_keeps_the_good_checkpoint) {
  char path[128], cmd[512], *out = NULL;
  snprintf(path, sizeof path, "%s/m.safetensors", dir);
  snprintf(cmd, sizeof cmd,
           NNBENCH " train --model " SPEC " --backend reference --dataset synthetic:n=256 "
                   "--out %s 2>&1",
           path);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  free(out);
  char csv[160];
  snprintf(csv, sizeof csv, "%s/m.loss.csv", dir);
  char *good = tu_read_file(path, NULL), *good_csv = tu_read_file(csv, NULL);
  cr_assert(good && good_csv);
  snprintf(cmd, sizeof cmd,
           NNBENCH " train --model " SPEC " --backend reference --dataset synthetic:n=256 "
                   "--optimizer sgd --lr 1e30 --out %s 2>&1",
           path);
  cr_expect_eq(tu_run(cmd, &out), 1, "%s", out);
  cr_expect(strstr(out, "training diverged: the loss is") && strstr(out, "at epoch 1, step"),
            "says where: %s", out);
  free(out);
  char *now = tu_read_file(path, NULL), *now_csv = tu_read_file(csv, NULL);
  cr_expect(now && !memcmp(now, good, 8), "the good checkpoint is still there");
  cr_expect_str_eq(now_csv, good_csv, "and its loss curve");
  cr_expect_eq(tmp_files(), 0);
  free(good), free(good_csv), free(now), free(now_csv);
}

Test(nonfinite, no_temporary_file_survives_a_signal_during_training) {
  int sigs[] = {SIGINT, SIGTERM, SIGKILL};
  for (int k = 0; k < 3; k++) {
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "exec " NNBENCH " train --model " SPEC " --backend reference "
             "--dataset synthetic:n=60000 --epochs 20 --out %s/s%d.safetensors 2>/dev/null",
             dir, k);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
      execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
      _exit(127);
    }
    usleep(1500000); /* well into training */
    cr_assert_eq(kill(pid, sigs[k]), 0);
    int st = 0;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFSIGNALED(st), "ended by signal %d", sigs[k]);
    cr_expect_eq(tmp_files(), 0, "after signal %d", sigs[k]);
  }
  DIR *d = opendir(dir);
  int files = 0;
  for (struct dirent *de; d && (de = readdir(d));) files += de->d_name[0] != '.';
  if (d) closedir(d);
  cr_expect_eq(files, 0, "nothing half-written either");
}
