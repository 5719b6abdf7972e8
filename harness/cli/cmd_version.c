/* nnbench version / --version */
#include <stdio.h>

#include "buildinfo.h"
#include "cli.h"
#include "options.h"

int cmd_version(int argc, char **argv) {
  cli_spec spec = {.name = "version",
                   .about = "Prints the version, git commit, build type and compiler."};
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  printf("nnbench %s (commit %s, %s build, %s%s)\n", nnb_version(), nnb_git_commit(),
         nnb_build_type(), nnb_compiler(), nnb_sanitized() ? ", ASan+UBSan" : "");
  return 0;
}
