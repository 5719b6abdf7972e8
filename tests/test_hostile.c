/* Hostile names and paths in what plot, report and compare --plot write:
 * a results folder whose path holds line breaks, quotes, backslashes and
 * gnuplot's system(); backend and model names that try the same in the
 * generated gnuplot scripts, and <script> in the report. Proves no
 * command ran (no marker file appears) and neither report.html nor
 * report.md holds a live tag. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define NNBENCH NNB_BINARY_DIR "/nnbench"
#define FIXTURE NNB_SOURCE_DIR "/tests/fixtures/results/small/results.json"

static char root[64];
static void setup(void) {
  snprintf(root, sizeof root, "/tmp/nnb-hostile-XXXXXX");
  cr_assert(mkdtemp(root));
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  cr_expect_eq(system(cmd), 0);
}
TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 180);

/* Runs nnbench with argv as given (no shell in between); its exit status. */
static int run(const char *const *args) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    execv(NNBENCH, (char *const *)args);
    _exit(127);
  }
  int status;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int exists(const char *path) {
  struct stat sb;
  return !stat(path, &sb);
}

/* A name that tries each way out of a gnuplot string or comment, and HTML.
 * The shell finds the marker's path in $NNB_PWNED. */
static void hostile(char *buf, size_t len, const char *tag) {
  char marker[128];
  snprintf(marker, sizeof marker, "%s/pwned", root);
  setenv("NNB_PWNED", marker, 1);
  snprintf(buf, len,
           "%s'\n system(\"touch $NNB_PWNED\") #\\\n\" `touch $NNB_PWNED` @x \\ "
           "<script>alert(1)</script>&",
           tag);
}

static void no_marker(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/pwned", root);
  cr_expect(!exists(path), "a hostile name ran a command");
}

static void write_results(const char *dir, int hostile_names) {
  cr_assert_eq(mkdir(dir, 0777), 0, "mkdir %s", dir);
  char *text = tu_read_file(FIXTURE, NULL);
  cr_assert(text);
  cJSON *doc = cJSON_Parse(text);
  free(text);
  cr_assert(doc);
  if (hostile_names) {
    char bad_backend[512], bad_model[512];
    hostile(bad_backend, sizeof bad_backend, "backend");
    bad_backend[60] = 0; /* within a series name's limit */
    hostile(bad_model, sizeof bad_model, "model");
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
      if (!strcmp(cJSON_GetObjectItem(c, "backend")->valuestring, "reference"))
        cJSON_ReplaceItemInObject(c, "backend", cJSON_CreateString(bad_backend));
      if (!strcmp(cJSON_GetObjectItem(c, "model")->valuestring, "mlp"))
        cJSON_ReplaceItemInObject(c, "model", cJSON_CreateString(bad_model));
    }
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(doc, "suite"), "name",
                              cJSON_CreateString(bad_model));
  }
  char path[512];
  snprintf(path, sizeof path, "%s/results.json", dir);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  char *out = cJSON_Print(doc);
  fputs(out, f);
  fclose(f);
  free(out);
  cJSON_Delete(doc);
}

Test(hostile, a_results_path_with_gnuplot_commands_runs_nothing) {
  char name[400], dir[512], path[700];
  hostile(name, sizeof name, "path");
  for (char *c = name; *c; c++) /* a folder name cannot hold '/' */
    if (*c == '/') *c = '|';
  snprintf(dir, sizeof dir, "%s/%s", root, name);
  write_results(dir, 0);
  cr_expect_eq(run((const char *[]){NNBENCH, "plot", dir, NULL}), 0, "plot");
  cr_expect_eq(run((const char *[]){NNBENCH, "report", dir, NULL}), 0, "report");
  char cmp[600];
  snprintf(cmp, sizeof cmp, "%s/cmp\n#", dir);
  cr_expect_eq(run((const char *[]){NNBENCH, "compare", FIXTURE, dir, "--plot", cmp, NULL}), 0,
               "compare --plot");
  no_marker();
  snprintf(path, sizeof path, "%s/plots/throughput.png", dir);
  cr_expect(exists(path), "the plot lands in the folder as named: %s", path);
  snprintf(path, sizeof path, "%s/compare.svg", cmp);
  cr_expect(exists(path), "the compare plot lands in the folder as named: %s", path);
}

Test(hostile, hostile_backend_and_model_names_run_nothing_and_stay_text_in_html) {
  char dir[128], path[160];
  snprintf(dir, sizeof dir, "%s/r", root);
  write_results(dir, 1);
  cr_expect_eq(run((const char *[]){NNBENCH, "report", dir, NULL}), 0, "report");
  snprintf(path, sizeof path, "%s/cmp", root);
  cr_expect_eq(run((const char *[]){NNBENCH, "compare", FIXTURE, dir, "--plot", path, NULL}), 0,
               "compare --plot");
  no_marker();
  snprintf(path, sizeof path, "%s/report.html", dir);
  char *html = tu_read_file(path, NULL);
  cr_assert(html, "report.html written");
  cr_expect_null(strstr(html, "<script"), "a live <script> in report.html");
  cr_expect(strstr(html, "&lt;script&gt;alert(1)"), "the name shows as text");
  free(html);
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = tu_read_file(path, NULL);
  cr_assert(md, "report.md written");
  for (const char *at = md; (at = strstr(at, "<script")); at++)
    cr_expect(at > md && at[-1] == '\\', "a raw <script> in report.md: %.40s", at);
  cr_expect(strstr(md, "\\<script\\>alert(1)"), "the name shows as text");
  free(md);
}
