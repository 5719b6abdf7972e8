/* The subcommands' option parser (harness/cli/options.c): argv (items
 * separated by NUL bytes) against a table holding every kind of option and
 * two positionals, then --help printed from the table. The commands'
 * own tables go through the same parser (fuzz_cli runs some of them). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "options.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) nnb_fuzz_quiet(), init = 1;
  char *text = nnb_fuzz_string(data, size);
  char *argv[MAX_ARGS + 2] = {"fuzz"};
  int argc = 1;
  for (size_t at = 0; at < size && argc <= MAX_ARGS; at += strlen(text + at) + 1)
    argv[argc++] = text + at;
  argv[argc] = NULL;
  const char *str, *choice, *first, *second;
  unsigned long long u64;
  int flag, i, pos;
  double num, pos_num, pct;
  cli_option opts[] = {
      {"FIRST", NULL, CLI_STR, &first, NULL, "a positional"},
      {"SECOND", NULL, CLI_STR, &second, "b", "a positional with a default"},
      {"--str", "S", CLI_STR, &str, NULL, "a string"},
      {"--choice", "adam|sgd|rmsprop", CLI_CHOICE, &choice, "adam", "a word"},
      {"--u64", "N", CLI_U64, &u64, "0", "a count"},
      {"--int", "N", CLI_INT, &i, "3", "an int"},
      {"--pos-int", "N", CLI_POS_INT, &pos, "1", "a positive int"},
      {"--num", "S", CLI_NUM, &num, "1", "seconds"},
      {"--pos-num", "X", CLI_POS_NUM, &pos_num, "0.5", "a positive number\nover two lines"},
      {"--pct", "P%", CLI_PERCENT, &pct, "2", "a percentage"},
      {"--flag", NULL, CLI_FLAG, &flag, NULL, "a flag"},
  };
  cli_spec spec = CLI_SPEC("fuzz", "Every kind of option.", opts);
  if (cli_parse(&spec, argc, argv) < 0) {
    for (size_t k = 0; k < sizeof opts / sizeof *opts; k++) cli_given(&spec, opts[k].name);
    cli_print_help(&spec);
  }
  free(text);
  return 0;
}
