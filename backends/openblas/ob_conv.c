/* Convolution as im2col + GEMM over the whole batch, and max pooling.
 *
 * Layouts: x [N,C,H,W], w [O,C,KH,KW] = a row-major [O, CKK] matrix,
 * col [CKK, N*P] (P = OH*OW output pixels per image). Forward: W col gives
 * [O, N*P], which one pass scatters to y [N,O,P] adding the bias. One large
 * GEMM keeps the BLAS kernels busy where per-image GEMMs of these small
 * images would not. */
#include <float.h>
#include <string.h>

#include "ob.h"

typedef struct geom {
  int64_t n, c, h, w, o, kh, kw, oh, ow, ckk, p;
  int sh, sw, ph, pw;
} geom;

static geom conv_geom(const ob_io *io, const nnb_tensor_desc *x, const nnb_tensor_desc *w,
                      const nnb_tensor_desc *y) {
  const struct nnb_conv_attr *a = &io->n->attr.conv;
  geom g = {x->dims[0], x->dims[1],  x->dims[2],  x->dims[3], w->dims[0],
            w->dims[2], w->dims[3],  y->dims[2],  y->dims[3], 0,
            0,          a->stride_h, a->stride_w, a->pad_h,   a->pad_w};
  g.ckk = g.c * g.kh * g.kw;
  g.p = g.oh * g.ow;
  return g;
}

/* col[(ch*KH+u)*KW+v, b*P + i*OW + j] = x[b, ch, i*sh-ph+u, j*sw-pw+v] (0 outside). */
static void im2col(const ob_io *io, const geom *g, const float *x, float *col) {
  int64_t np = g->n * g->p;
#pragma omp parallel for num_threads(io->nt) if (g->ckk * np > OB_PAR_MIN) schedule(static)
  for (int64_t r = 0; r < g->ckk; r++) {
    int64_t ch = r / (g->kh * g->kw), u = r / g->kw % g->kh, v = r % g->kw;
    float *dst = col + r * np;
    for (int64_t b = 0; b < g->n; b++) {
      const float *plane = x + (b * g->c + ch) * g->h * g->w;
      for (int64_t i = 0; i < g->oh; i++) {
        int64_t row = i * g->sh - g->ph + u;
        float *d = dst + b * g->p + i * g->ow;
        if (row < 0 || row >= g->h) {
          memset(d, 0, (size_t)g->ow * sizeof *d);
          continue;
        }
        const float *s = plane + row * g->w;
        for (int64_t j = 0; j < g->ow; j++) {
          int64_t cc = j * g->sw - g->pw + v;
          d[j] = cc >= 0 && cc < g->w ? s[cc] : 0.0f;
        }
      }
    }
  }
}

/* dx += col2im(dcol): each column entry goes back to the pixel it came from.
 * Parallel over (image, channel) planes, which no two threads share. */
static void col2im(const ob_io *io, const geom *g, const float *dcol, float *dx) {
  int64_t np = g->n * g->p, planes = g->n * g->c;
  memset(dx, 0, (size_t)(planes * g->h * g->w) * sizeof *dx);
#pragma omp parallel for num_threads(io->nt) if (g->ckk * np > OB_PAR_MIN) schedule(static)
  for (int64_t pl = 0; pl < planes; pl++) {
    int64_t b = pl / g->c, ch = pl % g->c;
    float *plane = dx + pl * g->h * g->w;
    for (int64_t u = 0; u < g->kh; u++)
      for (int64_t v = 0; v < g->kw; v++) {
        const float *src = dcol + ((ch * g->kh + u) * g->kw + v) * np + b * g->p;
        for (int64_t i = 0; i < g->oh; i++) {
          int64_t row = i * g->sh - g->ph + u;
          if (row < 0 || row >= g->h) continue;
          for (int64_t j = 0; j < g->ow; j++) {
            int64_t cc = j * g->sw - g->pw + v;
            if (cc >= 0 && cc < g->w) plane[row * g->w + cc] += src[i * g->ow + j];
          }
        }
      }
  }
}

size_t ob_conv2d_ws(const ob_io *io) {
  geom g = conv_geom(io, io->ti[0], io->ti[1], io->to[0]);
  return (size_t)((g.ckk + g.o) * g.n * g.p) * sizeof(float);
}

nnb_status ob_conv2d(const ob_io *io, nnb_error *e) {
  geom g = conv_geom(io, io->ti[0], io->ti[1], io->to[0]);
  const float *w = ob_in(io, 1), *bias = io->n->n_in == 3 ? ob_in(io, 2) : NULL;
  float *col = io->ws, *tmp = col + g.ckk * g.n * g.p, *y = ob_out(io, 0);
  int64_t np = g.n * g.p;
  im2col(io, &g, ob_in(io, 0), col);
  ob_gemm(io, false, false, g.o, np, g.ckk, 1.0f, w, g.ckk, col, np, 0.0f, tmp, np);
#pragma omp parallel for num_threads(io->nt) if (g.o * np > OB_PAR_MIN) schedule(static)
  for (int64_t bo = 0; bo < g.n * g.o; bo++) {
    int64_t b = bo / g.o, oc = bo % g.o;
    const float *s = tmp + oc * np + b * g.p;
    float *d = y + bo * g.p, add = bias ? bias[oc] : 0.0f;
    if (io->relu)
      for (int64_t q = 0; q < g.p; q++) d[q] = s[q] + add > 0.0f ? s[q] + add : 0.0f;
    else
      for (int64_t q = 0; q < g.p; q++) d[q] = s[q] + add;
  }
  return NNB_OK;
}

/* dy [N,O,P] as the [O, N*P] matrix the GEMMs want. */
static void gather_dy(const ob_io *io, const geom *g, const float *dy, float *dyt) {
  int64_t np = g->n * g->p;
#pragma omp parallel for num_threads(io->nt) if (g->o * np > OB_PAR_MIN) schedule(static)
  for (int64_t bo = 0; bo < g->n * g->o; bo++) {
    int64_t b = bo / g->o, oc = bo % g->o;
    memcpy(dyt + oc * np + b * g->p, dy + bo * g->p, (size_t)g->p * sizeof *dyt);
  }
}

size_t ob_conv2d_bwd_data_ws(const ob_io *io) {
  geom g = conv_geom(io, io->to[0], io->ti[1], io->ti[0]);
  return (size_t)((g.ckk + g.o) * g.n * g.p) * sizeof(float);
}

nnb_status ob_conv2d_bwd_data(const ob_io *io, nnb_error *e) {
  geom g = conv_geom(io, io->to[0], io->ti[1], io->ti[0]);
  int64_t np = g.n * g.p;
  float *dcol = io->ws, *dyt = dcol + g.ckk * np;
  gather_dy(io, &g, ob_in(io, 0), dyt);
  /* dcol [CKK, N*P] = W^T [CKK, O] dy [O, N*P] */
  ob_gemm(io, true, false, g.ckk, np, g.o, 1.0f, ob_in(io, 1), g.ckk, dyt, np, 0.0f, dcol, np);
  col2im(io, &g, dcol, ob_out(io, 0));
  return NNB_OK;
}

size_t ob_conv2d_bwd_weight_ws(const ob_io *io) {
  geom g = conv_geom(io, io->ti[1], io->to[0], io->ti[0]);
  return (size_t)((g.ckk + g.o) * g.n * g.p) * sizeof(float);
}

nnb_status ob_conv2d_bwd_weight(const ob_io *io, nnb_error *e) {
  geom g = conv_geom(io, io->ti[1], io->to[0], io->ti[0]);
  int64_t np = g.n * g.p;
  float *col = io->ws, *dyt = col + g.ckk * np;
  im2col(io, &g, ob_in(io, 1), col);
  gather_dy(io, &g, ob_in(io, 0), dyt);
  /* dW [O, CKK] = dy [O, N*P] col^T [N*P, CKK] */
  ob_gemm(io, false, true, g.o, g.ckk, np, 1.0f, dyt, np, col, np, 0.0f, ob_out(io, 0), g.ckk);
  if (io->n->n_out > 1) {
    float *db = ob_out(io, 1);
#pragma omp parallel for num_threads(io->nt) if (g.o * np > OB_PAR_MIN) schedule(static)
    for (int64_t oc = 0; oc < g.o; oc++) {
      double acc = 0;
      for (int64_t q = 0; q < np; q++) acc += dyt[oc * np + q];
      db[oc] = (float)acc;
    }
  }
  return NNB_OK;
}

/* The first maximum of a window in row-major order (as the reference). */
static int64_t window_argmax(const float *plane, const struct nnb_pool_attr *p, int64_t w,
                             int64_t i, int64_t j) {
  int64_t best = (i * p->stride_h) * w + j * p->stride_w;
  float bv = plane[best];
  for (int64_t u = 0; u < p->kernel_h; u++)
    for (int64_t v = 0; v < p->kernel_w; v++) {
      int64_t at = (i * p->stride_h + u) * w + j * p->stride_w + v;
      if (plane[at] > bv) bv = plane[at], best = at;
    }
  return best;
}

nnb_status ob_maxpool2d(const ob_io *io, nnb_error *e) {
  const nnb_tensor_desc *xd = io->ti[0], *yd = io->to[0];
  const struct nnb_pool_attr *p = &io->n->attr.pool;
  int64_t planes = xd->dims[0] * xd->dims[1], h = xd->dims[2], w = xd->dims[3];
  int64_t oh = yd->dims[2], ow = yd->dims[3];
  const float *x = ob_in(io, 0);
  float *y = ob_out(io, 0);
#pragma omp parallel for num_threads(io->nt) if (planes * h * w > OB_PAR_MIN) schedule(static)
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *plane = x + pl * h * w;
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++)
        y[(pl * oh + i) * ow + j] = plane[window_argmax(plane, p, w, i, j)];
  }
  return NNB_OK;
}

nnb_status ob_maxpool2d_bwd(const ob_io *io, nnb_error *e) {
  const nnb_tensor_desc *dyd = io->ti[0], *xd = io->ti[1];
  const struct nnb_pool_attr *p = &io->n->attr.pool;
  int64_t planes = xd->dims[0] * xd->dims[1], h = xd->dims[2], w = xd->dims[3];
  int64_t oh = dyd->dims[2], ow = dyd->dims[3];
  const float *dy = ob_in(io, 0), *x = ob_in(io, 1);
  float *dx = ob_out(io, 0);
#pragma omp parallel for num_threads(io->nt) if (planes * h * w > OB_PAR_MIN) schedule(static)
  for (int64_t pl = 0; pl < planes; pl++) {
    float *d = dx + pl * h * w;
    memset(d, 0, (size_t)(h * w) * sizeof *d);
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++)
        d[window_argmax(x + pl * h * w, p, w, i, j)] += dy[(pl * oh + i) * ow + j];
  }
  return NNB_OK;
}
