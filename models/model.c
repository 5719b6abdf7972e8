/* Building a model: the input, the body (one file per model), the loss;
 * parameter bookkeeping and PyTorch-default initialisation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builder.h"
#include "rng.h"

int mb_param(nnb_model *m, const char *name, int rank, const int64_t *dims, nnb_init_kind k,
             float a) {
  int t = nnb_tensor(&m->g, name, NNB_ROLE_PARAM, NNB_F32, rank, dims);
  if (t < 0) return -1;
  nnb_param_init *p = realloc(m->params, (size_t)(m->n_params + 1) * sizeof *p);
  if (!p) return -1;
  m->params = p;
  m->params[m->n_params++] = (nnb_param_init){t, k, a};
  return t;
}

int64_t mb_width(const nnb_model *m, int t) {
  return t >= 0 ? m->g.tensors[t].dims[m->g.tensors[t].rank - 1] : 0;
}

int mb_linear(nnb_model *m, int x, const char *prefix, int64_t in, int64_t out) {
  char w[NNB_NAME_LEN], b[NNB_NAME_LEN];
  snprintf(w, sizeof w, "%s.weight", prefix);
  snprintf(b, sizeof b, "%s.bias", prefix);
  float bound = 1.0f / sqrtf((float)in);
  int wt = mb_param(m, w, 2, (int64_t[]){out, in}, NNB_INIT_UNIFORM, bound);
  int bt = mb_param(m, b, 1, (int64_t[]){out}, NNB_INIT_UNIFORM, bound);
  return nnb_linear(&m->g, x, wt, bt, prefix);
}

int mb_conv(nnb_model *m, int x, const char *prefix, int64_t cin, int64_t cout, int k) {
  char w[NNB_NAME_LEN], b[NNB_NAME_LEN];
  snprintf(w, sizeof w, "%s.weight", prefix);
  snprintf(b, sizeof b, "%s.bias", prefix);
  float bound = 1.0f / sqrtf((float)(cin * k * k));
  int wt = mb_param(m, w, 4, (int64_t[]){cout, cin, k, k}, NNB_INIT_UNIFORM, bound);
  int bt = mb_param(m, b, 1, (int64_t[]){cout}, NNB_INIT_UNIFORM, bound);
  return nnb_conv2d(&m->g, x, wt, bt, 1, 0, prefix);
}

void nnb_model_free(nnb_model *m) {
  nnb_graph_free(&m->g);
  free(m->params);
  memset(m, 0, sizeof *m);
}

nnb_status nnb_model_build(const nnb_model_spec *s, const nnb_input_shape *in, int batch,
                           int with_loss, nnb_model *m, nnb_error *e) {
  memset(m, 0, sizeof *m);
  m->spec = *s;
  m->input = *in;
  m->batch = batch;
  m->labels = m->loss = -1;
  nnb_graph_init(&m->g);
  if (batch < 1) return nnb_fail(e, NNB_ERR_INVALID, "batch size %d must be >= 1", batch);
  m->x =
      nnb_tensor(&m->g, "x", NNB_ROLE_INPUT, NNB_F32, 4, (int64_t[]){batch, in->c, in->h, in->w});
  nnb_status st;
  switch (s->kind) {
  case NNB_MODEL_MLP: st = mb_mlp(m, e); break;
  case NNB_MODEL_CNN: st = mb_cnn(m, e); break;
  case NNB_MODEL_LSTM: st = mb_lstm(m, e); break;
  case NNB_MODEL_TRANSFORMER: st = mb_transformer(m, e); break;
  default: st = nnb_fail(e, NNB_ERR_INVALID, "unknown model kind %d", (int)s->kind);
  }
  if (st == NNB_OK && with_loss) {
    m->labels = nnb_tensor(&m->g, "labels", NNB_ROLE_LABEL, NNB_I32, 1, (int64_t[]){batch});
    m->loss = nnb_softmax_ce(&m->g, m->logits, m->labels, "loss");
  }
  if (st == NNB_OK && nnb_graph_status(&m->g, e) != NNB_OK) {
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    st = nnb_fail(e, m->g.status, "model %s on %dx%dx%d input: %.900s", s->text, in->c, in->h,
                  in->w, msg);
  }
  if (st == NNB_OK) {
    nnb_graph_mark_output(&m->g, m->logits);
    if (m->loss >= 0) nnb_graph_mark_output(&m->g, m->loss);
  } else {
    nnb_model_free(m);
  }
  return st;
}

int64_t nnb_model_param_count(const nnb_model *m) {
  int64_t n = 0;
  for (int i = 0; i < m->n_params; i++) n += nnb_numel(&m->g.tensors[m->params[i].tensor]);
  return n;
}

double nnb_model_flops_per_sample(const nnb_model *m) {
  double f = 0;
  for (int i = 0; i < m->g.n_nodes; i++)
    if (m->g.nodes[i].op != NNB_OP_SOFTMAX_CE) f += nnb_node_flops(&m->g, &m->g.nodes[i]);
  return f / m->batch;
}

/* FNV-1a of the name: a parameter's values depend on the seed and its name
 * only, not on the order the model happened to create it in. */
static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

void nnb_model_init_param(const nnb_model *m, int k, uint64_t seed, float *dst) {
  const nnb_param_init *p = &m->params[k];
  const nnb_tensor_desc *d = &m->g.tensors[p->tensor];
  int64_t n = nnb_numel(d);
  if (p->kind == NNB_INIT_CONST) {
    for (int64_t i = 0; i < n; i++) dst[i] = p->a;
    return;
  }
  nnb_rng r;
  nnb_rng_seed(&r, seed ^ name_hash(d->name));
  nnb_rng_fill(&r, dst, (size_t)n, -p->a, p->a);
}

nnb_status nnb_model_init_session(const nnb_model *m, nnb_session *s, uint64_t seed, nnb_error *e) {
  for (int k = 0; k < m->n_params; k++) {
    const nnb_tensor_desc *d = &m->g.tensors[m->params[k].tensor];
    float *v = malloc(nnb_nbytes(d));
    if (!v) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory initialising '%s'", d->name);
    nnb_model_init_param(m, k, seed, v);
    nnb_status st = nnb_session_upload(s, m->params[k].tensor, v, e);
    free(v);
    if (st != NNB_OK) return st;
  }
  return NNB_OK;
}
