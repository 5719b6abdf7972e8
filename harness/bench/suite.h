/* Benchmark suites: an INI file (read with inih) expands into cases.
 *
 *   [suite]            defaults for every group: name, description, backends,
 *                      options, threads, min_time, min_iters, warmup, rounds, pin,
 *                      timeout, max_step, dataset, seed; and weights (checkpoints for the
 *                      accuracy section) and accuracy_samples
 *   [any other name]   a group: models, mode, batch, and any default overridden
 *
 * Lists are separated by spaces (numeric lists may also use commas, since
 * model specs such as transformer:d=256,layers=4 contain commas). */
#ifndef NNB_SUITE_H
#define NNB_SUITE_H

#include <stdint.h>

#include <nnbench/status.h>

#define NNB_SUITE_MAX_CASES 4096
#define NNB_SUITE_DEFAULT_ROUNDS 3

typedef enum nnb_mode { NNB_MODE_INFER = 0, NNB_MODE_TRAIN } nnb_mode;

typedef struct nnb_case {
  char group[64];
  char model[160];   /* a model spec, as nnb_model_parse takes it */
  char backend[32];  /* a backend name, or "all" (expanded by the runner) */
  char options[256]; /* the backend's options, "k=v,k=v"; "" none. Part of the case's identity */
  nnb_mode mode;
  int batch, threads;
  double min_time, timeout;
  double max_step; /* seconds: a case whose first step takes longer is skipped; 0 no cap */
  int min_iters, warmup;
  int rounds;            /* independent measurements, each a fresh process, interleaved */
  char pin[64];          /* CPU list each child is pinned to ("0", "0-1", "1,3"); "" none */
  uint64_t memory_limit; /* bytes the case may use, 0 for no limit (the runner sets it) */
} nnb_case;

typedef struct nnb_suite {
  char path[512];
  char name[64];
  char description[256];
  char dataset[256];
  char weights[512];    /* folder of <model spec>.safetensors for the accuracy section; "" none */
  int accuracy_samples; /* test samples of the accuracy section; -1: the command's default */
  unsigned long long seed;
  int n_cases;
  nnb_case *cases;
} nnb_suite;

const char *nnb_mode_name(nnb_mode m);
nnb_status nnb_suite_load(const char *path, nnb_suite *out, nnb_error *e);
void nnb_suite_free(nnb_suite *s);

/* Backend options given on the command line, for every case: a key given
 * here replaces the suite's value of that key. Fails naming the bad pair
 * when opts is not "k=v,k=v" or a case's options would not fit. */
nnb_status nnb_suite_set_options(nnb_suite *s, const char *opts, nnb_error *e);

#endif
