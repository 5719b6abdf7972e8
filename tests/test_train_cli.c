/* nnbench train and eval end to end: a checkpoint that evaluates to the
 * accuracy training reported, the loss curve next to it, the progress line
 * on a terminal and plain lines otherwise, and clear errors for bad input. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "safetensors.h"
#include "testutil.h"
#include "weights.h"

#define NNBENCH NNB_BINARY_DIR "/nnbench"

static char dir[64];
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-train-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
}
static void teardown(void) {
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    if (de->d_name[0] != '.') remove(p);
  }
  if (d) closedir(d);
  rmdir(dir);
}
TestSuite(train_cli, .init = setup, .fini = teardown);

static int count_files(void) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *de; d && (de = readdir(d));) n += de->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

/* The file's text; the test fails when it cannot be read. */
static char *slurp(const char *path) {
  char *text = tu_read_file(path, NULL);
  cr_assert_not_null(text, "cannot read %s", path);
  return text;
}

static double num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  cr_assert(cJSON_IsNumber(v), "no number '%s'", key);
  return v->valuedouble;
}

static const char *str(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  cr_assert(cJSON_IsString(v), "no string '%s'", key);
  return v->valuestring;
}

static const char *meta(const nnb_safetensors *st, const char *key) {
  for (int i = 0; i < st->n_meta; i++)
    if (!strcmp(st->meta[i][0], key)) return st->meta[i][1];
  return "";
}

Test(train_cli, checkpoint_evaluates_to_the_accuracy_training_reported, .timeout = 300) {
  char cmd[1024], *out;
  snprintf(cmd, sizeof cmd,
           NNBENCH " train --model mlp --backend reference --limit 1024 --seed 5 --out "
                   "%s/m.safetensors --json 2>%s/stderr.txt",
           dir, dir);
  int rc = tu_run(cmd, &out);
  char err_path[128], csv_path[128], ckpt[128];
  snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
  snprintf(csv_path, sizeof csv_path, "%s/m.loss.csv", dir);
  snprintf(ckpt, sizeof ckpt, "%s/m.safetensors", dir);
  char *log = slurp(err_path);
  cr_assert_eq(rc, 0, "train exit %d: %s", rc, log);
  cJSON *doc = cJSON_Parse(out);
  cr_assert_not_null(doc, "stdout is JSON: %s", out);
  cr_expect_str_eq(str(doc, "model"), "mlp:hidden=128,layers=1");
  cr_expect_eq(num(doc, "train_samples"), 1024);
  const cJSON *ep = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "epochs"), 0);
  cr_assert_not_null(ep);
  double acc = num(ep, "test_accuracy"), loss = num(ep, "test_loss");
  cr_expect_gt(acc, 0.3, "32 steps of Adam learn something: accuracy %.4f", acc);

  /* Not a terminal: plain lines, no carriage returns or escapes. */
  cr_expect(strstr(log, "epoch 1/1 step 32/32 loss "), "%s", log);
  cr_expect(strstr(log, "samples/s ETA "), "%s", log);
  cr_expect(strstr(log, "epoch 1/1: test accuracy "), "%s", log);
  cr_expect(!strchr(log, '\r') && !strchr(log, '\033'), "plain lines when piped: %s", log);

  /* The loss curve: a header and one row per step. */
  char *csv = slurp(csv_path);
  int rows = 0;
  for (char *p = csv; (p = strchr(p, '\n')); p++) rows++;
  cr_expect_eq(strncmp(csv, "epoch,step,samples,loss\n1,1,32,", 31), 0, "%.80s", csv);
  cr_expect_eq(rows, 33, "1024 samples in batches of 32: 32 steps and a header");

  /* The checkpoint records what made it. */
  nnb_safetensors st;
  nnb_error e;
  cr_assert_eq(nnb_st_read(ckpt, &st, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(meta(&st, "model"), "mlp:hidden=128,layers=1");
  cr_expect_str_eq(meta(&st, "dataset_crc32"), str(doc, "dataset_crc32"));
  cr_expect_str_eq(meta(&st, "seed"), "5");
  nnb_st_free(&st);

  /* eval of the checkpoint: the same accuracy and loss, to the last bit. */
  free(out);
  snprintf(cmd, sizeof cmd,
           NNBENCH " eval --model mlp --weights %s --backend reference --json 2>/dev/null", ckpt);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  cJSON *ev = cJSON_Parse(out);
  cr_assert_not_null(ev, "%s", out);
  cr_expect_eq(num(ev, "samples"), 10000);
  const cJSON *row = cJSON_GetArrayItem(cJSON_GetObjectItem(ev, "backends"), 0);
  cr_assert_not_null(row);
  cr_expect_str_eq(str(row, "name"), "reference");
  cr_expect_eq(num(row, "accuracy"), acc, "eval %.6f, train %.6f", num(row, "accuracy"), acc);
  cr_expect_lt(fabs(num(row, "mean_loss") - loss), 1e-9);
  cr_expect_eq(num(row, "agreement_with_reference"), 1);
  cr_expect_eq(num(row, "max_abs_logit_diff"), 0);
  cJSON_Delete(ev);
  cJSON_Delete(doc);
  free(out), free(log), free(csv);
}

Test(train_cli, progress_line_updates_in_place_on_a_terminal, .timeout = 120) {
  char cmd[512], *out;
  snprintf(cmd, sizeof cmd,
           NNBENCH " train --model mlp:hidden=8 --backend reference --dataset synthetic:n=640 "
                   "--out %s/t.safetensors",
           dir);
  int rc = tu_run_tty(cmd, &out);
  cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
  cr_expect(strstr(out, "\r\033[Kepoch 1/1 step 20/20 loss "), "%s", out);
  cr_expect(strstr(out, "\r\033[Kepoch 1/1: test accuracy "), "%s", out);
  cr_expect(strstr(out, "\r\033[Kepoch 1/1 step 1/20 loss "), "the first step is drawn: %s", out);
  cr_expect(strstr(out, " samples/s ETA "), "%s", out);
  free(out);
}

/* `in` with every "DIR" replaced by the test's folder. */
static void with_dir(const char *in, char *out, size_t len) {
  size_t n = 0;
  for (const char *p = in; *p && n + sizeof dir < len; p++) {
    if (strncmp(p, "DIR", 3)) {
      out[n++] = *p;
      continue;
    }
    n += (size_t)snprintf(out + n, len - n, "%s", dir);
    p += 2;
  }
  out[n] = 0;
}

/* Writes an mlp checkpoint to `path` (for eval's wrong-model case). */
static void write_mlp_checkpoint(const char *path) {
  nnb_model_spec s;
  nnb_model m;
  nnb_weights w;
  nnb_error e;
  const nnb_input_shape in = {1, 28, 28, 10};
  cr_assert_eq(nnb_model_parse("mlp", &s, &e), NNB_OK);
  cr_assert_eq(nnb_model_build(&s, &in, 1, 0, &m, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_weights_init(&m, 1, &w, &e), NNB_OK);
  const char *const md[][2] = {{"model", m.spec.text}};
  cr_assert_eq(nnb_weights_save(&m, &w, path, md, 1, &e), NNB_OK, "%s", e.msg);
  nnb_weights_free(&w);
  nnb_model_free(&m);
}

Test(train_cli, bad_input_exits_non_zero_with_a_clear_message, .timeout = 120) {
  char mlp[128];
  snprintf(mlp, sizeof mlp, "%s/mlp.safetensors", dir);
  write_mlp_checkpoint(mlp);
  const char *const train = " train --backend reference --dataset synthetic:n=64 --out DIR/x";
  struct {
    const char *cmd, *args;
    int rc;
    const char *phrase;
  } cases[] = {
      {train, "--model mlp:depth=2", 2, "model mlp: unknown key 'depth' (keys: hidden, layers)"},
      {train, "--model mlp:hidden=0", 2, "hidden (hidden width) must be an integer in [1, 65536]"},
      {train, "--model transformer:heads=3", 2, "heads=3 must divide d=64"},
      {train, "--model resnet", 2, "unknown model 'resnet'"},
      {train, "--model mlp --lr abc", 2, "--lr needs a finite positive number, got 'abc'"},
      {train, "--model mlp --lr -0.1", 2, "got '-0.1'"},
      {train, "--model mlp --lr 0", 2, "got '0'"},
      {train, "--model mlp --lr inf", 2, "got 'inf'"},
      {train, "--model mlp --epochs 0", 2, "--epochs and --batch must be >= 1"},
      {train, "--model mlp --optimizer rmsprop", 2, "--optimizer must be adam or sgd"},
      {train, "--model mlp --batch 65", 1, "64 training samples do not fill one batch of 65"},
      {train, "--model mlp --dataset mnist:/nonexistent", 1,
       "/nonexistent/train-images-idx3-ubyte: cannot open: No such file"},
      {train, "--model mlp --backend no_such", 1, "no_such"},
      {" train --backend reference", "", 2, "--model and --backend are required"},
      {" eval --model mlp --weights", " DIR/none.safetensors", 1,
       "DIR/none.safetensors: cannot open: No such file"},
      {" eval --model cnn --weights", " DIR/mlp.safetensors", 1,
       "DIR/mlp.safetensors: no tensor 'conv1.weight', which model cnn:c1=32,c2=64,c3=64,fc=64 "
       "needs (the file's metadata says it holds model mlp:hidden=128,layers=1)"},
      {" eval --model mlp:hidden=64 --weights", " DIR/mlp.safetensors", 1,
       "'fc1.weight' is [128,784], model mlp:hidden=64,layers=1 needs [64,784]"},
      {" eval --model mlp:hidden=7x --weights", " DIR/mlp.safetensors", 2, "got '7x'"},
      {" eval --model mlp --batch 0 --weights", " DIR/mlp.safetensors", 2,
       "--batch needs a positive integer, got '0'"},
      {" eval --model mlp --weights", " DIR/mlp.safetensors --backend no_such", 1, "no_such"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char raw[512], cmd[1024], phrase[1024], full[1200], *out;
    snprintf(raw, sizeof raw, "%s %s", cases[i].cmd, cases[i].args);
    with_dir(raw, cmd, sizeof cmd);
    with_dir(cases[i].phrase, phrase, sizeof phrase);
    snprintf(full, sizeof full, NNBENCH "%s 2>&1", cmd);
    int rc = tu_run(full, &out);
    cr_expect_eq(rc, cases[i].rc, "'%s': exit %d, expected %d: %s", cmd, rc, cases[i].rc, out);
    cr_expect(strstr(out, phrase), "'%s': output '%s' does not say '%s'", cmd, out, phrase);
    free(out);
  }
  cr_expect_eq(count_files(), 1, "a failed run leaves no checkpoint, loss curve or temporary");
}
