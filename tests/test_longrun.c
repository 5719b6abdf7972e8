/* Long runs: a results folder has one writer and never loses a run to a
 * new one, an interrupted run says it is partial and continues where it
 * stopped, and a case's child dies with the parent or at its own timeout. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "memory_limit.h"
#include "results.h"
#include "run_dir.h"
#include "testutil.h"

static char dir[64];
static void setup(void) {
  tu_tmpdir(dir, sizeof dir, "longrun");
  setenv("NNBENCH_BACKEND_PATH", NNB_FIXTURE_DIR, 1);
}
static void teardown(void) { tu_rm_rf(dir); }
TestSuite(longrun, .init = setup, .fini = teardown, .timeout = 120);

static const char *suite_file(const char *name, const char *backend, double min_time,
                              double timeout) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fprintf(f,
          "[suite]\nname = long\ndataset = synthetic:n=64\nmin_time = %g\nmin_iters = 2\n"
          "warmup = 0\ntimeout = %g\n[g]\nmodels = mlp:hidden=8\nbackends = %s\n"
          "batch = 1, 2, 3\n",
          min_time, timeout, backend);
  fclose(f);
  return path;
}

/* Runs `nnbench ARGS` (printf-style); its exit status, its output in *text. */
static int nnbench(char **text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int nnbench(char **text, const char *fmt, ...) {
  char args[1024], cmd[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "%s/nnbench %s", NNB_BINARY_DIR, args);
  return tu_run(cmd, text);
}

/* A finished run of `suite` in out. */
static void finished_run(const char *suite, const char *out) {
  char *text = NULL;
  cr_assert_eq(nnbench(&text, "run %s --out %s --accuracy-samples 0 2>&1", suite, out), 0, "%s",
               text);
  free(text);
}

/* Starts `nnbench run ARGS` in the background (output to DIR/log); its pid. */
static pid_t start_run(const char *args) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "exec %s/nnbench run %s >>%s/log 2>&1", NNB_BINARY_DIR, args, dir);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static cJSON *read_results(const char *out) {
  cJSON *doc = NULL;
  nnb_error e;
  return nnb_results_read(out, &doc, &e) == NNB_OK ? doc : NULL;
}

static int recorded_cases(const char *out) {
  cJSON *doc = read_results(out);
  int n = doc ? cJSON_GetArraySize(cJSON_GetObjectItem(doc, "cases")) : -1;
  cJSON_Delete(doc);
  return n;
}

/* Waits until the run in `out` has recorded at least n cases. */
static void wait_for_cases(const char *out, int n, double limit_s) {
  double t0 = now_s();
  while (recorded_cases(out) < n) {
    cr_assert_lt(now_s() - t0, limit_s, "no %d case(s) recorded in %s within %g s", n, out,
                 limit_s);
    usleep(20000);
  }
}

/* The one child of process `parent` (a case's isolated process), or -1. */
static pid_t child_of(pid_t parent) {
  char cmd[128], *out = NULL;
  snprintf(cmd, sizeof cmd, "ps -o pid= --ppid %d", (int)parent);
  tu_run(cmd, &out);
  pid_t pid = atoi(out);
  free(out);
  return pid > 0 ? pid : -1;
}

/* Whether pid is gone (or a zombie nobody reaped yet: it runs no more). */
static int gone(pid_t pid) {
  char path[64], stat[256] = "";
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 1;
  size_t n = fread(stat, 1, sizeof stat - 1, f);
  fclose(f);
  stat[n] = 0;
  const char *paren = strrchr(stat, ')');
  return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

static int wait_gone(pid_t pid, double limit_s) {
  double t0 = now_s();
  while (!gone(pid) && now_s() - t0 < limit_s) usleep(20000);
  return gone(pid);
}

/* Rounds recorded in the results of the run in `out`, over all its cases. */
static int recorded_rounds(const char *out) {
  cJSON *doc = read_results(out), *c;
  int n = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    n += cJSON_GetArraySize(cJSON_GetObjectItem(c, "rounds"));
  }
  cJSON_Delete(doc);
  return n;
}

Test(longrun, a_run_continues_after_a_kill_and_records_each_round_once) {
  const char *suite = suite_file("s.ini", "reference", 0.5, 60);
  char out[128], args[512];
  snprintf(out, sizeof out, "%s/res", dir);
  snprintf(args, sizeof args, "%s --out %s --rounds 3 --accuracy-samples 8", suite, out);
  pid_t pid = start_run(args);
  double t0 = now_s();
  while (recorded_rounds(out) < 2) {
    cr_assert_lt(now_s() - t0, 60.0, "no 2 rounds recorded in %s within 60 s", out);
    usleep(20000);
  }
  cr_assert_eq(kill(pid, SIGKILL), 0);
  cr_assert_eq(waitpid(pid, NULL, 0), pid);
  cJSON *before = read_results(out);
  cr_assert(before, "the interrupted run's results are valid");
  cJSON *run = cJSON_GetObjectItem(before, "run");
  cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(run, "complete")), "an interrupted run is partial");
  cr_expect_eq(cJSON_GetObjectItem(run, "cases_planned")->valueint, 3);
  int had = recorded_rounds(out);
  cr_assert(had >= 2 && had < 9, "killed mid-run: %d round(s)", had);

  char *text = NULL;
  cr_assert_eq(nnbench(&text, "run --resume %s 2>&1", out), 0, "%s", text);
  free(text);
  cJSON *after = read_results(out);
  cr_assert(after);
  cJSON *cases = cJSON_GetObjectItem(after, "cases");
  cr_expect_eq(cJSON_GetArraySize(cases), 3, "every case once");
  for (int b = 1; b <= 3; b++) {
    int seen = 0;
    cJSON *c, *r;
    cJSON_ArrayForEach(c, cases) {
      if (cJSON_GetObjectItem(c, "batch")->valueint != b) continue;
      seen++;
      cr_expect_str_eq(cJSON_GetObjectItem(c, "status")->valuestring, "ok");
      int rounds_seen[3] = {0};
      cJSON_ArrayForEach(r, cJSON_GetObjectItem(c, "rounds")) {
        int k = cJSON_GetObjectItem(r, "round")->valueint;
        cr_assert(k >= 0 && k < 3);
        rounds_seen[k]++;
      }
      for (int k = 0; k < 3; k++)
        cr_expect_eq(rounds_seen[k], 1, "batch %d round %d recorded once", b, k);
    }
    cr_expect_eq(seen, 1, "batch %d recorded once", b);
  }
  /* What was measured before the kill is kept as it was: each case's rounds
   * recorded then come first, unchanged. */
  for (int i = 0; i < 3; i++) {
    cJSON *old =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(before, "cases"), i), "rounds");
    cJSON *now = cJSON_GetObjectItem(cJSON_GetArrayItem(cases, i), "rounds");
    for (int k = 0; k < cJSON_GetArraySize(old); k++) {
      char *a = cJSON_PrintUnformatted(cJSON_GetArrayItem(old, k));
      char *b = cJSON_PrintUnformatted(cJSON_GetArrayItem(now, k));
      cr_expect_str_eq(b, a, "case %d round entry %d kept", i, k);
      free(a), free(b);
    }
  }
  run = cJSON_GetObjectItem(after, "run");
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(run, "complete")));
  cr_expect_eq(cJSON_GetObjectItem(run, "cases_recorded")->valueint, 3);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(run, "resumes")), 1);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(after, "accuracy")), 1);
  cJSON_Delete(before);
  cJSON_Delete(after);
}

Test(longrun, resume_refuses_other_cases_unless_forced) {
  char out[128], *text = NULL;
  snprintf(out, sizeof out, "%s/res", dir);
  finished_run(suite_file("s.ini", "reference", 0, 60), out);
  const char *other = suite_file("other.ini", "reference", 0.01, 60);
  cr_expect_eq(nnbench(&text, "run --resume %s %s 2>&1", out, other), 1);
  cr_expect(strstr(text, "cannot continue this run; the cases differ"), "%s", text);
  free(text);
  cr_expect_eq(nnbench(&text, "run --resume %s %s --force --accuracy-samples 0 2>&1", out, other),
               0, "%s", text);
  free(text);
  cJSON *doc = read_results(out);
  cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "run"), "resumes"), 0);
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(r, "forced")), "a forced continuation says so");
  cJSON_Delete(doc);
}

/* In the results of the run in `out`: `key` of every case (case_index -1) or
 * of every round of case case_index, joined by commas ("ok,skipped", "0,1"). */
static const char *listed(const char *out, int case_index, const char *key, char *buf, size_t len) {
  cJSON *doc = read_results(out), *x;
  cr_assert(doc);
  cJSON *list = cJSON_GetObjectItem(doc, "cases");
  if (case_index >= 0) list = cJSON_GetObjectItem(cJSON_GetArrayItem(list, case_index), "rounds");
  *buf = 0;
  cJSON_ArrayForEach(x, list) {
    cJSON *v = cJSON_GetObjectItem(x, key);
    size_t at = strlen(buf);
    if (cJSON_IsString(v))
      snprintf(buf + at, len - at, "%s%s", at ? "," : "", v->valuestring);
    else
      snprintf(buf + at, len - at, "%s%g", at ? "," : "", cJSON_GetNumberValue(v));
  }
  cJSON_Delete(doc);
  return buf;
}

Test(longrun, resume_under_another_max_step_is_refused_not_kept_skipped) {
  /* Every case's first step is over a 1 us cap: all three are skipped. */
  const char *suite = suite_file("s.ini", "reference", 0, 60);
  char out[128], got[128], *text = NULL;
  snprintf(out, sizeof out, "%s/res", dir);
  cr_assert_eq(
      nnbench(&text, "run %s --out %s --max-step 1e-6 --accuracy-samples 0 2>&1", suite, out), 0,
      "%s", text);
  free(text);
  cr_assert_str_eq(listed(out, -1, "status", got, sizeof got), "skipped,skipped,skipped");
  /* Without the cap those cases would be measured: continuing must not
   * keep them as skipped under a run that claims no cap. */
  cr_expect_eq(nnbench(&text, "run --resume %s --accuracy-samples 0 2>&1", out), 1, "%s", text);
  cr_expect(strstr(text, "the cases differ") && strstr(text, "--max-step"), "%s", text);
  free(text);
  cr_expect_str_eq(listed(out, -1, "status", got, sizeof got), "skipped,skipped,skipped",
                   "untouched");
  /* The same cap continues it. */
  cr_expect_eq(nnbench(&text, "run --resume %s --max-step 1e-6 --accuracy-samples 0 2>&1", out), 0,
               "%s", text);
  free(text);
}

Test(longrun, resume_with_more_rounds_adds_them_and_fewer_drops_none) {
  const char *suite = suite_file("s.ini", "reference", 0, 60);
  char out[128], got[64], *text = NULL;
  snprintf(out, sizeof out, "%s/res", dir);
  cr_assert_eq(nnbench(&text, "run %s --out %s --rounds 2 --accuracy-samples 0 2>&1", suite, out),
               0, "%s", text);
  free(text);
  cJSON *before = read_results(out);
  cr_assert(before);
  cr_assert_eq(nnbench(&text, "run --resume %s --rounds 3 --accuracy-samples 0 2>&1", out), 0, "%s",
               text);
  cr_expect(strstr(text, "3 round(s) to measure"), "one more round of each case: %s", text);
  free(text);
  cJSON *after = read_results(out);
  cr_assert(after);
  for (int i = 0; i < 3; i++) {
    cr_expect_str_eq(listed(out, i, "round", got, sizeof got), "0,1,2", "case %d", i);
    cJSON *was = cJSON_GetArrayItem(cJSON_GetObjectItem(before, "cases"), i),
          *now = cJSON_GetArrayItem(cJSON_GetObjectItem(after, "cases"), i);
    for (int k = 0; k < 2; k++) {
      char *a = cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItem(was, "rounds"), k));
      char *b = cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItem(now, "rounds"), k));
      cr_expect_str_eq(b, a, "case %d round %d kept as it was", i, k);
      free(a), free(b);
    }
    cJSON *sum = cJSON_GetObjectItem(now, "summary");
    cr_expect_eq(cJSON_GetObjectItem(sum, "rounds")->valueint, 3, "case %d summarises 3", i);
    const char *repro = cJSON_GetObjectItem(now, "reproduce")->valuestring;
    cr_expect(strstr(repro, "--rounds 3 "), "case %d: %s", i, repro);
  }
  cJSON_Delete(before);
  cJSON_Delete(after);
  cr_assert_eq(nnbench(&text, "run --resume %s --rounds 1 --accuracy-samples 0 2>&1", out), 0, "%s",
               text);
  cr_expect(strstr(text, "3 of 3 case(s) recorded, 0 round(s) to measure"), "%s", text);
  free(text);
  for (int i = 0; i < 3; i++)
    cr_expect_str_eq(listed(out, i, "round", got, sizeof got), "0,1,2", "case %d keeps its rounds",
                     i);
}

Test(longrun, resume_refuses_another_commit_or_machine) {
  cJSON *old = cJSON_CreateObject();
  cJSON *suite = cJSON_AddObjectToObject(old, "suite");
  cJSON_AddStringToObject(suite, "fingerprint", "0badc0de");
  cJSON *prov = cJSON_AddObjectToObject(old, "provenance");
  cJSON_AddStringToObject(prov, "git_commit", "abc123");
  cJSON *m = cJSON_AddObjectToObject(prov, "machine");
  cJSON_AddStringToObject(cJSON_AddObjectToObject(m, "host"), "hostname", "lab1");
  cJSON *cpu = cJSON_AddObjectToObject(m, "cpu");
  cJSON_AddStringToObject(cpu, "model", "AMD EPYC");
  cJSON_AddNumberToObject(cpu, "logical_cores", 2);
  char id[256];
  nnb_run_machine_id(m, id, sizeof id);
  cr_expect_str_eq(id, "lab1, AMD EPYC, 2 logical cores");
  nnb_error e;
  cr_expect_eq(nnb_run_check_resume(old, "0badc0de", "abc123", id, 0, &e), NNB_OK, "%s", e.msg);
  cr_expect_neq(nnb_run_check_resume(old, "0badc0de", "def456", id, 0, &e), NNB_OK);
  cr_expect(strstr(e.msg, "measured by nnbench abc123, this is def456"), "%s", e.msg);
  cr_expect_neq(
      nnb_run_check_resume(old, "0badc0de", "abc123", "lab2, AMD EPYC, 2 logical cores", 0, &e),
      NNB_OK);
  cr_expect(strstr(e.msg, "measured on lab1, AMD EPYC, 2 logical cores, this is lab2"), "%s",
            e.msg);
  cr_expect_eq(nnb_run_check_resume(old, "12345678", "x", "y", 1, &e), NNB_OK, "forced");
  cJSON_Delete(old);
}

Test(longrun, a_folder_with_a_run_is_never_replaced) {
  const char *suite = suite_file("s.ini", "reference", 0, 60);
  char out[128], path[256], *text = NULL;
  snprintf(out, sizeof out, "%s/res", dir);
  finished_run(suite, out);
  snprintf(path, sizeof path, "%s/results.json", out);
  char *was = tu_read_file(path, NULL);
  cr_expect_eq(nnbench(&text, "run %s --out %s 2>&1", suite, out), 1);
  cr_expect(strstr(text, "already holds a run") && strstr(text, "--resume"), "%s", text);
  free(text);
  char *now = tu_read_file(path, NULL);
  cr_expect_str_eq(now, was, "the earlier run is untouched");
  free(was), free(now);
}

/* Waits for the run `pid` writing `out` (three cases): it ends well, complete. */
static void finishes_undisturbed(pid_t pid, const char *out) {
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the run finishes undisturbed");
  cJSON *doc = read_results(out);
  cr_assert(doc);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "cases")), 3);
  cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "run"), "complete")));
  cJSON_Delete(doc);
}

Test(longrun, two_runs_into_one_folder_the_second_is_refused) {
  const char *suite = suite_file("s.ini", "reference", 1.0, 60); /* 3 s: time for the second */
  char out[128], args[512];
  snprintf(out, sizeof out, "%s/res", dir);
  snprintf(args, sizeof args, "%s --out %s --accuracy-samples 0", suite, out);
  pid_t first = start_run(args);
  wait_for_cases(out, 0, 30); /* the first run has its folder, locked */
  char *text = NULL;
  cr_expect_eq(nnbench(&text, "run %s --out %s 2>&1", suite, out), 1);
  char want[64];
  snprintf(want, sizeof want, "another nnbench run (process %d)", (int)first);
  cr_expect(strstr(text, want), "names the run holding the folder: %s", text);
  free(text);
  finishes_undisturbed(first, out);
}

Test(longrun, a_report_while_the_run_writes_reads_one_state_and_says_it_is_partial) {
  const char *suite = suite_file("s.ini", "reference", 1.0, 60); /* 3 s: time for the report */
  char out[128], args[512], path[256], *text = NULL;
  snprintf(out, sizeof out, "%s/res", dir);
  snprintf(args, sizeof args, "%s --out %s --rounds 1 --accuracy-samples 0", suite, out);
  pid_t run = start_run(args);
  wait_for_cases(out, 3, 30); /* results.json written, its cases pending */
  cr_expect_eq(nnbench(&text, "report %s --no-plots 2>&1", out), 0, "no lock needed: %s", text);
  free(text);
  snprintf(path, sizeof path, "%s/report.md", out);
  char *md = tu_read_file(path, NULL);
  cr_assert(md);
  cr_expect(strstr(md, "This run is not complete"), "%.400s", md);
  free(md);
  finishes_undisturbed(run, out);
}

Test(longrun, the_lock_goes_with_its_holder) {
  char out[128];
  snprintf(out, sizeof out, "%s/locked", dir);
  nnb_error e;
  cr_assert_eq(nnb_mkdir_p(out, &e), NNB_OK);
  nnb_run_lock a, b;
  cr_assert_eq(nnb_run_dir_lock(out, &a, &e), NNB_OK, "%s", e.msg);
  cr_expect_neq(nnb_run_dir_lock(out, &b, &e), NNB_OK, "one writer at a time");
  nnb_run_dir_unlock(&a);
  cr_expect_eq(nnb_run_dir_lock(out, &b, &e), NNB_OK, "%s", e.msg);
  nnb_run_dir_unlock(&b);
}

/* Starts a run whose one case hangs (timeout in seconds); the run's pid,
 * and in *child the case's process once it runs. */
static pid_t start_hanging_case(double timeout, pid_t *child) {
  const char *suite = suite_file("s.ini", "hang", 0, timeout);
  char out[128], args[512];
  snprintf(out, sizeof out, "%s/res", dir);
  snprintf(args, sizeof args, "%s --out %s --accuracy-samples 0", suite, out);
  pid_t parent = start_run(args);
  *child = -1;
  for (double t0 = now_s(); *child < 0 && now_s() - t0 < 30; usleep(20000))
    if (recorded_cases(out) >= 0) *child = child_of(parent); /* past the peak measurement */
  cr_assert_gt(*child, 0, "the case's child started");
  return parent;
}

/* Kills the parent with sig while the hang backend's case runs; the case's
 * child must not outlive it. */
static void parent_killed_while_a_case_runs(int sig) {
  pid_t child, parent = start_hanging_case(60, &child);
  cr_assert_eq(kill(parent, sig), 0);
  cr_assert_eq(waitpid(parent, NULL, 0), parent);
  cr_expect(wait_gone(child, 5), "the case's child %d ended with its parent (signal %d)",
            (int)child, sig);
  if (!gone(child)) kill(child, SIGKILL);
}

Test(longrun, sigterm_to_the_parent_ends_the_case) { parent_killed_while_a_case_runs(SIGTERM); }
Test(longrun, sigkill_to_the_parent_ends_the_case) { parent_killed_while_a_case_runs(SIGKILL); }

Test(longrun, the_childs_timeout_holds_while_the_parent_is_stopped) {
  pid_t child, parent = start_hanging_case(1, &child);
  cr_assert_eq(kill(parent, SIGSTOP), 0);
  double t0 = now_s();
  int ended = wait_gone(child, 15);
  double took = now_s() - t0;
  kill(parent, SIGKILL);
  kill(parent, SIGCONT);
  waitpid(parent, NULL, 0);
  cr_expect(ended, "a case whose parent cannot kill it ends at its own timeout");
  cr_expect_lt(took, 10, "within the timeout and its grace: %g s", took);
  if (!ended) kill(child, SIGKILL);
}

/* ---- memory ------------------------------------------------------------ */

static cJSON *bench_case(const char *args) {
  static int runs;
  char *text = NULL, out[128];
  snprintf(out, sizeof out, "%s/bench%d", dir, ++runs); /* a new folder each: none is replaced */
  int st = nnbench(&text,
                   "bench --dataset synthetic:n=64 --min-time 0 --min-iters 2 --warmup 0 --out %s "
                   "%s 2>&1",
                   out, args);
  cr_expect_eq(st, 1, "a failed case fails bench: %s", text);
  free(text);
  cJSON *doc = read_results(out);
  cr_assert(doc, "results written");
  cJSON *c = cJSON_DetachItemFromArray(cJSON_GetObjectItem(doc, "cases"), 0);
  cJSON_Delete(doc);
  cr_assert(c);
  return c;
}

Test(longrun, a_model_too_large_for_the_memory_limit_is_refused_with_the_figures) {
  /* Inside the documented ranges, about 2 TiB: refused before allocating. */
  cJSON *c = bench_case("--model 'mlp:hidden=65536,layers=64;' --backend reference");
  const char *why = cJSON_GetObjectItem(c, "reason")->valuestring;
  cr_expect_str_eq(cJSON_GetObjectItem(c, "status")->valuestring, "failed");
  cr_expect(strstr(why, "out of memory: refused before allocating") && strstr(why, "TiB") &&
                strstr(why, "over the memory limit of") && strstr(why, "--memory-limit"),
            "%s", why);
  cJSON *est = cJSON_GetObjectItem(c, "memory_estimate");
  cr_expect_gt(cJSON_GetObjectItem(est, "total_bytes")->valuedouble, 1e12);
  cr_expect_gt(cJSON_GetObjectItem(est, "limit_bytes")->valuedouble, 0, "a default limit");
  double rss = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "memory"), "peak_rss_bytes")->valuedouble;
  cr_expect_lt(rss, 1e9, "nothing large was allocated: peak RSS %g", rss);
  cJSON_Delete(c);
  c = bench_case("--model mlp --backend reference --memory-limit 100K");
  why = cJSON_GetObjectItem(c, "reason")->valuestring;
  cr_expect(strstr(why, "over the memory limit of 100.00 KiB"), "%s", why);
  cJSON_Delete(c);
}

Test(longrun, a_wrong_estimate_ends_as_the_cases_out_of_memory_failure) {
  cJSON *c = bench_case("--model mlp:hidden=8 --backend greedy --memory-limit 256M");
  const char *why = cJSON_GetObjectItem(c, "reason")->valuestring;
  cr_expect_str_eq(cJSON_GetObjectItem(c, "status")->valuestring, "failed");
  cr_expect(strstr(why, "out of memory"), "%s", why);
  cr_expect_gt(
      cJSON_GetObjectItem(cJSON_GetObjectItem(c, "memory_estimate"), "cap_bytes")->valuedouble, 0,
      "the child ran under a cap");
  double rss = cJSON_GetObjectItem(cJSON_GetObjectItem(c, "memory"), "peak_rss_bytes")->valuedouble;
  cr_expect_lt(rss, 1.0 * (1 << 30), "stopped near the cap, far from 2 GiB: %g", rss);
  cJSON_Delete(c);
}

Test(longrun, memory_limits_parse_or_say_what_they_take) {
  uint64_t v;
  nnb_error e;
  cr_expect_eq(nnb_mem_parse_limit("8G", &v, &e), NNB_OK);
  cr_expect_eq(v, 8ULL << 30);
  cr_expect_eq(nnb_mem_parse_limit("512m", &v, &e), NNB_OK);
  cr_expect_eq(v, 512ULL << 20);
  cr_expect_eq(nnb_mem_parse_limit("none", &v, &e), NNB_OK);
  cr_expect_eq(v, 0);
  cr_expect_eq(nnb_mem_parse_limit("50%", &v, &e), NNB_OK);
  cr_expect_gt(v, 0);
  const char *bad[] = {"", "x", "8Q", "-1G", "0", "nan", "1e400"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    cr_expect_neq(nnb_mem_parse_limit(bad[i], &v, &e), NNB_OK, "'%s'", bad[i]);
    cr_expect(strstr(e.msg, "--memory-limit needs a size"), "%s", e.msg);
  }
}
