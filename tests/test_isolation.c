/* Plugin output is untrusted: a plugin that crashes or hangs in init is
 * reported unavailable, with the signal, by every command that opens
 * backends (list, check, eval, train), and the command goes on; a plugin
 * whose strings run past their buffers and whose counts are too large is
 * bounded (the ASan build proves nothing reads past a buffer). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nnbench/runtime.h>

#include "testutil.h"

#define NNBENCH NNB_BINARY_DIR "/nnbench"

static char dir[64];
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-isolation-XXXXXX");
  cr_assert(mkdtemp(dir));
  /* A plugin folder of the faulty plugins alone, next to the build's own. */
  const char *names[] = {"crashinit", "hanginit", "overlong"};
  for (int i = 0; i < 3; i++) {
    char from[512], to[128];
    snprintf(from, sizeof from, "%s/libnnb-%s.so", NNB_FIXTURE_DIR, names[i]);
    snprintf(to, sizeof to, "%s/libnnb-%s.so", dir, names[i]);
    cr_assert_eq(symlink(from, to), 0);
  }
  setenv("NNBENCH_BACKEND_PATH", dir, 1);
  setenv("NNBENCH_INIT_TIMEOUT", "2", 1);
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
  nnb_registry_unload();
}
TestSuite(isolation, .init = setup, .fini = teardown, .timeout = 300);

/* Runs `nnbench ARGS` with stderr into stdout; its exit status and output. */
static int nnbench(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int nnbench(char **out, const char *fmt, ...) {
  char args[512], cmd[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, NNBENCH " %s 2>&1", args);
  return tu_run(cmd, out);
}

static void says_crashed_and_hung(const char *out) {
  cr_expect(strstr(out, "crashinit") && strstr(out, "init crashed: signal 11"),
            "names the crash and its signal: %s", out);
  cr_expect(strstr(out, "hanginit") && strstr(out, "init did not return within 2 s"),
            "names the hang: %s", out);
}

Test(isolation, list_reports_plugins_that_crash_or_hang_in_init) {
  char *out;
  int rc = nnbench(&out, "list backends");
  cr_expect_eq(rc, 0, "list exits 0: %s", out);
  says_crashed_and_hung(out);
  cr_expect(strstr(out, "reference    plugin  available"), "the rest are listed: %s", out);
  free(out);
}

Test(isolation, check_skips_them_and_checks_the_rest) {
  char *out;
  int rc = nnbench(&out, "check --backend all --op relu");
  cr_expect_eq(rc, 0, "check exits 0: %s", out);
  says_crashed_and_hung(out);
  cr_expect(strstr(out, "PASS"), "the reference is still checked: %s", out);
  free(out);
  rc = nnbench(&out, "check --backend crashinit --op relu");
  cr_expect_eq(rc, 1, "asked for by name, it is an error (not a crash): %s", out);
  free(out);
}

Test(isolation, eval_and_train_survive_them) {
  char *out, path[128];
  snprintf(path, sizeof path, "%s/libnnb-overlong.so", dir);
  cr_assert_eq(unlink(path), 0, "eval --backend all needs backends that run the model");
  int rc = nnbench(&out,
                   "train --model mlp:hidden=8 --backend reference --dataset synthetic:n=64 "
                   "--out %s/m.safetensors",
                   dir);
  cr_assert_eq(rc, 0, "train on the reference: %s", out);
  free(out);
  rc = nnbench(&out,
               "eval --model mlp:hidden=8 --weights %s/m.safetensors --dataset synthetic:n=64 "
               "--backend all",
               dir);
  cr_expect_eq(rc, 0, "eval --backend all exits 0: %s", out);
  says_crashed_and_hung(out);
  free(out);
  const char *faulty[][2] = {{"crashinit", "init crashed: signal 11"},
                             {"hanginit", "did not return within 2 s"}};
  for (int i = 0; i < 2; i++) {
    rc = nnbench(&out,
                 "train --model mlp:hidden=8 --backend %s --dataset synthetic:n=64 "
                 "--out %s/x.safetensors",
                 faulty[i][0], dir);
    cr_expect_eq(rc, 1, "train on %s fails cleanly: %s", faulty[i][0], out);
    cr_expect(strstr(out, faulty[i][1]), "%s", out);
    free(out);
  }
}

Test(isolation, overlong_strings_and_counts_are_bounded) {
  nnb_backend b;
  nnb_error e;
  cr_assert_eq(nnb_backend_open("overlong", NULL, &b, &e), NNB_OK, "%s", e.msg);
  nnb_backend_info info;
  cr_assert_eq(nnb_backend_describe(&b, &info, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(strlen(info.device), sizeof info.device - 1);
  cr_expect_eq(strlen(info.library), sizeof info.library - 1);
  cr_expect_eq(info.n_props, NNB_INFO_PROPS, "the count clamped to the table");
  for (int i = 0; i < info.n_props; i++)
    cr_expect_eq(strlen(info.props[i].value), sizeof info.props[i].value - 1);
  nnb_backend_close(&b);
  /* The same through the commands: list (describe) and a case (describe
   * into results.json, and supports()'s reason). */
  char *out;
  int rc = nnbench(&out, "list backends --json");
  cr_expect_eq(rc, 0, "%s", out);
  free(out);
  rc = nnbench(&out,
               "bench --model mlp:hidden=8 --backend overlong --dataset synthetic:n=16 "
               "--min-time 0 --min-iters 1 --warmup 0 --out %s/r",
               dir);
  cr_expect_eq(rc, 1, "the case is unsupported, reported, and the run ends: %s", out);
  cr_expect(strstr(out, "yyyy"), "the reason is shown, bounded: %.300s", out);
  free(out);
}
