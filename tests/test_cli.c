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
