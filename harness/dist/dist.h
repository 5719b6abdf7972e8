/* Data-parallel training over MPI ranks (`nnbench bench --mode train
 * --ranks N` under mpirun): each rank one backend instance on its part of
 * every batch, the gradients averaged with one in-place MPI_Allreduce per
 * step on a flat buffer, then the optimizer update (split_step.h); the
 * parameters checked identical on every rank after every step. It
 * measures, in one job, 1, 2, 4, ... N ranks (the others wait asleep),
 * strong scaling (the global batch fixed) and weak scaling (the batch per
 * rank fixed), and writes one results folder (rank 0). */
#ifndef NNB_DIST_H
#define NNB_DIST_H

#include <stdint.h>

#include <nnbench/status.h>

typedef struct nnb_dist_config {
  const char *model, *backend, *options; /* options: "k=v,..." or "" */
  const char *dataset;
  int batch;         /* strong: the global batch; weak: each rank's batch */
  int steps, warmup; /* timed steps and untimed ones before them, per configuration */
  int threads;       /* per rank; 0: the host's cores over the ranks on it */
  int ranks;         /* the number of ranks asked for: must be mpirun's */
  uint64_t seed;
  const char *out_dir; /* NULL: results/dist-<UTC time> */
  int argc;            /* the command line, for provenance */
  char **argv;
} nnb_dist_config;

/* 1 when this build can run it; else 0 and why (e.g. built without MPI). */
int nnb_dist_available(char *why, size_t len);

/* Runs the benchmark on every rank of MPI_COMM_WORLD (it initialises and
 * finalises MPI itself). Rank 0 writes out_dir/results.json, and, for the
 * test of equivalence, out_dir/params.safetensors: the parameters after
 * the strong-scaling run on the most ranks. *out_dir_used receives the
 * folder. */
nnb_status nnb_dist_bench(const nnb_dist_config *c, char *out_dir_used, size_t len, int *rank,
                          nnb_error *e);

#endif
