/* Reference kernels of backends/reference/ref_act.c, called directly:
 * activations, softmax, layernorm and the loss on known values, and every
 * backward kernel against central finite differences of its forward. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "reftest.h"
#include "testutil.h"

/* -------------------------------------------------------- activations */

static void unary_case(ref_kernel k, nnb_op op, const float *x, const double *want, size_t n,
                       const char *what) {
  int64_t dims[1] = {(int64_t)n};
  nnb_tensor_desc t = rt_desc(1, dims);
  nnb_node node = rt_node(op, 1, 1);
  float y[8];
  ref_io io = {.n = &node, .ti = {&t}, .to = {&t}, .in = {(void *)x}, .out = {y}};
  rt_call(k, &io);
  rt_expect_near(y, want, n, 1e-6, what);
}

Test(ref_act, activations_known_values) {
  const float x[] = {-2, -1, 0, 0.5f, 1, 3};
  unary_case(ref_relu, NNB_OP_RELU, x, (double[]){0, 0, 0, 0.5, 1, 3}, 6, "relu");
  /* Phi(x) from tables: gelu(x) = x * Phi(x) */
  unary_case(ref_gelu, NNB_OP_GELU, x,
             (double[]){-2 * 0.022750131948179, -0.158655253931457, 0, 0.5 * 0.691462461274013,
                        0.841344746068543, 3 * 0.998650101968370},
             6, "gelu (erf form)");
  unary_case(ref_tanh, NNB_OP_TANH, x,
             (double[]){-0.964027580075817, -0.761594155955765, 0, 0.462117157260010,
                        0.761594155955765, 0.995054753686730},
             6, "tanh");
  unary_case(ref_sigmoid, NNB_OP_SIGMOID, x,
             (double[]){0.119202922022118, 0.268941421369995, 0.5, 0.622459331201855,
                        0.731058578630005, 0.952574126822433},
             6, "sigmoid");
}

Test(ref_act, gelu_is_not_the_tanh_form) {
  const float x[] = {1};
  /* the tanh approximation gives 0.8411920 */
  unary_case(ref_gelu, NNB_OP_GELU, x, (double[]){0.8413447460685429}, 1, "gelu(1)");
}

Test(ref_act, act_bwd_known_derivatives) {
  const nnb_op acts[] = {NNB_OP_RELU, NNB_OP_GELU, NNB_OP_TANH, NNB_OP_SIGMOID};
  /* f'(0) and f'(1), times dy = 2: relu (x > 0), gelu Phi+x*phi, tanh 1-t^2, sigmoid s(1-s) */
  const double d0[] = {0, 0.5, 1, 0.25};
  const double d1[] = {1, 0.841344746068543 + 0.241970724519143,
                       1 - 0.761594155955765 * 0.761594155955765,
                       0.731058578630005 * 0.268941421369995};
  nnb_tensor_desc t = RT_DESC(2);
  float x[] = {0, 1}, dy[] = {2, 2}, dx[2];
  for (int a = 0; a < 4; a++) {
    nnb_node n = rt_node(NNB_OP_ACT_BWD, 2, 1);
    n.attr.act_bwd.act = acts[a];
    ref_io io = {.n = &n, .ti = {&t, &t}, .to = {&t}, .in = {dy, x}, .out = {dx}};
    rt_call(ref_act_bwd, &io);
    rt_expect_near(dx, (double[]){2 * d0[a], 2 * d1[a]}, 2, 1e-6, nnb_op_name(acts[a]));
  }
}

Test(ref_act, act_bwd_finite_differences) {
  const nnb_op acts[] = {NNB_OP_RELU, NNB_OP_GELU, NNB_OP_TANH, NNB_OP_SIGMOID};
  const ref_kernel fwds[] = {ref_relu, ref_gelu, ref_tanh, ref_sigmoid};
  nnb_tensor_desc t = RT_DESC(3, 5, 7);
  enum { N = 105 };
  for (int a = 0; a < 4; a++) {
    float *x = tu_rand(10 + (uint64_t)a, N, -3, 3), *r = tu_rand(20 + (uint64_t)a, N, -1, 1);
    float y[N], dx[N];
    for (int i = 0; i < N; i++) /* keep relu's kink out of reach of +-h */
      if (fabsf(x[i]) < 0.01f) x[i] = x[i] < 0 ? -0.5f : 0.5f;
    nnb_node fwd = rt_node(acts[a], 1, 1), bwd = rt_node(NNB_OP_ACT_BWD, 2, 1);
    bwd.attr.act_bwd.act = acts[a];
    ref_io b = {.n = &bwd, .ti = {&t, &t}, .to = {&t}, .in = {r, x}, .out = {dx}};
    rt_call(ref_act_bwd, &b);
    rt_fwd f = {fwds[a], {.n = &fwd, .ti = {&t}, .to = {&t}, .in = {x}, .out = {y}}, 0, r, N};
    rt_check_grad(&f, x, dx, N, 1e-2, nnb_op_name(acts[a]));
    free(x), free(r);
  }
}

/* ------------------------------------------------------------ softmax */

Test(ref_act, softmax_known_values_and_stability) {
  nnb_tensor_desc t = RT_DESC(3, 3);
  nnb_node n = rt_node(NNB_OP_SOFTMAX, 1, 1);
  /* row 2 overflows exp() unless the max is subtracted; row 3 is uniform */
  float x[] = {1, 2, 3, 1000, 1001, 1002, -7, -7, -7}, y[9];
  ref_io io = {.n = &n, .ti = {&t}, .to = {&t}, .in = {x}, .out = {y}};
  rt_call(ref_softmax, &io);
  const double p0 = 0.090030573170380, p1 = 0.244728471054798, p2 = 0.665240955774822;
  rt_expect_near(y, (double[]){p0, p1, p2, p0, p1, p2, 1. / 3, 1. / 3, 1. / 3}, 9, 1e-6, "softmax");
}

Test(ref_act, softmax_bwd_by_hand) {
  /* y = (0.5, 0.5), dy = (1, 0): sum(dy*y) = 0.5, dx = y*(dy - 0.5) = (0.25, -0.25) */
  nnb_tensor_desc t = RT_DESC(1, 2);
  nnb_node n = rt_node(NNB_OP_SOFTMAX_BWD, 2, 1);
  float dy[] = {1, 0}, y[] = {0.5f, 0.5f}, dx[2];
  ref_io io = {.n = &n, .ti = {&t, &t}, .to = {&t}, .in = {dy, y}, .out = {dx}};
  rt_call(ref_softmax_bwd, &io);
  rt_expect_near(dx, (double[]){0.25, -0.25}, 2, 1e-7, "softmax_bwd");
}

Test(ref_act, softmax_bwd_finite_differences) {
  nnb_tensor_desc t = RT_DESC(3, 5, 7);
  enum { N = 105 };
  float *x = tu_rand(30, N, -2, 2), *r = tu_rand(31, N, -1, 1), y[N], ys[N], dx[N];
  nnb_node fwd = rt_node(NNB_OP_SOFTMAX, 1, 1), bwd = rt_node(NNB_OP_SOFTMAX_BWD, 2, 1);
  rt_fwd f = {ref_softmax, {.n = &fwd, .ti = {&t}, .to = {&t}, .in = {x}, .out = {y}}, 0, r, N};
  ref_io s = f.io;
  s.out[0] = ys;
  rt_call(ref_softmax, &s); /* the backward takes the forward's output */
  ref_io b = {.n = &bwd, .ti = {&t, &t}, .to = {&t}, .in = {r, ys}, .out = {dx}};
  rt_call(ref_softmax_bwd, &b);
  rt_check_grad(&f, x, dx, N, 1e-2, "softmax_bwd");
  free(x), free(r);
}

/* ---------------------------------------------------------- layernorm */

Test(ref_act, layernorm_by_hand) {
  nnb_tensor_desc tx = RT_DESC(2, 4), tf = RT_DESC(4);
  nnb_node n = rt_node(NNB_OP_LAYERNORM, 3, 1);
  n.attr.layernorm.eps = 1e-5f;
  /* row 1: mean 2.5, population variance 1.25; row 2 is constant: xhat = 0 */
  float x[] = {1, 2, 3, 4, 5, 5, 5, 5}, gamma[] = {1, 1, 2, 2}, beta[] = {0, 0, 0, 1}, y[8];
  ref_io io = {.n = &n, .ti = {&tx, &tf, &tf}, .to = {&tx}, .in = {x, gamma, beta}, .out = {y}};
  rt_call(ref_layernorm, &io);
  double rstd = 1 / sqrt(1.25 + (double)1e-5f);
  rt_expect_near(y, (double[]){-1.5 * rstd, -0.5 * rstd, 1.0 * rstd, 3.0 * rstd + 1, 0, 0, 0, 1}, 8,
                 1e-6, "layernorm");
}

Test(ref_act, layernorm_bwd_finite_differences) {
  nnb_tensor_desc tx = RT_DESC(3, 5, 7), tf = RT_DESC(7);
  enum { N = 105, F = 7 };
  float *x = tu_rand(40, N, -2, 2), *gamma = tu_rand(41, F, 0.5f, 1.5f),
        *beta = tu_rand(42, F, -1, 1), *r = tu_rand(43, N, -1, 1);
  float y[N], dx[N], dgamma[F], dbeta[F];
  nnb_node fwd = rt_node(NNB_OP_LAYERNORM, 3, 1), bwd = rt_node(NNB_OP_LAYERNORM_BWD, 3, 3);
  fwd.attr.layernorm.eps = bwd.attr.layernorm.eps = 1e-5f;
  ref_io b = {.n = &bwd,
              .ti = {&tx, &tx, &tf},
              .to = {&tx, &tf, &tf},
              .in = {r, x, gamma},
              .out = {dx, dgamma, dbeta}};
  rt_call(ref_layernorm_bwd, &b);
  rt_fwd f = {ref_layernorm,
              {.n = &fwd, .ti = {&tx, &tf, &tf}, .to = {&tx}, .in = {x, gamma, beta}, .out = {y}},
              0,
              r,
              N};
  rt_check_grad(&f, x, dx, N, 1e-2, "layernorm_bwd dx");
  rt_check_grad(&f, gamma, dgamma, F, 1e-2, "layernorm_bwd dgamma");
  rt_check_grad(&f, beta, dbeta, F, 1e-2, "layernorm_bwd dbeta");
  free(x), free(gamma), free(beta), free(r);
}

/* --------------------------------------------------------- softmax_ce */

static nnb_tensor_desc label_desc(int64_t b) {
  nnb_tensor_desc t = RT_DESC(b);
  t.dtype = NNB_I32;
  t.role = NNB_ROLE_LABEL;
  return t;
}

Test(ref_act, softmax_ce_by_hand) {
  nnb_tensor_desc tl = RT_DESC(2, 2), tlab = label_desc(2), tloss = RT_DESC(1);
  nnb_node n = rt_node(NNB_OP_SOFTMAX_CE, 2, 1);
  /* row 1: p = (1/2, 1/2), label 0: ln 2; row 2: p = (1/4, 3/4), label 1: ln(4/3) */
  float logits[] = {0, 0, 0, logf(3)}, loss[1];
  int32_t labels[] = {0, 1};
  ref_io io = {.n = &n, .ti = {&tl, &tlab}, .to = {&tloss}, .in = {logits, labels}, .out = {loss}};
  rt_call(ref_softmax_ce, &io);
  rt_expect_near(loss, (double[]){(log(2.0) + log(4.0 / 3.0)) / 2}, 1, 1e-6, "softmax_ce");
  float big[] = {1000, 0, 0, 1000}; /* stable: logsumexp must subtract the max */
  labels[0] = 1;
  io.in[0] = big;
  rt_call(ref_softmax_ce, &io);
  rt_expect_near(loss, (double[]){500}, 1, 1e-6, "softmax_ce of large logits");
}

Test(ref_act, softmax_ce_bad_label_names_the_node) {
  nnb_tensor_desc tl = RT_DESC(2, 3), tlab = label_desc(2), tloss = RT_DESC(1), tdl = RT_DESC(1);
  nnb_node n = rt_node(NNB_OP_SOFTMAX_CE, 2, 1), nb = rt_node(NNB_OP_SOFTMAX_CE_BWD, 3, 1);
  snprintf(n.name, sizeof n.name, "the_loss");
  snprintf(nb.name, sizeof nb.name, "the_loss.bwd");
  float logits[6] = {0}, loss[1], dloss[1] = {1}, dl[6];
  int32_t labels[] = {1, 3};
  ref_io io = {.n = &n, .ti = {&tl, &tlab}, .to = {&tloss}, .in = {logits, labels}, .out = {loss}};
  nnb_error e = {{0}};
  nnb_status s = ref_softmax_ce(&io, &e);
  cr_assert_eq(s, NNB_ERR_INVALID, "status %s", nnb_status_name(s));
  cr_assert_str_eq(e.msg, "node 'the_loss': label 3 at row 1 is outside [0,3)");
  labels[1] = -1;
  ref_io b = {
      .n = &nb, .ti = {&tdl, &tl, &tlab}, .to = {&tl}, .in = {dloss, logits, labels}, .out = {dl}};
  s = ref_softmax_ce_bwd(&b, &e);
  cr_assert_eq(s, NNB_ERR_INVALID, "status %s", nnb_status_name(s));
  cr_assert_str_eq(e.msg, "node 'the_loss.bwd': label -1 at row 1 is outside [0,3)");
}

Test(ref_act, softmax_ce_bwd_by_hand) {
  /* B = 2, dloss = 3: (softmax - onehot) * 3 / 2 */
  nnb_tensor_desc tl = RT_DESC(2, 2), tlab = label_desc(2), tdl = RT_DESC(1);
  nnb_node n = rt_node(NNB_OP_SOFTMAX_CE_BWD, 3, 1);
  float dloss[] = {3}, logits[] = {0, 0, 0, logf(3)}, dl[4];
  int32_t labels[] = {0, 0};
  ref_io io = {
      .n = &n, .ti = {&tdl, &tl, &tlab}, .to = {&tl}, .in = {dloss, logits, labels}, .out = {dl}};
  rt_call(ref_softmax_ce_bwd, &io);
  rt_expect_near(dl, (double[]){-0.75, 0.75, (0.25 - 1) * 1.5, 0.75 * 1.5}, 4, 1e-6,
                 "softmax_ce_bwd");
}

Test(ref_act, softmax_ce_bwd_finite_differences) {
  enum { B = 5, C = 7 };
  nnb_tensor_desc tl = RT_DESC(B, C), tlab = label_desc(B), tdl = RT_DESC(1);
  float *logits = tu_rand(50, B * C, -2, 2), *u = tu_rand(51, B, 0, 1), loss[1], dl[B * C];
  float dloss[] = {0.7f};
  int32_t labels[B];
  for (int i = 0; i < B; i++) labels[i] = (int32_t)(u[i] * C) % C;
  nnb_node fwd = rt_node(NNB_OP_SOFTMAX_CE, 2, 1), bwd = rt_node(NNB_OP_SOFTMAX_CE_BWD, 3, 1);
  ref_io b = {
      .n = &bwd, .ti = {&tdl, &tl, &tlab}, .to = {&tl}, .in = {dloss, logits, labels}, .out = {dl}};
  rt_call(ref_softmax_ce_bwd, &b);
  /* loss = dloss * softmax_ce(logits) */
  rt_fwd f = {ref_softmax_ce,
              {.n = &fwd, .ti = {&tl, &tlab}, .to = {&tdl}, .in = {logits, labels}, .out = {loss}},
              0,
              dloss,
              1};
  rt_check_grad(&f, logits, dl, B * C, 1e-2, "softmax_ce_bwd");
  free(logits), free(u);
}
