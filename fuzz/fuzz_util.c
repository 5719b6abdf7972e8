#include "fuzz_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static int remove_one(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  return remove(path);
}

static void remove_dir(void) {
  if (*dir) nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *nnb_fuzz_dir(void) {
  if (!*dir) {
    /* in memory where there is a tmpfs: a file is written per input */
    snprintf(dir, sizeof dir, "%s/nnb-fuzz-XXXXXX", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
    if (!mkdtemp(dir)) {
      perror("nnb-fuzz: mkdtemp");
      abort();
    }
    atexit(remove_dir);
  }
  return dir;
}

const char *nnb_fuzz_write(const char *name, const uint8_t *data, size_t size) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", nnb_fuzz_dir(), name);
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
    perror(path);
    abort();
  }
  return path;
}

char *nnb_fuzz_string(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) abort();
  memcpy(s, data, size);
  s[size] = 0;
  return s;
}

void nnb_fuzz_quiet(void) {
  int null = open("/dev/null", O_WRONLY);
  if (null < 0) return;
  fflush(stdout);
  dup2(null, 1);
  close(null);
}
