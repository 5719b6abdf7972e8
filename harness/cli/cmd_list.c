/* nnbench list [backends|ops]: what this nnbench can run, and for every
 * backend that cannot be used, why. */
#include <cjson/cJSON.h>
#include <string.h>

#include <nnbench/nnbench.h>

#include "cli.h"
#include "dataset.h"
#include "model.h"
#include "options.h"
#include "peer.h"

static const char about[] =
    "  backends  every plugin and peer (a framework measured outside the process,\n"
    "            docs/peers.md) found or expected, available or not, with the\n"
    "            reason when not and the device it drives when it is\n"
    "  models    the reference models and their presets\n"
    "  datasets  the datasets nnbench reads\n"
    "  ops       the ops of the graph IR (semantics: docs/ops.md)\n"
    "Without a kind, lists backends.";

static const char *op_kind(nnb_op op) {
  if (nnb_op_is_update(op)) return "update";
  return op >= NNB_OP_CONV2D_BWD_DATA ? "backward" : "forward";
}

/* Peers after plugins: each answers a describe request (no framework is
 * loaded for it, so this stays quick). */
static void list_peers(cJSON *arr) {
  nnb_peer_info peers[16];
  int n = nnb_peer_list(peers, 16);
  for (int i = 0; i < n; i++) {
    const nnb_peer_info *p = &peers[i];
    if (arr) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", p->name);
      cJSON_AddStringToObject(o, "kind", "peer");
      cJSON_AddBoolToObject(o, "available", p->available);
      cJSON_AddStringToObject(o, "path", p->path);
      cJSON_AddStringToObject(o, "reason", p->available ? "" : p->reason);
      cJSON_AddStringToObject(o, "device", p->device);
      cJSON_AddStringToObject(o, "library", p->library);
      cJSON_AddItemToArray(arr, o);
    } else if (p->available) {
      printf("%-12s %-7s %-12s %s; %s\n", p->name, "peer", "available", p->device, p->library);
    } else {
      printf("%-12s %-7s %-12s %s\n", p->name, "peer", "unavailable", p->reason);
    }
  }
}

/* Opens each available plugin once, so the list shows the device it found
 * or the reason init failed (no Vulkan device, say). */
static int list_backends(int json) {
  nnb_error e = {{0}};
  if (nnb_registry_load(&e) != NNB_OK) {
    fprintf(stderr, "nnbench list: %s\n", e.msg);
    return 1;
  }
  cJSON *arr = json ? cJSON_CreateArray() : NULL;
  if (!json) printf("%-12s %-7s %-12s %s\n", "backend", "kind", "status", "device / reason");
  for (int i = 0; i < nnb_registry_count(); i++) {
    const nnb_plugin *p = nnb_registry_get(i);
    nnb_backend_info info = {0};
    char reason[1100];
    snprintf(reason, sizeof reason, "%s", p->reason);
    int ok = p->available;
    if (ok) {
      nnb_backend b;
      nnb_backend_config cfg = {0};
      if (nnb_backend_open(p->name, &cfg, &b, &e) != NNB_OK) {
        ok = 0; /* a plugin found crashing or hanging in init says so in its reason */
        snprintf(reason, sizeof reason, "%s", p->available ? e.msg : p->reason);
      } else {
        if (nnb_backend_describe(&b, &info, &e) != NNB_OK)
          snprintf(info.device, sizeof info.device, "?");
        nnb_backend_close(&b);
      }
    }
    if (json) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", p->name);
      cJSON_AddStringToObject(o, "kind", "plugin");
      cJSON_AddBoolToObject(o, "available", ok);
      cJSON_AddStringToObject(o, "path", p->path);
      cJSON_AddStringToObject(o, "reason", ok ? "" : reason);
      cJSON_AddStringToObject(o, "device", info.device);
      cJSON_AddStringToObject(o, "library", info.library);
      cJSON *props = cJSON_AddObjectToObject(o, "properties");
      for (int k = 0; k < info.n_props; k++)
        cJSON_AddStringToObject(props, info.props[k].key, info.props[k].value);
      cJSON_AddItemToArray(arr, o);
    } else if (ok) {
      printf("%-12s %-7s %-12s %s; %s\n", p->name, "plugin", "available", info.device,
             info.library);
    } else {
      printf("%-12s %-7s %-12s %s\n", p->name, "plugin", "unavailable", reason);
    }
  }
  nnb_registry_unload();
  list_peers(arr);
  if (json) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "backends", arr);
    return cli_print_json(doc);
  }
  return 0;
}

static int list_ops(int json) {
  cJSON *arr = json ? cJSON_CreateArray() : NULL;
  for (int op = 0; op < NNB_OP_COUNT; op++) {
    if (json) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", nnb_op_name((nnb_op)op));
      cJSON_AddStringToObject(o, "kind", op_kind((nnb_op)op));
      cJSON_AddItemToArray(arr, o);
    } else {
      printf("%-18s %s\n", nnb_op_name((nnb_op)op), op_kind((nnb_op)op));
    }
  }
  if (json) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "ops", arr);
    return cli_print_json(doc);
  }
  return 0;
}

/* Each model's presets on the default 1x28x28 input: size and work. */
static int list_models(int json) {
  cJSON *arr = json ? cJSON_CreateArray() : NULL;
  if (!json)
    printf("%-12s %-7s %12s %16s  %s\n", "model", "preset", "parameters", "MFLOP/sample", "spec");
  nnb_input_shape in = {1, 28, 28, 10};
  for (int k = 0; k < NNB_MODEL_COUNT; k++)
    for (int p = 0; p < 2; p++) {
      nnb_model_spec s;
      nnb_model m;
      nnb_error e;
      if (nnb_model_preset((nnb_model_kind)k, p ? "large" : "seed", &s, &e) != NNB_OK ||
          nnb_model_build(&s, &in, 1, 0, &m, &e) != NNB_OK) {
        fprintf(stderr, "nnbench list: %s\n", e.msg);
        cJSON_Delete(arr);
        return 1;
      }
      double mflop = nnb_model_flops_per_sample(&m) / 1e6;
      if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", nnb_model_kind_name((nnb_model_kind)k));
        cJSON_AddStringToObject(o, "preset", s.preset);
        cJSON_AddStringToObject(o, "spec", s.text);
        cJSON_AddNumberToObject(o, "parameters", (double)nnb_model_param_count(&m));
        cJSON_AddNumberToObject(o, "mflop_per_sample", mflop);
        cJSON_AddItemToArray(arr, o);
      } else {
        printf("%-12s %-7s %12lld %16.2f  %s\n", nnb_model_kind_name((nnb_model_kind)k), s.preset,
               (long long)nnb_model_param_count(&m), mflop, s.text);
      }
      nnb_model_free(&m);
    }
  if (json) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "models", arr);
    return cli_print_json(doc);
  }
  return 0;
}

static int list_datasets(int json) {
  const char *names[16], *docs[16];
  int n = nnb_dataset_list(names, docs, 16);
  cJSON *arr = json ? cJSON_CreateArray() : NULL;
  for (int i = 0; i < n; i++) {
    if (json) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", names[i]);
      cJSON_AddStringToObject(o, "description", docs[i]);
      cJSON_AddItemToArray(arr, o);
    } else {
      printf("%-16s %s\n", names[i], docs[i]);
    }
  }
  if (json) {
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddItemToObject(doc, "datasets", arr);
    return cli_print_json(doc);
  }
  return 0;
}

int cmd_list(int argc, char **argv) {
  const char *kind;
  int json = 0;
  cli_option opts[] = {
      {"[backends|models|datasets|ops]", NULL, CLI_STR, &kind, "backends", "what to list"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print the same as JSON (docs/cli.md)"},
  };
  cli_spec spec = CLI_SPEC("list", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  if (!strcmp(kind, "backends")) return list_backends(json);
  if (!strcmp(kind, "ops")) return list_ops(json);
  if (!strcmp(kind, "models")) return list_models(json);
  if (!strcmp(kind, "datasets")) return list_datasets(json);
  return cli_usage_error("list", "unknown kind '%s': expected backends, models, datasets or ops",
                         kind);
}
