/* Weights packed once, used by every step until they change: a linear
 * layer's X W^T whose W no node of the graph writes (inference) runs on a
 * copy of W in the vector table's panel layout (ob_vec_pgemm.c), packed
 * on the first step and again only after W was written (an upload, or
 * another plan's node: the buffer's watch). OpenBLAS packs W on every
 * call: at 256 rows against a 2816 x 2816 weight that was about 11% of
 * its time, and its kernel ran below the panel kernel's speed on Zen 3
 * (one core: 79 against 90 GFLOP/s, medians of 7). */
#include <omp.h>
#include <stdlib.h>

#include "ob.h"

#define MIN_ROWS 8           /* fewer: SGEMV or OpenBLAS, packing barely pays */
#define MIN_BYTES (64 << 10) /* smaller weights: OpenBLAS's packing costs little */
/* Rows of A per pass over the panels. Panels that fit in L3 are cheap to
 * pass over again: A's block stays in L2 (the transformer's 8192 x 384
 * against 1536 x 384, one Zen 3 core: 75 GFLOP/s in blocks of 96 rows, 30
 * in one pass). Panels from memory are passed over once, or few times:
 * A's block in L3 (256 x 2816 against 2816 x 2816: 83 GFLOP/s in one
 * pass, 44 in blocks of 96 rows). Medians of 5-9. */
#define PANELS_IN_L3 (8 << 20)
#define A_BLOCK_L2 (256 << 10)
#define A_BLOCK_L3 (4 << 20)

bool ob_prepack_on(const ob_env *env) { return ob_own_gemm(env, env->prepack); }

int ob_node_writes(const nnb_node *n, int *out) {
  int k = 0;
  for (int j = 0; j < n->n_out; j++) out[k++] = n->out[j];
  if (n->op == NNB_OP_SGD_MOMENTUM || n->op == NNB_OP_ADAM) /* in place (docs/ops.md) */
    for (int j = 0; j < n->n_in; j++) out[k++] = n->in[j];
  return k;
}

bool ob_prepack_wanted(const ob_env *env, const nnb_graph *g, const nnb_binding *bind, int node) {
  const nnb_node *n = &g->nodes[node];
  if (n->op != NNB_OP_MATMUL || n->attr.matmul.trans_a || !n->attr.matmul.trans_b ||
      !ob_prepack_on(env))
    return false;
  const nnb_tensor_desc *a = &g->tensors[n->in[0]], *w = &g->tensors[n->in[1]];
  if (w->rank != 2 || nnb_nbytes(w) < MIN_BYTES || w->dims[1] < 1 ||
      nnb_numel(a) / w->dims[1] < MIN_ROWS)
    return false;
  for (int i = 0; i < g->n_nodes; i++) { /* a weight this graph writes changes every step */
    int wr[NNB_MAX_IN + NNB_MAX_OUT];
    for (int j = ob_node_writes(&g->nodes[i], wr) - 1; j >= 0; j--)
      if (nnb_host_overlaps(g, bind, wr[j], n->in[1])) return false;
  }
  return true;
}

nnb_status ob_prepack_create(ob_step *s, const nnb_graph *g, const nnb_binding *bind,
                             const void *owner, nnb_memory_stats *mem, nnb_error *e) {
  const nnb_tensor_desc *w = &g->tensors[s->n->in[1]];
  int64_t n = w->dims[0], k = w->dims[1];
  ob_prepack *pp = calloc(1, sizeof *pp);
  if (pp) pp->bytes = (size_t)((n + OB_PANEL - 1) / OB_PANEL * OB_PANEL * k) * sizeof(float);
  if (pp) pp->panels = aligned_alloc(64, (pp->bytes + 63) / 64 * 64);
  if (!pp || !pp->panels) {
    free(pp);
    return nnb_fail(e, NNB_ERR_NOMEM, "openblas: cannot allocate %llu bytes for the packed '%s'",
                    (unsigned long long)((size_t)(n * k) * sizeof(float)), w->name);
  }
  pp->buf = bind[s->n->in[1]].buffer;
  nnb_host_watch_add(pp->buf, &pp->watch, bind[s->n->in[1]].offset, nnb_nbytes(w), owner);
  nnb_host_count_alloc(mem, pp->bytes);
  s->pp = pp;
  return NNB_OK;
}

void ob_prepack_free(ob_prepack *pp, nnb_memory_stats *mem) {
  if (!pp) return;
  nnb_host_watch_remove(pp->buf, &pp->watch);
  mem->current_bytes -= pp->bytes;
  free(pp->panels);
  free(pp);
}

void ob_prepack_gemm(const ob_step *s, int64_t m, int64_t n, int64_t k, const float *a,
                     const float *w, float *c, const ob_epilogue *ep) {
  ob_prepack *pp = s->pp;
  const ob_vec *v = s->env->vec;
  int64_t panels = (n + OB_PANEL - 1) / OB_PANEL;
  int64_t mb =
      (pp->bytes <= PANELS_IN_L3 ? A_BLOCK_L2 : A_BLOCK_L3) / ((int64_t)sizeof(float) * k) / 6 * 6;
  if (mb < 6) mb = 6;
  int nt = ob_threads_for(s->env, panels, (double)m * (double)n * (double)k / 4);
  bool pack = pp->watch.changed;
  /* Each thread packs the panels it multiplies by: no barrier. */
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), nth = omp_get_num_threads();
    int64_t j0 = panels * t / nth * OB_PANEL, j1 = panels * (t + 1) / nth * OB_PANEL;
    if (j1 > n) j1 = n;
    float *bp = pp->panels + j0 * k;
    if (j0 < j1 && pack) v->pack_panels(j1 - j0, k, w + j0 * k, k, 1, bp, k);
    for (int64_t i0 = 0; j0 < j1 && i0 < m; i0 += mb) {
      int64_t i1 = m - i0 < mb ? m : i0 + mb;
      v->gemm_packed(i1 - i0, j1 - j0, k, a + i0 * k, k, bp, c + i0 * n + j0, n, false);
      ob_epilogue_apply(ep, c, n, i0, i1, j0, j1);
    }
  }
  pp->watch.changed = false;
}
