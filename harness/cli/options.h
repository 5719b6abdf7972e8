/* The subcommands' options: each command declares a table (name, kind,
 * default, help) and one parser reads argv by it, prints --help from it and
 * gives one form of error for an unknown option, a missing value or a bad
 * number:  nnbench CMD: <what is wrong>  (see 'nnbench CMD --help'), exit 2.
 *
 * An option that takes a value takes the next argument, whatever it looks
 * like ("--lr -0.1" reads -0.1 and refuses it as a number). A row whose name
 * does not start with '-' is a positional argument, filled in table order. */
#ifndef NNB_CLI_OPTIONS_H
#define NNB_CLI_OPTIONS_H

typedef enum cli_kind {
  CLI_FLAG,    /* no value; int dest set to 1 when given */
  CLI_STR,     /* const char *dest: the value as given */
  CLI_CHOICE,  /* const char *dest: one of the words of `value`, "adam|sgd" */
  CLI_U64,     /* unsigned long long dest: a non-negative integer */
  CLI_INT,     /* int dest: an integer in [0, 1e9] */
  CLI_POS_INT, /* int dest: an integer in [1, 1e9] */
  CLI_NUM,     /* double dest: a finite number >= 0 */
  CLI_POS_NUM, /* double dest: a finite number > 0 */
  CLI_PERCENT, /* double dest: "5" or "5%" in [0, 1000), stored as a fraction 0.05 */
  CLI_KV       /* cli_kv dest: KEY=VALUE, repeatable; the pairs joined with ',' */
} cli_kind;

/* What a CLI_KV option collects: "k=v,k=v" in the order given, "" when none. */
typedef struct cli_kv {
  char text[256];
} cli_kv;

typedef struct cli_option {
  const char *name;  /* "--batch", or a positional's name ("SUITE.ini") */
  const char *value; /* what the value is, for --help ("N", "DIR"); NULL for a flag */
  cli_kind kind;
  void *dest;
  const char *def;  /* the default as it would be typed (parsed into dest), or NULL */
  const char *help; /* one line; '\n' continues it on the next */
} cli_option;

enum { CLI_MAX_OPTIONS = 32 };

typedef struct cli_spec {
  const char *name;  /* the subcommand */
  const char *about; /* what it does, printed between the usage and the options */
  const cli_option *opts;
  int n_opts;
  char seen[CLI_MAX_OPTIONS]; /* set by the parser: opts[i] was given */
} cli_spec;

/* The row every command that opens backends has: their options, passed as
 * nnb_backend_config.options. */
#define CLI_BACKEND_OPT(dest)                                                                      \
  {                                                                                                \
    "--backend-opt", "KEY=VALUE", CLI_KV, dest, NULL,                                              \
        "a backend option (its README lists them); part of a case's identity"                      \
  }

/* Designated, so `seen` starts zeroed without a warning. */
#define CLI_SPEC(cmd, text, table)                                                                 \
  { .name = cmd, .about = text, .opts = table, .n_opts = (int)(sizeof table / sizeof table[0]) }

/* Fills every dest from its default, then from argv (argv[0] is the
 * subcommand). Returns -1 when the command should go on, 0 after printing
 * --help, 2 after printing a usage error. */
int cli_parse(cli_spec *spec, int argc, char **argv);

/* The usage line, `about` and the option table, on stdout. */
void cli_print_help(const cli_spec *spec);

/* True when the option `name` was given (not only defaulted). */
int cli_given(const cli_spec *spec, const char *name);

#endif
