/* Suite files that used to be changed without a word: long lines,
 * continuation lines, repeated keys, lists over their limits, and two errors
 * in one file. Each is now either read as written or refused with the line
 * and the limit. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suite.h"

static char dir[64];
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-suite-XXXXXX");
  cr_assert(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}
TestSuite(suite, .init = setup, .fini = teardown);

static const char *write_file(const char *text) {
  static char path[256];
  snprintf(path, sizeof path, "%s/s.ini", dir);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* Loads text, expecting failure with every one of want[] in the message. */
static void refused(const char *text, const char *const *want) {
  nnb_suite s;
  nnb_error e = {{0}};
  cr_assert_neq(nnb_suite_load(write_file(text), &s, &e), NNB_OK, "loaded: %s", text);
  for (; *want; want++) cr_expect(strstr(e.msg, *want), "'%s' lacks '%s'", e.msg, *want);
}

Test(suite, a_line_longer_than_the_reader_takes_is_refused_with_its_limit) {
  /* 208 characters of batch sizes: once split in two and half of it run. */
  char text[512] = "[suite]\n[g]\nmodels = mlp\nbatch =";
  while (strlen(text) < 24 + 208) strcat(text, " 1,2,3");
  strcat(text, "\n");
  refused(text, (const char *[]){"s.ini:4", "longer than 198", "indented", NULL});
}

Test(suite, continuation_lines_append_to_the_key_above) {
  nnb_suite s;
  nnb_error e = {{0}};
  const char *p = write_file("[suite]\ndescription = first\n  second\n[g]\nmodels = mlp\n"
                             "batch = 1, 2\n  4, 8\n\t16\nbackends = reference\n");
  cr_assert_eq(nnb_suite_load(p, &s, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(s.description, "first second");
  cr_assert_eq(s.n_cases, 5, "batches 1 2 4 8 16, got %d cases", s.n_cases);
  cr_expect_eq(s.cases[0].batch, 1);
  cr_expect_eq(s.cases[4].batch, 16);
  nnb_suite_free(&s);
}

Test(suite, a_repeated_key_is_an_error_not_a_replacement) {
  refused("[suite]\n[g]\nmodels = mlp\nbatch = 1\nbatch = 2\n",
          (const char *[]){"s.ini:5", "batch", "twice", NULL});
  refused("[suite]\n[g]\nmodels = mlp\nthreads = 1\n  2\n",
          (const char *[]){"s.ini:5", "threads", "one number", NULL});
}

Test(suite, lists_beyond_their_limits_are_errors_not_drops) {
  char text[2048] = "[suite]\n[g]\nmodels = mlp\nbackends =";
  for (int i = 0; i < 17; i++) strcat(text, i % 8 ? " b" : "\n  b");
  strcat(text, "\n");
  refused(text, (const char *[]){"[g]", "backends", "more than 16", NULL});
  refused("[suite]\n[g]\nmodels = mlp\nmode = infer train infer\n",
          (const char *[]){"mode", "more than 2", NULL});
  refused("[suite]\n[averyveryveryveryveryveryveryveryveryveryveryveryverylonggroupname]\n"
          "models = mlp\n",
          (const char *[]){"section name longer than 49", NULL});
  refused("[suite]\n[g]\nmodels = mlp\nbackends = abcdefghijabcdefghijabcdefghijabcdefghij\n",
          (const char *[]){"backend name", "longer than 31", NULL});
}

Test(suite, with_two_errors_the_message_is_the_first_errors_own) {
  /* a bad key on line 3, then a bad number on line 5 */
  refused("[suite]\n[g]\nmodls = mlp\nmodels = mlp\nthreads = many\n",
          (const char *[]){"s.ini:3", "modls", NULL});
  nnb_suite s;
  nnb_error e = {{0}};
  cr_assert_neq(nnb_suite_load(write_file("[suite]\n[g]\nmodls = mlp\nthreads = many\n"), &s, &e),
                NNB_OK);
  cr_expect_null(strstr(e.msg, "many"), "line 3 paired with line 4's text: %s", e.msg);
  /* a syntax error first, then a handler error: the syntax error's text */
  refused("[suite]\n[g]\nthis is no key\nthreads = many\n",
          (const char *[]){"s.ini:3", "syntax error", NULL});
}

Test(suite, backend_options_continue_with_a_comma) {
  nnb_suite s;
  nnb_error e = {{0}};
  const char *p = write_file("[suite]\n[g]\nmodels = mlp\nbackends = reference\n"
                             "options = a=1,b=2\n  c=3\n");
  cr_assert_eq(nnb_suite_load(p, &s, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(s.cases[0].options, "a=1,b=2,c=3");
  nnb_suite_free(&s);
  refused("[suite]\n[g]\nmodels = mlp\noptions = a=1\n  nokey\n",
          (const char *[]){"s.ini:5", "not key=value", NULL});
}

Test(suite, max_step_inherits_and_accuracy_samples_belongs_to_the_suite) {
  nnb_suite s;
  nnb_error e = {{0}};
  const char *p = write_file("[suite]\nmax_step = 1.5\naccuracy_samples = 256\n"
                             "[a]\nmodels = mlp\n[b]\nmodels = cnn\nmax_step = 0\n");
  cr_assert_eq(nnb_suite_load(p, &s, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(s.n_cases, 2);
  cr_expect_float_eq(s.cases[0].max_step, 1.5, 1e-12, "[a] inherits [suite]'s cap");
  cr_expect_float_eq(s.cases[1].max_step, 0, 1e-12, "[b] lifts it");
  cr_expect_eq(s.accuracy_samples, 256);
  nnb_suite_free(&s);
  cr_assert_eq(nnb_suite_load(write_file("[suite]\n[a]\nmodels = mlp\n"), &s, &e), NNB_OK);
  cr_expect_eq(s.accuracy_samples, -1, "unset: the command's default");
  cr_expect_float_eq(s.cases[0].max_step, 0, 1e-12, "no cap by default");
  nnb_suite_free(&s);
  refused("[suite]\n[a]\nmodels = mlp\naccuracy_samples = 5\n",
          (const char *[]){"[a] unknown key 'accuracy_samples'", NULL});
  refused("[suite]\nmax_step = -1\n[a]\nmodels = mlp\n", (const char *[]){"max_step", NULL});
}
