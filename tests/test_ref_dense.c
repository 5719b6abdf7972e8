/* Reference kernels of backends/reference/ref_dense.c, called directly:
 * worked examples by hand, results against independent loops written here,
 * and the backward ops (slice_bwd, mean_bwd, sum_to as the backward of a
 * broadcast add) against central finite differences. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "reftest.h"
#include "testutil.h"

/* ------------------------------------------------------------- matmul */

Test(ref_dense, matmul_2x3_by_3x2_by_hand) {
  nnb_tensor_desc ta = RT_DESC(2, 3), tb = RT_DESC(3, 2), tc = RT_DESC(2, 2);
  nnb_node n = rt_node(NNB_OP_MATMUL, 2, 1);
  float a[] = {1, 2, 3, 4, 5, 6}, b[] = {7, 8, 9, 10, 11, 12}, c[4];
  ref_io io = {.n = &n, .ti = {&ta, &tb}, .to = {&tc}, .in = {a, b}, .out = {c}};
  rt_call(ref_matmul, &io);
  /* [1*7+2*9+3*11, 1*8+2*10+3*12; 4*7+5*9+6*11, 4*8+5*10+6*12] */
  rt_expect_near(c, (double[]){58, 64, 139, 154}, 4, 0, "a @ b");
}

Test(ref_dense, matmul_transposes_and_bias_by_hand) {
  /* the same product with a stored as a^T [3,2] and b as b^T [2,3], plus bias */
  nnb_tensor_desc ta = RT_DESC(3, 2), tb = RT_DESC(2, 3), tbias = RT_DESC(2), tc = RT_DESC(2, 2);
  nnb_node n = rt_node(NNB_OP_MATMUL, 3, 1);
  n.attr.matmul.trans_a = 1;
  n.attr.matmul.trans_b = 1;
  float a[] = {1, 4, 2, 5, 3, 6}, b[] = {7, 9, 11, 8, 10, 12}, bias[] = {100, -200}, c[4];
  ref_io io = {.n = &n, .ti = {&ta, &tb, &tbias}, .to = {&tc}, .in = {a, b, bias}, .out = {c}};
  rt_call(ref_matmul, &io);
  rt_expect_near(c, (double[]){158, -136, 239, -46}, 4, 0, "a^T @ b^T + bias");
}

/* c[p] = op(a[p]) @ op(b[p or 0]) (+ bias), with the transposes made explicit. */
static void naive_matmul(const float *a, const float *b, const float *bias, double *c,
                         int64_t batch, int64_t m, int64_t k, int64_t n, int ta, int tb,
                         int shared_b) {
  for (int64_t p = 0; p < batch; p++) {
    const float *A = a + p * m * k, *B = b + (shared_b ? 0 : p * k * n);
    double *AA = malloc((size_t)(m * k) * sizeof *AA), *BB = malloc((size_t)(k * n) * sizeof *BB);
    for (int64_t i = 0; i < m; i++) /* AA is [m,k] whatever the storage */
      for (int64_t q = 0; q < k; q++) AA[i * k + q] = ta ? A[q * m + i] : A[i * k + q];
    for (int64_t q = 0; q < k; q++)
      for (int64_t j = 0; j < n; j++) BB[q * n + j] = tb ? B[j * k + q] : B[q * n + j];
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        double s = bias ? bias[j] : 0;
        for (int64_t q = 0; q < k; q++) s += AA[i * k + q] * BB[q * n + j];
        c[(p * m + i) * n + j] = s;
      }
    free(AA);
    free(BB);
  }
}

/* Every combination of transposes, batched (equal rank) and shared b (rank 2). */
Test(ref_dense, matmul_batched_and_shared_b_every_transpose) {
  const int64_t B = 3, M = 5, K = 7, N = 3;
  float *a = tu_rand(1, (size_t)(B * M * K), -1, 1), *b = tu_rand(2, (size_t)(B * K * N), -1, 1);
  float *bias = tu_rand(3, (size_t)N, -1, 1), c[3 * 5 * 3];
  double want[3 * 5 * 3];
  for (int shared = 0; shared < 2; shared++)
    for (int t = 0; t < 4; t++) {
      int ta = t & 1, tb = t >> 1, with_bias = shared ^ ta;
      nnb_tensor_desc tdA = ta ? RT_DESC(B, K, M) : RT_DESC(B, M, K);
      nnb_tensor_desc tdB = shared ? (tb ? RT_DESC(N, K) : RT_DESC(K, N))
                                   : (tb ? RT_DESC(B, N, K) : RT_DESC(B, K, N));
      nnb_tensor_desc tbias = RT_DESC(N), tdC = RT_DESC(B, M, N);
      nnb_node n = rt_node(NNB_OP_MATMUL, with_bias ? 3 : 2, 1);
      n.attr.matmul.trans_a = ta;
      n.attr.matmul.trans_b = tb;
      ref_io io = {
          .n = &n, .ti = {&tdA, &tdB, &tbias}, .to = {&tdC}, .in = {a, b, bias}, .out = {c}};
      rt_call(ref_matmul, &io);
      naive_matmul(a, b, with_bias ? bias : NULL, want, B, M, K, N, ta, tb, shared);
      char what[64];
      snprintf(what, sizeof what, "shared_b=%d trans_a=%d trans_b=%d bias=%d", shared, ta, tb,
               with_bias);
      rt_expect_near(c, want, (size_t)(B * M * N), 1e-6, what);
    }
  free(a);
  free(b);
  free(bias);
}

/* ---------------------------------------------------- add, mul, sum_to */

Test(ref_dense, add_and_mul_broadcast_by_hand) {
  nnb_tensor_desc ta = RT_DESC(2, 3), trow = RT_DESC(3), tcol = RT_DESC(2, 1), tone = RT_DESC(1);
  nnb_node nadd = rt_node(NNB_OP_ADD, 2, 1), nmul = rt_node(NNB_OP_MUL, 2, 1);
  float a[] = {1, 2, 3, 4, 5, 6}, row[] = {10, 20, 30}, col[] = {2, -1}, one[] = {0.5f}, c[6];
  ref_io io = {.n = &nadd, .ti = {&ta, &trow}, .to = {&ta}, .in = {a, row}, .out = {c}};
  rt_call(ref_add, &io);
  rt_expect_near(c, (double[]){11, 22, 33, 14, 25, 36}, 6, 0, "a + row");
  io.n = &nmul;
  io.ti[1] = &tcol;
  io.in[1] = col;
  rt_call(ref_mul, &io);
  rt_expect_near(c, (double[]){2, 4, 6, -4, -5, -6}, 6, 0, "a * col");
  io.ti[1] = &tone;
  io.in[1] = one;
  rt_call(ref_mul, &io);
  rt_expect_near(c, (double[]){0.5, 1, 1.5, 2, 2.5, 3}, 6, 0, "a * scalar");
  io.ti[1] = &ta; /* same shape: plain elementwise */
  io.in[1] = a;
  rt_call(ref_mul, &io);
  rt_expect_near(c, (double[]){1, 4, 9, 16, 25, 36}, 6, 0, "a * a");
}

Test(ref_dense, sum_to_by_hand) {
  nnb_tensor_desc tx = RT_DESC(2, 3), trow = RT_DESC(3), tcol = RT_DESC(2, 1), tone = RT_DESC(1),
                  tsame = RT_DESC(1, 3);
  nnb_node n = rt_node(NNB_OP_SUM_TO, 1, 1);
  float x[] = {1, 2, 3, 4, 5, 6}, y[6];
  ref_io io = {.n = &n, .ti = {&tx}, .to = {&trow}, .in = {x}, .out = {y}};
  rt_call(ref_sum_to, &io);
  rt_expect_near(y, (double[]){5, 7, 9}, 3, 0, "sum to [3]");
  io.to[0] = &tsame;
  rt_call(ref_sum_to, &io);
  rt_expect_near(y, (double[]){5, 7, 9}, 3, 0, "sum to [1,3]");
  io.to[0] = &tcol;
  rt_call(ref_sum_to, &io);
  rt_expect_near(y, (double[]){6, 15}, 2, 0, "sum to [2,1]");
  io.to[0] = &tone;
  rt_call(ref_sum_to, &io);
  rt_expect_near(y, (double[]){21}, 1, 0, "sum to [1]");
  io.to[0] = &tx;
  rt_call(ref_sum_to, &io);
  rt_expect_near(y, (double[]){1, 2, 3, 4, 5, 6}, 6, 0, "sum to its own shape");
}

/* sum_to is the backward of a broadcast: d/db sum(r * (a + b)) = sum_to(r),
 * and of mul: d/db sum(r * (a * b)) = sum_to(r * a). */
Test(ref_dense, sum_to_is_the_broadcast_gradient) {
  nnb_tensor_desc ta = RT_DESC(3, 5, 7), tb = RT_DESC(5, 1);
  float *a = tu_rand(10, 105, -1, 1), *b = tu_rand(11, 5, -1, 1), *r = tu_rand(12, 105, -1, 1);
  float c[105], ra[105], grad[5];
  nnb_node nadd = rt_node(NNB_OP_ADD, 2, 1), nmul = rt_node(NNB_OP_MUL, 2, 1),
           nsum = rt_node(NNB_OP_SUM_TO, 1, 1);
  ref_io sum = {.n = &nsum, .ti = {&ta}, .to = {&tb}, .in = {r}, .out = {grad}};
  rt_call(ref_sum_to, &sum);
  rt_fwd f = {
      ref_add, {.n = &nadd, .ti = {&ta, &tb}, .to = {&ta}, .in = {a, b}, .out = {c}}, 0, r, 105};
  rt_check_grad(&f, b, grad, 5, 1e-2, "add: db");

  for (int i = 0; i < 105; i++) ra[i] = r[i] * a[i];
  sum.in[0] = ra;
  rt_call(ref_sum_to, &sum);
  f.k = ref_mul;
  f.io.n = &nmul;
  rt_check_grad(&f, b, grad, 5, 1e-2, "mul: db");
  free(a);
  free(b);
  free(r);
}

/* ------------------------------------------------- permute and reshape */

Test(ref_dense, permute_by_hand) {
  nnb_tensor_desc tx = RT_DESC(2, 3), ty = RT_DESC(3, 2);
  nnb_node n = rt_node(NNB_OP_PERMUTE, 1, 1);
  n.attr.permute.perm[0] = 1;
  n.attr.permute.perm[1] = 0;
  float x[] = {1, 2, 3, 4, 5, 6}, y[6];
  ref_io io = {.n = &n, .ti = {&tx}, .to = {&ty}, .in = {x}, .out = {y}};
  rt_call(ref_permute, &io);
  rt_expect_near(y, (double[]){1, 4, 2, 5, 3, 6}, 6, 0, "transpose");
}

Test(ref_dense, permute_rank4_every_index) {
  /* y[i0,i1,i2,i3] = x at index i_k along axis perm[k] */
  const int perm[4] = {2, 0, 3, 1};
  const int64_t xd[4] = {2, 3, 5, 7};
  nnb_tensor_desc tx = RT_DESC(2, 3, 5, 7), ty = RT_DESC(5, 2, 7, 3);
  nnb_node n = rt_node(NNB_OP_PERMUTE, 1, 1);
  memcpy(n.attr.permute.perm, perm, sizeof perm);
  float x[210], y[210];
  for (int i = 0; i < 210; i++) x[i] = (float)i;
  ref_io io = {.n = &n, .ti = {&tx}, .to = {&ty}, .in = {x}, .out = {y}};
  rt_call(ref_permute, &io);
  int64_t idx[4];
  for (idx[0] = 0; idx[0] < 5; idx[0]++)
    for (idx[1] = 0; idx[1] < 2; idx[1]++)
      for (idx[2] = 0; idx[2] < 7; idx[2]++)
        for (idx[3] = 0; idx[3] < 3; idx[3]++) {
          int64_t xi[4], yflat = ((idx[0] * 2 + idx[1]) * 7 + idx[2]) * 3 + idx[3];
          for (int k = 0; k < 4; k++) xi[perm[k]] = idx[k];
          int64_t xflat = ((xi[0] * xd[1] + xi[1]) * xd[2] + xi[2]) * xd[3] + xi[3];
          cr_assert_float_eq(y[yflat], x[xflat], 0, "y[%lld] = %g, want x[%lld] = %g",
                             (long long)yflat, y[yflat], (long long)xflat, x[xflat]);
        }
}

Test(ref_dense, reshape_copies_or_does_nothing) {
  nnb_tensor_desc tx = RT_DESC(2, 3), ty = RT_DESC(3, 2);
  nnb_node n = rt_node(NNB_OP_RESHAPE, 1, 1);
  n.attr.shape.rank = 2;
  n.attr.shape.dims[0] = 3;
  n.attr.shape.dims[1] = 2;
  float x[] = {1, 2, 3, 4, 5, 6}, y[6] = {0};
  ref_io io = {.n = &n, .ti = {&tx}, .to = {&ty}, .in = {x}, .out = {y}};
  rt_call(ref_reshape, &io);
  rt_expect_near(y, (double[]){1, 2, 3, 4, 5, 6}, 6, 0, "reshape into other storage");
  io.out[0] = x; /* aliased, as the planner does */
  rt_call(ref_reshape, &io);
  rt_expect_near(x, (double[]){1, 2, 3, 4, 5, 6}, 6, 0, "reshape in place");
}

/* -------------------------------------------------------------- slice */

Test(ref_dense, slice_by_hand) {
  nnb_tensor_desc tx = RT_DESC(2, 4), ty = RT_DESC(2, 2), ty0 = RT_DESC(1, 4);
  nnb_node n = rt_node(NNB_OP_SLICE, 1, 1);
  n.attr.slice = (struct nnb_slice_attr){.axis = 1, .start = 1, .length = 2};
  float x[] = {0, 1, 2, 3, 4, 5, 6, 7}, y[4];
  ref_io io = {.n = &n, .ti = {&tx}, .to = {&ty}, .in = {x}, .out = {y}};
  rt_call(ref_slice, &io);
  rt_expect_near(y, (double[]){1, 2, 5, 6}, 4, 0, "x[:, 1:3]");
  n.attr.slice = (struct nnb_slice_attr){.axis = 0, .start = 1, .length = 1};
  io.to[0] = &ty0;
  rt_call(ref_slice, &io);
  rt_expect_near(y, (double[]){4, 5, 6, 7}, 4, 0, "x[1:2, :]");
}

Test(ref_dense, slice_bwd_by_hand) {
  nnb_tensor_desc tdy = RT_DESC(2, 2), tdx = RT_DESC(2, 4);
  nnb_node n = rt_node(NNB_OP_SLICE_BWD, 1, 1);
  n.attr.slice = (struct nnb_slice_attr){.axis = 1, .start = 1, .length = 2, .full = 4};
  float dy[] = {1, 2, 3, 4}, dx[8];
  memset(dx, 0xff, sizeof dx); /* NaNs: every element must be written */
  ref_io io = {.n = &n, .ti = {&tdy}, .to = {&tdx}, .in = {dy}, .out = {dx}};
  rt_call(ref_slice_bwd, &io);
  rt_expect_near(dx, (double[]){0, 1, 2, 0, 0, 3, 4, 0}, 8, 0, "slice_bwd");
}

Test(ref_dense, slice_bwd_finite_differences) {
  nnb_tensor_desc tx = RT_DESC(3, 7, 5), ty = RT_DESC(3, 3, 5);
  float *x = tu_rand(20, 105, -1, 1), *r = tu_rand(21, 45, -1, 1), y[45], dx[105];
  nnb_node fwd = rt_node(NNB_OP_SLICE, 1, 1), bwd = rt_node(NNB_OP_SLICE_BWD, 1, 1);
  fwd.attr.slice = (struct nnb_slice_attr){.axis = 1, .start = 2, .length = 3};
  bwd.attr.slice = (struct nnb_slice_attr){.axis = 1, .start = 2, .length = 3, .full = 7};
  ref_io b = {.n = &bwd, .ti = {&ty}, .to = {&tx}, .in = {r}, .out = {dx}};
  rt_call(ref_slice_bwd, &b);
  rt_fwd f = {ref_slice, {.n = &fwd, .ti = {&tx}, .to = {&ty}, .in = {x}, .out = {y}}, 0, r, 45};
  rt_check_grad(&f, x, dx, 105, 1e-2, "slice_bwd");
  free(x);
  free(r);
}

/* --------------------------------------------------------------- mean */

Test(ref_dense, mean_by_hand) {
  nnb_tensor_desc tx = RT_DESC(2, 3), t3 = RT_DESC(3), t2 = RT_DESC(2), tv = RT_DESC(4),
                  t1 = RT_DESC(1);
  nnb_node n = rt_node(NNB_OP_MEAN, 1, 1);
  float x[] = {1, 2, 3, 4, 5, 7}, v[] = {1, 2, 3, 10}, y[3];
  ref_io io = {.n = &n, .ti = {&tx}, .to = {&t3}, .in = {x}, .out = {y}};
  rt_call(ref_mean, &io);
  rt_expect_near(y, (double[]){2.5, 3.5, 5}, 3, 0, "mean over axis 0");
  n.attr.mean.axis = 1;
  io.to[0] = &t2;
  rt_call(ref_mean, &io);
  rt_expect_near(y, (double[]){2, 16.0 / 3}, 2, 1e-7, "mean over axis 1");
  n.attr.mean.axis = 0;
  io.ti[0] = &tv;
  io.to[0] = &t1;
  io.in[0] = v;
  rt_call(ref_mean, &io);
  rt_expect_near(y, (double[]){4}, 1, 0, "mean of a vector");
}

Test(ref_dense, mean_bwd_by_hand) {
  nnb_tensor_desc tdy = RT_DESC(2), tdx = RT_DESC(2, 4);
  nnb_node n = rt_node(NNB_OP_MEAN_BWD, 1, 1);
  n.attr.mean.axis = 1;
  n.attr.mean.n = 4;
  float dy[] = {1, -2}, dx[8];
  ref_io io = {.n = &n, .ti = {&tdy}, .to = {&tdx}, .in = {dy}, .out = {dx}};
  rt_call(ref_mean_bwd, &io);
  rt_expect_near(dx, (double[]){.25, .25, .25, .25, -.5, -.5, -.5, -.5}, 8, 0, "mean_bwd");
}

Test(ref_dense, mean_bwd_finite_differences) {
  for (int axis = 0; axis < 3; axis++) {
    int64_t d[3] = {3, 5, 7}, yd[2];
    for (int i = 0, k = 0; i < 3; i++)
      if (i != axis) yd[k++] = d[i];
    nnb_tensor_desc tx = RT_DESC(3, 5, 7), ty = RT_DESC(yd[0], yd[1]);
    size_t ny = (size_t)(yd[0] * yd[1]);
    float *x = tu_rand(30 + (uint64_t)axis, 105, -1, 1), *r = tu_rand(40, ny, -1, 1), y[35],
          dx[105];
    nnb_node fwd = rt_node(NNB_OP_MEAN, 1, 1), bwd = rt_node(NNB_OP_MEAN_BWD, 1, 1);
    fwd.attr.mean.axis = axis;
    bwd.attr.mean.axis = axis;
    bwd.attr.mean.n = d[axis];
    ref_io b = {.n = &bwd, .ti = {&ty}, .to = {&tx}, .in = {r}, .out = {dx}};
    rt_call(ref_mean_bwd, &b);
    rt_fwd f = {ref_mean, {.n = &fwd, .ti = {&tx}, .to = {&ty}, .in = {x}, .out = {y}}, 0, r, ny};
    char what[32];
    snprintf(what, sizeof what, "mean_bwd axis %d", axis);
    rt_check_grad(&f, x, dx, 105, 1e-2, what);
    free(x);
    free(r);
  }
}

/* --------------------------------------------------------------- fill */

Test(ref_dense, fill_by_hand) {
  nnb_tensor_desc ty = RT_DESC(2, 3);
  nnb_node n = rt_node(NNB_OP_FILL, 0, 1);
  n.attr.shape.rank = 2;
  n.attr.shape.dims[0] = 2;
  n.attr.shape.dims[1] = 3;
  n.attr.shape.value = -2.5f;
  float y[7] = {0, 0, 0, 0, 0, 0, 99};
  ref_io io = {.n = &n, .to = {&ty}, .out = {y}};
  rt_call(ref_fill, &io);
  rt_expect_near(y, (double[]){-2.5, -2.5, -2.5, -2.5, -2.5, -2.5, 99}, 7, 0,
                 "fill (and nothing past the end)");
}
