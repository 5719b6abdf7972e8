/* nnbench eval: test-set accuracy and loss of one checkpoint on each
 * backend, with top-1 agreement and the largest logit difference against
 * the reference. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evaluate.h"
#include "options.h"

#define MAX_EVAL_BACKENDS 16

static const char about[] =
    "Evaluates the checkpoint FILE (safetensors with PyTorch's parameter names, as\n"
    "written by 'nnbench train' or by PyTorch) on the test set, on each backend:\n"
    "accuracy, mean cross-entropy loss, top-1 agreement with the reference and the\n"
    "largest |logit difference| from it. The reference always runs as the oracle.";

typedef struct row {
  char name[32];
  nnb_eval_result r;
} row;

int cmd_eval(int argc, char **argv) {
  const char *model = NULL, *weights = NULL, *backend, *dataset;
  int batch, limit, threads, json = 0;
  cli_kv backend_opts;
  cli_option opts[] = {
      {"--model", "M", CLI_STR, &model, NULL, "the model (required)"},
      {"--weights", "FILE", CLI_STR, &weights, NULL, "the checkpoint (required)"},
      {"--backend", "B|all", CLI_STR, &backend, "all", "one backend or every available one"},
      CLI_BACKEND_OPT(&backend_opts),
      {"--dataset", "SPEC", CLI_STR, &dataset, "fashion-mnist",
       "fashion-mnist, mnist:DIR, cifar10:DIR, synthetic:..."},
      {"--batch", "N", CLI_POS_INT, &batch, "256", "inference batch"},
      {"--limit", "N", CLI_INT, &limit, "0", "only the first N test samples, 0 for all"},
      {"--threads", "N", CLI_INT, &threads, "0", "backend threads, 0 for its own default"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print the results as JSON"},
  };
  cli_spec cli = CLI_SPEC("eval", about, opts);
  int rc = cli_parse(&cli, argc, argv);
  if (rc >= 0) return rc;
  if (!model || !weights) return cli_usage_error("eval", "--model and --weights are required");
  nnb_error e = {{0}};
  nnb_model_spec spec;
  if (nnb_model_parse(model, &spec, &e) != NNB_OK) return cli_usage_error("eval", "%s", e.msg);

  nnb_dataset d = {0};
  nnb_weights w = {0};
  nnb_model probe;
  int have_probe = 0;
  row *rows = calloc(MAX_EVAL_BACKENDS, sizeof *rows);
  int n = 0;
  nnb_status st = nnb_dataset_open(dataset, 1, (int64_t)limit, &d, &e);
  nnb_input_shape in = {d.c, d.h, d.w, d.classes};
  if (st == NNB_OK && (st = nnb_model_build(&spec, &in, 1, 0, &probe, &e)) == NNB_OK)
    have_probe = 1;
  if (st == NNB_OK) st = nnb_weights_load(&probe, weights, 1, &w, &e);
  if (st == NNB_OK) st = nnb_registry_load(&e);
  /* the reference first: every other row is compared with it */
  for (int i = -1; st == NNB_OK && i < nnb_registry_count() && n < MAX_EVAL_BACKENDS; i++) {
    const nnb_plugin *p = i < 0 ? nnb_registry_find("reference") : nnb_registry_get(i);
    if (!p || (i >= 0 && !strcmp(p->name, "reference"))) continue;
    if (i >= 0 && strcmp(backend, "all") && strcmp(backend, p->name)) continue;
    if (!p->available) {
      if (i < 0 || strcmp(backend, "all"))
        st = nnb_fail(&e, NNB_ERR_UNAVAILABLE, "backend %s is unavailable: %s", p->name, p->reason);
      else
        fprintf(stderr, "skipping %s: %s\n", p->name, p->reason);
      continue;
    }
    nnb_backend b;
    /* the reference, the oracle, runs as it is */
    nnb_backend_config cfg = {.threads = (int)threads, .options = i < 0 ? NULL : backend_opts.text};
    if ((st = nnb_backend_open(p->name, &cfg, &b, &e)) != NNB_OK) {
      if (i < 0 || strcmp(backend, "all") || st != NNB_ERR_UNAVAILABLE) break;
      fprintf(stderr, "skipping %s: %s\n", p->name, p->available ? e.msg : p->reason);
      st = NNB_OK;
      continue;
    }
    fprintf(stderr, "evaluating %s on %s (%lld samples)\n", spec.text, p->name, (long long)d.n);
    snprintf(rows[n].name, sizeof rows[n].name, "%s", p->name);
    st = nnb_evaluate(&spec, &b, &w, &d, (int)batch, &rows[n].r, &e);
    nnb_backend_close(&b);
    if (st == NNB_OK) n++;
  }
  if (st == NNB_OK && strcmp(backend, "all") && n < 2 && strcmp(backend, "reference"))
    st = nnb_fail(&e, NNB_ERR_INVALID, "no backend named '%s' (see 'nnbench list backends')",
                  backend);
  if (st == NNB_OK) {
    cJSON *doc = json ? cJSON_CreateObject() : NULL, *arr = NULL;
    if (json) {
      cJSON_AddStringToObject(doc, "model", spec.text);
      cJSON_AddStringToObject(doc, "weights", weights);
      cJSON_AddStringToObject(doc, "dataset", d.name);
      char crc[16];
      snprintf(crc, sizeof crc, "%08x", (unsigned)d.checksum);
      cJSON_AddStringToObject(doc, "dataset_crc32", crc);
      cJSON_AddNumberToObject(doc, "samples", (double)d.n);
      arr = cJSON_AddArrayToObject(doc, "backends");
    } else {
      printf("%-12s %9s %10s %10s %14s\n", "backend", "accuracy", "mean_loss", "agreement",
             "max|dlogit|");
    }
    for (int i = 0; i < n; i++) {
      double agree, diff;
      nnb_eval_compare(&rows[i].r, &rows[0].r, &agree, &diff);
      if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", rows[i].name);
        cJSON_AddNumberToObject(o, "accuracy", rows[i].r.accuracy);
        cJSON_AddNumberToObject(o, "mean_loss", rows[i].r.mean_loss);
        cJSON_AddNumberToObject(o, "agreement_with_reference", agree);
        cJSON_AddNumberToObject(o, "max_abs_logit_diff", diff);
        cJSON_AddItemToArray(arr, o);
      } else {
        printf("%-12s %9.4f %10.4f %10.4f %14.3g\n", rows[i].name, rows[i].r.accuracy,
               rows[i].r.mean_loss, agree, diff);
      }
    }
    if (json) cli_print_json(doc);
  } else {
    fprintf(stderr, "nnbench eval: %s\n", e.msg);
  }
  for (int i = 0; i < n; i++) nnb_eval_result_free(&rows[i].r);
  free(rows);
  nnb_weights_free(&w);
  if (have_probe) nnb_model_free(&probe);
  nnb_dataset_free(&d);
  nnb_registry_unload();
  return st == NNB_OK ? 0 : 1;
}
