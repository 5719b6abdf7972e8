/* Max pooling for training, and its backward, in C on the layouts the
 * plan's convolutions leave: oneDNN 2.6's jit:avx2 pooling with a
 * workspace runs the cnn's pool1 in 2.0 ms (forward) and 1.7 ms
 * (backward), where a loop over 8-channel blocks needs a fraction of that.
 * Each activation is plain NCHW or nChw8c / nChw16c; one in any other
 * layout is reordered into plain private memory first (by the step's
 * primitives, run before the loop). The workspace holds, per output
 * element, the window index of the first maximum (ties go to the first,
 * as docs/ops.md asks). Windows never leave x (no padding; floor). */
#include <string.h>

#include "dn.h"

typedef struct geom {
  int64_t n, c, ih, iw, oh, ow;
  int kh, kw, sh, sw;
} geom;

static geom geom_of(const nnb_node *n, const nnb_tensor_desc *x, const nnb_tensor_desc *y) {
  const struct nnb_pool_attr *a = &n->attr.pool;
  return (geom){x->dims[0], x->dims[1],  x->dims[2],  x->dims[3],  y->dims[2],
                y->dims[3], a->kernel_h, a->kernel_w, a->stride_h, a->stride_w};
}

/* Offset of (n, c, h, w) in a [N, C, H, W] tensor, plain (lg 0) or nChw<2^lg>c:
 * shifts, no division in the loops. */
static inline int64_t at(int lg, int64_t C, int64_t H, int64_t W, int64_t n, int64_t c, int64_t h,
                         int64_t w) {
  return ((((n * (C >> lg) + (c >> lg)) * H + h) * W + w) << lg) + (c & ((1 << lg) - 1));
}

static int lg_of(int64_t blk) { return blk == 16 ? 4 : blk == 8 ? 3 : 0; }

/* The block the pooling's own output is stored in: x's when t is blockable
 * (recorded as t's layout), else plain. */
static int64_t out_block(const dn_step *s, const dn_graph_info *gi, int t, int64_t blk) {
  if (blk == 1 || !dn_blockable(s, gi, t)) return 1;
  dnnl_memory_desc_t md;
  dnnl_dims_t d;
  for (int i = 0; i < 4; i++) d[i] = gi->g->tensors[t].dims[i];
  dnnl_memory_desc_init_by_tag(&md, 4, d, dnnl_f32, blk == 8 ? dnnl_nChw8c : dnnl_nChw16c);
  return dn_set_layout(gi, t, &md) ? blk : 1;
}

static size_t round64(size_t b) { return (b + 63) / 64 * 64; }

/* One plane (b channels of one sample, b = 8 or 16) with x and y in the
 * same layout: a window's b channels are contiguous. In dn_v4f vectors:
 * GCC leaves the per-channel compare-and-select scalar (it does not
 * if-convert the window index next to the maximum; 0.81 ms for the cnn's
 * pool1 at batch 32 on one Zen 3 core). */
static inline void plane_fwd(const geom *g, const int64_t b, const float *xp, float *yp,
                             unsigned char *wp) {
  for (int64_t oh = 0; oh < g->oh; oh++)
    for (int64_t ow = 0; ow < g->ow; ow++) {
      dn_v4f best[4];
      dn_v4i arg[4]; /* the window index of the first maximum */
      const float *w0 = xp + (oh * g->sh * g->iw + ow * g->sw) * b;
      for (int64_t q = 0; q < b / 4; q++) best[q] = dn_v4f_load(w0 + 4 * q), arg[q] = (dn_v4i){0};
      for (int i = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++) {
          const float *v = w0 + (i * g->iw + j) * b;
          int32_t k = i * g->kw + j;
          dn_v4i kv = {k, k, k, k};
          for (int64_t q = 0; q < b / 4; q++) { /* branch-free: ties keep the first */
            dn_v4f x = dn_v4f_load(v + 4 * q);
            dn_v4i gt = x > best[q];
            best[q] = (dn_v4f)(((dn_v4i)x & gt) | ((dn_v4i)best[q] & ~gt));
            arg[q] = (kv & gt) | (arg[q] & ~gt);
          }
        }
      int64_t o = (oh * g->ow + ow) * b;
      for (int64_t q = 0; q < b / 4; q++) {
        dn_v4f_store(yp + o + 4 * q, best[q]);
        for (int l = 0; l < 4; l++) wp[o + 4 * q + l] = (unsigned char)arg[q][l];
      }
    }
}

static void plane_fwd8(const geom *g, const float *xp, float *yp, unsigned char *wp) {
  plane_fwd(g, 8, xp, yp, wp);
}
static void plane_fwd16(const geom *g, const float *xp, float *yp, unsigned char *wp) {
  plane_fwd(g, 16, xp, yp, wp);
}

/* x and y in the same channel-blocked layout (b = 8 or 16). */
static void pool_fwd_same(const geom *g, int64_t b, const float *x, float *y, unsigned char *ws) {
  const int64_t planes = g->n * g->c / b, in = g->ih * g->iw * b, out = g->oh * g->ow * b;
#pragma omp parallel for if (planes > 1)
  for (int64_t p = 0; p < planes; p++) {
    if (b == 8)
      plane_fwd8(g, x + p * in, y + p * out, ws + p * out);
    else
      plane_fwd16(g, x + p * in, y + p * out, ws + p * out);
  }
}

/* Any mix of plain and blocked x and y. */
static void pool_fwd_any(const geom *g, int64_t bx, int64_t by, const float *x, float *y,
                         unsigned char *ws) {
  const int64_t cb = g->c / bx;
  const int lx = lg_of(bx), ly = lg_of(by);
#pragma omp parallel for if (g->n * cb > 1)
  for (int64_t p = 0; p < g->n * cb; p++) {
    int64_t n = p / cb, c0 = p % cb * bx;
    for (int64_t oh = 0; oh < g->oh; oh++)
      for (int64_t ow = 0; ow < g->ow; ow++) {
        unsigned char *wp = ws + ((p * g->oh + oh) * g->ow + ow) * bx;
        for (int64_t ci = 0; ci < bx; ci++) {
          int64_t c = c0 + ci;
          float best = x[at(lx, g->c, g->ih, g->iw, n, c, oh * g->sh, ow * g->sw)];
          int arg = 0;
          for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
              float v = x[at(lx, g->c, g->ih, g->iw, n, c, oh * g->sh + i, ow * g->sw + j)];
              if (v > best) best = v, arg = i * g->kw + j;
            }
          y[at(ly, g->c, g->oh, g->ow, n, c, oh, ow)] = best;
          wp[ci] = (unsigned char)arg;
        }
      }
  }
}

/* aux[0]: x's block (the loop's order and the workspace's), aux[1]: y's;
 * aux_p[0]: x, aux_p[2]: the workspace. */
static nnb_status pool_fwd(dn_step *s, nnb_error *e) {
  nnb_status r = dn_step_prims(s, e); /* reorders of inputs, if any */
  if (r != NNB_OK) return r;
  geom g = geom_of(s->n, s->ti[0], s->to[0]);
  if (s->aux[0] == s->aux[1] && s->aux[0] > 1)
    pool_fwd_same(&g, s->aux[0], s->aux_p[0], s->out[0], s->aux_p[2]);
  else
    pool_fwd_any(&g, s->aux[0], s->aux[1], s->aux_p[0], s->out[0], s->aux_p[2]);
  return NNB_OK;
}

bool dn_pool_c_fits(const nnb_node *n) {
  return n->attr.pool.kernel_h * n->attr.pool.kernel_w <= 256;
}

nnb_status dn_prep_maxpool2d_c(dn_step *s, const dn_graph_info *gi, nnb_error *e) {
  geom g = geom_of(s->n, s->ti[0], s->to[0]);
  size_t ws_bytes = round64((size_t)(g.n * g.c * g.oh * g.ow));
  int64_t bx = dn_loop_block(gi, s->n->in[0]);
  nnb_status r = dn_step_priv(s, ws_bytes + (bx ? 0 : round64(nnb_nbytes(s->ti[0]))), e);
  if (r != NNB_OK) return r;
  dn_c_kernel(s, pool_fwd);
  r = dn_loop_input(s, gi, 0, ws_bytes, &bx, e);
  s->aux[0] = bx;
  s->aux[1] = out_block(s, gi, s->n->out[0], bx);
  s->aux_p[2] = s->priv;
  s->shared = s->priv; /* the backward finds the workspace here */
  return r;
}

/* aux[0]: the loop's block (the forward's x block), aux[1]: dy's, aux[2]:
 * dx's; aux_p[0]: dy; aux_p[2]: the forward's workspace. */
static nnb_status pool_bwd(dn_step *s, nnb_error *e) {
  nnb_status r = dn_step_prims(s, e);
  if (r != NNB_OK) return r;
  geom g = geom_of(s->n, s->to[0], s->ti[0]);
  const int64_t b = s->aux[0], cb = g.c / b;
  const int ldy = lg_of(s->aux[1]), ldx = lg_of(s->aux[2]);
  const bool same = s->aux[1] == b && s->aux[2] == b;
  const float *dy = s->aux_p[0];
  float *dx = s->out[0];
  const unsigned char *ws = s->aux_p[2];
  int64_t step[256]; /* a window index's offset in dx, for `same` */
  for (int k = 0; k < g.kh * g.kw; k++) step[k] = (k / g.kw * g.iw + k % g.kw) * b;
#pragma omp parallel for if (g.n * cb > 1)
  for (int64_t p = 0; p < g.n * cb; p++) { /* a plane's channels: no other plane writes them */
    int64_t n = p / cb, c0 = p % cb * b;
    if (same) {
      float *dxp = dx + p * g.ih * g.iw * b;
      memset(dxp, 0, (size_t)(g.ih * g.iw * b) * sizeof *dxp);
      for (int64_t oh = 0; oh < g.oh; oh++)
        for (int64_t ow = 0; ow < g.ow; ow++) {
          int64_t o = ((p * g.oh + oh) * g.ow + ow) * b;
          float *w0 = dxp + (oh * g.sh * g.iw + ow * g.sw) * b;
          for (int64_t ci = 0; ci < b; ci++) w0[step[ws[o + ci]] + ci] += dy[o + ci];
        }
      continue;
    }
    for (int64_t ci = 0; ci < b; ci++)
      for (int64_t h = 0; h < g.ih; h++)
        for (int64_t w = 0; w < g.iw; w++) dx[at(ldx, g.c, g.ih, g.iw, n, c0 + ci, h, w)] = 0;
    for (int64_t oh = 0; oh < g.oh; oh++)
      for (int64_t ow = 0; ow < g.ow; ow++) {
        const unsigned char *wp = ws + ((p * g.oh + oh) * g.ow + ow) * b;
        for (int64_t ci = 0; ci < b; ci++) {
          int64_t c = c0 + ci, i = wp[ci] / g.kw, j = wp[ci] % g.kw;
          dx[at(ldx, g.c, g.ih, g.iw, n, c, oh * g.sh + i, ow * g.sw + j)] +=
              dy[at(ldy, g.c, g.oh, g.ow, n, c, oh, ow)];
        }
      }
  }
  return NNB_OK;
}

nnb_status dn_prep_maxpool2d_bwd_c(dn_step *s, const dn_graph_info *gi, const dn_step *fwd,
                                   nnb_error *e) {
  int64_t bdy = dn_loop_block(gi, s->n->in[0]);
  nnb_status r = bdy ? NNB_OK : dn_step_priv(s, nnb_nbytes(s->ti[0]), e);
  if (r != NNB_OK) return r;
  dn_c_kernel(s, pool_bwd);
  r = dn_loop_input(s, gi, 0, 0, &bdy, e);
  s->aux[0] = fwd->aux[0];
  s->aux[1] = bdy;
  s->aux[2] = out_block(s, gi, s->n->out[0], fwd->aux[0]);
  s->aux_p[2] = fwd->shared;
  return r;
}

bool dn_pool_c_ran(const dn_step *fwd) { return fwd->run == pool_fwd; }
