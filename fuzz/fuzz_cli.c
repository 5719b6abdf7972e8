/* Command-line parsing: the input is argv (items separated by NUL bytes),
 * run through nnbench's own dispatcher. Only the commands that read files
 * and print are run (compare, report, plot, list, version, help); those
 * that measure or train (run, bench, train, eval, check, sysinfo) would
 * spend the fuzzer's time computing and are left out. gnuplot is replaced
 * by /bin/false, and a results folder is there to be named: an argument
 * "r" or "r/..." is taken inside it (the process's folder is left as it is,
 * so libFuzzer finds its corpus). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    init = 1;
  }
  char *text = malloc(size + 1);
  if (!text) abort();
  memcpy(text, data, size);
  text[size] = 0;
  char *argv[MAX_ARGS + 2] = {"nnbench"}, *owned[MAX_ARGS + 2] = {NULL};
  int argc = 1;
  for (size_t at = 0; at <= size && argc <= MAX_ARGS; at += strlen(text + at) + 1) {
    char *a = text + at;
    if (a[0] == 'r' && (!a[1] || a[1] == '/')) {
      size_t n = strlen(nnb_fuzz_dir()) + strlen(a) + 2;
      owned[argc] = malloc(n);
      if (!owned[argc]) abort();
      snprintf(owned[argc], n, "%s/%s", nnb_fuzz_dir(), a);
      a = owned[argc];
    }
    argv[argc++] = a;
  }
  argv[argc] = NULL;
  int ok = 0;
  for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++) ok |= !strcmp(argv[1], allowed[i]);
  if (ok) nnb_cli_main(argc, argv);
  for (int i = 0; i < argc; i++) free(owned[i]);
  free(text);
  return 0;
}
