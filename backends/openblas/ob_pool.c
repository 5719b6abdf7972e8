/* Max pooling (no padding, floor) and its backward, one plane (n, c) per
 * thread at a time. The maximum is the first one in row-major order, found
 * with the same comparisons as the reference (so NaN behaves the same).
 * 2x2 windows at stride 2 run the vector table's kernels (ob_vec_move.c). */
#include <string.h>

#include "ob.h"

typedef struct pgeom {
  int64_t planes, h, w, oh, ow;
  int kh, kw, sh, sw;
} pgeom;

static pgeom pool_geom(const nnb_node *n, const nnb_tensor_desc *x, const nnb_tensor_desc *y) {
  const struct nnb_pool_attr *p = &n->attr.pool;
  return (pgeom){x->dims[0] * x->dims[1],
                 x->dims[2],
                 x->dims[3],
                 y->dims[2],
                 y->dims[3],
                 p->kernel_h,
                 p->kernel_w,
                 p->stride_h,
                 p->stride_w};
}

/* Index (within the plane) of the first maximum of window (i, j). */
static inline int64_t argmax(const pgeom *g, const float *x, int64_t i, int64_t j) {
  int64_t best = i * g->sh * g->w + j * g->sw;
  float bv = x[best];
  for (int u = 0; u < g->kh; u++)
    for (int v = 0; v < g->kw; v++) {
      int64_t k = (i * g->sh + u) * g->w + j * g->sw + v;
      if (x[k] > bv) best = k, bv = x[k];
    }
  return best;
}

nnb_status ob_maxpool2d(const ob_step *s, nnb_error *e) {
  pgeom g = pool_geom(s->n, s->ti[0], s->to[0]);
  const float *x = s->in[0];
  float *y = s->out[0];
  int nt = ob_threads_for(s->env, g.planes, (double)(g.planes * g.h * g.w));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t pl = 0; pl < g.planes; pl++) {
    const float *xp = x + pl * g.h * g.w;
    float *yp = y + pl * g.oh * g.ow;
    if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2) { /* the models' pooling */
      s->env->vec->pool2(g.h, g.w, xp, yp);
    } else {
      for (int64_t i = 0; i < g.oh; i++)
        for (int64_t j = 0; j < g.ow; j++) yp[i * g.ow + j] = xp[argmax(&g, xp, i, j)];
    }
  }
  return NNB_OK;
}

nnb_status ob_maxpool2d_bwd(const ob_step *s, nnb_error *e) {
  pgeom g = pool_geom(s->n, s->ti[1], s->ti[0]);
  const float *dy = s->in[0], *x = s->in[1];
  bool mask = s->fuse == OB_FUSE_RELU_BWD;
  float *dx = mask ? s->relu_out : s->out[0];
  bool pool2 = g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2;
  int nt = ob_threads_for(s->env, g.planes, (double)(g.planes * g.h * g.w));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t pl = 0; pl < g.planes; pl++) {
    const float *xp = x + pl * g.h * g.w, *dyp = dy + pl * g.oh * g.ow;
    float *dxp = dx + pl * g.h * g.w;
    if (pool2) {
      s->env->vec->pool2_bwd(g.h, g.w, xp, dyp, dxp, mask); /* the models' pooling */
      continue;
    }
    memset(dxp, 0, (size_t)(g.h * g.w) * sizeof *dxp);
    for (int64_t i = 0; i < g.oh; i++)
      for (int64_t j = 0; j < g.ow; j++) dxp[argmax(&g, xp, i, j)] += dyp[i * g.ow + j];
    for (int64_t k = 0; mask && k < g.h * g.w; k++) dxp[k] *= xp[k] > 0.0f ? 1.0f : 0.0f;
  }
  return NNB_OK;
}
