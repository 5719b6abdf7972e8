/* nnbench check: every op of every available backend against the reference,
 * on seeded random cases; on the reference, gradients against finite
 * differences. Exits 1 on any FAIL. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nnbench/nnbench.h>

#include "check.h"
#include "cli.h"
#include "options.h"

/* The seed the published check results were made with. */
#define DEFAULT_SEED "20261124"
#define MAX_BACKENDS 16

static const char about[] =
    "Runs each op on several seeded random shapes (odd sizes included) on each\n"
    "backend and compares it with the reference: PASS when the normalised mean\n"
    "squared error stays under the op's threshold, FAIL otherwise, UNSUPPORTED when\n"
    "the backend reports it cannot run the op (never counted as a pass). Every\n"
    "output tensor is followed by a guard zone that must stay untouched.\n"
    "On the reference itself, each op's derived backward is compared with central\n"
    "finite differences. The cell shows the worst relative error measured; failures\n"
    "print their case seed.\n\n"
    "Exit status: 0 all checked ops pass, 1 a FAIL or an error, 2 bad usage.";

static int parse_ops(const char *list, char *want) {
  char *copy = strdup(list), *save = NULL;
  int bad = 0;
  for (char *tok = strtok_r(copy, ",", &save); tok && !bad; tok = strtok_r(NULL, ",", &save)) {
    nnb_op op = nnb_op_from_name(tok);
    if (op == NNB_OP_COUNT) {
      cli_usage_error("check", "unknown op '%s' (see 'nnbench list ops')", tok);
      bad = 1;
    } else {
      want[op] = 1;
    }
  }
  free(copy);
  return bad ? -1 : 0;
}

typedef struct column {
  const char *name;
  nnb_backend be;
  nnb_check_result res[NNB_OP_COUNT];
} column;

static void print_table(column *cols, int n_cols, const char *want, uint64_t seed) {
  printf("%-18s", "op");
  for (int c = 0; c < n_cols; c++) printf("  %-20s", cols[c].name);
  printf("\n");
  for (int op = 0; op < NNB_OP_COUNT; op++) {
    if (!want[op]) continue;
    printf("%-18s", nnb_op_name((nnb_op)op));
    for (int c = 0; c < n_cols; c++) {
      const nnb_check_result *r = &cols[c].res[op];
      char cell[32];
      if (r->verdict == NNB_PASS || r->verdict == NNB_FAIL)
        snprintf(cell, sizeof cell, "%-4s %.1e", nnb_verdict_name(r->verdict), r->max_rel_err);
      else
        snprintf(cell, sizeof cell, "%s", nnb_verdict_name(r->verdict));
      printf("  %-20s", cell);
    }
    printf("\n");
  }
  int shown = 0;
  for (int c = 0; c < n_cols; c++)
    for (int op = 0; op < NNB_OP_COUNT; op++) {
      const nnb_check_result *r = &cols[c].res[op];
      if (!want[op] || r->verdict != NNB_FAIL) continue;
      if (!shown++) printf("\nfailures (replay one with the command shown):\n");
      printf("  %s %s: %s\n    nnbench check --backend %s --op %s --seed %llu\n", cols[c].name,
             nnb_op_name((nnb_op)op), r->detail, cols[c].name, nnb_op_name((nnb_op)op),
             (unsigned long long)seed);
    }
}

static cJSON *to_json(column *cols, int n_cols, const char *want, uint64_t seed, int fails) {
  cJSON *doc = cJSON_CreateObject();
  cJSON_AddNumberToObject(doc, "seed", (double)seed);
  cJSON_AddNumberToObject(doc, "failures", fails);
  cJSON *arr = cJSON_AddArrayToObject(doc, "backends");
  for (int c = 0; c < n_cols; c++) {
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", cols[c].name);
    cJSON_AddStringToObject(
        b, "method", strcmp(cols[c].name, "reference") ? "vs_reference" : "finite_differences");
    cJSON *ops = cJSON_AddArrayToObject(b, "ops");
    for (int op = 0; op < NNB_OP_COUNT; op++) {
      if (!want[op]) continue;
      const nnb_check_result *r = &cols[c].res[op];
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "op", nnb_op_name((nnb_op)op));
      cJSON_AddStringToObject(o, "verdict",
                              r->verdict == NNB_NOT_CHECKED ? "NOT_CHECKED"
                                                            : nnb_verdict_name(r->verdict));
      cJSON_AddNumberToObject(o, "cases", r->cases);
      cJSON_AddNumberToObject(o, "max_rel_err", r->max_rel_err);
      cJSON_AddNumberToObject(o, "nmse", r->nmse);
      cJSON_AddNumberToObject(o, "threshold", r->threshold);
      cJSON_AddNumberToObject(o, "case_seed", (double)r->seed);
      cJSON_AddStringToObject(o, "detail", r->detail);
      cJSON_AddItemToArray(ops, o);
    }
    cJSON_AddItemToArray(arr, b);
  }
  return doc;
}

int cmd_check(int argc, char **argv) {
  const char *backend, *ops = NULL;
  unsigned long long seed;
  int json = 0;
  cli_kv backend_opts;
  cli_option opts[] = {
      {"--backend", "NAME|all", CLI_STR, &backend, "all", "a backend, or every available one"},
      CLI_BACKEND_OPT(&backend_opts),
      {"--op", "NAME[,NAME...]", CLI_STR, &ops, NULL, "only these ops (see 'nnbench list ops')"},
      {"--seed", "N", CLI_U64, &seed, DEFAULT_SEED, "base seed"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print the results as JSON (docs/cli.md)"},
  };
  cli_spec spec = CLI_SPEC("check", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  char want[NNB_OP_COUNT];
  memset(want, ops ? 0 : 1, sizeof want);
  if (ops && parse_ops(ops, want)) return 2;

  nnb_error e = {{0}};
  if (nnb_registry_load(&e) != NNB_OK) {
    fprintf(stderr, "nnbench check: %s\n", e.msg);
    return 1;
  }
  nnb_backend ref;
  nnb_backend_config cfg = {0}, checked = {.options = backend_opts.text};
  if (nnb_backend_open("reference", &cfg, &ref, &e) != NNB_OK) {
    fprintf(stderr, "nnbench check: the reference backend is needed as the oracle: %s\n", e.msg);
    return 1;
  }
  column *cols = calloc(MAX_BACKENDS, sizeof *cols);
  int n_cols = 0, status = 0;
  for (int i = 0; i < nnb_registry_count() && n_cols < MAX_BACKENDS; i++) {
    const nnb_plugin *p = nnb_registry_get(i);
    if (strcmp(backend, "all") && strcmp(backend, p->name)) continue;
    if (!p->available) {
      if (strcmp(backend, "all")) {
        fprintf(stderr, "nnbench check: backend %s is unavailable: %s\n", p->name, p->reason);
        status = 1;
      } else {
        fprintf(stderr, "skipping %s: %s\n", p->name, p->reason);
      }
      continue;
    }
    column *c = &cols[n_cols];
    c->name = p->name;
    if (!strcmp(p->name, "reference")) {
      c->be = ref;
    } else if (nnb_backend_open(p->name, &checked, &c->be, &e) != NNB_OK) {
      fprintf(stderr, "skipping %s: %s\n", p->name, e.msg);
      if (strcmp(backend, "all")) status = 1;
      continue;
    }
    n_cols++;
  }
  if (!n_cols && !status) {
    fprintf(stderr, "nnbench check: no backend named '%s' (see 'nnbench list backends')\n",
            backend);
    status = 1;
  }
  int fails = 0, tty = isatty(STDERR_FILENO);
  for (int c = 0; c < n_cols; c++) {
    int is_ref = !strcmp(cols[c].name, "reference");
    for (int op = 0; op < NNB_OP_COUNT; op++) {
      if (!want[op]) continue;
      if (tty) fprintf(stderr, "\r\033[Kchecking %s: %s", cols[c].name, nnb_op_name((nnb_op)op));
      if (is_ref)
        nnb_check_gradient(&ref, (nnb_op)op, seed, &cols[c].res[op]);
      else
        nnb_check_op(&ref, &cols[c].be, (nnb_op)op, seed, &cols[c].res[op]);
      fails += cols[c].res[op].verdict == NNB_FAIL;
    }
  }
  if (tty) fprintf(stderr, "\r\033[K");
  if (n_cols) {
    if (json)
      status |= cli_print_json(to_json(cols, n_cols, want, seed, fails));
    else
      print_table(cols, n_cols, want, seed);
  }
  if (fails) status = 1;
  for (int c = 0; c < n_cols; c++)
    if (strcmp(cols[c].name, "reference")) nnb_backend_close(&cols[c].be);
  nnb_backend_close(&ref);
  free(cols);
  nnb_registry_unload();
  return status;
}
