/* The subcommands' option parser: defaults, values, positionals, --help
 * from the table, and one form of error for every kind of bad input. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

typedef struct vals {
  const char *name, *path, *opt;
  unsigned long long seed;
  int batch, limit, json;
  double lr, frac;
} vals;

/* A table with one row of every kind. */
#define TABLE(v)                                                                                   \
  cli_option opts[] = {                                                                            \
      {"PATH", NULL, CLI_STR, &(v).path, NULL, "a positional"},                                    \
      {"--name", "S", CLI_STR, &(v).name, "dflt", "a string"},                                     \
      {"--opt", "adam|sgd|rmsprop", CLI_CHOICE, &(v).opt, "adam", "a choice"},                     \
      {"--seed", "N", CLI_U64, &(v).seed, "7", "any non-negative integer"},                        \
      {"--batch", "N", CLI_POS_INT, &(v).batch, "32", "a positive integer"},                       \
      {"--limit", "N", CLI_INT, &(v).limit, "0", "a non-negative integer"},                        \
      {"--lr", "X", CLI_POS_NUM, &(v).lr, "0.001", "a positive number"},                           \
      {"--threshold", "P%", CLI_PERCENT, &(v).frac, "2%", "a percentage"},                         \
      {"--json", NULL, CLI_FLAG, &(v).json, NULL, "a flag"},                                       \
  };                                                                                               \
  cli_spec spec = CLI_SPEC("demo", "What demo does.", opts)

static int parse(cli_spec *spec, const char *line) {
  char buf[512], *argv[32];
  int argc = 0;
  snprintf(buf, sizeof buf, "demo %s", line);
  for (char *save = NULL, *t = strtok_r(buf, " ", &save); t && argc < 32;
       t = strtok_r(NULL, " ", &save))
    argv[argc++] = t;
  return cli_parse(spec, argc, argv);
}

Test(options, defaults_fill_every_row) {
  vals v = {0};
  TABLE(v);
  cr_assert_eq(parse(&spec, ""), -1);
  cr_expect_str_eq(v.name, "dflt");
  cr_expect_str_eq(v.opt, "adam");
  cr_expect_eq(v.seed, 7);
  cr_expect_eq(v.batch, 32);
  cr_expect_eq(v.limit, 0);
  cr_expect_float_eq(v.lr, 0.001, 1e-12);
  cr_expect_float_eq(v.frac, 0.02, 1e-12);
  cr_expect_eq(v.json, 0);
  cr_expect_null(v.path);
  cr_expect_not(cli_given(&spec, "--seed"));
}

Test(options, values_and_positionals_are_read) {
  vals v = {0};
  TABLE(v);
  cr_assert_eq(parse(&spec, "--seed 18446744073709551615 here --opt sgd --lr -0.5e0x --json"), 2);
  cr_assert_eq(parse(&spec, "--seed 18446744073709551615 here --opt sgd --threshold 5 --json "
                            "--batch 4 --name -dash"),
               -1);
  cr_expect_eq(v.seed, 18446744073709551615ULL);
  cr_expect_str_eq(v.path, "here");
  cr_expect_str_eq(v.opt, "sgd");
  cr_expect_float_eq(v.frac, 0.05, 1e-12);
  cr_expect_eq(v.json, 1);
  cr_expect_eq(v.batch, 4);
  cr_expect_str_eq(v.name, "-dash", "a value is the next argument, whatever it looks like");
  cr_expect(cli_given(&spec, "--seed") && cli_given(&spec, "--name"));
  cr_expect_not(cli_given(&spec, "--limit"));
}

/* A bad input: exit status 2 (the message goes to the redirected stderr). */
static void expect_error(const char *line) {
  vals v = {0};
  TABLE(v);
  cr_assert_eq(parse(&spec, line), 2, "'%s' is a usage error", line);
}

Test(options, unknown_option, .init = cr_redirect_stderr) {
  expect_error("--frob 1");
  fflush(stderr);
  cr_assert_stderr_eq_str("nnbench demo: unknown option '--frob'\n(see 'nnbench demo --help')\n");
}

Test(options, missing_value, .init = cr_redirect_stderr) {
  expect_error("--batch");
  fflush(stderr);
  cr_assert_stderr_eq_str(
      "nnbench demo: option '--batch' needs a value\n(see 'nnbench demo --help')\n");
}

Test(options, bad_numbers, .init = cr_redirect_stderr) {
  expect_error("--batch 0");
  expect_error("--limit 1000000001");
  expect_error("--seed -1");
  expect_error("--lr inf");
  expect_error("--threshold 5x");
  fflush(stderr);
  cr_assert_stderr_eq_str("nnbench demo: --batch needs a positive integer, got '0'\n"
                          "(see 'nnbench demo --help')\n"
                          "nnbench demo: --limit needs a non-negative integer, got '1000000001'\n"
                          "(see 'nnbench demo --help')\n"
                          "nnbench demo: --seed needs a non-negative integer, got '-1'\n"
                          "(see 'nnbench demo --help')\n"
                          "nnbench demo: --lr needs a finite positive number, got 'inf'\n"
                          "(see 'nnbench demo --help')\n"
                          "nnbench demo: --threshold needs a percentage such as 5%, got '5x'\n"
                          "(see 'nnbench demo --help')\n");
}

Test(options, bad_choice_and_extra_argument, .init = cr_redirect_stderr) {
  expect_error("--opt lbfgs");
  expect_error("a b");
  fflush(stderr);
  cr_assert_stderr_eq_str("nnbench demo: --opt must be adam, sgd or rmsprop, not 'lbfgs'\n"
                          "(see 'nnbench demo --help')\n"
                          "nnbench demo: unexpected argument 'b'\n(see 'nnbench demo --help')\n");
}

Test(options, help_is_the_table, .init = cr_redirect_stdout) {
  vals v = {0};
  TABLE(v);
  cr_assert_eq(parse(&spec, "--seed x --help"), 0, "--help wins over a bad value");
  fflush(stdout);
  cr_assert_stdout_eq_str("usage: nnbench demo PATH [options]\n"
                          "\n"
                          "What demo does.\n"
                          "\n"
                          "options:\n"
                          "  --name S                a string (default dflt)\n"
                          "  --opt adam|sgd|rmsprop  a choice (default adam)\n"
                          "  --seed N                any non-negative integer (default 7)\n"
                          "  --batch N               a positive integer (default 32)\n"
                          "  --limit N               a non-negative integer (default 0)\n"
                          "  --lr X                  a positive number (default 0.001)\n"
                          "  --threshold P%          a percentage (default 2%)\n"
                          "  --json                  a flag\n"
                          "  -h, --help              print this help\n");
}

Test(options, a_repeatable_option_collects_every_pair, .init = cr_redirect_stderr) {
  cli_kv kv = {"stale"};
  cli_option opts[] = {{"--opt", "KEY=VALUE", CLI_KV, &kv, NULL, "a pair"}};
  cli_spec spec = CLI_SPEC("demo", "What demo does.", opts);
  cr_assert_eq(parse(&spec, ""), -1);
  cr_expect_str_eq(kv.text, "", "nothing given, nothing collected");
  cr_assert_eq(parse(&spec, "--opt a=1 --opt b=x=y"), -1);
  cr_expect_str_eq(kv.text, "a=1,b=x=y");
  cr_expect_eq(parse(&spec, "--opt a"), 2);
  cr_expect_eq(parse(&spec, "--opt =1"), 2);
  cr_expect_eq(parse(&spec, "--opt a=1,b=2"), 2);
  fflush(stderr);
  cr_assert_stderr_eq_str(
      "nnbench demo: --opt needs KEY=VALUE (no commas; 255 characters in all), got 'a'\n"
      "(see 'nnbench demo --help')\n"
      "nnbench demo: --opt needs KEY=VALUE (no commas; 255 characters in all), got '=1'\n"
      "(see 'nnbench demo --help')\n"
      "nnbench demo: --opt needs KEY=VALUE (no commas; 255 characters in all), got 'a=1,b=2'\n"
      "(see 'nnbench demo --help')\n");
}
