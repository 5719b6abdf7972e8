/* conv2d_bwd_weight of a convolution with fewer input channels than a
 * channel block (an image's 1 or 3: the cnn's conv1), in C. oneDNN 2.6's
 * blocked jit kernels vectorise this gradient over input channels (6.3 ms
 * for conv1 at batch 32 on one Zen 3 core), its im2col + GEMM path
 * multiplies per image with N = IC*KH*KW = 9 (1.9 ms). This loop
 * vectorises over output channels instead, reading dy as the plan's
 * blocked steps leave it (nChw8c or nChw16c: a position's channels of a
 * block are contiguous) against one element of x at a time. */
#include <string.h>

#include "dn.h"

/* Taps (IC * KH * KW) and kernel width the loop's accumulators hold. */
#define WG_MAX_TAPS 256
#define WG_MAX_KW 16

typedef struct wgeom {
  int64_t n, oc, oh, ow, ic, ih, iw, kh, kw;
  int sh, sw, ph, pw;
} wgeom;

static wgeom wgeom_of(const dn_step *s) {
  const struct nnb_conv_attr *a = &s->n->attr.conv;
  const int64_t *dy = s->ti[0]->dims, *x = s->ti[1]->dims;
  return (wgeom){dy[0],       dy[1],       dy[2],       dy[3],       x[1],     x[2],    x[3],
                 a->kernel_h, a->kernel_w, a->stride_h, a->stride_w, a->pad_h, a->pad_w};
}

/* acc[kw][q] += x(ih, iw0 + kw) * dy(oh, ow)[q] over every position of
 * one image, one input channel and one kernel row kh: for b lanes (b / 4
 * vectors) of output channels and KW kernel columns, whose accumulators
 * stay in registers when b and KW are constants. */
static inline void kernel_row(const int64_t b, const int64_t KW, const wgeom *g, int64_t kh,
                              const float *dyp, const float *xp, dn_v4f *acc) {
  dn_v4f a[WG_MAX_KW][4];
  for (int64_t k = 0; k < KW; k++)
    for (int64_t q = 0; q < b / 4; q++) a[k][q] = acc[k * (b / 4) + q];
  for (int64_t oh = 0; oh < g->oh; oh++) {
    int64_t ih = oh * g->sh - g->ph + kh;
    if (ih < 0 || ih >= g->ih) continue;
    const float *xr = xp + ih * g->iw, *dr = dyp + oh * g->ow * b;
    for (int64_t ow = 0; ow < g->ow; ow++) {
      dn_v4f d[4];
      for (int64_t q = 0; q < b / 4; q++) d[q] = dn_v4f_load(dr + ow * b + 4 * q);
      int64_t iw0 = ow * g->sw - g->pw;
      for (int64_t k = 0; k < KW; k++) {
        int64_t iw = iw0 + k;
        if (iw < 0 || iw >= g->iw) continue;
        dn_v4f xv = dn_v4f_splat(xr[iw]);
        for (int64_t q = 0; q < b / 4; q++) a[k][q] += xv * d[q];
      }
    }
  }
  for (int64_t k = 0; k < KW; k++)
    for (int64_t q = 0; q < b / 4; q++) acc[k * (b / 4) + q] = a[k][q];
}

/* The common shapes with constant lane and column counts. */
static void kernel_row_any(int64_t b, const wgeom *g, int64_t kh, const float *dyp, const float *xp,
                           dn_v4f *acc) {
  if (b == 8 && g->kw == 3)
    kernel_row(8, 3, g, kh, dyp, xp, acc);
  else if (b == 16 && g->kw == 3)
    kernel_row(16, 3, g, kh, dyp, xp, acc);
  else
    kernel_row(b, g->kw, g, kh, dyp, xp, acc);
}

/* aux[0]: dy's block (8 or 16); aux_p[0]: dy, aux_p[1]: x (plain). */
static nnb_status wgrad(dn_step *s, nnb_error *e) {
  nnb_status r = dn_step_prims(s, e); /* x reordered into plain, if it must be */
  if (r != NNB_OK) return r;
  const wgeom g = wgeom_of(s);
  const int64_t b = s->aux[0], blocks = g.oc / b, taps = g.ic * g.kh * g.kw;
  const float *dy = s->aux_p[0], *x = s->aux_p[1];
  float *dw = s->out[0], *db = s->n->n_out > 1 ? s->out[1] : NULL;
#pragma omp parallel for if (blocks > 1)
  for (int64_t p = 0; p < blocks; p++) { /* each block's channels: written by one thread */
    dn_v4f acc[WG_MAX_TAPS * 4], bacc[4];
    memset(acc, 0, (size_t)(taps * (b / 4)) * sizeof *acc);
    memset(bacc, 0, sizeof bacc);
    for (int64_t n = 0; n < g.n; n++) {
      const float *dyp = dy + (n * blocks + p) * g.oh * g.ow * b;
      for (int64_t ic = 0; ic < g.ic; ic++)
        for (int64_t kh = 0; kh < g.kh; kh++)
          kernel_row_any(b, &g, kh, dyp, x + (n * g.ic + ic) * g.ih * g.iw,
                         acc + (ic * g.kh + kh) * g.kw * (b / 4));
      if (db)
        for (int64_t o = 0; o < g.oh * g.ow; o++)
          for (int64_t q = 0; q < b / 4; q++) bacc[q] += dn_v4f_load(dyp + o * b + 4 * q);
    }
    for (int64_t l = 0; l < b; l++) {
      for (int64_t t = 0; t < taps; t++)
        dw[(p * b + l) * taps + t] = acc[t * (b / 4) + l / 4][l % 4];
      if (db) db[p * b + l] = bacc[l / 4][l % 4];
    }
  }
  return NNB_OK;
}

bool dn_conv_wgrad_c_fits(const dn_step *s, const dn_graph_info *gi) {
  const wgeom g = wgeom_of(s);
  int64_t b = dn_loop_block(gi, s->n->in[0]);
  return s->env->blocked && g.ic < 8 && (b == 8 || b == 16) && g.kw <= WG_MAX_KW &&
         g.ic * g.kh * g.kw <= WG_MAX_TAPS;
}

nnb_status dn_prep_conv2d_bwd_weight_c(dn_step *s, const dn_graph_info *gi, nnb_error *e) {
  int64_t bx = dn_loop_block(gi, s->n->in[1]);
  nnb_status r = bx == 1 ? NNB_OK : dn_step_priv(s, nnb_nbytes(s->ti[1]), e);
  if (r != NNB_OK) return r;
  dn_c_kernel(s, wgrad);
  s->aux[0] = dn_loop_block(gi, s->n->in[0]);
  s->aux_p[0] = s->in[0];
  /* x has fewer channels than a block: plain, or reordered into plain */
  return dn_loop_input(s, gi, 1, 0, &bx, e);
}
