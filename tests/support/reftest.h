/* Helpers for the reference-kernel tests (tests/test_ref_{dense,conv,act,optim}.c):
 * hand-built descriptors and nodes, kernel calls, element checks and a
 * central finite-difference gradient check. Header-only. */
#ifndef NNB_REFTEST_H
#define NNB_REFTEST_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

/* An f32 descriptor named "t": RT_DESC(2, 3) is a [2,3] tensor. */
#define RT_DESC(...)                                                                               \
  rt_desc((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static inline nnb_tensor_desc rt_desc(int rank, const int64_t *dims) {
  nnb_tensor_desc t;
  memset(&t, 0, sizeof t);
  snprintf(t.name, sizeof t.name, "t");
  t.dtype = NNB_F32;
  t.role = NNB_ROLE_ACTIVATION;
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.view_of = -1;
  return t;
}

static inline nnb_node rt_node(nnb_op op, int n_in, int n_out) {
  nnb_node n;
  memset(&n, 0, sizeof n);
  n.op = op;
  n.n_in = n_in;
  n.n_out = n_out;
  snprintf(n.name, sizeof n.name, "t");
  return n;
}

/* Runs a kernel that must succeed. */
static inline void rt_call(ref_kernel k, const ref_io *io) {
  nnb_error e = {{0}};
  nnb_status s = k(io, &e);
  cr_assert_eq(s, NNB_OK, "kernel failed (%s): %s", nnb_status_name(s), e.msg);
}

/* Asserts |got[i] - want[i]| <= tol * max(1, |want[i]|) for every i. */
static inline void rt_expect_near(const float *got, const double *want, size_t n, double tol,
                                  const char *what) {
  for (size_t i = 0; i < n; i++) {
    double err = fabs((double)got[i] - want[i]) / fmax(1.0, fabs(want[i]));
    cr_assert(err <= tol, "%s: element %zu is %.9g, want %.9g (error %.3g > %.3g)", what, i,
              (double)got[i], want[i], err, tol);
  }
}

static inline double rt_dot(const float *r, const float *y, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)r[i] * y[i];
  return s;
}

/* A forward computation whose loss is sum(r * out[out]) after running k on io. */
typedef struct rt_fwd {
  ref_kernel k;
  ref_io io;
  int out;
  const float *r;
  size_t n;
} rt_fwd;

static inline double rt_fwd_loss(rt_fwd *f) {
  rt_call(f->k, &f->io);
  return rt_dot(f->r, f->io.out[f->out], f->n);
}

/* Compares grad (a backward kernel's output, n elements) with central
 * differences of f's loss w.r.t. x (an array f reads), in double, and asserts
 * the worst relative error is at most tol. The error is taken relative to
 * |fd|, floored at a tenth of the largest |fd| so that near-zero entries are
 * judged on the gradient's scale. The step is measured on the floats actually
 * stored. */
static inline void rt_check_grad(rt_fwd *f, float *x, const float *grad, size_t n, double tol,
                                 const char *what) {
  const float h = 1e-3f;
  double *fd = malloc(n * sizeof *fd), scale = 0, worst = -1;
  cr_assert(fd != NULL);
  for (size_t i = 0; i < n; i++) {
    float x0 = x[i], xp = x0 + h, xm = x0 - h;
    x[i] = xp;
    double lp = rt_fwd_loss(f);
    x[i] = xm;
    double lm = rt_fwd_loss(f);
    x[i] = x0;
    fd[i] = (lp - lm) / ((double)xp - (double)xm);
    scale = fmax(scale, fabs(fd[i]));
  }
  double floor_ = fmax(0.1 * scale, 1e-3);
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    double err = fabs((double)grad[i] - fd[i]) / fmax(fabs(fd[i]), floor_);
    if (!(err <= worst)) worst = err, at = i; /* NaN counts as the worst */
  }
  cr_assert(worst <= tol,
            "%s: worst relative error %.3g > %.3g at element %zu (backward %.7g, finite "
            "difference %.7g)",
            what, worst, tol, at, (double)grad[at], fd[at]);
  free(fd);
}

#endif
