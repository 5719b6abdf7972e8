#include "run_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

nnb_status nnb_run_dir_lock(const char *dir, nnb_run_lock *l, nnb_error *e) {
  char path[1100];
  l->fd = -1;
  if (snprintf(path, sizeof path, "%s/.lock", dir) >= (int)sizeof path)
    return nnb_fail(e, NNB_ERR_INVALID, "results folder path too long: %s", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return nnb_fail(e, NNB_ERR_IO, "cannot create %s: %s", path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB)) {
    char pid[32] = "";
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? n : 0] = 0;
    pid[strcspn(pid, "\n")] = 0;
    close(fd);
    return nnb_fail(e, NNB_ERR_IO,
                    "%s is being written by another nnbench run (process %s); wait for it or "
                    "choose another --out",
                    dir, *pid ? pid : "?");
  }
  char text[32];
  int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) || pwrite(fd, text, (size_t)len, 0) != len) {
    int err = errno;
    close(fd);
    return nnb_fail(e, NNB_ERR_IO, "cannot write %s: %s", path, strerror(err));
  }
  l->fd = fd;
  return NNB_OK;
}

void nnb_run_dir_unlock(nnb_run_lock *l) {
  if (l->fd >= 0) close(l->fd);
  l->fd = -1;
}

nnb_status nnb_run_dir_check_new(const char *dir, nnb_error *e) {
  char path[1100];
  struct stat sb;
  snprintf(path, sizeof path, "%s/results.json", dir);
  if (stat(path, &sb) && errno == ENOENT) return NNB_OK;
  return nnb_fail(e, NNB_ERR_INVALID,
                  "%s already holds a run (%s); continue it with 'nnbench run --resume %s', or "
                  "write elsewhere with --out",
                  dir, path, dir);
}

void nnb_case_key(const nnb_case *c, char *buf, size_t len) {
  snprintf(buf, len, "%s|%s|%s[%s]|%s|%d|%d", c->group, c->model, c->backend, c->options,
           nnb_mode_name(c->mode), c->batch, c->threads);
}

static const char *str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static double num(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

void nnb_record_key(const cJSON *rec, char *buf, size_t len) {
  snprintf(buf, len, "%s|%s|%s[%s]|%s|%.0f|%.0f", str(rec, "group"), str(rec, "model"),
           str(rec, "backend"), str(rec, "options"), str(rec, "mode"), num(rec, "batch"),
           num(rec, "threads"));
}

void nnb_run_fingerprint(const nnb_suite *s, const nnb_case *cases, int n, char out[9]) {
  char line[1024];
  uLong crc = crc32(0, Z_NULL, 0);
  snprintf(line, sizeof line, "%s|%llu\n", s->dataset, s->seed);
  crc = crc32(crc, (const Bytef *)line, (uInt)strlen(line));
  for (int i = 0; i < n; i++) {
    const nnb_case *c = &cases[i];
    char key[512];
    nnb_case_key(c, key, sizeof key);
    /* max_step decides which cases are measured and which skipped, like
     * the timeout; rounds stays out: a continuation may measure more or
     * fewer rounds, and a case keeps every round it recorded */
    snprintf(line, sizeof line, "%s|%.17g|%.17g|%d|%d|%.17g\n", key, c->min_time, c->timeout,
             c->min_iters, c->warmup, c->max_step);
    crc = crc32(crc, (const Bytef *)line, (uInt)strlen(line));
  }
  snprintf(out, 9, "%08lx", crc & 0xffffffffUL);
}

void nnb_run_machine_id(const cJSON *machine, char *buf, size_t len) {
  const cJSON *host = cJSON_GetObjectItemCaseSensitive(machine, "host"),
              *cpu = cJSON_GetObjectItemCaseSensitive(machine, "cpu");
  snprintf(buf, len, "%s, %s, %.0f logical cores", str(host, "hostname"), str(cpu, "model"),
           num(cpu, "logical_cores"));
}

nnb_status nnb_run_check_resume(const cJSON *old, const char *fingerprint, const char *commit,
                                const char *machine, int force, nnb_error *e) {
  const cJSON *suite = cJSON_GetObjectItemCaseSensitive(old, "suite"),
              *prov = cJSON_GetObjectItemCaseSensitive(old, "provenance");
  char was_machine[600], why[sizeof e->msg] = "";
  nnb_run_machine_id(cJSON_GetObjectItemCaseSensitive(prov, "machine"), was_machine,
                     sizeof was_machine);
  size_t at = 0;
  if (strcmp(str(suite, "fingerprint"), fingerprint))
    at += (size_t)snprintf(
        why + at, sizeof why - at,
        "; the cases differ (suite fingerprint %s, now %s: the suite's cases or settings, "
        "--max-step or --backend-opt)",
        *str(suite, "fingerprint") ? str(suite, "fingerprint") : "missing", fingerprint);
  if (at < sizeof why && strcmp(str(prov, "git_commit"), commit))
    at += (size_t)snprintf(why + at, sizeof why - at, "; it was measured by nnbench %s, this is %s",
                           str(prov, "git_commit"), commit);
  if (at < sizeof why && strcmp(was_machine, machine))
    snprintf(why + at, sizeof why - at, "; it was measured on %s, this is %s", was_machine,
             machine);
  if (!*why || force) return NNB_OK;
  return nnb_fail(e, NNB_ERR_INVALID,
                  "cannot continue this run%s (--force continues it anyway, mixing the two)", why);
}
