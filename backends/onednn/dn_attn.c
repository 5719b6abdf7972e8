/* attention and its backward: every head's products are batched matmuls
 * over strided views of the packed qkv (no copies), the 1/sqrt(dh) scale an
 * output scale. The softmax is oneDNN's without a mask; with the causal
 * mask (a masked binary post-op would fall back to the reference kernel) it
 * is an OpenMP C loop that also writes the masked zeros. */
#include <math.h>

#include "dn.h"

typedef struct attn_dims {
  int64_t B, T, D, NH, dh;
} attn_dims;

static attn_dims dims_of(const dn_step *s, const nnb_tensor_desc *qkv) {
  attn_dims d = {qkv->dims[0], qkv->dims[1], qkv->dims[2] / 3, s->n->attr.attention.heads, 0};
  d.dh = d.D / d.NH;
  return d;
}

/* Head j's columns [off + j*dh, off + (j+1)*dh) of a [B, T, width] tensor. */
static dn_mat cols(float *p, const attn_dims *d, int64_t width, int64_t off, bool trans) {
  dn_mat m = {p + off, width, 1, {d->T * width, d->dh}};
  if (trans) m.rs = 1, m.cs = width;
  return m;
}

/* A [B, NH, T, T] tensor, per head a T x T matrix. */
static dn_mat square(float *p, const attn_dims *d, bool trans) {
  dn_mat m = {p, d->T, 1, {d->NH * d->T * d->T, d->T * d->T}};
  if (trans) m.rs = 1, m.cs = d->T;
  return m;
}

static nnb_status attention(dn_step *s, nnb_error *e) {
  attn_dims d = dims_of(s, s->ti[0]);
  const int64_t T = d.T, rows = d.B * d.NH * T;
  nnb_status st = dn_exec_run(s->env, &s->prims[0], e); /* scores into probs */
  if (st != NNB_OK) return st;
  float *probs = s->out[1];
#pragma omp parallel for if (rows * T >= 16384)
  for (int64_t r = 0; r < rows; r++) {
    float *p = probs + r * T;
    int64_t n = r % T + 1; /* causal: keys s <= t */
    float mx = p[0], sum = 0.0f;
    for (int64_t k = 1; k < n; k++) mx = p[k] > mx ? p[k] : mx;
    for (int64_t k = 0; k < n; k++) sum += (p[k] = expf(p[k] - mx));
    float inv = 1.0f / sum;
    for (int64_t k = 0; k < n; k++) p[k] *= inv;
    for (int64_t k = n; k < T; k++) p[k] = 0.0f;
  }
  return dn_exec_run(s->env, &s->prims[1], e);
}

nnb_status dn_prep_attention(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  attn_dims d = dims_of(s, s->ti[0]);
  const int64_t bd[2] = {d.B, d.NH}, W = 3 * d.D;
  float *qkv = s->in[0], *probs = s->out[1];
  float scale = 1.0f / sqrtf((float)d.dh);
  /* scores = scale q k^T */
  nnb_status r =
      dn_add_gemm(s, 2, bd, d.T, d.T, d.dh, cols(qkv, &d, W, 0, false), cols(qkv, &d, W, d.D, true),
                  square(probs, &d, false), NULL, false, scale, e);
  if (r != NNB_OK) return r;
  if (!s->n->attr.attention.causal) {
    int64_t md_dims[2] = {d.B * d.NH * d.T, d.T};
    dnnl_memory_desc_t md;
    dn_md_plain(&md, 2, md_dims);
    dnnl_softmax_v2_desc_t sd;
    dnnl_status_t st = dnnl_softmax_v2_forward_desc_init(&sd, dnnl_forward_inference,
                                                         dnnl_softmax_accurate, &md, &md, 1);
    r = st == dnnl_success ? dn_add_prim(s, &sd, NULL, NULL, NULL, e)
                           : dn_check(st, "describing a softmax", s->n, e);
    if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_SRC, &md, probs, e);
    if (r == NNB_OK) r = dn_bind(s, DNNL_ARG_DST, &md, probs, e);
  }
  /* y = probs v */
  if (r == NNB_OK)
    r = dn_add_gemm(s, 2, bd, d.T, d.dh, d.T, square(probs, &d, false),
                    cols(qkv, &d, W, 2 * d.D, false), cols(s->out[0], &d, d.D, 0, false), NULL,
                    false, 1.0f, e);
  if (r == NNB_OK && s->n->attr.attention.causal) s->run = attention;
  return r;
}

/* dS = P * (dP - sum(P * dP)) per row, in place over dP. */
static nnb_status attention_bwd(dn_step *s, nnb_error *e) {
  attn_dims d = dims_of(s, s->ti[1]);
  const int64_t T = d.T, rows = d.B * d.NH * T;
  nnb_status st = dn_exec_run(s->env, &s->prims[0], e);        /* dP */
  if (st == NNB_OK) st = dn_exec_run(s->env, &s->prims[1], e); /* dv */
  if (st != NNB_OK) return st;
  const float *probs = s->in[2];
  float *ds = s->priv;
#pragma omp parallel for if (rows * T >= 16384)
  for (int64_t r = 0; r < rows; r++) {
    const float *p = probs + r * T;
    float *g = ds + r * T, dot = 0.0f;
    for (int64_t k = 0; k < T; k++) dot += p[k] * g[k];
    for (int64_t k = 0; k < T; k++) g[k] = p[k] * (g[k] - dot);
  }
  for (int i = 2; st == NNB_OK && i < s->n_prims; i++) st = dn_exec_run(s->env, &s->prims[i], e);
  return st;
}

nnb_status dn_prep_attention_bwd(dn_step *s, const dn_graph_info *gi, int node, nnb_error *e) {
  attn_dims d = dims_of(s, s->ti[1]);
  const int64_t bd[2] = {d.B, d.NH}, W = 3 * d.D;
  nnb_status r = dn_step_priv(s, (size_t)(d.B * d.NH * d.T * d.T) * sizeof(float), e);
  if (r != NNB_OK) return r;
  float *dy = s->in[0], *qkv = s->in[1], *probs = s->in[2], *dqkv = s->out[0], *ds = s->priv;
  float scale = 1.0f / sqrtf((float)d.dh);
  /* dP = dy v^T */
  r = dn_add_gemm(s, 2, bd, d.T, d.T, d.dh, cols(dy, &d, d.D, 0, false),
                  cols(qkv, &d, W, 2 * d.D, true), square(ds, &d, false), NULL, false, 1.0f, e);
  /* dv = P^T dy */
  if (r == NNB_OK)
    r = dn_add_gemm(s, 2, bd, d.T, d.dh, d.T, square(probs, &d, true), cols(dy, &d, d.D, 0, false),
                    cols(dqkv, &d, W, 2 * d.D, false), NULL, false, 1.0f, e);
  /* dq = scale dS k; dk = scale dS^T q */
  if (r == NNB_OK)
    r = dn_add_gemm(s, 2, bd, d.T, d.dh, d.T, square(ds, &d, false), cols(qkv, &d, W, d.D, false),
                    cols(dqkv, &d, W, 0, false), NULL, false, scale, e);
  if (r == NNB_OK)
    r = dn_add_gemm(s, 2, bd, d.T, d.dh, d.T, square(ds, &d, true), cols(qkv, &d, W, 0, false),
                    cols(dqkv, &d, W, d.D, false), NULL, false, scale, e);
  s->run = attention_bwd;
  return r;
}
