/* One exchange with a peer: the request on its stdin, the answer from its
 * stdout, within a time limit. The peer runs in its own process group so a
 * timeout kills whatever it started; its stderr is ours (its log). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "affinity.h"
#include "peer.h"

#define MAX_ANSWER_BYTES (256u << 20)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Writes all of text to fd; a peer that exits without reading makes this
 * fail with EPIPE (SIGPIPE is ignored meanwhile), reported from its exit. */
static void write_all(int fd, const char *text) {
  struct sigaction ign = {.sa_handler = SIG_IGN}, old;
  sigaction(SIGPIPE, &ign, &old);
  for (size_t off = 0, len = strlen(text); off < len;) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += (size_t)w;
  }
  sigaction(SIGPIPE, &old, NULL);
}

/* Reads fd until EOF or the deadline; returns the bytes (NUL-terminated)
 * or NULL when out of memory or over MAX_ANSWER_BYTES. */
static char *read_until(int fd, double deadline, int *timed_out) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  *timed_out = 0;
  while (buf) {
    double left = deadline - now_s();
    if (left <= 0) {
      *timed_out = 1;
      break;
    }
    struct pollfd p = {fd, POLLIN, 0};
    int r = poll(&p, 1, left > 1e6 ? 1000000000 : (int)(left * 1000) + 1);
    if (r <= 0) continue; /* EINTR or the deadline: the loop decides */
    if (cap - len < 4096) {
      char *q = cap < MAX_ANSWER_BYTES ? realloc(buf, cap * 2) : NULL;
      if (!q) {
        free(buf);
        return NULL;
      }
      buf = q, cap *= 2;
    }
    ssize_t got = read(fd, buf + len, cap - len - 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    len += (size_t)got;
  }
  if (buf) buf[len] = 0;
  return buf;
}

/* Waits (without reaping) until pid exits or the deadline passes; true
 * when it exited. A peer may close stdout and still run on. */
static bool exited_by(pid_t pid, double deadline) {
  for (;;) {
    siginfo_t si = {0};
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
      return true;
    if (now_s() >= deadline) return false;
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
}

#define EXIT_PIN 126 /* the child could not pin itself */

static pid_t spawn(const char *exe, const char *pin, int in[2], int out[2]) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid != 0) return pid;
  setpgid(0, 0);
  char err[256];
  if (pin && *pin && nnb_pin_self(pin, err, sizeof err)) {
    fprintf(stderr, "nnbench: %s\n", err);
    _exit(EXIT_PIN);
  }
  dup2(in[0], STDIN_FILENO);
  dup2(out[1], STDOUT_FILENO);
  close(in[0]), close(in[1]), close(out[0]), close(out[1]);
  execl(exe, exe, (char *)NULL);
  fprintf(stderr, "nnbench: cannot run peer %s: %s\n", exe, strerror(errno));
  _exit(127);
}

/* The answer's first characters, printable, for a message. */
static void excerpt(const char *text, char *out, size_t len) {
  size_t n = 0;
  for (; text[n] && n + 1 < len && n < 60; n++)
    out[n] = text[n] >= 32 && text[n] < 127 ? text[n] : '?';
  out[n] = 0;
}

/* The answer must be an object with protocol 1 and a known status; a
 * refusal or failure must say why. */
static cJSON *check_answer(cJSON *a, const char *text, char *why, size_t wlen) {
  char head[64];
  excerpt(text, head, sizeof head);
  if (!a || !cJSON_IsObject(a)) {
    snprintf(why, wlen, "answered with invalid JSON (expected one object; got \"%s\")", head);
  } else {
    cJSON *p = cJSON_GetObjectItem(a, "protocol"), *s = cJSON_GetObjectItem(a, "status");
    cJSON *r = cJSON_GetObjectItem(a, "reason");
    if (!cJSON_IsNumber(p) || p->valuedouble != NNB_PEER_PROTOCOL)
      snprintf(why, wlen, "answer's \"protocol\": expected %d", NNB_PEER_PROTOCOL);
    else if (!cJSON_IsString(s) ||
             (strcmp(s->valuestring, "ok") && strcmp(s->valuestring, "refused") &&
              strcmp(s->valuestring, "failed")))
      snprintf(why, wlen, "answer's \"status\": expected \"ok\", \"refused\" or \"failed\"");
    else if (strcmp(s->valuestring, "ok") && !cJSON_IsString(r))
      snprintf(why, wlen, "answer's \"reason\": expected a string saying why it %s",
               s->valuestring);
    else
      return a;
  }
  cJSON_Delete(a);
  return NULL;
}

cJSON *nnb_peer_exchange(const char *exe, const cJSON *request, double timeout_s, const char *pin,
                         nnb_peer_usage *use, char *why, size_t wlen) {
  *use = (nnb_peer_usage){0};
  char *req = cJSON_PrintUnformatted(request);
  int in[2], out[2];
  if (!req || pipe(in)) {
    snprintf(why, wlen, "cannot start peer %s: %s", exe, req ? strerror(errno) : "out of memory");
    free(req);
    return NULL;
  }
  if (pipe(out)) {
    snprintf(why, wlen, "cannot start peer %s: %s", exe, strerror(errno));
    close(in[0]), close(in[1]), free(req);
    return NULL;
  }
  fcntl(in[1], F_SETFD, FD_CLOEXEC);
  fcntl(out[0], F_SETFD, FD_CLOEXEC);
  pid_t pid = spawn(exe, pin, in, out);
  close(in[0]), close(out[1]);
  if (pid < 0) {
    snprintf(why, wlen, "cannot fork for peer %s: %s", exe, strerror(errno));
    close(in[1]), close(out[0]), free(req);
    return NULL;
  }
  setpgid(pid, pid); /* also here: no race with the child's own call */
  write_all(in[1], req);
  close(in[1]);
  free(req);
  int timed_out;
  double deadline = now_s() + timeout_s;
  char *text = read_until(out[0], deadline, &timed_out);
  close(out[0]);
  if (!timed_out && text) timed_out = !exited_by(pid, deadline);
  /* Before reaping, while the group id cannot be reused: anything the peer
   * left behind in its group goes too. */
  kill(-pid, SIGKILL);
  int status = 0;
  struct rusage ru = {0};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  use->peak_rss_bytes = (double)ru.ru_maxrss * 1024.0;
  use->cpu_s = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
               (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
  cJSON *a = NULL;
  if (timed_out)
    snprintf(why, wlen, "timeout: no answer within %.0f s (the peer was killed)", timeout_s);
  else if (!text)
    snprintf(why, wlen, "answer larger than %u MiB or out of memory", MAX_ANSWER_BYTES >> 20);
  else if (WIFSIGNALED(status))
    snprintf(why, wlen, "crashed: killed by signal %d (%s)", WTERMSIG(status),
             strsignal(WTERMSIG(status)));
  else if (WEXITSTATUS(status) == EXIT_PIN && pin && *pin)
    snprintf(why, wlen, "cannot pin peer %s to CPUs %s (its message is above)", exe, pin);
  else if (WEXITSTATUS(status) != 0)
    snprintf(why, wlen, "peer %s exited with status %d%s", exe, WEXITSTATUS(status),
             WEXITSTATUS(status) == 127 ? " (cannot run it?)" : "");
  else
    a = check_answer(cJSON_Parse(text), text, why, wlen);
  free(text);
  return a;
}
