/* The GEMM driver (tile choice, split-K) and the GEMM-shaped ops on it:
 * matmul, and convolution forward and backward as implicit GEMMs whose
 * loaders gather the image patches (gemm.comp). */
#include "vk.h"

#define BK 16
/* K iterations of one invocation before the GEMM is split (lavapipe's loop
 * limit, and the point where more workgroups help a GPU more). */
#define MAX_K_STEPS 4096

static uint32_t tile_of(vk_shader s) {
  return s == VK_SH_GEMM_S ? 32 : s == VK_SH_GEMM_M ? 64 : 128;
}

static vk_shader pick_tile(const nnb_backend_ctx *c, const vk_gemm *g) {
  if (c->tile >= 0) return (vk_shader)c->tile;
  uint64_t mn = (uint64_t)g->m * g->n * g->batch;
  if (g->m <= 8 || g->n <= 8) return VK_SH_GEMM_V; /* a 32x32 tile would idle */
  if (g->m >= 128 && g->n >= 128 && mn >= 64ull * 128 * 128) return VK_SH_GEMM_L;
  if (g->m >= 64 && g->n >= 64 && mn >= 16ull * 64 * 64) return VK_SH_GEMM_M;
  return VK_SH_GEMM_S;
}

static uint32_t cdiv(uint64_t a, uint64_t b) { return (uint32_t)((a + b - 1) / b); }

nnb_status vk_gemm_run(vk_rec *r, vk_gemm gm, vk_arg a, vk_arg b, vk_arg c, const vk_arg *bias,
                       nnb_error *e) {
  vk_shader sh = pick_tile(r->c, &gm);
  uint32_t t = tile_of(sh), tiles = cdiv(gm.m, t) * cdiv(gm.n, t) * gm.batch;
  uint32_t step = sh == VK_SH_GEMM_V ? 1 : BK; /* K per loop iteration */
  if (sh == VK_SH_GEMM_V) tiles = cdiv((uint64_t)gm.m * gm.n * gm.batch, 256);
  /* Split K into parts written to the workspace and summed after: when one
   * invocation's K loop would be too long, or the output has too few tiles
   * to occupy the device. Only for one contiguous, overwritten C. */
  bool can_split = gm.batch == 1 && !(gm.flags & VK_ACCUMULATE) && gm.c_off == 0 && gm.c_sm == gm.n;
  uint32_t parts = 1;
  if (can_split) {
    if (r->c->split_k > 1)
      parts = (uint32_t)r->c->split_k;
    else if (r->c->split_k < 0) {
      parts = cdiv(gm.k, (uint64_t)step * MAX_K_STEPS);
      if (parts == 0) parts = 1;
      if (tiles < 16 && gm.k >= 4096 && parts < 16 / tiles) parts = 16 / tiles;
    }
  }
  gm.kchunk = cdiv(cdiv(gm.k, parts), BK) * BK;
  if (gm.kchunk == 0) gm.kchunk = BK;
  parts = cdiv(gm.k ? gm.k : 1, gm.kchunk);
  if (gm.kchunk / step > VK_LOOP_BUDGET)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED,
                    "a GEMM with K=%u in one pass exceeds the per-invocation loop budget (%d "
                    "steps of %d)",
                    gm.k, VK_LOOP_BUDGET, BK);
  vk_arg out = c;
  if (parts > 1) {
    out = vk_ws(r, (uint64_t)parts * gm.m * gm.n * 4);
    gm.flags |= VK_SPLIT_K;
    gm.c_off = 0, gm.c_s1 = gm.m * gm.n, gm.c_sm = gm.n;
  }
  uint32_t g[3] = {cdiv(gm.n, t), cdiv(gm.m, t), parts > 1 ? parts : gm.batch};
  if (sh == VK_SH_GEMM_V)
    vk_grid((uint64_t)gm.m * gm.n, 256, g), g[2] = parts > 1 ? parts : gm.batch;
  vk_arg args[4] = {a, b, out, bias ? *bias : out};
  /* the push constants are vk_gemm from m on, less batch */
  struct {
    uint32_t m, n, k, mode, flags, nb2;
    uint32_t a_off, a_s1, a_s2, a_sm, a_sk, b_off, b_s1, b_s2, b_sk, b_sn, c_off, c_s1, c_s2, c_sm;
    uint32_t kchunk;
    float alpha;
    uint32_t cv_c, cv_hw, cv_ohw, cv_k, cv_pad;
  } pc = {gm.m,      gm.n,    gm.k,      gm.mode,  gm.flags, gm.nb2 ? gm.nb2 : 1,
          gm.a_off,  gm.a_s1, gm.a_s2,   gm.a_sm,  gm.a_sk,  gm.b_off,
          gm.b_s1,   gm.b_s2, gm.b_sk,   gm.b_sn,  gm.c_off, gm.c_s1,
          gm.c_s2,   gm.c_sm, gm.kchunk, gm.alpha, gm.cv_c,  gm.cv_hw,
          gm.cv_ohw, gm.cv_k, gm.cv_pad};
  nnb_status s = vk_dispatch(r, sh, args, bias ? 4 : 3, 4u, &pc, sizeof pc, g, e);
  if (s != NNB_OK || parts == 1) return s;
  const int64_t d[4] = {1, 1, parts, (int64_t)gm.m * gm.n};
  return vk_reduce_run(r, out, c, d, 4u, 1.0f, e);
}

static const nnb_tensor_desc *T(const vk_rec *r, int t) { return &r->g->tensors[t]; }

nnb_status vk_lower_matmul(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *a = T(r, n->in[0]), *b = T(r, n->in[1]), *c = T(r, n->out[0]);
  int ta = n->attr.matmul.trans_a, tb = n->attr.matmul.trans_b;
  uint32_t M = (uint32_t)c->dims[c->rank - 2], N = (uint32_t)c->dims[c->rank - 1];
  uint32_t K = (uint32_t)(ta ? a->dims[a->rank - 2] : a->dims[a->rank - 1]);
  vk_gemm gm = {.m = M,
                .n = N,
                .k = K,
                .batch = (uint32_t)(nnb_numel(c) / ((int64_t)M * N)),
                .mode = VK_GEMM_MM,
                .flags = n->n_in > 2 ? VK_BIAS_COL : 0,
                .nb2 = 1,
                .a_s1 = M * K,
                .a_sm = ta ? 1 : K,
                .a_sk = ta ? M : 1,
                .b_s1 = b->rank == 2 ? 0 : K * N,
                .b_sk = tb ? 1 : N,
                .b_sn = tb ? K : 1,
                .c_s1 = M * N,
                .c_sm = N,
                .alpha = 1.0f};
  vk_arg bias = n->n_in > 2 ? vk_tensor(r, n->in[2]) : (vk_arg){0};
  return vk_gemm_run(r, gm, vk_tensor(r, n->in[0]), vk_tensor(r, n->in[1]), vk_tensor(r, n->out[0]),
                     n->n_in > 2 ? &bias : NULL, e);
}

/* The convolution geometry, packed as gemm.comp reads it. */
static nnb_status conv_geometry(const nnb_node *n, int64_t C, int64_t H, int64_t W, int64_t OH,
                                int64_t OW, vk_gemm *gm, nnb_error *e) {
  const struct nnb_conv_attr *a = &n->attr.conv;
  if (H > 0xffff || W > 0xffff || OH > 0xffff || OW > 0xffff || a->kernel_h > 0xff ||
      a->kernel_w > 0xff || a->stride_h > 0xff || a->stride_w > 0xff || a->pad_h > 0xffff ||
      a->pad_w > 0xffff)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED,
                    "node '%s': images up to 65535 pixels a side, kernels and strides up to 255",
                    n->name);
  gm->cv_c = (uint32_t)C;
  gm->cv_hw = (uint32_t)H | (uint32_t)W << 16;
  gm->cv_ohw = (uint32_t)OH | (uint32_t)OW << 16;
  gm->cv_k = (uint32_t)a->kernel_h | (uint32_t)a->kernel_w << 8 | (uint32_t)a->stride_h << 16 |
             (uint32_t)a->stride_w << 24;
  gm->cv_pad = (uint32_t)a->pad_h | (uint32_t)a->pad_w << 16;
  gm->nb2 = 1;
  gm->alpha = 1.0f;
  return NNB_OK;
}

nnb_status vk_lower_conv2d(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *x = T(r, n->in[0]), *w = T(r, n->in[1]), *y = T(r, n->out[0]);
  vk_gemm gm = {0};
  nnb_node nn = *n;
  nn.attr.conv.kernel_h = (int)w->dims[2], nn.attr.conv.kernel_w = (int)w->dims[3];
  nnb_status s =
      conv_geometry(&nn, x->dims[1], x->dims[2], x->dims[3], y->dims[2], y->dims[3], &gm, e);
  if (s != NNB_OK) return s;
  uint32_t P = (uint32_t)(y->dims[2] * y->dims[3]),
           CKK = (uint32_t)(w->dims[1] * w->dims[2] * w->dims[3]);
  gm.m = (uint32_t)w->dims[0], gm.n = P, gm.k = CKK, gm.batch = (uint32_t)x->dims[0];
  gm.mode = VK_GEMM_CONV_FWD;
  gm.flags = n->n_in > 2 ? VK_BIAS_ROW : 0;
  gm.a_sm = CKK, gm.a_sk = 1;
  gm.b_s1 = (uint32_t)(x->dims[1] * x->dims[2] * x->dims[3]);
  gm.c_s1 = gm.m * P, gm.c_sm = P;
  vk_arg bias = n->n_in > 2 ? vk_tensor(r, n->in[2]) : (vk_arg){0};
  return vk_gemm_run(r, gm, vk_tensor(r, n->in[1]), vk_tensor(r, n->in[0]), vk_tensor(r, n->out[0]),
                     n->n_in > 2 ? &bias : NULL, e);
}

nnb_status vk_lower_conv2d_bwd_data(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *dy = T(r, n->in[0]), *w = T(r, n->in[1]), *dx = T(r, n->out[0]);
  vk_gemm gm = {0};
  nnb_status s =
      conv_geometry(n, dx->dims[1], dx->dims[2], dx->dims[3], dy->dims[2], dy->dims[3], &gm, e);
  if (s != NNB_OK) return s;
  uint32_t HW = (uint32_t)(dx->dims[2] * dx->dims[3]);
  gm.m = (uint32_t)dx->dims[1], gm.n = HW;
  gm.k = (uint32_t)(w->dims[0] * w->dims[2] * w->dims[3]);
  gm.batch = (uint32_t)dx->dims[0];
  gm.mode = VK_GEMM_CONV_BWD_DATA;
  gm.b_s1 = (uint32_t)(dy->dims[1] * dy->dims[2] * dy->dims[3]);
  gm.c_s1 = gm.m * HW, gm.c_sm = HW;
  return vk_gemm_run(r, gm, vk_tensor(r, n->in[1]), vk_tensor(r, n->in[0]), vk_tensor(r, n->out[0]),
                     NULL, e);
}

nnb_status vk_lower_conv2d_bwd_weight(vk_rec *r, const nnb_node *n, nnb_error *e) {
  const nnb_tensor_desc *dy = T(r, n->in[0]), *x = T(r, n->in[1]), *dw = T(r, n->out[0]);
  vk_gemm gm = {0};
  nnb_status s =
      conv_geometry(n, x->dims[1], x->dims[2], x->dims[3], dy->dims[2], dy->dims[3], &gm, e);
  if (s != NNB_OK) return s;
  uint32_t P = (uint32_t)(dy->dims[2] * dy->dims[3]);
  gm.m = (uint32_t)dw->dims[0], gm.n = (uint32_t)(dw->dims[1] * dw->dims[2] * dw->dims[3]);
  gm.k = (uint32_t)dy->dims[0] * P, gm.batch = 1;
  gm.mode = VK_GEMM_CONV_BWD_WEIGHT;
  gm.c_sm = gm.n;
  s = vk_gemm_run(r, gm, vk_tensor(r, n->in[0]), vk_tensor(r, n->in[1]), vk_tensor(r, n->out[0]),
                  NULL, e);
  if (s != NNB_OK || n->n_out < 2) return s;
  const int64_t d[4] = {1, dy->dims[0], dy->dims[1], P}; /* dbias: sum over N and pixels */
  return vk_reduce_run(r, vk_tensor(r, n->in[0]), vk_tensor(r, n->out[1]), d, 2u | 8u, 1.0f, e);
}
