#include "testutil.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pty.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results.h"
#include "rng.h"

double tu_max_rel_err(const float *a, const float *b, size_t n) {
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]) / fmax(1.0, fabs((double)b[i]));
    if (!(d <= worst)) worst = d; /* NaN propagates as the worst */
  }
  return worst;
}

float *tu_rand(uint64_t seed, size_t n, float lo, float hi) {
  nnb_rng r;
  nnb_rng_seed(&r, seed);
  float *p = malloc(n * sizeof *p);
  if (p) nnb_rng_fill(&r, p, n, lo, hi);
  return p;
}

/* Reads fd to its end (EIO from a pty whose other side closed counts). */
static char *read_all(int fd) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  cr_assert_not_null(buf);
  for (ssize_t n; (n = read(fd, buf + len, cap - len - 1)) > 0 || (n < 0 && errno == EINTR);) {
    if (n > 0) len += (size_t)n;
    if (cap - len < 1024) cr_assert_not_null(buf = realloc(buf, cap *= 2));
  }
  buf[len] = 0;
  return buf;
}

static int exit_code(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : -1; }

int tu_run(const char *cmd, char **out) {
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p, "popen %s", cmd);
  *out = read_all(fileno(p));
  return exit_code(pclose(p));
}

int tu_runf(char **out, const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  cr_assert(n >= 0 && (size_t)n < sizeof cmd - 8, "command too long: %s", cmd);
  strcat(cmd, " 2>&1");
  return tu_run(cmd, out);
}

int tu_run_tty(const char *cmd, char **out) {
  int master;
  pid_t pid = forkpty(&master, NULL, NULL, NULL);
  cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  *out = read_all(master);
  close(master);
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  return exit_code(st);
}

void tu_open_reference(nnb_backend *out) {
  nnb_error e = {{0}};
  nnb_backend_config cfg = {0};
  nnb_status s = nnb_backend_open("reference", &cfg, out, &e);
  cr_assert_eq(s, NNB_OK, "cannot open the reference backend: %s", e.msg);
}

static double run_loss(nnb_session *s, int loss) {
  nnb_error e;
  float v = NAN;
  if (nnb_session_run(s, &e) != NNB_OK || nnb_session_download(s, loss, &v, &e) != NNB_OK)
    return NAN;
  return v;
}

double tu_gradient_error(nnb_backend *b, nnb_graph *g, int loss, int label_max, uint64_t seed,
                         int samples, char *msg, size_t msg_len) {
  nnb_error e = {{0}};
  int n0 = g->n_tensors;
  int *grad = malloc((size_t)n0 * sizeof *grad);
  if (nnb_autodiff(g, loss, NULL, grad, &e) != NNB_OK) {
    snprintf(msg, msg_len, "autodiff: %s", e.msg);
    free(grad);
    return -1;
  }
  nnb_graph_mark_output(g, loss);
  for (int t = 0; t < n0; t++)
    if (grad[t] >= 0) nnb_graph_mark_output(g, grad[t]);
  nnb_session s;
  if (nnb_session_create(b, g, &s, &e) != NNB_OK) {
    snprintf(msg, msg_len, "session: %s", e.msg);
    free(grad);
    return -1;
  }
  nnb_rng r;
  nnb_rng_seed(&r, seed);
  for (int t = 0; t < n0; t++) {
    if (s.mem.first_use[t] >= 0 || g->tensors[t].view_of >= 0) continue;
    int64_t n = nnb_numel(&g->tensors[t]);
    float *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) {
      if (g->tensors[t].dtype == NNB_I32) {
        int32_t k = (int32_t)nnb_rng_below(&r, (uint64_t)label_max);
        memcpy(&v[i], &k, sizeof k);
      } else {
        v[i] = nnb_rng_uniform(&r, -1, 1);
      }
    }
    nnb_session_upload(&s, t, v, &e);
    free(v);
  }
  double worst = 0, l0 = run_loss(&s, loss);
  /* One ulp of the loss over the step is what float rounding alone moves a
   * finite difference by; gradients below 64 of those are compared in
   * absolute terms. */
  const double h = 2e-3, ulps = FLT_EPSILON * fabs(l0) / h, floor_ = fmax(1e-3, 64 * ulps);
  int compared = 0, kinks = 0;
  msg[0] = 0;
  for (int t = 0; t < n0; t++) {
    if (g->tensors[t].role != NNB_ROLE_PARAM) continue;
    if (grad[t] < 0) {
      snprintf(msg, msg_len, "no gradient for '%s'", g->tensors[t].name);
      worst = INFINITY;
      break;
    }
    int64_t n = nnb_numel(&g->tensors[t]);
    float *x = malloc((size_t)n * sizeof *x), *an = malloc((size_t)n * sizeof *an);
    nnb_session_download(&s, t, x, &e);
    nnb_session_download(&s, grad[t], an, &e);
    for (int k = 0; k < samples && k < n; k++) {
      int64_t i = n <= samples ? k : (int64_t)nnb_rng_below(&r, (uint64_t)n);
      float keep = x[i], up = keep + (float)h, down = keep - (float)h;
      x[i] = up;
      nnb_session_upload(&s, t, x, &e);
      double lp = run_loss(&s, loss);
      x[i] = down;
      nnb_session_upload(&s, t, x, &e);
      double lm = run_loss(&s, loss);
      x[i] = keep;
      nnb_session_upload(&s, t, x, &e);
      /* A ReLU or max-pool kink inside [down, up] makes the one-sided slopes
       * disagree; there the loss has no derivative to compare with. */
      double right = (lp - l0) / ((double)up - keep), left = (l0 - lm) / ((double)keep - down);
      if (fabs(right - left) > 4 * ulps + 0.02 * fmax(fabs(right), fabs(left))) {
        kinks++;
        continue;
      }
      compared++;
      double fd = (lp - lm) / ((double)up - (double)down);
      double err = fabs(fd - an[i]) / fmax(fmax(fabs(fd), fabs(an[i])), floor_);
      if (!(err <= worst)) {
        worst = err;
        snprintf(msg, msg_len, "d loss/d %s[%lld]: autodiff %.6g, finite differences %.6g",
                 g->tensors[t].name, (long long)i, an[i], fd);
      }
    }
    run_loss(&s, loss); /* restored values: the next gradient is read from this run */
    free(x);
    free(an);
  }
  if (worst < INFINITY && kinks > compared / 4) {
    snprintf(msg, msg_len, "%d of %d samples sit on a kink of the loss: too few compared", kinks,
             kinks + compared);
    worst = INFINITY;
  }
  nnb_session_free(&s);
  free(grad);
  return worst;
}

char *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
    n += got;
    if (cap - n < 1024) buf = realloc(buf, cap *= 2);
  }
  fclose(f);
  if (!buf) return NULL;
  buf[n] = 0;
  if (len) *len = n;
  return buf;
}

void tu_tmpdir(char *buf, size_t len, const char *stem) {
  snprintf(buf, len, "/tmp/nnb-%s-XXXXXX", stem);
  cr_assert_not_null(mkdtemp(buf), "mkdtemp %s: %s", buf, strerror(errno));
}

void tu_rm_rf(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_expect_eq(system(cmd), 0, "%s", cmd);
}

cJSON *tu_results(const char *dir, const char *sub) {
  char path[600];
  cJSON *doc;
  nnb_error e;
  snprintf(path, sizeof path, "%s/%s", dir, sub);
  cr_assert_eq(nnb_results_read(path, &doc, &e), NNB_OK, "%s", e.msg);
  return doc;
}
