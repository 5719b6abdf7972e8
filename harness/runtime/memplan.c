/* The memory planner: persistent tensors (inputs, labels, parameters,
 * optimizer state, and any tensor no node produces) get their own bytes;
 * activations and gradients share one arena, placed by liveness so that two
 * tensors alive at the same node never overlap, as a real engine does. */
#include <stdlib.h>
#include <string.h>

#include <nnbench/runtime.h>

static uint64_t align_up(uint64_t v) { return (v + NNB_ALIGN - 1) / NNB_ALIGN * NNB_ALIGN; }

static int root_of(const nnb_graph *g, int t) {
  while (g->tensors[t].view_of >= 0) t = g->tensors[t].view_of;
  return t;
}

typedef struct placed {
  int t;
  uint64_t off, size;
} placed;

/* Sorts placement candidates largest first, then by definition order; the
 * key travels with the item because qsort has no context argument. */
static int by_size_desc(const void *pa, const void *pb) {
  const placed *a = pa, *b = pb;
  if (a->size != b->size) return a->size < b->size ? 1 : -1;
  if (a->off != b->off) return a->off < b->off ? -1 : 1; /* off holds first_use here */
  return a->t - b->t;
}

/* Whether node i is elementwise and reads the output of node i - 1: the
 * pair a backend may run as one kernel (a relu or a residual add as a
 * post-op of a matmul or convolution). */
static int fusable_with_previous(const nnb_graph *g, int i) {
  const nnb_node *n = &g->nodes[i], *prev = &g->nodes[i - 1];
  switch (n->op) {
  case NNB_OP_RELU:
  case NNB_OP_GELU:
  case NNB_OP_TANH:
  case NNB_OP_SIGMOID:
  case NNB_OP_ADD:
  case NNB_OP_MUL: break;
  default: return 0;
  }
  for (int j = 0; j < n->n_in; j++)
    for (int k = 0; k < prev->n_out; k++)
      if (n->in[j] == prev->out[k]) return 1;
  return 0;
}

void nnb_memplan_free(nnb_memplan *p) {
  free(p->region);
  free(p->offset);
  free(p->first_use);
  free(p->last_use);
  memset(p, 0, sizeof *p);
}

nnb_status nnb_memplan_build(const nnb_graph *g, uint64_t guard, nnb_memplan *p, nnb_error *e) {
  memset(p, 0, sizeof *p);
  p->guard_bytes = guard;
  int nt = g->n_tensors;
  p->n_tensors = nt;
  p->region = calloc((size_t)nt + 1, sizeof *p->region);
  p->offset = calloc((size_t)nt + 1, sizeof *p->offset);
  p->first_use = malloc(((size_t)nt + 1) * sizeof *p->first_use);
  p->last_use = malloc(((size_t)nt + 1) * sizeof *p->last_use);
  placed *order = malloc(((size_t)nt + 1) * sizeof *order);
  placed *done = malloc(((size_t)nt + 1) * sizeof *done);
  if (!p->region || !p->offset || !p->first_use || !p->last_use || !order || !done) {
    free(order);
    free(done);
    nnb_memplan_free(p);
    return nnb_fail(e, NNB_ERR_NOMEM, "memory planner: out of memory for %d tensors", nt);
  }
  for (int t = 0; t < nt; t++) p->first_use[t] = -1, p->last_use[t] = -1;
  for (int i = 0; i < g->n_nodes; i++) {
    const nnb_node *n = &g->nodes[i];
    for (int j = 0; j < n->n_out; j++) {
      p->first_use[n->out[j]] = i;
      if (p->last_use[n->out[j]] < i) p->last_use[n->out[j]] = i; /* written, even if never read */
    }
    for (int j = 0; j < n->n_in; j++) p->last_use[n->in[j]] = i;
  }
  for (int i = 0; i < g->n_outputs; i++) p->last_use[g->outputs[i]] = g->n_nodes;
  /* A fused kernel writes the last output of a chain of such nodes while
   * the chain head's inputs are still being read: those inputs stay live
   * to the chain's end, so no output of the chain takes their bytes. */
  for (int i = 1, head = 0; i < g->n_nodes; i++) {
    if (!fusable_with_previous(g, i)) {
      head = i;
      continue;
    }
    for (int k = head; k < i; k++)
      for (int j = 0; j < g->nodes[k].n_in; j++)
        if (p->last_use[g->nodes[k].in[j]] < i) p->last_use[g->nodes[k].in[j]] = i;
  }
  /* A view keeps its source's storage alive for as long as the view is used. */
  for (int t = 0; t < nt; t++) {
    int r = root_of(g, t);
    if (r != t && p->last_use[t] > p->last_use[r]) p->last_use[r] = p->last_use[t];
  }

  int n_arena = 0;
  for (int t = 0; t < nt; t++) {
    const nnb_tensor_desc *d = &g->tensors[t];
    if (d->view_of >= 0) continue;
    p->role_bytes[d->role] += nnb_nbytes(d);
    int transient =
        (d->role == NNB_ROLE_ACTIVATION || d->role == NNB_ROLE_GRADIENT) && p->first_use[t] >= 0;
    if (transient) {
      p->region[t] = NNB_REGION_ARENA;
      order[n_arena++] = (placed){t, (uint64_t)p->first_use[t], align_up(nnb_nbytes(d) + guard)};
      p->arena_unshared_bytes += align_up(nnb_nbytes(d) + guard);
    } else {
      p->region[t] = NNB_REGION_PERSISTENT;
      p->offset[t] = p->region_bytes[NNB_REGION_PERSISTENT];
      p->region_bytes[NNB_REGION_PERSISTENT] += align_up(nnb_nbytes(d) + guard);
    }
  }

  /* Greedy by size, largest first: each tensor takes the lowest offset that
   * overlaps no placed tensor whose lifetime overlaps its own. */
  qsort(order, (size_t)n_arena, sizeof *order, by_size_desc);
  int n_done = 0;
  uint64_t top = 0;
  for (int k = 0; k < n_arena; k++) {
    int t = order[k].t;
    uint64_t size = order[k].size, off = 0;
    for (int moved = 1; moved;) {
      moved = 0;
      for (int j = 0; j < n_done; j++) {
        const placed *q = &done[j];
        int live = p->first_use[t] <= p->last_use[q->t] && p->first_use[q->t] <= p->last_use[t];
        if (live && off < q->off + q->size && q->off < off + size) {
          off = q->off + q->size;
          moved = 1;
        }
      }
    }
    p->offset[t] = off;
    done[n_done++] = (placed){t, off, size};
    if (off + size > top) top = off + size;
  }
  p->region_bytes[NNB_REGION_ARENA] = top;

  for (int t = 0; t < nt; t++) {
    int r = root_of(g, t);
    if (r != t) {
      p->region[t] = p->region[r];
      p->offset[t] = p->offset[r];
    }
  }
  free(order);
  free(done);
  return NNB_OK;
}
