/* Writing files so that nothing already written is lost or half-written. */
#include "files.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

nnb_status nnb_mkdir_p(const char *dir, nnb_error *e) {
  char buf[1024];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
    return nnb_fail(e, NNB_ERR_INVALID, "path too long: %s", dir);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) && errno != EEXIST)
      return nnb_fail(e, NNB_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) && errno != EEXIST)
    return nnb_fail(e, NNB_ERR_IO, "cannot create %s: %s", buf, strerror(errno));
  return NNB_OK;
}

nnb_status nnb_write_file_atomic(const char *path, const char *text, nnb_error *e) {
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "w");
  if (!f) return nnb_fail(e, NNB_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
  size_t n = strlen(text);
  int ok = fwrite(text, 1, n, f) == n;
  ok &= fclose(f) == 0;
  if (!ok || rename(tmp, path)) {
    int err = errno;
    remove(tmp);
    return nnb_fail(e, NNB_ERR_IO, "cannot write %s: %s", path, strerror(err));
  }
  return NNB_OK;
}
