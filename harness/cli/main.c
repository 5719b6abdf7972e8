/* nnbench: dispatches to one subcommand. Figures go to stdout (tables, or
 * JSON with --json); progress and diagnostics go to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nnbench/nnbench.h>

#include "cli.h"
#include "sysinfo.h"

/* Read by AddressSanitizer at start (unused otherwise): an allocation it
 * cannot make returns NULL, as it does without the sanitizer, so a case
 * that meets its memory cap ends as its "out of memory" failure in both
 * builds rather than as a sanitizer abort. ASAN_OPTIONS still overrides. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }

static const nnb_cmd commands[] = {
    {"list", "list backends, models, datasets or ops", cmd_list},
    {"check", "check each backend's ops against the reference", cmd_check},
    {"run", "run a benchmark suite and write its results", cmd_run},
    {"bench", "benchmark models on backends from the command line", cmd_bench},
    {"merge", "join the shards of a run (run --shard I/N) into one run", cmd_merge},
    {"compare", "compare two results: ratios, confidence intervals, regressions", cmd_compare},
    {"plot", "draw a results folder's plots with gnuplot (PNG and SVG)", cmd_plot},
    {"report", "write a results folder's report.md and report.html, with its plots", cmd_report},
    {"train", "train a model on a backend and write a checkpoint", cmd_train},
    {"eval", "evaluate a checkpoint on each backend against the reference", cmd_eval},
    {"sysinfo", "describe this machine and measure its peak FLOP/s and bandwidth", cmd_sysinfo},
    {"version", "print the version", cmd_version},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
  fprintf(f, "usage: nnbench [--version] [--help] <command> [<args>]\n\ncommands:\n");
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n'nnbench <command> --help' describes one command. Docs: docs/cli.md\n");
}

int main(int argc, char **argv) {
  /* OpenMP backends on a shared machine: libgomp's default barrier spin
   * (300,000 rounds, milliseconds) stalls every parallel region whenever
   * another process holds a core, and 2-thread steps on 2 cores get 10-100x
   * slower. 10,000 rounds cost nothing measurable on an idle machine
   * (backends/openblas/README.md). Set before any plugin loads libgomp; the
   * user's own GOMP_SPINCOUNT or OMP_WAIT_POLICY wins. */
  if (!getenv("GOMP_SPINCOUNT") && !getenv("OMP_WAIT_POLICY"))
    setenv("GOMP_SPINCOUNT", NNB_GOMP_SPINCOUNT, 1);
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  if (!strcmp(argv[1], "--version")) return cmd_version(argc - 1, argv + 1);
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "nnbench: '%s' is not a command.\n", argv[1]);
  usage(stderr);
  return 2;
}
