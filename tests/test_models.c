/* The reference models: sizes as MODELS.md, PyTorch's logits reproduced
 * from PyTorch-made checkpoints, full training graphs whose gradients match
 * finite differences, and training that lowers the loss. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "model.h"
#include "modelrun.h"
#include "safetensors.h"
#include "testutil.h"
#include "train.h"
#include "weights.h"

static const nnb_input_shape mnist = {1, 28, 28, 10};
static const char *const kinds[] = {"mlp", "cnn", "lstm", "transformer"};

static void build(const char *text, int batch, int loss, nnb_model *m) {
  nnb_model_spec s;
  nnb_error e;
  cr_assert_eq(nnb_model_parse(text, &s, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_model_build(&s, &mnist, batch, loss, m, &e), NNB_OK, "%s", e.msg);
}

Test(models, seed_parameter_counts_match_the_definitions) {
  const int64_t want[] = {101770, 93322, 214282, 71946}; /* transformer: PyTorch's count */
  for (int i = 0; i < 4; i++) {
    nnb_model m;
    build(kinds[i], 2, 0, &m);
    cr_expect_eq(nnb_model_param_count(&m), want[i], "%s has %lld parameters", kinds[i],
                 (long long)nnb_model_param_count(&m));
    nnb_model_free(&m);
  }
}

Test(models, large_presets_are_about_100x_the_flops) {
  for (int i = 0; i < 4; i++) {
    char large[32];
    snprintf(large, sizeof large, "%s:large", kinds[i]);
    nnb_model a, b;
    build(kinds[i], 1, 0, &a);
    build(large, 1, 0, &b);
    double ratio = nnb_model_flops_per_sample(&b) / nnb_model_flops_per_sample(&a);
    cr_expect(ratio > 80 && ratio < 125, "%s: large/seed FLOPs = %.1f", kinds[i], ratio);
    nnb_model_free(&a);
    nnb_model_free(&b);
  }
}

Test(models, spec_errors_name_the_key) {
  nnb_model_spec s;
  nnb_error e;
  cr_assert_eq(nnb_model_parse("transformer:d=256,layers=4,heads=8", &s, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(s.d, 256);
  cr_assert_eq(s.heads, 8);
  cr_assert_eq(s.ffn, 128, "unset keys keep the preset's value");
  cr_assert_eq(nnb_model_parse("transformer:depth=3", &s, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "depth") && strstr(e.msg, "heads"), "%s", e.msg);
  cr_assert_eq(nnb_model_parse("mlp:hidden=-4", &s, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "hidden"), "%s", e.msg);
  cr_assert_eq(nnb_model_parse("mlp:hidden=12x", &s, &e), NNB_ERR_INVALID);
  cr_assert_eq(nnb_model_parse("transformer:d=10,heads=3", &s, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "heads=3") && strstr(e.msg, "d=10"), "%s", e.msg);
  cr_assert_eq(nnb_model_parse("resnet", &s, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "resnet"), "%s", e.msg);
  cr_assert_eq(nnb_model_parse("cnn:huge", &s, &e), NNB_ERR_INVALID);
  cr_assert(strstr(e.msg, "huge"), "%s", e.msg);
}

/* Zero, negative, overflowing or missing values, and sizes that cannot fit
 * together, are refused with the key and its range. */
Test(models, spec_rejects_impossible_values) {
  static const char *const cases[][2] = {
      {"mlp:hidden=0", "hidden (hidden width) must be an integer in [1, 65536], got '0'"},
      {"mlp:layers=0", "layers (hidden layers) must be an integer in [1, 64], got '0'"},
      {"cnn:c1=0", "c1 (conv1 channels) must be an integer in [1, 4096], got '0'"},
      {"cnn:fc=99999999999999999999", "fc (fc1 width) must be an integer"},
      {"lstm:hidden=", "hidden (hidden size) must be an integer in [1, 16384], got ''"},
      {"lstm:hidden", "hidden (hidden size) must be an integer"},
      {"transformer:heads=0", "heads (attention heads) must be an integer in [1, 1024], got '0'"},
      {"transformer:d=0", "d (model width) must be an integer"},
      {"transformer:d=64,heads=128", "heads=128 must divide d=64"},
      {"transformer:d=256,heads=6", "heads=6 must divide d=256"},
      {"transformer:large,heads=5", "heads=5 must divide d=384"},
      {"lstm:preset=huge", "unknown preset 'huge' (expected seed or large)"},
      {"mlp:hidden=64,depth=2", "unknown key 'depth' (keys: hidden, layers)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    nnb_model_spec s;
    nnb_error e = {{0}};
    cr_expect_eq(nnb_model_parse(cases[i][0], &s, &e), NNB_ERR_INVALID, "%s", cases[i][0]);
    cr_expect(strstr(e.msg, cases[i][1]), "'%s': message '%s' does not say '%s'", cases[i][0],
              e.msg, cases[i][1]);
  }
}

/* A preset, then sizes that override it; the canonical text lists every size. */
Test(models, presets_combine_with_sizes) {
  nnb_model_spec s;
  nnb_error e;
  cr_assert_eq(nnb_model_parse("transformer:large,heads=8", &s, &e), NNB_OK, "%s", e.msg);
  cr_expect(s.d == 384 && s.layers == 4 && s.ffn == 1536 && s.heads == 8);
  cr_expect_str_eq(s.text, "transformer:d=384,layers=4,heads=8,ffn=1536");
  cr_assert_eq(nnb_model_parse("lstm:preset=large,hidden=256", &s, &e), NNB_OK, "%s", e.msg);
  cr_expect(s.hidden == 256 && s.layers == 2);
  cr_assert_eq(nnb_model_parse("mlp:seed", &s, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(s.text, "mlp:hidden=128,layers=1");
  nnb_model_spec again;
  cr_assert_eq(nnb_model_parse(s.text, &again, &e), NNB_OK, "the canonical text parses: %s", e.msg);
  cr_expect_str_eq(again.text, s.text);
}

Test(models, impossible_sizes_are_errors) {
  nnb_model_spec s;
  nnb_model m;
  nnb_error e;
  nnb_model_parse("transformer", &s, &e);
  nnb_input_shape rgb = {3, 32, 32, 10};
  cr_assert_neq(nnb_model_build(&s, &rgb, 2, 0, &m, &e), NNB_OK);
  cr_assert(strstr(e.msg, "transformer") && strstr(e.msg, "3x32x32"), "%s", e.msg);
  nnb_input_shape tiny = {1, 5, 5, 10};
  nnb_model_parse("cnn", &s, &e);
  cr_assert_neq(nnb_model_build(&s, &tiny, 2, 0, &m, &e), NNB_OK);
  cr_assert(strstr(e.msg, "cnn") && strstr(e.msg, "1x5x5"), "%s", e.msg);
}

Test(models, cnn_and_lstm_take_cifar_shaped_input) {
  nnb_model_spec s;
  nnb_model m;
  nnb_error e;
  nnb_input_shape rgb = {3, 32, 32, 10};
  nnb_model_parse("cnn", &s, &e);
  cr_assert_eq(nnb_model_build(&s, &rgb, 2, 1, &m, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(m.g.tensors[nnb_graph_find(&m.g, "fc1.weight")].dims[1], 64 * 4 * 4);
  nnb_model_free(&m);
  nnb_model_parse("lstm", &s, &e);
  cr_assert_eq(nnb_model_build(&s, &rgb, 2, 1, &m, &e), NNB_OK, "%s", e.msg);
  nnb_model_free(&m);
}

/* Each fixture holds a PyTorch state dict, `input` and PyTorch's `expected_logits`. */
Test(models, forward_reproduces_pytorch_logits, .timeout = 120) {
  nnb_backend ref;
  tu_open_reference(&ref);
  for (int i = 0; i < 4; i++) {
    double worst = mr_pytorch_logit_error(&ref, kinds[i]);
    cr_expect_lt(worst, 1e-4, "%s: max |logit - PyTorch's| = %.3g", kinds[i], worst);
  }
  nnb_backend_close(&ref);
  nnb_registry_unload();
}

/* The whole training graph (forward, loss, backward) of each model, at
 * small sizes so finite differences stay cheap. */
Test(models, full_graph_gradients_match_finite_differences, .timeout = 300) {
  const char *small[] = {"mlp:hidden=6", "cnn:c1=2,c2=3,c3=4,fc=5", "lstm:hidden=6",
                         "transformer:d=8,heads=2,ffn=12,layers=1"};
  nnb_backend ref;
  tu_open_reference(&ref);
  for (int i = 0; i < 4; i++) {
    nnb_model m;
    build(small[i], 2, 1, &m);
    char msg[512];
    double err = tu_gradient_error(&ref, &m.g, m.loss, 10, 100 + (uint64_t)i, 12, msg, sizeof msg);
    cr_expect(err >= 0 && err <= 2e-2, "%s: gradient error %.3g: %s", small[i], err, msg);
    nnb_model_free(&m);
  }
  nnb_backend_close(&ref);
  nnb_registry_unload();
}

/* 20 steps (batch 25) on the first 512 Fashion-MNIST training
 * samples, from PyTorch-default initialisation: the mean loss of the last
 * three steps is below that of the first three. */
static void twenty_steps_lower_the_loss(const char *kind, nnb_opt_config opt) {
  nnb_backend ref;
  tu_open_reference(&ref);
  nnb_dataset d;
  nnb_error e;
  cr_assert_eq(nnb_dataset_open("fashion-mnist", 0, 512, &d, &e), NNB_OK, "%s", e.msg);
  nnb_train_config c = {.epochs = 1, .batch = 25, .eval_batch = 64, .seed = 3};
  c.opt = opt;
  cr_assert_eq(nnb_model_parse(kind, &c.spec, &e), NNB_OK);
  nnb_model m;
  build(kind, c.batch, 0, &m);
  nnb_weights w;
  cr_assert_eq(nnb_weights_init(&m, c.seed, &w, &e), NNB_OK);
  char *buf = NULL;
  size_t len = 0;
  FILE *csv = open_memstream(&buf, &len);
  cr_assert_eq(nnb_train(&c, &ref, &d, NULL, &w, csv, NULL, NULL, &e), NNB_OK, "%s: %s", kind,
               e.msg);
  fclose(csv);
  double loss[32];
  int n = 0;
  for (char *line = strtok(buf, "\n"); line && n < 32; line = strtok(NULL, "\n")) {
    int ep;
    long long step, seen;
    double l;
    if (sscanf(line, "%d,%lld,%lld,%lf", &ep, &step, &seen, &l) == 4) loss[n++] = l;
  }
  cr_assert_eq(n, 20, "%s: 512 samples in batches of 25 are 20 steps, got %d", kind, n);
  double first = (loss[0] + loss[1] + loss[2]) / 3, last = (loss[17] + loss[18] + loss[19]) / 3;
  cr_expect_lt(last, first, "%s: loss went from %.4f to %.4f", kind, first, last);
  free(buf);
  nnb_weights_free(&w);
  nnb_model_free(&m);
  nnb_dataset_free(&d);
  nnb_backend_close(&ref);
  nnb_registry_unload();
}

static const nnb_opt_config adam = {NNB_OPT_ADAM, 1e-3f, 0, 0.9f, 0.999f, 1e-8f};

Test(models, mlp_twenty_steps_on_512_samples_lower_the_loss) {
  twenty_steps_lower_the_loss("mlp", adam);
}
Test(models, cnn_twenty_steps_on_512_samples_lower_the_loss, .timeout = 300) {
  twenty_steps_lower_the_loss("cnn", adam);
}
Test(models, lstm_twenty_steps_on_512_samples_lower_the_loss, .timeout = 300) {
  twenty_steps_lower_the_loss("lstm", adam);
}
Test(models, transformer_twenty_steps_on_512_samples_lower_the_loss, .timeout = 300) {
  twenty_steps_lower_the_loss("transformer", adam);
}

/* The other optimizer `nnbench train` offers: SGD with momentum. */
Test(models, mlp_twenty_sgd_momentum_steps_lower_the_loss) {
  nnb_opt_config sgd = {NNB_OPT_SGD, 0.05f, 0.9f, 0, 0, 0};
  twenty_steps_lower_the_loss("mlp", sgd);
}
