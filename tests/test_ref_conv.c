/* Reference kernels of backends/reference/ref_conv.c, called directly:
 * convolutions and pooling worked by hand, the forward against an
 * independent zero-padded implementation, and every backward kernel against
 * central finite differences of its forward. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "reftest.h"
#include "testutil.h"

/* ----------------------------------------------------------- conv2d */

Test(ref_conv, conv2d_one_channel_by_hand) {
  nnb_tensor_desc tx = RT_DESC(1, 1, 3, 3), tw = RT_DESC(1, 1, 2, 2), tb = RT_DESC(1),
                  ty = RT_DESC(1, 1, 2, 2);
  nnb_node n = rt_node(NNB_OP_CONV2D, 3, 1);
  n.attr.conv.stride_h = n.attr.conv.stride_w = 1;
  float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[] = {1, 2, 3, 4}, b[] = {1}, y[4];
  ref_io io = {.n = &n, .ti = {&tx, &tw, &tb}, .to = {&ty}, .in = {x, w, b}, .out = {y}};
  rt_call(ref_conv2d, &io);
  /* y00 = 1*1+2*2+4*3+5*4 = 37, y01 = 2+6+15+24 = 47, y10 = 67, y11 = 77; plus bias 1 */
  rt_expect_near(y, (double[]){38, 48, 68, 78}, 4, 0, "conv2d");
  n.n_in = 2; /* no bias */
  rt_call(ref_conv2d, &io);
  rt_expect_near(y, (double[]){37, 47, 67, 77}, 4, 0, "conv2d without bias");
}

Test(ref_conv, conv2d_stride_and_padding_by_hand) {
  nnb_tensor_desc tx = RT_DESC(1, 1, 3, 3), tw = RT_DESC(1, 1, 2, 2), ty = RT_DESC(1, 1, 2, 2);
  nnb_node n = rt_node(NNB_OP_CONV2D, 2, 1);
  n.attr.conv = (struct nnb_conv_attr){.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1};
  float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[] = {1, 2, 3, 4}, y[4];
  ref_io io = {.n = &n, .ti = {&tx, &tw}, .to = {&ty}, .in = {x, w}, .out = {y}};
  rt_call(ref_conv2d, &io);
  /* padded 5x5; windows at (0,0): x00*4; (0,2): x01*3+x02*4; (2,0): x10*2+x20*4;
   * (2,2): x11+2*x12+3*x21+4*x22 */
  rt_expect_near(y, (double[]){4, 18, 36, 77}, 4, 0, "conv2d stride 2 pad 1");
}

typedef struct conv_case {
  int64_t n, c, h, w, o, kh, kw, oh, ow;
  int sh, sw, ph, pw;
} conv_case;

/* An odd geometry whose floor drops x's last column. */
static conv_case odd_case(void) {
  conv_case k = {.n = 2, .c = 3, .h = 7, .w = 5, .o = 2, .kh = 3, .kw = 2};
  k.sh = 2, k.sw = 2, k.ph = 1, k.pw = 0;
  k.oh = (k.h + 2 * k.ph - k.kh) / k.sh + 1; /* 4 */
  k.ow = (k.w + 2 * k.pw - k.kw) / k.sw + 1; /* 2: column 4 is never read */
  return k;
}

/* Independent forward: copy x into an explicitly zero-padded buffer first. */
static void naive_conv(const conv_case *k, const float *x, const float *w, const float *b,
                       double *y) {
  int64_t hp = k->h + 2 * k->ph, wp = k->w + 2 * k->pw;
  double *xp = calloc((size_t)(k->n * k->c * hp * wp), sizeof *xp);
  for (int64_t i = 0; i < k->n * k->c; i++)
    for (int64_t r = 0; r < k->h; r++)
      for (int64_t s = 0; s < k->w; s++)
        xp[(i * hp + r + k->ph) * wp + s + k->pw] = x[(i * k->h + r) * k->w + s];
  for (int64_t nb = 0; nb < k->n; nb++)
    for (int64_t o = 0; o < k->o; o++)
      for (int64_t i = 0; i < k->oh; i++)
        for (int64_t j = 0; j < k->ow; j++) {
          double s = b ? b[o] : 0;
          for (int64_t c = 0; c < k->c; c++)
            for (int64_t u = 0; u < k->kh; u++)
              for (int64_t v = 0; v < k->kw; v++)
                s += xp[((nb * k->c + c) * hp + i * k->sh + u) * wp + j * k->sw + v] *
                     w[((o * k->c + c) * k->kh + u) * k->kw + v];
          y[((nb * k->o + o) * k->oh + i) * k->ow + j] = s;
        }
  free(xp);
}

static nnb_node conv_node(nnb_op op, const conv_case *k, int n_in, int n_out) {
  nnb_node n = rt_node(op, n_in, n_out);
  n.attr.conv = (struct nnb_conv_attr){k->sh,      k->sw,     k->ph,     k->pw,     (int)k->kh,
                                       (int)k->kw, (int)k->h, (int)k->w, n_out == 2};
  if (op == NNB_OP_CONV2D) /* a forward node carries only stride and pad */
    n.attr.conv = (struct nnb_conv_attr){
        .stride_h = k->sh, .stride_w = k->sw, .pad_h = k->ph, .pad_w = k->pw};
  return n;
}

Test(ref_conv, conv2d_against_padded_copy) {
  conv_case k = odd_case();
  nnb_tensor_desc tx = RT_DESC(k.n, k.c, k.h, k.w), tw = RT_DESC(k.o, k.c, k.kh, k.kw),
                  tb = RT_DESC(k.o), ty = RT_DESC(k.n, k.o, k.oh, k.ow);
  size_t nx = (size_t)nnb_numel(&tx), nw = (size_t)nnb_numel(&tw), ny = (size_t)nnb_numel(&ty);
  float *x = tu_rand(1, nx, -1, 1), *w = tu_rand(2, nw, -1, 1), *b = tu_rand(3, (size_t)k.o, -1, 1);
  float *y = malloc(ny * sizeof *y);
  double *want = malloc(ny * sizeof *want);
  nnb_node n = conv_node(NNB_OP_CONV2D, &k, 3, 1);
  ref_io io = {.n = &n, .ti = {&tx, &tw, &tb}, .to = {&ty}, .in = {x, w, b}, .out = {y}};
  rt_call(ref_conv2d, &io);
  naive_conv(&k, x, w, b, want);
  rt_expect_near(y, want, ny, 1e-6, "conv2d vs padded copy");
  free(x), free(w), free(b), free(y), free(want);
}

/* --------------------------------------------------- conv2d backward */

Test(ref_conv, conv2d_bwd_data_by_hand) {
  /* dy all ones: dx[r][s] sums the w taps that touch (r,s) */
  nnb_tensor_desc tdy = RT_DESC(1, 1, 2, 2), tw = RT_DESC(1, 1, 2, 2), tdx = RT_DESC(1, 1, 3, 3);
  nnb_node n = rt_node(NNB_OP_CONV2D_BWD_DATA, 2, 1);
  n.attr.conv = (struct nnb_conv_attr){1, 1, 0, 0, 2, 2, 3, 3, 0};
  float dy[] = {1, 1, 1, 1}, w[] = {1, 2, 3, 4}, dx[9];
  ref_io io = {.n = &n, .ti = {&tdy, &tw}, .to = {&tdx}, .in = {dy, w}, .out = {dx}};
  rt_call(ref_conv2d_bwd_data, &io);
  rt_expect_near(dx, (double[]){1, 3, 2, 4, 10, 6, 3, 7, 4}, 9, 0, "conv2d_bwd_data");
}

Test(ref_conv, conv2d_bwd_weight_by_hand) {
  /* dy all ones: dw[u][v] sums x over the window shifted by (u,v); dbias sums dy */
  nnb_tensor_desc tdy = RT_DESC(1, 1, 2, 2), tx = RT_DESC(1, 1, 3, 3), tdw = RT_DESC(1, 1, 2, 2),
                  tdb = RT_DESC(1);
  nnb_node n = rt_node(NNB_OP_CONV2D_BWD_WEIGHT, 2, 2);
  n.attr.conv = (struct nnb_conv_attr){1, 1, 0, 0, 2, 2, 3, 3, 1};
  float dy[] = {1, 1, 1, 2}, x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, dw[4], db[1];
  ref_io io = {.n = &n, .ti = {&tdy, &tx}, .to = {&tdw, &tdb}, .in = {dy, x}, .out = {dw, db}};
  rt_call(ref_conv2d_bwd_weight, &io);
  /* dw00 = 1+2+4+2*5, dw01 = 2+3+5+2*6, dw10 = 4+5+7+2*8, dw11 = 5+6+8+2*9 */
  rt_expect_near(dw, (double[]){17, 22, 32, 37}, 4, 0, "conv2d_bwd_weight dw");
  rt_expect_near(db, (double[]){5}, 1, 0, "conv2d_bwd_weight dbias");
}

/* Random inputs for the odd geometry; loss = sum(r * conv2d(x, w, b)). */
typedef struct conv_fd {
  conv_case k;
  nnb_tensor_desc tx, tw, tb, ty;
  float *x, *w, *b, *y, *r;
  size_t nx, nw, ny;
  nnb_node fwd;
} conv_fd;

static void conv_fd_init(conv_fd *c, uint64_t seed) {
  c->k = odd_case();
  const conv_case *k = &c->k;
  c->tx = RT_DESC(k->n, k->c, k->h, k->w);
  c->tw = RT_DESC(k->o, k->c, k->kh, k->kw);
  c->tb = RT_DESC(k->o);
  c->ty = RT_DESC(k->n, k->o, k->oh, k->ow);
  c->nx = (size_t)nnb_numel(&c->tx), c->nw = (size_t)nnb_numel(&c->tw);
  c->ny = (size_t)nnb_numel(&c->ty);
  c->x = tu_rand(seed, c->nx, -1, 1);
  c->w = tu_rand(seed + 1, c->nw, -1, 1);
  c->b = tu_rand(seed + 2, (size_t)k->o, -1, 1);
  c->r = tu_rand(seed + 3, c->ny, -1, 1);
  c->y = malloc(c->ny * sizeof *c->y);
  c->fwd = conv_node(NNB_OP_CONV2D, k, 3, 1);
}

static rt_fwd conv_fd_loss(conv_fd *c) {
  return (rt_fwd){ref_conv2d,
                  {.n = &c->fwd,
                   .ti = {&c->tx, &c->tw, &c->tb},
                   .to = {&c->ty},
                   .in = {c->x, c->w, c->b},
                   .out = {c->y}},
                  0,
                  c->r,
                  c->ny};
}

static void conv_fd_free(conv_fd *c) { free(c->x), free(c->w), free(c->b), free(c->y), free(c->r); }

Test(ref_conv, conv2d_bwd_data_finite_differences) {
  conv_fd c;
  conv_fd_init(&c, 100);
  nnb_node bwd = conv_node(NNB_OP_CONV2D_BWD_DATA, &c.k, 2, 1);
  float *dx = malloc(c.nx * sizeof *dx);
  memset(dx, 0xff, c.nx * sizeof *dx); /* NaNs: every element must be written */
  ref_io b = {.n = &bwd, .ti = {&c.ty, &c.tw}, .to = {&c.tx}, .in = {c.r, c.w}, .out = {dx}};
  rt_call(ref_conv2d_bwd_data, &b);
  rt_fwd f = conv_fd_loss(&c);
  rt_check_grad(&f, c.x, dx, c.nx, 1e-2, "conv2d_bwd_data dx");
  free(dx);
  conv_fd_free(&c);
}

Test(ref_conv, conv2d_bwd_weight_finite_differences) {
  conv_fd c;
  conv_fd_init(&c, 200);
  nnb_node bwd = conv_node(NNB_OP_CONV2D_BWD_WEIGHT, &c.k, 2, 2);
  float *dw = malloc(c.nw * sizeof *dw), db[2];
  ref_io b = {
      .n = &bwd, .ti = {&c.ty, &c.tx}, .to = {&c.tw, &c.tb}, .in = {c.r, c.x}, .out = {dw, db}};
  rt_call(ref_conv2d_bwd_weight, &b);
  rt_fwd f = conv_fd_loss(&c);
  rt_check_grad(&f, c.w, dw, c.nw, 1e-2, "conv2d_bwd_weight dw");
  rt_check_grad(&f, c.b, db, 2, 1e-2, "conv2d_bwd_weight dbias");
  /* without a bias output, dw is the same and out[1] is left alone */
  float *dw2 = malloc(c.nw * sizeof *dw2), untouched = 42;
  bwd.n_out = 1;
  bwd.attr.conv.has_bias = 0;
  b.to[1] = NULL;
  b.out[0] = dw2;
  b.out[1] = &untouched;
  rt_call(ref_conv2d_bwd_weight, &b);
  cr_assert(memcmp(dw, dw2, c.nw * sizeof *dw) == 0, "dw differs without a bias");
  cr_assert_float_eq(untouched, 42, 0, "out[1] written without a bias: %g", untouched);
  free(dw), free(dw2);
  conv_fd_free(&c);
}

/* ---------------------------------------------------------- maxpool */

Test(ref_conv, maxpool2d_by_hand) {
  nnb_tensor_desc tx = RT_DESC(1, 1, 4, 4), ty = RT_DESC(1, 1, 2, 2), ty3 = RT_DESC(1, 1, 1, 1);
  nnb_node n = rt_node(NNB_OP_MAXPOOL2D, 1, 1);
  n.attr.pool = (struct nnb_pool_attr){2, 2, 2, 2};
  float x[] = {1, -5, 2, 0, 3, 4, -1, -2, 9, 0, 6, 6, -3, 8, 7, 5}, y[4];
  ref_io io = {.n = &n, .ti = {&tx}, .to = {&ty}, .in = {x}, .out = {y}};
  rt_call(ref_maxpool2d, &io);
  rt_expect_near(y, (double[]){4, 2, 9, 7}, 4, 0, "maxpool 2x2 stride 2");
  n.attr.pool = (struct nnb_pool_attr){3, 3, 2, 2}; /* floor: (4-3)/2+1 = 1 */
  io.to[0] = &ty3;
  rt_call(ref_maxpool2d, &io);
  rt_expect_near(y, (double[]){9}, 1, 0, "maxpool 3x3 stride 2");
  float neg[16];
  for (int i = 0; i < 16; i++) neg[i] = -100.0f - (float)i; /* all negative */
  io.in[0] = neg;
  rt_call(ref_maxpool2d, &io);
  rt_expect_near(y, (double[]){-100}, 1, 0, "maxpool of negatives");
}

Test(ref_conv, maxpool2d_bwd_first_max_and_overlap_by_hand) {
  nnb_tensor_desc tx = RT_DESC(1, 1, 3, 3), tdy = RT_DESC(1, 1, 2, 2);
  nnb_node n = rt_node(NNB_OP_MAXPOOL2D_BWD, 2, 1);
  n.attr.pool = (struct nnb_pool_attr){2, 2, 1, 1}; /* overlapping 2x2 windows */
  float dy[] = {1, 10, 100, 1000}, dx[9];
  /* the centre is every window's maximum: it gets the sum */
  float x1[] = {0, 0, 0, 0, 5, 0, 0, 0, 0};
  ref_io io = {.n = &n, .ti = {&tdy, &tx}, .to = {&tx}, .in = {dy, x1}, .out = {dx}};
  rt_call(ref_maxpool2d_bwd, &io);
  rt_expect_near(dx, (double[]){0, 0, 0, 0, 1111, 0, 0, 0, 0}, 9, 0, "overlap sums");
  /* all equal: each window's first element in row-major order */
  float x2[] = {3, 3, 3, 3, 3, 3, 3, 3, 3};
  io.in[1] = x2;
  rt_call(ref_maxpool2d_bwd, &io);
  rt_expect_near(dx, (double[]){1, 10, 0, 100, 1000, 0, 0, 0, 0}, 9, 0, "ties: first maximum");
  /* a tie inside one window between (0,1) and (1,0): (0,1) comes first */
  float x3[] = {0, 7, 0, 7, 0, 0, 0, 0, 0};
  io.in[1] = x3;
  rt_call(ref_maxpool2d_bwd, &io);
  /* windows: (0,0) -> x01; (0,1) -> x01; (1,0) -> x10; (1,1) -> x11 (all zero, first) */
  rt_expect_near(dx, (double[]){0, 11, 0, 100, 1000, 0, 0, 0, 0}, 9, 0, "tie across rows");
}

Test(ref_conv, maxpool2d_bwd_finite_differences) {
  /* distinct values 0.01 apart, shuffled, so that +-h never changes an argmax */
  nnb_tensor_desc tx = RT_DESC(2, 3, 7, 5), ty = RT_DESC(2, 3, 3, 4);
  nnb_node fwd = rt_node(NNB_OP_MAXPOOL2D, 1, 1), bwd = rt_node(NNB_OP_MAXPOOL2D_BWD, 2, 1);
  fwd.attr.pool = bwd.attr.pool = (struct nnb_pool_attr){3, 2, 2, 1}; /* OH 3, OW 4 */
  enum { NX = 2 * 3 * 7 * 5, NY = 2 * 3 * 3 * 4 };
  float x[NX], y[NY], dx[NX], *u = tu_rand(300, NX, 0, 1), *r = tu_rand(301, NY, -1, 1);
  for (int i = 0; i < NX; i++) x[i] = 0.01f * (float)i - 1;
  for (int i = NX - 1; i > 0; i--) { /* Fisher-Yates with the seeded uniforms */
    int j = (int)(u[i] * (float)(i + 1));
    if (j > i) j = i;
    float t = x[i];
    x[i] = x[j], x[j] = t;
  }
  ref_io b = {.n = &bwd, .ti = {&ty, &tx}, .to = {&tx}, .in = {r, x}, .out = {dx}};
  rt_call(ref_maxpool2d_bwd, &b);
  rt_fwd f = {
      ref_maxpool2d, {.n = &fwd, .ti = {&tx}, .to = {&ty}, .in = {x}, .out = {y}}, 0, r, NY};
  rt_check_grad(&f, x, dx, NX, 1e-2, "maxpool2d_bwd");
  free(u), free(r);
}
