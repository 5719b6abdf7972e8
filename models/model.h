/* The reference models (mlp, cnn, lstm, transformer) as graphs, with
 * PyTorch's parameter names, shapes and layouts, so a PyTorch state dict
 * saved as safetensors loads unchanged. */
#ifndef NNB_MODEL_H
#define NNB_MODEL_H

#include <nnbench/nnbench.h>

typedef enum nnb_model_kind {
  NNB_MODEL_MLP = 0,
  NNB_MODEL_CNN,
  NNB_MODEL_LSTM,
  NNB_MODEL_TRANSFORMER,
  NNB_MODEL_COUNT
} nnb_model_kind;

/* A model and its size parameters; which are used depends on the kind. */
typedef struct nnb_model_spec {
  nnb_model_kind kind;
  char preset[16];
  int hidden, layers; /* mlp: hidden width and count; lstm: hidden size and layers */
  int c1, c2, c3, fc; /* cnn: conv channels and fc1 width */
  int d, heads, ffn;  /* transformer (also uses layers) */
  char text[160];     /* canonical form, e.g. "transformer:d=64,layers=2,heads=4,ffn=128" */
} nnb_model_spec;

const char *nnb_model_kind_name(nnb_model_kind k);
/* "mlp", "cnn:large", "transformer:d=256,layers=4,heads=8",
 * "lstm:preset=large,hidden=256". Unknown keys, bad numbers and impossible
 * sizes are errors naming the key. */
nnb_status nnb_model_parse(const char *text, nnb_model_spec *out, nnb_error *e);
/* The spec of a preset ("seed" or "large"). */
nnb_status nnb_model_preset(nnb_model_kind k, const char *preset, nnb_model_spec *out,
                            nnb_error *e);

typedef struct nnb_input_shape {
  int c, h, w, classes;
} nnb_input_shape;

/* How a parameter starts (PyTorch's defaults). */
typedef enum nnb_init_kind {
  NNB_INIT_UNIFORM = 0, /* U(-a, a) */
  NNB_INIT_CONST        /* every element a */
} nnb_init_kind;

typedef struct nnb_param_init {
  int tensor;
  nnb_init_kind kind;
  float a;
} nnb_param_init;

typedef struct nnb_model {
  nnb_model_spec spec;
  nnb_input_shape input;
  nnb_graph g;
  int batch;
  int x, labels, logits, loss; /* labels and loss are -1 without a loss */
  int n_params;
  nnb_param_init *params; /* in creation order */
} nnb_model;

/* Builds the forward graph for a batch; with_loss adds labels and the mean
 * softmax cross-entropy. */
nnb_status nnb_model_build(const nnb_model_spec *s, const nnb_input_shape *in, int batch,
                           int with_loss, nnb_model *out, nnb_error *e);
void nnb_model_free(nnb_model *m);
int64_t nnb_model_param_count(const nnb_model *m);
/* Forward FLOPs of one sample (from the graph's formulas). */
double nnb_model_flops_per_sample(const nnb_model *m);

/* Fills `dst` (the tensor's element count) with the parameter's initial
 * values; the same seed gives the same values for the same parameter name. */
void nnb_model_init_param(const nnb_model *m, int k, uint64_t seed, float *dst);
/* Initialises every parameter of a session built on m.g. */
nnb_status nnb_model_init_session(const nnb_model *m, nnb_session *s, uint64_t seed, nnb_error *e);

#endif
