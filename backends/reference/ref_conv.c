/* Reference kernels for convolution and max pooling (NCHW, OIHW). */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

typedef struct geom {
  int64_t n, c, h, w, o, kh, kw, oh, ow;
  int sh, sw, ph, pw;
} geom;

/* x [n,c,h,w], w [o,c,kh,kw], y [n,o,oh,ow] */
static geom conv_geom(const ref_io *io, const nnb_tensor_desc *x, const nnb_tensor_desc *w,
                      const nnb_tensor_desc *y) {
  const struct nnb_conv_attr *a = &io->n->attr.conv;
  return (geom){x->dims[0],  x->dims[1], x->dims[2], x->dims[3], w->dims[0],
                w->dims[2],  w->dims[3], y->dims[2], y->dims[3], a->stride_h,
                a->stride_w, a->pad_h,   a->pad_w};
}

#define X(g, b, ch, i, j) ((((b) * (g).c + (ch)) * (g).h + (i)) * (g).w + (j))
#define W(g, oc, ch, i, j) ((((oc) * (g).c + (ch)) * (g).kh + (i)) * (g).kw + (j))
#define Y(g, b, oc, i, j) ((((b) * (g).o + (oc)) * (g).oh + (i)) * (g).ow + (j))

nnb_status ref_conv2d(const ref_io *io, nnb_error *e) {
  geom g = conv_geom(io, io->ti[0], io->ti[1], io->to[0]);
  const float *x = io->in[0], *w = io->in[1], *bias = io->n->n_in == 3 ? io->in[2] : NULL;
  float *y = io->out[0];
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oc = 0; oc < g.o; oc++)
      for (int64_t i = 0; i < g.oh; i++)
        for (int64_t j = 0; j < g.ow; j++) {
          double acc = bias ? bias[oc] : 0.0;
          for (int64_t ch = 0; ch < g.c; ch++)
            for (int64_t u = 0; u < g.kh; u++)
              for (int64_t v = 0; v < g.kw; v++) {
                int64_t r = i * g.sh - g.ph + u, s = j * g.sw - g.pw + v;
                if (r >= 0 && r < g.h && s >= 0 && s < g.w)
                  acc += (double)x[X(g, b, ch, r, s)] * w[W(g, oc, ch, u, v)];
              }
          y[Y(g, b, oc, i, j)] = (float)acc;
        }
  return NNB_OK;
}

/* dx[b,ch,r,s] = sum over (oc,i,j,u,v) with i*sh-ph+u = r, j*sw-pw+v = s of dy*w,
 * accumulated in a double buffer. */
nnb_status ref_conv2d_bwd_data(const ref_io *io, nnb_error *e) {
  geom g = conv_geom(io, io->to[0], io->ti[1], io->ti[0]);
  const float *dy = io->in[0], *w = io->in[1];
  int64_t nx = nnb_numel(io->to[0]);
  double *acc = calloc((size_t)nx, sizeof *acc);
  if (!acc) return nnb_fail(e, NNB_ERR_NOMEM, "node '%s': out of memory", io->n->name);
  for (int64_t b = 0; b < g.n; b++)
    for (int64_t oc = 0; oc < g.o; oc++)
      for (int64_t i = 0; i < g.oh; i++)
        for (int64_t j = 0; j < g.ow; j++) {
          double d = dy[Y(g, b, oc, i, j)];
          for (int64_t ch = 0; ch < g.c; ch++)
            for (int64_t u = 0; u < g.kh; u++)
              for (int64_t v = 0; v < g.kw; v++) {
                int64_t r = i * g.sh - g.ph + u, s = j * g.sw - g.pw + v;
                if (r >= 0 && r < g.h && s >= 0 && s < g.w)
                  acc[X(g, b, ch, r, s)] += d * w[W(g, oc, ch, u, v)];
              }
        }
  float *dx = io->out[0];
  for (int64_t i = 0; i < nx; i++) dx[i] = (float)acc[i];
  free(acc);
  return NNB_OK;
}

nnb_status ref_conv2d_bwd_weight(const ref_io *io, nnb_error *e) {
  geom g = conv_geom(io, io->ti[1], io->to[0], io->ti[0]);
  const float *dy = io->in[0], *x = io->in[1];
  float *dw = io->out[0];
  for (int64_t oc = 0; oc < g.o; oc++)
    for (int64_t ch = 0; ch < g.c; ch++)
      for (int64_t u = 0; u < g.kh; u++)
        for (int64_t v = 0; v < g.kw; v++) {
          double acc = 0;
          for (int64_t b = 0; b < g.n; b++)
            for (int64_t i = 0; i < g.oh; i++)
              for (int64_t j = 0; j < g.ow; j++) {
                int64_t r = i * g.sh - g.ph + u, s = j * g.sw - g.pw + v;
                if (r >= 0 && r < g.h && s >= 0 && s < g.w)
                  acc += (double)dy[Y(g, b, oc, i, j)] * x[X(g, b, ch, r, s)];
              }
          dw[W(g, oc, ch, u, v)] = (float)acc;
        }
  if (io->n->n_out == 2) {
    float *db = io->out[1];
    for (int64_t oc = 0; oc < g.o; oc++) {
      double acc = 0;
      for (int64_t b = 0; b < g.n; b++)
        for (int64_t i = 0; i < g.oh * g.ow; i++) acc += dy[Y(g, b, oc, 0, 0) + i];
      db[oc] = (float)acc;
    }
  }
  return NNB_OK;
}

/* The first maximum of a window, in row-major order: the index in x. */
static int64_t window_argmax(const float *x, const struct nnb_pool_attr *p, int64_t base, int64_t w,
                             int64_t i, int64_t j) {
  int64_t best = -1;
  float bv = -FLT_MAX;
  for (int u = 0; u < p->kernel_h; u++)
    for (int v = 0; v < p->kernel_w; v++) {
      int64_t k = base + (i * p->stride_h + u) * w + j * p->stride_w + v;
      if (best < 0 || x[k] > bv) best = k, bv = x[k];
    }
  return best;
}

nnb_status ref_maxpool2d(const ref_io *io, nnb_error *e) {
  const nnb_tensor_desc *xd = io->ti[0], *yd = io->to[0];
  const struct nnb_pool_attr *p = &io->n->attr.pool;
  const float *x = io->in[0];
  float *y = io->out[0];
  int64_t planes = xd->dims[0] * xd->dims[1], h = xd->dims[2], w = xd->dims[3], oh = yd->dims[2],
          ow = yd->dims[3];
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++)
        y[(pl * oh + i) * ow + j] = x[window_argmax(x, p, pl * h * w, w, i, j)];
  return NNB_OK;
}

nnb_status ref_maxpool2d_bwd(const ref_io *io, nnb_error *e) {
  const nnb_tensor_desc *dyd = io->ti[0], *xd = io->ti[1];
  const struct nnb_pool_attr *p = &io->n->attr.pool;
  const float *dy = io->in[0], *x = io->in[1];
  int64_t planes = xd->dims[0] * xd->dims[1], h = xd->dims[2], w = xd->dims[3], oh = dyd->dims[2],
          ow = dyd->dims[3];
  int64_t nx = nnb_numel(xd);
  double *acc = calloc((size_t)nx, sizeof *acc);
  if (!acc) return nnb_fail(e, NNB_ERR_NOMEM, "node '%s': out of memory", io->n->name);
  for (int64_t pl = 0; pl < planes; pl++)
    for (int64_t i = 0; i < oh; i++)
      for (int64_t j = 0; j < ow; j++)
        acc[window_argmax(x, p, pl * h * w, w, i, j)] += dy[(pl * oh + i) * ow + j];
  float *dx = io->out[0];
  for (int64_t i = 0; i < nx; i++) dx[i] = (float)acc[i];
  free(acc);
  return NNB_OK;
}
