/* Files written whole or not at all, and the folders they go in. */
#ifndef NNB_FILES_H
#define NNB_FILES_H

#include <signal.h>
#include <stdio.h>

#include <nnbench/status.h>

/* Creates dir and any missing parents (mkdir -p). */
nnb_status nnb_mkdir_p(const char *dir, nnb_error *e);

/* Replaces path with text atomically, as nnb_atomic_file does. */
nnb_status nnb_write_file_atomic(const char *path, const char *text, nnb_error *e);

/* Files replaced atomically, with no temporary file left behind by a
 * signal: the content goes to an unnamed file in the target's folder
 * (O_TMPFILE), which gets a name only once complete, and is renamed over
 * the target with termination signals held back, so SIGINT, SIGTERM, SIGHUP
 * and SIGQUIT arrive after the rename. SIGKILL, which nothing can hold back,
 * can strike only between the two system calls that name and rename it.
 * Where the file system has no O_TMPFILE, a named temporary file is used
 * and the signals are held back for the whole write instead. */
typedef struct nnb_atomic_file {
  FILE *f; /* write the content here */
  char *path, *tmp;
  int named; /* tmp exists in the folder (the fallback) */
  int held;  /* signals are held back; `saved` restores them */
  sigset_t saved;
} nnb_atomic_file;

/* Opens a file that will replace `path`. */
nnb_status nnb_atomic_open(nnb_atomic_file *a, const char *path, nnb_error *e);
/* Flushes it to disk and puts it in place of `path`; on any failure the
 * target is unchanged and nothing is left behind. Closes `a` either way. */
nnb_status nnb_atomic_commit(nnb_atomic_file *a, nnb_error *e);
/* Drops the content; the target is unchanged. */
void nnb_atomic_abort(nnb_atomic_file *a);

#endif
