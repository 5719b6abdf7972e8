/* attention and attention_bwd (docs/ops.md) through GEMMs, one (sequence,
 * head) pair per thread at a time; small pairs (every side at most
 * OB_GEMM_SMALL_MAX) by the vector table's direct kernel. q, k, v are read
 * in place from the packed qkv [B,T,3D] (leading dimension 3D), the scores
 * are written straight into probs [B,heads,T,T] and softmaxed there,
 * max-subtracted.
 *
 * Per pair:  S = scale q k^T,  P = softmax(S) (keys s > t masked when causal),
 *            y = P v;
 * backward:  dP = dy v^T,  dS = P (dP - rowsum(P dP)),
 *            dq = scale dS k,  dk = scale dS^T q,  dv = P^T dy. */
#include <math.h>
#include <omp.h>

#include "ob.h"

typedef struct adims {
  int64_t b, t, d, heads, dh;
} adims;

static adims dims_of(const nnb_node *n, const nnb_tensor_desc *qkv) {
  adims a = {qkv->dims[0], qkv->dims[1], qkv->dims[2] / 3, n->attr.attention.heads, 0};
  a.dh = a.d / a.heads;
  return a;
}

/* One product of a pair: the vector table's direct kernel when every side
 * is small (OpenBLAS's zeroing and packing would cost about as much as the
 * product), else OpenBLAS. */
static void pair_gemm(const ob_env *env, bool ta, bool tb, int64_t m, int64_t n, int64_t k,
                      float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
                      float *c, int64_t ldc) {
  if (m <= OB_GEMM_SMALL_MAX && n <= OB_GEMM_SMALL_MAX && k <= OB_GEMM_SMALL_MAX)
    env->vec->gemm_small(ta, tb, m, n, k, alpha, a, lda, b, ldb, c, ldc);
  else
    ob_sgemm(env, ta, tb, m, n, k, alpha, a, lda, b, ldb, 0.0f, c, ldc);
}

static int pair_threads(const ob_env *env, const adims *a) {
  double flops = 4.0 * (double)(a->t * a->t * a->dh);
  return ob_threads_for(env, a->b * a->heads, flops * (double)(a->b * a->heads) / 8.0);
}

nnb_status ob_attention(const ob_step *s, nnb_error *e) {
  adims a = dims_of(s->n, s->ti[0]);
  const int64_t T = a.t, D = a.d, dh = a.dh, NH = a.heads;
  const int causal = s->n->attr.attention.causal;
  const float scale = (float)(1.0 / sqrt((double)dh));
  const float *qkv = s->in[0];
  float *y = s->out[0], *probs = s->out[1];
  const ob_env *env = s->env;
  int nt = pair_threads(env, &a);
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (int64_t pair = 0; pair < a.b * NH; pair++) {
    int64_t b = pair / NH, j = pair % NH;
    const float *q = qkv + b * T * 3 * D + j * dh, *k = q + D, *v = q + 2 * D;
    float *p = probs + pair * T * T;
    pair_gemm(env, false, true, T, T, dh, scale, q, 3 * D, k, 3 * D, p, T);
    env->vec->softmax(T, T, p, p, causal); /* masked keys: probability 0 */
    pair_gemm(env, false, false, T, dh, T, 1.0f, p, T, v, 3 * D, y + b * T * D + j * dh, D);
  }
  return NNB_OK;
}

/* Workspace: per thread one T x T matrix (dP, then dS in place). */
size_t ob_attention_bwd_ws(const ob_step *s) {
  adims a = dims_of(s->n, s->ti[1]);
  return (size_t)s->env->threads * ob_round16((size_t)(a.t * a.t));
}

nnb_status ob_attention_bwd(const ob_step *s, nnb_error *e) {
  adims a = dims_of(s->n, s->ti[1]);
  const int64_t T = a.t, D = a.d, dh = a.dh, NH = a.heads;
  const float scale = (float)(1.0 / sqrt((double)dh));
  const float *dy = s->in[0], *qkv = s->in[1], *probs = s->in[2];
  float *dqkv = s->out[0];
  const ob_env *env = s->env;
  int nt = pair_threads(env, &a);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    float *ds = ob_ws_slice(s, 0, (size_t)(T * T), omp_get_thread_num());
#pragma omp for schedule(static)
    for (int64_t pair = 0; pair < a.b * NH; pair++) {
      int64_t b = pair / NH, j = pair % NH;
      const float *q = qkv + b * T * 3 * D + j * dh, *k = q + D, *v = q + 2 * D;
      const float *p = probs + pair * T * T, *dyp = dy + b * T * D + j * dh;
      float *dq = dqkv + b * T * 3 * D + j * dh, *dk = dq + D, *dv = dq + 2 * D;
      pair_gemm(env, false, true, T, T, dh, 1.0f, dyp, D, v, 3 * D, ds, T);
      env->vec->softmax_bwd(T, T, ds, p, ds);
      pair_gemm(env, false, false, T, dh, T, scale, ds, T, k, 3 * D, dq, 3 * D);
      pair_gemm(env, true, false, T, dh, T, scale, ds, T, q, 3 * D, dk, 3 * D);
      pair_gemm(env, true, false, T, dh, T, 1.0f, p, T, dyp, D, dv, 3 * D);
    }
  }
  return NNB_OK;
}
