/* The results folder of a run, as a long run needs it: one writer at a time
 * (a lock), never a finished or interrupted run replaced by a new one, and
 * what continuing an interrupted run requires (the same cases, commit and
 * machine). */
#ifndef NNB_RUN_DIR_H
#define NNB_RUN_DIR_H

#include <cjson/cJSON.h>

#include "suite.h"

typedef struct nnb_run_lock {
  int fd; /* DIR/.lock, held with flock while open; -1 none */
} nnb_run_lock;

/* Takes DIR/.lock (created if missing) or fails, naming the process that
 * holds it. The kernel drops the lock when its holder exits, however it
 * exits, so a killed run never leaves the folder locked. */
nnb_status nnb_run_dir_lock(const char *dir, nnb_run_lock *l, nnb_error *e);
void nnb_run_dir_unlock(nnb_run_lock *l);

/* NNB_OK when DIR holds no results yet; otherwise an error that says how
 * to continue the run there or where else to write. */
nnb_status nnb_run_dir_check_new(const char *dir, nnb_error *e);

/* A fingerprint of what a run measures: every case's full description
 * (model, backend and options, mode, batch, threads, timing settings and
 * max_step, not rounds), the dataset and the seed, as the eight hex digits of
 * their crc32. */
void nnb_run_fingerprint(const nnb_suite *s, const nnb_case *cases, int n, char out[9]);

/* "hostname, CPU model, N logical cores" from a sysinfo JSON object. */
void nnb_run_machine_id(const cJSON *machine, char *buf, size_t len);

/* Whether the run recorded in `old` (a results document) may be continued
 * by this one: the same fingerprint, nnbench commit and machine, unless
 * `force`. The error names each difference. */
nnb_status nnb_run_check_resume(const cJSON *old, const char *fingerprint, const char *commit,
                                const char *machine, int force, nnb_error *e);

/* The identity of a case within a run: group, model, backend and its
 * options, mode, batch and threads, whether from a case or its record. */
void nnb_case_key(const nnb_case *c, char *buf, size_t len);
void nnb_record_key(const cJSON *rec, char *buf, size_t len);

#endif
