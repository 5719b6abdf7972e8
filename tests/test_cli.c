/* The nnbench CLI end to end: exit codes, JSON on stdout, clear errors. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define NNBENCH NNB_BINARY_DIR "/nnbench"

/* Runs a command; returns its exit status and its stdout (malloc'd). */
static int run(const char *cmd, char **out) {
  FILE *p = popen(cmd, "r");
  cr_assert(p, "popen %s", cmd);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  for (size_t n; (n = fread(buf + len, 1, cap - len - 1, p)) > 0;) {
    len += n;
    if (cap - len < 1024) buf = realloc(buf, cap *= 2);
  }
  buf[len] = 0;
  int st = pclose(p);
  *out = buf;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Test(cli, version) {
  char *out;
  cr_assert_eq(run(NNBENCH " --version", &out), 0);
  cr_assert(strstr(out, "nnbench 0."), "%s", out);
  free(out);
}

Test(cli, check_reference_json, .timeout = 120) {
  char *out;
  int rc = run(NNBENCH " check --backend reference --op matmul,lstm_bwd,adam --json", &out);
  cr_assert_eq(rc, 0, "exit %d: %s", rc, out);
  cJSON *doc = cJSON_Parse(out);
  cr_assert(doc, "stdout is JSON: %s", out);
  cJSON *b = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "backends"), 0);
  cr_assert_str_eq(cJSON_GetObjectItem(b, "name")->valuestring, "reference");
  cJSON *ops = cJSON_GetObjectItem(b, "ops");
  cr_assert_eq(cJSON_GetArraySize(ops), 3);
  cJSON *lstm = cJSON_GetArrayItem(ops, 1);
  cr_assert_str_eq(cJSON_GetObjectItem(lstm, "op")->valuestring, "lstm_bwd");
  cr_assert_str_eq(cJSON_GetObjectItem(lstm, "verdict")->valuestring, "PASS");
  cJSON_Delete(doc);
  free(out);
}

Test(cli, bad_usage_exits_2_with_a_message) {
  char *out;
  cr_assert_eq(run(NNBENCH " check --op no_such_op 2>&1", &out), 2);
  cr_assert(strstr(out, "no_such_op"), "%s", out);
  free(out);
  cr_assert_eq(run(NNBENCH " frobnicate 2>&1", &out), 2);
  cr_assert(strstr(out, "frobnicate"), "%s", out);
  free(out);
  cr_assert_eq(run(NNBENCH " check --backend no_such_backend 2>&1", &out), 1);
  cr_assert(strstr(out, "no_such_backend"), "%s", out);
  free(out);
}

Test(cli, list_backends_shows_reference_and_reasons) {
  char *out;
  cr_assert_eq(run(NNBENCH " list backends --json", &out), 0);
  cJSON *doc = cJSON_Parse(out);
  cr_assert(doc, "%s", out);
  int found = 0;
  cJSON *b;
  cJSON_ArrayForEach(b, cJSON_GetObjectItem(doc, "backends")) {
    int avail = cJSON_IsTrue(cJSON_GetObjectItem(b, "available"));
    const char *name = cJSON_GetObjectItem(b, "name")->valuestring;
    if (!strcmp(name, "reference")) found = avail;
    if (!avail)
      cr_expect(strlen(cJSON_GetObjectItem(b, "reason")->valuestring) > 0,
                "unavailable %s has a reason", name);
  }
  cr_assert(found, "reference is listed as available: %s", out);
  cJSON_Delete(doc);
  free(out);
}

Test(cli, every_subcommand_has_help) {
  const char *cmds[] = {"list", "check", "sysinfo", "version"};
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
    char cmd[256], *out;
    snprintf(cmd, sizeof cmd, NNBENCH " %s --help", cmds[i]);
    cr_expect_eq(run(cmd, &out), 0, "%s --help", cmds[i]);
    cr_expect(strstr(out, "usage: nnbench"), "%s --help prints usage: %s", cmds[i], out);
    free(out);
  }
}

/* Reads a whole file (malloc'd). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  cr_assert(f, "%s exists", path);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return strdup(buf);
}

/* Backend options are part of a case's identity: recorded with the case, a
 * column of results.csv, in its reproducer, and another contender for
 * compare. A suite's options are overridden key by key by run's. */
Test(cli, backend_options_are_part_of_a_case, .timeout = 120) {
  char dir[] = "/tmp/nnb-cli-opt-XXXXXX", cmd[2048], path[256], *out;
  cr_assert(mkdtemp(dir));
  const char *common = "--model mlp --backend reference --min-time 0 --min-iters 2 --warmup 1 "
                       "--dataset synthetic:n=32";
  snprintf(cmd, sizeof cmd,
           NNBENCH " bench %s --backend-opt probe=1 --backend-opt other=x --out %s/a 2>&1", common,
           dir);
  cr_assert_eq(run(cmd, &out), 0, "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, NNBENCH " bench %s --out %s/b 2>&1", common, dir);
  cr_assert_eq(run(cmd, &out), 0, "%s", out);
  free(out);

  snprintf(path, sizeof path, "%s/a/results.json", dir);
  char *text = slurp(path);
  cJSON *doc = cJSON_Parse(text), *c = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "cases"), 0);
  cr_assert(c, "%s", text);
  cr_expect_str_eq(cJSON_GetObjectItem(c, "options")->valuestring, "probe=1,other=x");
  cr_expect(strstr(cJSON_GetObjectItem(c, "reproduce")->valuestring,
                   " --backend-opt probe=1 --backend-opt other=x"),
            "%s", cJSON_GetObjectItem(c, "reproduce")->valuestring);
  cJSON_Delete(doc);
  free(text);
  snprintf(path, sizeof path, "%s/a/results.csv", dir);
  text = slurp(path);
  cr_expect(!strncmp(text, "group,model,spec,backend,options,mode,", 38), "%s", text);
  cr_expect(strstr(text, ",reference,\"probe=1,other=x\",infer,"), "%s", text);
  free(text);

  snprintf(cmd, sizeof cmd, NNBENCH " compare %s/a %s/b --json", dir, dir);
  cr_assert_eq(run(cmd, &out), 0, "%s", out);
  doc = cJSON_Parse(out);
  cr_assert(doc, "%s", out);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "cases")), 0, "%s", out);
  cr_expect(strstr(cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "only_in_a"), 0)->valuestring,
                   "reference[probe=1,other=x]"),
            "%s", out);
  cJSON_Delete(doc);
  free(out);

  snprintf(path, sizeof path, "%s/s.ini", dir);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fprintf(f, "[suite]\ndataset = synthetic:n=32\nmin_time = 0\nmin_iters = 2\nwarmup = 1\n"
             "backends = reference\noptions = probe=1,keep=2\n[g]\nmodels = mlp\n");
  fclose(f);
  snprintf(cmd, sizeof cmd,
           NNBENCH
           " run %s --out %s/c --accuracy-samples 0 --backend-opt probe=9 --json 2>/dev/null",
           path, dir);
  cr_assert_eq(run(cmd, &out), 0, "%s", out);
  doc = cJSON_Parse(out);
  c = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "cases"), 0);
  cr_assert(c, "%s", out);
  cr_expect_str_eq(cJSON_GetObjectItem(c, "options")->valuestring, "probe=9,keep=2");
  cJSON_Delete(doc);
  free(out);

  f = fopen(path, "w");
  cr_assert(f);
  fprintf(f, "[suite]\nbackends = reference\n[g]\nmodels = mlp\noptions = probe\n");
  fclose(f);
  snprintf(cmd, sizeof cmd, NNBENCH " run %s --out %s/d 2>&1", path, dir);
  cr_expect_eq(run(cmd, &out), 1, "%s", out);
  cr_expect(strstr(out, "[g] options: 'probe' is not key=value"), "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}
