/* nnbench version / --version */
#include <stdio.h>

#include "buildinfo.h"
#include "cli.h"

int cmd_version(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    printf("usage: nnbench version\n\nPrints the version, git commit, build type and compiler.\n");
    return 0;
  }
  if (argc > 1) return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
  printf("nnbench %s (commit %s, %s build, %s%s)\n", nnb_version(), nnb_git_commit(),
         nnb_build_type(), nnb_compiler(), nnb_sanitized() ? ", ASan+UBSan" : "");
  return 0;
}
