/* The nnbench subcommands: one file each, dispatched by main.c. */
#ifndef NNB_CLI_H
#define NNB_CLI_H

#include <stdio.h>

typedef struct nnb_cmd {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the subcommand's name */
} nnb_cmd;

int cmd_list(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_sysinfo(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Prints the JSON document to stdout, then frees it. Returns 0, or 1 when
 * printing failed. */
typedef struct cJSON cJSON;
int cli_print_json(cJSON *doc);

/* True when argv holds -h or --help. */
int cli_wants_help(int argc, char **argv);
/* Prints "nnbench: <msg>" to stderr and returns the exit code 2 (usage). */
int cli_usage_error(const char *cmd, const char *fmt, ...);

#endif
