/* What the fuzz targets share: a private folder for the files a reader
 * takes by path, and the input as a C string. */
#ifndef NNB_FUZZ_UTIL_H
#define NNB_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* This process's own folder (created on first use, removed at exit). */
const char *nnb_fuzz_dir(void);
/* Writes size bytes to <folder>/<name>; returns the path (valid until the
 * next call). */
const char *nnb_fuzz_write(const char *name, const uint8_t *data, size_t size);
/* The input as a NUL-terminated string (malloc'd; a NUL inside ends it). */
char *nnb_fuzz_string(const uint8_t *data, size_t size);
/* Sends stdout to /dev/null: what the commands print is not the point.
 * stderr stays, as libFuzzer and the sanitizers report there (-close_fd_mask=2
 * quiets the commands' own messages but keeps those reports). */
void nnb_fuzz_quiet(void);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
