/* conv2d and its two backwards as im2col / col2im + GEMM, one image per
 * thread at a time (NCHW activations, OIHW weights). A 1x1 convolution
 * with stride 1 and no padding needs no im2col: the image is the matrix.
 *
 * Per image b, with K = C*KH*KW and P = OH*OW:
 *   forward      y_b [O,P]  = w [O,K] x col(x_b) [K,P]          (+ bias, relu)
 *   bwd data     dcol [K,P] = w^T [K,O] x dy_b [O,P], then col2im into dx_b
 *   bwd weight   dw [O,K]  += dy_b [O,P] x col(x_b)^T [P,K]     (per-thread sums) */
#include <omp.h>
#include <string.h>

#include "ob.h"

typedef struct geom {
  int64_t n, c, h, w, o, kh, kw, oh, ow, k, p;
  int sh, sw, ph, pw;
  bool direct; /* 1x1, stride 1, no padding */
} geom;

static geom conv_geom(const nnb_node *node, const nnb_tensor_desc *x, const nnb_tensor_desc *w,
                      const nnb_tensor_desc *y) {
  const struct nnb_conv_attr *a = &node->attr.conv;
  geom g = {x->dims[0],  x->dims[1], x->dims[2], x->dims[3], w->dims[0], w->dims[2],
            w->dims[3],  y->dims[2], y->dims[3], 0,          0,          a->stride_h,
            a->stride_w, a->pad_h,   a->pad_w,   false};
  g.k = g.c * g.kh * g.kw;
  g.p = g.oh * g.ow;
  g.direct = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
  return g;
}

static geom fwd_geom(const ob_step *s) { return conv_geom(s->n, s->ti[0], s->ti[1], s->to[0]); }
static geom bwd_data_geom(const ob_step *s) {
  return conv_geom(s->n, s->to[0], s->ti[1], s->ti[0]);
}
static geom bwd_weight_geom(const ob_step *s) {
  return conv_geom(s->n, s->ti[1], s->to[0], s->ti[0]);
}

/* Output columns j whose input column j*sw - pw + v lies in [0, w). */
static void valid_cols(const geom *g, int64_t v, int64_t *lo, int64_t *hi) {
  int64_t a = 0, b = g->ow;
  while (a < b && a * g->sw - g->pw + v < 0) a++;
  while (b > a && (b - 1) * g->sw - g->pw + v >= g->w) b--;
  *lo = a, *hi = b;
}

/* col [K, P]: row (ch, u, v) holds x[ch, i*sh-ph+u, j*sw-pw+v] (0 outside). */
static void im2col(const geom *g, const float *x, float *col) {
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t u = 0; u < g->kh; u++)
      for (int64_t v = 0; v < g->kw; v++) {
        float *dst = col + ((ch * g->kh + u) * g->kw + v) * g->p;
        int64_t lo, hi;
        valid_cols(g, v, &lo, &hi);
        for (int64_t i = 0; i < g->oh; i++) {
          float *d = dst + i * g->ow;
          int64_t r = i * g->sh - g->ph + u;
          if (r < 0 || r >= g->h || lo >= hi) {
            memset(d, 0, (size_t)g->ow * sizeof *d);
            continue;
          }
          const float *src = x + (ch * g->h + r) * g->w - g->pw + v;
          memset(d, 0, (size_t)lo * sizeof *d);
          if (g->sw == 1) {
            memcpy(d + lo, src + lo, (size_t)(hi - lo) * sizeof *d);
          } else {
            for (int64_t j = lo; j < hi; j++) d[j] = src[j * g->sw];
          }
          memset(d + hi, 0, (size_t)(g->ow - hi) * sizeof *d);
        }
      }
}

/* dx = col2im(dcol): the adjoint of im2col, summing overlapping windows. */
static void col2im(const geom *g, const float *col, float *dx) {
  memset(dx, 0, (size_t)(g->c * g->h * g->w) * sizeof *dx);
  for (int64_t ch = 0; ch < g->c; ch++)
    for (int64_t u = 0; u < g->kh; u++)
      for (int64_t v = 0; v < g->kw; v++) {
        const float *srcrow = col + ((ch * g->kh + u) * g->kw + v) * g->p;
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

/* Threads for a loop over n images of `flops` each (1: run in the caller). */
static int image_threads(const ob_env *env, int64_t n, double flops) {
  return ob_threads_for(env, n, flops * (double)n / 64.0);
}

size_t ob_conv2d_ws(const ob_step *s) {
  geom g = fwd_geom(s);
  return g.direct ? 0 : (size_t)s->env->threads * ob_round16((size_t)(g.k * g.p));
}

nnb_status ob_conv2d(const ob_step *s, nnb_error *e) {
  geom g = fwd_geom(s);
  const float *x = s->in[0], *w = s->in[1];
  float *y = s->fuse == OB_FUSE_RELU_ONLY ? s->relu_out : s->out[0];
  ob_epilogue ep = {.row_bias = s->n->n_in == 3 ? s->in[2] : NULL,
                    .relu_out = s->fuse == OB_FUSE_RELU_BOTH ? s->relu_out : NULL,
                    .ldr = g.p,
                    .relu_inplace = s->fuse == OB_FUSE_RELU_ONLY};
  bool any_ep = ep.row_bias || s->fuse != OB_FUSE_NONE;
  size_t per = (size_t)(g.k * g.p), in_img = (size_t)(g.c * g.h * g.w),
         out_img = (size_t)(g.o * g.p);
  double flops = 2.0 * (double)(g.o * g.k * g.p);
  int nt = image_threads(s->env, g.n, flops);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int t = omp_get_thread_num();
    float *col = g.direct ? NULL : ob_ws_slice(s, 0, per, t);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < g.n; b++) {
      const float *xb = x + (size_t)b * in_img;
      float *yb = y + (size_t)b * out_img;
      if (!g.direct) im2col(&g, xb, col);
      ob_epilogue epb = ep;
      if (epb.relu_out) epb.relu_out += (size_t)b * out_img;
      const float *bmat = g.direct ? xb : col;
      if (nt > 1) {
        ob_sgemm(s->env, false, false, g.o, g.p, g.k, 1.0f, w, g.k, bmat, g.p, 0.0f, yb, g.p);
        ob_epilogue_apply(any_ep ? &epb : NULL, yb, g.p, 0, g.o, 0, g.p);
      } else { /* one image at a time: the GEMM itself may be split */
        ob_gemm(s->env, false, false, g.o, g.p, g.k, 1.0f, w, g.k, bmat, g.p, 0.0f, yb, g.p,
                any_ep ? &epb : NULL);
      }
    }
  }
  return NNB_OK;
}

size_t ob_conv2d_bwd_data_ws(const ob_step *s) {
  geom g = bwd_data_geom(s);
  return g.direct ? 0 : (size_t)s->env->threads * ob_round16((size_t)(g.k * g.p));
}

nnb_status ob_conv2d_bwd_data(const ob_step *s, nnb_error *e) {
  geom g = bwd_data_geom(s);
  const float *dy = s->in[0], *w = s->in[1];
  float *dx = s->out[0];
  size_t per = (size_t)(g.k * g.p), in_img = (size_t)(g.c * g.h * g.w),
         out_img = (size_t)(g.o * g.p);
  double flops = 2.0 * (double)(g.o * g.k * g.p);
  int nt = image_threads(s->env, g.n, flops);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int t = omp_get_thread_num();
    float *dcol = g.direct ? NULL : ob_ws_slice(s, 0, per, t);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < g.n; b++) {
      float *dxb = dx + (size_t)b * in_img, *dst = g.direct ? dxb : dcol;
      const float *dyb = dy + (size_t)b * out_img;
      if (nt > 1)
        ob_sgemm(s->env, true, false, g.k, g.p, g.o, 1.0f, w, g.k, dyb, g.p, 0.0f, dst, g.p);
      else
        ob_gemm(s->env, true, false, g.k, g.p, g.o, 1.0f, w, g.k, dyb, g.p, 0.0f, dst, g.p, NULL);
      if (!g.direct) col2im(&g, dcol, dxb);
    }
  }
  return NNB_OK;
}

/* Workspace: per thread a col buffer; threads after the first also a
 * partial dw [O,K] and dbias [O], summed into the outputs at the end. */
static size_t wpart(const geom *g) { return ob_round16((size_t)(g->o * g->k + g->o)); }

size_t ob_conv2d_bwd_weight_ws(const ob_step *s) {
  geom g = bwd_weight_geom(s);
  size_t nt = (size_t)s->env->threads;
  return (g.direct ? 0 : nt * ob_round16((size_t)(g.k * g.p))) + (nt - 1) * wpart(&g);
}

nnb_status ob_conv2d_bwd_weight(const ob_step *s, nnb_error *e) {
  geom g = bwd_weight_geom(s);
  const float *dy = s->in[0], *x = s->in[1];
  float *dw = s->out[0], *db = s->n->n_out == 2 ? s->out[1] : NULL;
  size_t per = (size_t)(g.k * g.p), in_img = (size_t)(g.c * g.h * g.w),
         out_img = (size_t)(g.o * g.p);
  size_t cols = g.direct ? 0 : (size_t)s->env->threads * ob_round16(per);
  size_t nw = (size_t)(g.o * g.k);
  double flops = 2.0 * (double)(g.o * g.k * g.p);
  int nt = image_threads(s->env, g.n, flops);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    int t = omp_get_thread_num(), nth = omp_get_num_threads();
    float *col = g.direct ? NULL : ob_ws_slice(s, 0, per, t);
    float *dwt = t == 0 ? dw : ob_ws_slice(s, cols, wpart(&g), t - 1);
    float *dbt = t == 0 ? db : dwt + nw;
    int64_t b0 = g.n * t / nth, b1 = g.n * (t + 1) / nth;
    if (b0 == b1) { /* no image for this thread: its partial sums are zero */
      memset(dwt, 0, nw * sizeof *dwt);
      if (dbt) memset(dbt, 0, (size_t)g.o * sizeof *dbt);
    }
    for (int64_t b = b0; b < b1; b++) {
      const float *xb = x + (size_t)b * in_img, *dyb = dy + (size_t)b * out_img;
      if (!g.direct) im2col(&g, xb, col);
      ob_sgemm(s->env, false, true, g.o, g.k, g.p, 1.0f, dyb, g.p, g.direct ? xb : col, g.p,
               b == b0 ? 0.0f : 1.0f, dwt, g.k);
      for (int64_t oc = 0; dbt && oc < g.o; oc++) {
        const float *row = dyb + oc * g.p;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int64_t i = 0; i < g.p; i++) acc += row[i];
        dbt[oc] = b == b0 ? acc : dbt[oc] + acc;
      }
    }
    if (nth > 1) {
#pragma omp barrier
#pragma omp for schedule(static)
      for (size_t i = 0; i < nw + (size_t)g.o; i++) {
        if (i >= nw && !db) continue;
        float acc = 0.0f;
        for (int u = 1; u < nth; u++) acc += ob_ws_slice(s, cols, wpart(&g), u - 1)[i];
        if (i < nw)
          dw[i] += acc;
        else
          db[i - nw] += acc;
      }
    }
  }
  return NNB_OK;
}
