/* Reference optimizer updates (backends/reference/ref_optim.c), called
 * directly, against PyTorch's formulas (docs/ops.md) computed here in
 * double. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "reftest.h"
#include "testutil.h"

Test(ref_optim, sgd_momentum_two_steps_by_hand) {
  nnb_tensor_desc t = RT_DESC(2);
  nnb_node n = rt_node(NNB_OP_SGD_MOMENTUM, 3, 0);
  n.attr.sgd.lr = 0.1f;
  n.attr.sgd.momentum = 0.9f;
  float p[] = {1, -1}, g[] = {0.5f, 2}, v[] = {0, 0};
  ref_io io = {.n = &n, .ti = {&t, &t, &t}, .in = {p, g, v}};
  rt_call(ref_sgd_momentum, &io);
  /* v = g (PyTorch's first step clones g; the same from a zero buffer); p -= lr * v */
  rt_expect_near(v, (double[]){0.5, 2}, 2, 1e-7, "velocity after step 1");
  rt_expect_near(p, (double[]){0.95, -1.2}, 2, 1e-7, "param after step 1");
  g[0] = -1, g[1] = 0;
  rt_call(ref_sgd_momentum, &io);
  /* v = 0.9 * v + g = (-0.55, 1.8); p -= 0.1 * v */
  rt_expect_near(v, (double[]){-0.55, 1.8}, 2, 1e-6, "velocity after step 2");
  rt_expect_near(p, (double[]){1.005, -1.38}, 2, 1e-6, "param after step 2");
  rt_expect_near(g, (double[]){-1, 0}, 2, 0, "grad is not modified");
}

Test(ref_optim, sgd_without_momentum_is_plain_sgd) {
  nnb_tensor_desc t = RT_DESC(3);
  nnb_node n = rt_node(NNB_OP_SGD_MOMENTUM, 3, 0);
  n.attr.sgd.lr = 0.5f;
  float p[] = {1, 2, 3}, g[] = {1, -1, 4}, v[] = {7, 7, 7}; /* momentum 0 forgets v */
  ref_io io = {.n = &n, .ti = {&t, &t, &t}, .in = {p, g, v}};
  rt_call(ref_sgd_momentum, &io);
  rt_expect_near(p, (double[]){0.5, 2.5, 1}, 3, 0, "param");
}

/* One element of Adam as docs/ops.md writes it, in double. */
static void adam_formula(double *p, double g, double *m, double *v, double *step, double lr,
                         double b1, double b2, double eps) {
  *step += 1;
  *m = b1 * *m + (1 - b1) * g;
  *v = b2 * *v + (1 - b2) * g * g;
  *p -= (lr / (1 - pow(b1, *step))) * *m / (sqrt(*v) / sqrt(1 - pow(b2, *step)) + eps);
}

Test(ref_optim, adam_first_step_moves_by_lr) {
  /* from zero state, step 1: m/(1-b1) = g, sqrt(v/(1-b2)) = |g|: p -= lr * sign(g) (up to eps) */
  nnb_tensor_desc t = RT_DESC(3), ts = RT_DESC(1);
  nnb_node n = rt_node(NNB_OP_ADAM, 5, 0);
  n.attr.adam = (struct nnb_adam_attr){0.01f, 0.9f, 0.999f, 1e-8f};
  float p[] = {1, 1, 1}, g[] = {0.5f, -3, 1e-3f}, m[3] = {0}, v[3] = {0}, step[] = {0};
  ref_io io = {.n = &n, .ti = {&t, &t, &t, &t, &ts}, .in = {p, g, m, v, step}};
  rt_call(ref_adam, &io);
  rt_expect_near(step, (double[]){1}, 1, 0, "step");
  rt_expect_near(p, (double[]){0.99, 1.01, 0.99}, 3, 1e-6, "param");
  double c1 = 1 - (double)0.9f, c2 = 1 - (double)0.999f; /* the betas as the node holds them */
  rt_expect_near(m, (double[]){c1 * 0.5, c1 * -3, c1 * (double)1e-3f}, 3, 1e-7, "m");
  rt_expect_near(v, (double[]){c2 * 0.25, c2 * 9, c2 * (double)1e-3f * (double)1e-3f}, 3, 1e-9,
                 "v");
}

Test(ref_optim, adam_three_steps_against_the_formula) {
  enum { N = 7 };
  nnb_tensor_desc t = RT_DESC(N), ts = RT_DESC(1);
  nnb_node n = rt_node(NNB_OP_ADAM, 5, 0);
  n.attr.adam = (struct nnb_adam_attr){0.05f, 0.8f, 0.99f, 1e-6f};
  const struct nnb_adam_attr *a = &n.attr.adam;
  float *p = tu_rand(1, N, -1, 1), *m = tu_rand(2, N, -0.1f, 0.1f), *v = tu_rand(3, N, 0, 0.1f);
  float step[] = {4}; /* resumes at step 4: the bias corrections use 5, 6, 7 */
  double wp[N], wm[N], wv[N], ws = step[0];
  for (int i = 0; i < N; i++) wp[i] = p[i], wm[i] = m[i], wv[i] = v[i];
  ref_io io = {.n = &n, .ti = {&t, &t, &t, &t, &ts}, .in = {p, NULL, m, v, step}};
  for (int s = 0; s < 3; s++) {
    float *g = tu_rand(10 + (uint64_t)s, N, -2, 2);
    io.in[1] = g;
    rt_call(ref_adam, &io);
    for (int i = 0; i < N; i++) {
      double st = ws;
      adam_formula(&wp[i], g[i], &wm[i], &wv[i], &st, a->lr, a->beta1, a->beta2, a->eps);
      if (i == N - 1) ws = st;
    }
    free(g);
    char what[32];
    snprintf(what, sizeof what, "param after step %d", s + 1);
    rt_expect_near(step, (double[]){ws}, 1, 0, "step");
    rt_expect_near(p, wp, N, 1e-6, what);
    rt_expect_near(m, wm, N, 1e-6, "m");
    rt_expect_near(v, wv, N, 1e-6, "v");
  }
  rt_expect_near(step, (double[]){7}, 1, 0, "step after three updates");
  free(p), free(m), free(v);
}
