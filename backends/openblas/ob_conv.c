/* conv2d and its two backwards as im2col / col2im + GEMM (NCHW activations,
 * OIHW weights). Each thread takes a contiguous run of images and treats
 * them G at a time, side by side in one matrix, so that a GEMM has at least
 * about MIN_COLS columns even where an image has few output pixels (a 3x3
 * output makes a 9-column GEMM, which runs at a fraction of the speed).
 *
 * With K = C*KH*KW, P = OH*OW and a group of G images (columns g*P + p):
 *   forward      Y [O, G*P]  = w [O,K] x col(x_g...) [K, G*P]        (+ bias, relu)
 *   bwd data     dcol [K,G*P] = w^T [K,O] x dY [O, G*P], col2im into each dx_g
 *   bwd weight   dw [O,K]   += dY [O, G*P] x col(x_g...)^T            (per-thread sums)
 * Y and dY are the images' [O,P] blocks gathered side by side (no copy when
 * G = 1). A 1x1 convolution with stride 1 and no padding needs no im2col:
 * the image is the matrix. */
#include <omp.h>
#include <string.h>

#include "ob.h"

#define MIN_COLS 256               /* a GEMM's columns worth reaching by grouping images */
#define MAX_GROUP_FLOATS (1 << 21) /* cap of one thread's col matrix (8 MiB) */

typedef struct geom {
  int64_t n, c, h, w, o, kh, kw, oh, ow, k, p;
  int sh, sw, ph, pw;
  bool direct; /* 1x1, stride 1, no padding */
  int nt;      /* threads over the images */
  int64_t g;   /* images per GEMM */
} geom;

static geom conv_geom(const ob_step *s, const nnb_tensor_desc *x, const nnb_tensor_desc *w,
                      const nnb_tensor_desc *y) {
  const struct nnb_conv_attr *a = &s->n->attr.conv;
  geom g = {.n = x->dims[0],
            .c = x->dims[1],
            .h = x->dims[2],
            .w = x->dims[3],
            .o = w->dims[0],
            .kh = w->dims[2],
            .kw = w->dims[3],
            .oh = y->dims[2],
            .ow = y->dims[3],
            .sh = a->stride_h,
            .sw = a->stride_w,
            .ph = a->pad_h,
            .pw = a->pad_w};
  g.k = g.c * g.kh * g.kw;
  g.p = g.oh * g.ow;
  g.direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
  double flops = 2.0 * (double)(g.o * g.k * g.p);
  g.nt = ob_threads_for(s->env, g.n, flops * (double)g.n / 64.0);
  int64_t per_thread = (g.n + g.nt - 1) / g.nt;
  g.g = g.direct ? 1 : (MIN_COLS + g.p - 1) / g.p;
  if (g.g > per_thread) g.g = per_thread;
  while (g.g > 1 && g.g * g.k * g.p > MAX_GROUP_FLOATS) g.g--;
  if (g.g < 1) g.g = 1;
  int64_t groups = (per_thread + g.g - 1) / g.g; /* equal groups: no small last one */
  g.g = (per_thread + groups - 1) / groups;
  return g;
}

static geom fwd_geom(const ob_step *s) { return conv_geom(s, s->ti[0], s->ti[1], s->to[0]); }
static geom bwd_data_geom(const ob_step *s) { return conv_geom(s, s->to[0], s->ti[1], s->ti[0]); }
static geom bwd_weight_geom(const ob_step *s) { return conv_geom(s, s->ti[1], s->to[0], s->ti[0]); }

/* A thread's workspace: col [K, G*P] and Y [O, G*P] (when G > 1). */
static size_t col_floats(const geom *g) { return g->direct ? 0 : (size_t)(g->k * g->g * g->p); }
static size_t y_floats(const geom *g) { return g->g > 1 ? (size_t)(g->o * g->g * g->p) : 0; }
static size_t thread_floats(const geom *g) {
  return ob_round16(col_floats(g)) + ob_round16(y_floats(g));
}

/* Output columns j whose input column j*sw - pw + v lies in [0, w). */
static void valid_cols(const geom *g, int64_t v, int64_t *lo, int64_t *hi) {
  int64_t a = 0, b = g->ow;
  while (a < b && a * g->sw - g->pw + v < 0) a++;
  while (b > a && (b - 1) * g->sw - g->pw + v >= g->w) b--;
  *lo = a, *hi = b;
}

/* Stride 1 and no padding, the common case: row (ch, u, v) is the block of
 * channel ch starting at (u, v), OH x OW, copied row by row. */
static bool unit_stride(const geom *g) {
  return g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

/* col rows of leading dimension ld: row (ch, u, v) holds, from column 0,
 * x[ch, i*sh-ph+u, j*sw-pw+v] for every output pixel (i, j), 0 outside. */
static void im2col(const ob_vec *vec, const geom *g, const float *x, float *col, int64_t ld) {
  if (unit_stride(g)) {
    for (int64_t ch = 0; ch < g->c; ch++)
      for (int64_t u = 0; u < g->kh; u++)
        for (int64_t v = 0; v < g->kw; v++)
          vec->copy_rows(col + ((ch * g->kh + u) * g->kw + v) * ld, g->ow,
                         x + (ch * g->h + u) * g->w + v, g->w, g->oh, g->ow);
    return;
  }
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t u = 0; u < g->kh; u++)
      for (int64_t v = 0; v < g->kw; v++) {
        float *dst = col + ((ch * g->kh + u) * g->kw + v) * ld;
        int64_t lo, hi;
        valid_cols(g, v, &lo, &hi);
        for (int64_t i = 0; i < g->oh; i++) {
          float *d = dst + i * g->ow;
          int64_t r = i * g->sh - g->ph + u;
          if (r < 0 || r >= g->h || lo >= hi) {
            for (int64_t j = 0; j < g->ow; j++) d[j] = 0.0f;
            continue;
          }
          const float *src = x + (ch * g->h + r) * g->w - g->pw + v;
          for (int64_t j = 0; j < lo; j++) d[j] = 0.0f;
          if (g->sw == 1) {
#pragma omp simd
            for (int64_t j = lo; j < hi; j++) d[j] = src[j];
          } else {
            for (int64_t j = lo; j < hi; j++) d[j] = src[j * g->sw];
          }
          for (int64_t j = hi; j < g->ow; j++) d[j] = 0.0f;
        }
      }
}

/* dx = col2im(dcol): the adjoint of im2col, summing overlapping windows. */
static void col2im(const ob_vec *vec, const geom *g, const float *col, int64_t ld, float *dx) {
  memset(dx, 0, (size_t)(g->c * g->h * g->w) * sizeof *dx);
  if (unit_stride(g)) {
    for (int64_t ch = 0; ch < g->c; ch++)
      for (int64_t u = 0; u < g->kh; u++)
        for (int64_t v = 0; v < g->kw; v++)
          vec->add_rows(dx + (ch * g->h + u) * g->w + v, g->w,
                        col + ((ch * g->kh + u) * g->kw + v) * ld, g->ow, g->oh, g->ow);
    return;
  }
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t u = 0; u < g->kh; u++)
      for (int64_t v = 0; v < g->kw; v++) {
        const float *srcrow = col + ((ch * g->kh + u) * g->kw + v) * ld;
        int64_t lo, hi;
        valid_cols(g, v, &lo, &hi);
        for (int64_t i = 0; i < g->oh; i++) {
          int64_t r = i * g->sh - g->ph + u;
          if (r < 0 || r >= g->h) continue;
          const float *src = srcrow + i * g->ow;
          float *d = dx + (ch * g->h + r) * g->w - g->pw + v;
          if (g->sw == 1) {
#pragma omp simd
            for (int64_t j = lo; j < hi; j++) d[j] += src[j];
          } else {
            for (int64_t j = lo; j < hi; j++) d[j * g->sw] += src[j];
          }
        }
      }
}

/* Images [b0, b1) of thread t of nth. */
static void thread_images(const geom *g, int t, int nth, int64_t *b0, int64_t *b1) {
  *b0 = g->n * t / nth, *b1 = g->n * (t + 1) / nth;
}

size_t ob_conv2d_ws(const ob_step *s) {
  geom g = fwd_geom(s);
  return (size_t)g.nt * thread_floats(&g);
}

nnb_status ob_conv2d(const ob_step *s, nnb_error *e) {
  geom g = fwd_geom(s);
  const float *x = s->in[0], *w = s->in[1];
  float *y = s->fuse == OB_FUSE_RELU_ONLY ? s->relu_out : s->out[0];
  ob_epilogue ep = {.row_bias = s->n->n_in == 3 ? s->in[2] : NULL,
                    .relu_out = s->fuse == OB_FUSE_RELU_BOTH ? s->relu_out : NULL,
                    .ldr = g.p,
                    .relu_inplace = s->fuse == OB_FUSE_RELU_ONLY};
  const ob_epilogue *epp = ep.row_bias || s->fuse != OB_FUSE_NONE ? &ep : NULL;
  size_t in_img = (size_t)(g.c * g.h * g.w), out_img = (size_t)(g.o * g.p);
#pragma omp parallel num_threads(g.nt) if (g.nt > 1)
  {
    int t = omp_get_thread_num(), nth = omp_get_num_threads();
    float *col = ob_ws_slice(s, 0, thread_floats(&g), t), *ybuf = col + ob_round16(col_floats(&g));
    int64_t b0, b1;
    thread_images(&g, t, nth, &b0, &b1);
    for (int64_t b = b0; b < b1; b += g.g) {
      int64_t gn = b1 - b < g.g ? b1 - b : g.g, cols = gn * g.p;
      for (int64_t j = 0; j < gn && !g.direct; j++)
        im2col(s->env->vec, &g, x + (size_t)(b + j) * in_img, col + j * g.p, cols);
      const float *bmat = g.direct ? x + (size_t)b * in_img : col;
      if (gn == 1) { /* straight into the output; alone, the GEMM itself may be split */
        float *yb = y + (size_t)b * out_img;
        ob_epilogue eb = ep;
        if (eb.relu_out) eb.relu_out += (size_t)b * out_img;
        if (nth > 1) {
          ob_sgemm_block(s->env, false, false, 0, g.o, 0, g.p, g.k, 1.0f, w, g.k, bmat, g.p, 0.0f,
                         yb, g.p, epp ? &eb : NULL);
        } else {
          ob_gemm(s->env, false, false, g.o, g.p, g.k, 1.0f, w, g.k, bmat, g.p, 0.0f, yb, g.p,
                  epp ? &eb : NULL);
        }
        continue;
      }
      /* the bias with the GEMM (ybuf starts as it), the relu per image */
      ob_epilogue bias = {.row_bias = ep.row_bias}, relu = ep;
      relu.row_bias = NULL;
      ob_sgemm_block(s->env, false, false, 0, g.o, 0, cols, g.k, 1.0f, w, g.k, col, cols, 0.0f,
                     ybuf, cols, bias.row_bias ? &bias : NULL);
      for (int64_t j = 0; j < gn; j++) { /* each image's [O,P] block to its place */
        float *yb = y + (size_t)(b + j) * out_img;
        s->env->vec->copy_rows(yb, g.p, ybuf + j * g.p, cols, g.o, g.p);
        ob_epilogue eb = relu;
        if (eb.relu_out) eb.relu_out += (size_t)(b + j) * out_img;
        ob_epilogue_apply(s->fuse != OB_FUSE_NONE ? &eb : NULL, yb, g.p, 0, g.o, 0, g.p);
      }
    }
  }
  return NNB_OK;
}

/* dY [O, gn*P]: the group's output-gradient blocks side by side. */
static void gather_dy(const ob_vec *vec, const geom *g, const float *dy, int64_t gn, float *dst) {
  int64_t cols = gn * g->p;
  for (int64_t j = 0; j < gn; j++)
    vec->copy_rows(dst + j * g->p, cols, dy + j * g->o * g->p, g->p, g->o, g->p);
}

size_t ob_conv2d_bwd_data_ws(const ob_step *s) {
  geom g = bwd_data_geom(s);
  return (size_t)g.nt * thread_floats(&g);
}

nnb_status ob_conv2d_bwd_data(const ob_step *s, nnb_error *e) {
  geom g = bwd_data_geom(s);
  const float *dy = s->in[0], *w = s->in[1];
  float *dx = s->out[0];
  size_t in_img = (size_t)(g.c * g.h * g.w), out_img = (size_t)(g.o * g.p);
#pragma omp parallel num_threads(g.nt) if (g.nt > 1)
  {
    int t = omp_get_thread_num(), nth = omp_get_num_threads();
    float *dcol = ob_ws_slice(s, 0, thread_floats(&g), t),
          *dybuf = dcol + ob_round16(col_floats(&g));
    int64_t b0, b1;
    thread_images(&g, t, nth, &b0, &b1);
    for (int64_t b = b0; b < b1; b += g.g) {
      int64_t gn = b1 - b < g.g ? b1 - b : g.g, cols = gn * g.p;
      const float *dyb = dy + (size_t)b * out_img;
      if (gn > 1) gather_dy(s->env->vec, &g, dyb, gn, dybuf);
      const float *dmat = gn > 1 ? dybuf : dyb;
      float *dst = g.direct ? dx + (size_t)b * in_img : dcol;
      if (nth > 1 || gn > 1)
        ob_sgemm(s->env, true, false, g.k, cols, g.o, 1.0f, w, g.k, dmat, cols, 0.0f, dst, cols);
      else
        ob_gemm(s->env, true, false, g.k, cols, g.o, 1.0f, w, g.k, dmat, cols, 0.0f, dst, cols,
                NULL);
      for (int64_t j = 0; j < gn && !g.direct; j++)
        col2im(s->env->vec, &g, dcol + j * g.p, cols, dx + (size_t)(b + j) * in_img);
    }
  }
  return NNB_OK;
}

/* Threads after the first also sum into a partial dw [O,K] and dbias [O]
 * of their own, added into the outputs at the end. */
static size_t wpart(const geom *g) { return ob_round16((size_t)(g->o * g->k + g->o)); }

size_t ob_conv2d_bwd_weight_ws(const ob_step *s) {
  geom g = bwd_weight_geom(s);
  return (size_t)g.nt * thread_floats(&g) + (size_t)(g.nt - 1) * wpart(&g);
}

nnb_status ob_conv2d_bwd_weight(const ob_step *s, nnb_error *e) {
  geom g = bwd_weight_geom(s);
  const float *dy = s->in[0], *x = s->in[1];
  float *dw = s->out[0], *db = s->n->n_out == 2 ? s->out[1] : NULL;
  size_t in_img = (size_t)(g.c * g.h * g.w), out_img = (size_t)(g.o * g.p);
  size_t parts = (size_t)g.nt * thread_floats(&g), nw = (size_t)(g.o * g.k);
#pragma omp parallel num_threads(g.nt) if (g.nt > 1)
  {
    int t = omp_get_thread_num(), nth = omp_get_num_threads();
    float *col = ob_ws_slice(s, 0, thread_floats(&g), t), *dybuf = col + ob_round16(col_floats(&g));
    float *dwt = t == 0 ? dw : ob_ws_slice(s, parts, wpart(&g), t - 1);
    float *dbt = t == 0 ? db : dwt + nw;
    int64_t b0, b1;
    thread_images(&g, t, nth, &b0, &b1);
    memset(dwt, 0, nw * sizeof *dwt);
    if (dbt) memset(dbt, 0, (size_t)g.o * sizeof *dbt);
    for (int64_t b = b0; b < b1; b += g.g) {
      int64_t gn = b1 - b < g.g ? b1 - b : g.g, cols = gn * g.p;
      const float *dyb = dy + (size_t)b * out_img;
      for (int64_t j = 0; j < gn && !g.direct; j++)
        im2col(s->env->vec, &g, x + (size_t)(b + j) * in_img, col + j * g.p, cols);
      if (gn > 1) gather_dy(s->env->vec, &g, dyb, gn, dybuf);
      const float *dmat = gn > 1 ? dybuf : dyb, *xmat = g.direct ? x + (size_t)b * in_img : col;
      ob_sgemm(s->env, false, true, g.o, g.k, cols, 1.0f, dmat, cols, xmat, cols, 1.0f, dwt, g.k);
      for (int64_t oc = 0; dbt && oc < g.o; oc++) {
        const float *row = dmat + oc * cols;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < cols; i++) acc += row[i];
        dbt[oc] += acc;
      }
    }
    if (nth > 1) {
#pragma omp barrier
#pragma omp for schedule(static)
      for (size_t i = 0; i < nw + (size_t)g.o; i++) {
        if (i >= nw && !db) continue;
        float acc = 0.0f;
        for (int u = 1; u < nth; u++) acc += ob_ws_slice(s, parts, wpart(&g), u - 1)[i];
        if (i < nw)
          dw[i] += acc;
        else
          db[i - nw] += acc;
      }
    }
  }
  return NNB_OK;
}
