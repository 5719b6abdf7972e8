/* Command-line parsing: the input is argv (items separated by NUL bytes),
 * run through nnbench's own dispatcher. Only the commands that read files
 * and print are run (compare, report, plot, list, version, help); those
 * that measure or train (run, bench, train, eval, check, sysinfo) would
 * spend the fuzzer's time computing and are left out. gnuplot is replaced
 * by /bin/false. The target works in its own folder, which holds a results
 * folder "r" to be named, so whatever the commands create stays there
 * (give libFuzzer absolute corpus paths, as scripts/fuzz.sh does). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"

int nnb_cli_main(int argc, char **argv);

#define MAX_ARGS 32

static const char *const allowed[] = {"compare", "report", "plot",   "list",
                                      "version", "help",   "--help", "--version"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) {
    nnb_fuzz_quiet();
    char path[256];
    snprintf(path, sizeof path, "%s/r", nnb_fuzz_dir());
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/r/results.json", nnb_fuzz_dir());
    FILE *src = fopen(NNB_RESULTS_SEED, "rb"), *dst = fopen(path, "wb");
    if (!src || !dst) abort();
    for (int c; (c = fgetc(src)) != EOF;) fputc(c, dst);
    fclose(src);
    fclose(dst);
    setenv("NNBENCH_GNUPLOT", "/bin/false", 1);
    if (chdir(nnb_fuzz_dir())) abort();
    init = 1;
  }
  char *text = malloc(size + 1);
  if (!text) abort();
  memcpy(text, data, size);
  text[size] = 0;
  char *argv[MAX_ARGS + 2] = {"nnbench"};
  int argc = 1;
  for (size_t at = 0; at <= size && argc <= MAX_ARGS; at += strlen(text + at) + 1)
    argv[argc++] = text + at;
  argv[argc] = NULL;
  int ok = 0;
  for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) ok |= !strcmp(argv[1], allowed[i]);
  if (ok) nnb_cli_main(argc, argv);
  free(text);
  return 0;
}
