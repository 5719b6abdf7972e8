/* Files written whole or not at all, and the folders they go in. */
#ifndef NNB_FILES_H
#define NNB_FILES_H

#include <nnbench/status.h>

/* Creates dir and any missing parents (mkdir -p). */
nnb_status nnb_mkdir_p(const char *dir, nnb_error *e);

/* Writes text to path through path.tmp-<pid> and rename. */
nnb_status nnb_write_file_atomic(const char *path, const char *text, nnb_error *e);

#endif
