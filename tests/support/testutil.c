#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

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
  double worst = 0;
  msg[0] = 0;
  run_loss(&s, loss);
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
      float keep = x[i], h = 2e-3f; /* small enough that no max-pool window changes its maximum */
      x[i] = keep + h;
      nnb_session_upload(&s, t, x, &e);
      double lp = run_loss(&s, loss);
      x[i] = keep - h;
      nnb_session_upload(&s, t, x, &e);
      double lm = run_loss(&s, loss);
      x[i] = keep;
      nnb_session_upload(&s, t, x, &e);
      double fd = (lp - lm) / ((double)(keep + h) - (double)(keep - h));
      double err = fabs(fd - an[i]) / fmax(fmax(fabs(fd), fabs(an[i])), 0.1);
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
  nnb_session_free(&s);
  free(grad);
  return worst;
}

int tu_run(const char *cmd, char **out) {
  FILE *p = popen(cmd, "r");
  cr_assert(p, "popen %s", cmd);
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  cr_assert(buf);
  for (size_t n; (n = fread(buf + len, 1, cap - len - 1, p)) > 0;) {
    len += n;
    if (cap - len < 1024) buf = realloc(buf, cap *= 2);
    cr_assert(buf);
  }
  buf[len] = 0;
  int st = pclose(p);
  *out = buf;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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
