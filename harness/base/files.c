/* Writing files so that nothing already written is lost or half-written. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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
  nnb_atomic_file a;
  nnb_status st = nnb_atomic_open(&a, path, e);
  if (st != NNB_OK) return st;
  size_t n = strlen(text);
  if (fwrite(text, 1, n, a.f) != n) {
    int err = errno;
    nnb_atomic_abort(&a);
    return nnb_fail(e, NNB_ERR_IO, "cannot write %s: %s", path, strerror(err));
  }
  return nnb_atomic_commit(&a, e);
}

static void hold_signals(nnb_atomic_file *a) {
  if (a->held) return;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGHUP);
  sigaddset(&s, SIGQUIT);
  a->held = sigprocmask(SIG_BLOCK, &s, &a->saved) == 0;
}

static void release_signals(nnb_atomic_file *a) {
  if (a->held) sigprocmask(SIG_SETMASK, &a->saved, NULL);
  a->held = 0;
}

static void finish(nnb_atomic_file *a) {
  if (a->f) fclose(a->f);
  if (a->named) unlink(a->tmp);
  free(a->path);
  free(a->tmp);
  a->f = NULL, a->path = a->tmp = NULL, a->named = 0;
  release_signals(a);
}

nnb_status nnb_atomic_open(nnb_atomic_file *a, const char *path, nnb_error *e) {
  memset(a, 0, sizeof *a);
  size_t len = strlen(path);
  a->path = strdup(path);
  a->tmp = malloc(len + 32);
  if (!a->path || !a->tmp) {
    finish(a);
    return nnb_fail(e, NNB_ERR_NOMEM, "out of memory writing %s", path);
  }
  snprintf(a->tmp, len + 32, "%s.tmp-%ld", path, (long)getpid());
  const char *slash = strrchr(path, '/');
  char *folder = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
  int fd = folder ? open(folder, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666) : -1;
  free(folder);
  if (fd < 0) { /* no O_TMPFILE here: a named file, with signals held back meanwhile */
    hold_signals(a);
    fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    a->named = fd >= 0;
  }
  if (fd < 0 || !(a->f = fdopen(fd, "wb"))) {
    int err = errno;
    if (fd >= 0) close(fd);
    nnb_status st = nnb_fail(e, NNB_ERR_IO, "cannot write %s: %s", path, strerror(err));
    finish(a);
    return st;
  }
  return NNB_OK;
}

nnb_status nnb_atomic_commit(nnb_atomic_file *a, nnb_error *e) {
  int ok = fflush(a->f) == 0 && fsync(fileno(a->f)) == 0, err = errno;
  hold_signals(a);
  if (ok && !a->named) {
    char fdpath[64];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", fileno(a->f));
    unlink(a->tmp); /* a leftover of an earlier process with this pid */
    ok = linkat(AT_FDCWD, fdpath, AT_FDCWD, a->tmp, AT_SYMLINK_FOLLOW) == 0, err = errno;
    a->named = ok;
  }
  if (ok) ok = rename(a->tmp, a->path) == 0, err = errno;
  if (ok) a->named = 0;
  nnb_status st =
      ok ? NNB_OK : nnb_fail(e, NNB_ERR_IO, "cannot write %s: %s", a->path, strerror(err));
  finish(a);
  return st;
}

void nnb_atomic_abort(nnb_atomic_file *a) { finish(a); }
