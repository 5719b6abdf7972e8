/* nnbench compare A B: per matching case, the ratio of median times with
 * its bootstrap CI and a Mann-Whitney U test (Holm-corrected across the
 * grid); a verdict per case and a geometric-mean summary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "compare_stats.h"
#include "fields.h"
#include "options.h"
#include "plot.h"
#include "results.h"

#define RESAMPLES 2000

static const char about[] =
    "A and B are results folders (or results.json files); A is the baseline. Cases are\n"
    "matched by model spec, backend and its options, mode, batch and threads. For each\n"
    "match: the ratio of median step times B/A with its bootstrap 95% CI, and the\n"
    "Mann-Whitney U p-value, Holm-corrected over all matches. A case is slower\n"
    "(faster) only when the corrected p < 0.05, the ratio's CI excludes 1, and the\n"
    "change exceeds the threshold: the larger of --threshold and the noise seen in\n"
    "either run (its coefficient of variation). Cases present on one side only are\n"
    "listed. Exit status 1 with --fail-on-regression when any case is slower.";

static const char *str(cJSON *o, const char *k) {
  cJSON *v = cJSON_GetObjectItem(o, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}
static double num(cJSON *o, const char *k) {
  cJSON *v = cJSON_GetObjectItem(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* A case's identity: model spec, contender (backend and its options), mode,
 * batch and threads. */
static void key_of(cJSON *c, char *buf, size_t len) {
  char contender[320];
  nnb_case_contender(c, contender, sizeof contender);
  snprintf(buf, len, "%s %s %s b%.0f t%.0f", *str(c, "spec") ? str(c, "spec") : str(c, "model"),
           contender, str(c, "mode"), num(c, "batch"), num(c, "threads"));
}

static int ok_case(cJSON *c) {
  return !strcmp(str(c, "status"), "ok") &&
         cJSON_GetArraySize(cJSON_GetObjectItem(c, "samples_s")) > 0;
}

static double *samples(cJSON *c, int *n) {
  cJSON *arr = cJSON_GetObjectItem(c, "samples_s");
  *n = cJSON_GetArraySize(arr);
  double *v = malloc((size_t)(*n ? *n : 1) * sizeof *v);
  int i = 0;
  cJSON *x;
  cJSON_ArrayForEach(x, arr) v[i++] = x->valuedouble;
  return v;
}

static cJSON *find(cJSON *doc, const char *key) {
  cJSON *c;
  char k[512];
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    key_of(c, k, sizeof k);
    if (!strcmp(k, key)) return c;
  }
  return NULL;
}

int cmd_compare(int argc, char **argv) {
  const char *pa = NULL, *pb = NULL, *plot_dir = NULL;
  double threshold;
  int fail_on_reg = 0, json = 0;
  cli_option opts[] = {
      {"A", NULL, CLI_STR, &pa, NULL, "the baseline"},
      {"B", NULL, CLI_STR, &pb, NULL, "the results compared with it"},
      {"--threshold", "P%", CLI_PERCENT, &threshold, "2%", "the smallest change called a verdict"},
      {"--fail-on-regression", NULL, CLI_FLAG, &fail_on_reg, NULL, "exit 1 when a case is slower"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print the comparison as JSON"},
      {"--plot", "DIR", CLI_STR, &plot_dir, NULL,
       "draw the ratios with their CIs into DIR/compare.png and DIR/compare.svg\n"
       "with gnuplot (template scripts/plots/compare.gp)"},
  };
  cli_spec spec = CLI_SPEC("compare", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  if (!pa || !pb) return cli_usage_error("compare", "needs two results: nnbench compare A B");
  nnb_error e = {{0}};
  cJSON *a = NULL, *b = NULL;
  if (nnb_results_read(pa, &a, &e) != NNB_OK || nnb_results_read(pb, &b, &e) != NNB_OK) {
    fprintf(stderr, "nnbench compare: %s\n", e.msg);
    cJSON_Delete(a);
    return 1;
  }
  int cap = cJSON_GetArraySize(cJSON_GetObjectItem(a, "cases")) + 1;
  cJSON **ca = calloc((size_t)cap, sizeof *ca), **cb = calloc((size_t)cap, sizeof *cb);
  nnb_compare *cmp = calloc((size_t)cap, sizeof *cmp);
  double *p = calloc((size_t)cap, sizeof *p), *ratios = calloc((size_t)cap, sizeof *ratios);
  int n = 0, regressions = 0;
  cJSON *c, *out = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(out, "cases");
  cJSON *only_a = cJSON_AddArrayToObject(out, "only_in_a"),
        *only_b = cJSON_AddArrayToObject(out, "only_in_b");
  char key[512];
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(a, "cases")) {
    key_of(c, key, sizeof key);
    cJSON *m = find(b, key);
    if (!m || !ok_case(c) || !ok_case(m)) {
      cJSON_AddItemToArray(only_a, cJSON_CreateString(key));
      continue;
    }
    int na, nb;
    double *sa = samples(c, &na), *sb = samples(m, &nb);
    if (nnb_compare_samples(sa, na, sb, nb, RESAMPLES, 1, &cmp[n], &e) == NNB_OK) {
      ca[n] = c, cb[n] = m, p[n] = cmp[n].p_value, ratios[n] = cmp[n].ratio;
      n++;
    }
    free(sa), free(sb);
  }
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(b, "cases")) {
    key_of(c, key, sizeof key);
    cJSON *m = find(a, key);
    if (!m || !ok_case(c) || !ok_case(m)) cJSON_AddItemToArray(only_b, cJSON_CreateString(key));
  }
  nnb_holm(p, n);
  if (!json)
    printf("%-44s %11s %11s %8s %19s %9s  %s\n", "case", "A median", "B median", "B/A", "95% CI",
           "p (Holm)", "verdict");
  for (int i = 0; i < n; i++) {
    cJSON *sa = cJSON_GetObjectItem(ca[i], "summary"), *sb = cJSON_GetObjectItem(cb[i], "summary");
    double noise = fmax(num(sa, "cv"), num(sb, "cv"));
    double thr = fmax(threshold, isnan(noise) ? 0 : noise);
    nnb_change v = nnb_compare_verdict(&cmp[i], p[i], thr);
    const char *verdict = v == NNB_SLOWER ? "slower" : v == NNB_FASTER ? "faster" : "same";
    regressions += v == NNB_SLOWER;
    key_of(ca[i], key, sizeof key);
    if (json || plot_dir) {
      cJSON *r = cJSON_CreateObject();
      cJSON_AddStringToObject(r, "case", key);
      cJSON_AddStringToObject(r, "backend", str(ca[i], "backend"));
      cJSON_AddNumberToObject(r, "a_median_s", num(sa, "median_s"));
      cJSON_AddNumberToObject(r, "b_median_s", num(sb, "median_s"));
      cJSON_AddNumberToObject(r, "ratio", cmp[i].ratio);
      cJSON_AddNumberToObject(r, "ratio_ci95_lo", cmp[i].ratio_lo);
      cJSON_AddNumberToObject(r, "ratio_ci95_hi", cmp[i].ratio_hi);
      cJSON_AddNumberToObject(r, "p_value", cmp[i].p_value);
      cJSON_AddNumberToObject(r, "p_holm", p[i]);
      cJSON_AddNumberToObject(r, "threshold", thr);
      cJSON_AddStringToObject(r, "verdict", verdict);
      cJSON_AddItemToArray(rows, r);
    }
    if (!json) {
      printf("%-44.44s %11.4g %11.4g %8.4f [%8.4f, %8.4f] %9.3g  %s\n", key, num(sa, "median_s"),
             num(sb, "median_s"), cmp[i].ratio, cmp[i].ratio_lo, cmp[i].ratio_hi, p[i], verdict);
    }
  }
  double gm = nnb_geomean(ratios, n);
  int status = fail_on_reg && regressions ? 1 : 0;
  if (plot_dir) {
    char title[2200];
    snprintf(title, sizeof title, "B: %s against A: %s", pb, pa);
    if (nnb_plot_compare(plot_dir, rows, title, &e) == NNB_OK) {
      fprintf(stderr, "plot: %s/compare.png and %s/compare.svg\n", plot_dir, plot_dir);
    } else {
      fprintf(stderr, "nnbench compare: %s\n", e.msg);
      status = 1;
    }
  }
  if (json) {
    cJSON_AddNumberToObject(out, "geomean_ratio", gm);
    cJSON_AddNumberToObject(out, "regressions", regressions);
    if (cli_print_json(out)) status = 1;
  } else {
    printf("%-44s %11s %11s %8.4f\n", "geometric mean", "", "", gm);
    cJSON *x;
    cJSON_ArrayForEach(x, only_a) printf("only in A (or failed on one side): %s\n", x->valuestring);
    cJSON_ArrayForEach(x, only_b) printf("only in B (or failed on one side): %s\n", x->valuestring);
    printf("%d case(s) compared, %d slower\n", n, regressions);
    cJSON_Delete(out);
  }
  free(ca), free(cb), free(cmp), free(p), free(ratios);
  cJSON_Delete(a);
  cJSON_Delete(b);
  return status;
}
