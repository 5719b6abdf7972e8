/* Small helpers shared by the subcommands. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return 1;
  return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "nnbench %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(see 'nnbench %s --help')\n", cmd);
  va_end(ap);
  return 2;
}

int cli_print_json(cJSON *doc) {
  char *text = doc ? cJSON_Print(doc) : NULL;
  cJSON_Delete(doc);
  if (!text) {
    fprintf(stderr, "nnbench: out of memory formatting JSON\n");
    return 1;
  }
  int ok = puts(text) >= 0;
  free(text);
  return ok ? 0 : 1;
}
