/* nnbench compare A B: per matching case, the ratio of median times with
 * its 95% CI and a test across rounds (compare_cases.h), Holm-corrected
 * across the grid; a verdict per case and a geometric-mean summary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "case_rounds.h"
#include "cli.h"
#include "compare_cases.h"
#include "fields.h"
#include "machine_diff.h"
#include "options.h"
#include "plot.h"
#include "results.h"

#define RESAMPLES 2000

static const char about[] =
    "A and B are results folders (or results.json files); A is the baseline. Cases are\n"
    "matched by model spec, backend and its options, mode, batch and threads. For each\n"
    "match: the ratio B/A of the cases' centres (the geometric mean of their round\n"
    "medians) with its 95% CI and the p-value of Welch's t test on the log round\n"
    "medians, Holm-corrected over all matches. A case is slower (faster) only when\n"
    "the corrected p < 0.05, the ratio's CI excludes 1, and the change exceeds the\n"
    "threshold: the larger of --threshold and the spread between rounds seen in\n"
    "either run. The gate is built for at most 5% false alarms per comparison of two\n"
    "runs of the same code (docs/statistics.md). A case with one round on either side\n"
    "falls back to its iterations (method 'iterations': a Mann-Whitney U test, which\n"
    "describes two processes, not the code). Cases present on one side only are\n"
    "listed. A warning says when A and B ran on different CPUs, or rounds under load.\n"
    "A case that is missing, failed or holds samples that are not finite numbers > 0\n"
    "on either side is listed as not compared, with why; a case both runs skipped\n"
    "(its first step over max_step) is listed apart. With --fail-on-regression\n"
    "the exit status is 1 when any case is slower, any case could not be compared,\n"
    "or nothing was compared.";

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

/* Whether a case can be compared: it exists, it is ok, and every sample
 * is a finite number > 0. Otherwise `why` says what is wrong, naming the
 * side, so the gate can fail on it and the listing can say so. */
static int usable(cJSON *c, const char *side, char *why, size_t len) {
  if (!c) {
    snprintf(why, len, "missing in %s", side);
    return 0;
  }
  if (strcmp(str(c, "status"), "ok")) {
    snprintf(why, len, "%s: status %s%s%.300s", side,
             *str(c, "status") ? str(c, "status") : "missing", *str(c, "reason") ? ": " : "",
             str(c, "reason"));
    return 0;
  }
  cJSON *arr = cJSON_GetObjectItem(c, "samples_s"), *x;
  if (!cJSON_IsArray(arr) || !cJSON_GetArraySize(arr)) {
    snprintf(why, len, "%s: no samples", side);
    return 0;
  }
  int i = 0;
  cJSON_ArrayForEach(x, arr) {
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) || !(x->valuedouble > 0)) {
      char v[32];
      snprintf(v, sizeof v, cJSON_IsNumber(x) ? "%g" : "not a number", x->valuedouble);
      snprintf(why, len, "%s: sample %d is %s; times must be finite numbers > 0", side, i, v);
      return 0;
    }
    i++;
  }
  return 1;
}

static void not_compared(cJSON *list, const char *key, const char *why) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "case", key);
  cJSON_AddStringToObject(o, "why", why);
  cJSON_AddItemToArray(list, o);
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

/* A sentence when rounds of the compared cases ran under load: the test
 * takes A's and B's rounds as draws of one machine state, which a load
 * lasting through one run only breaks. */
static void loaded_rounds_note(cJSON **ca, cJSON **cb, int n, char *buf, size_t len) {
  int loaded[2] = {0, 0}, rounds[2] = {0, 0};
  for (int i = 0; i < n; i++)
    for (int side = 0; side < 2; side++) {
      cJSON *s = cJSON_GetObjectItem(side ? cb[i] : ca[i], "summary");
      double l = num(s, "loaded_rounds"), r = num(s, "rounds");
      loaded[side] += l > 0 ? (int)l : 0;
      rounds[side] += r > 0 ? (int)r : 0;
    }
  if (loaded[0] || loaded[1])
    snprintf(buf, len,
             "%d of %d rounds in A and %d of %d in B ran while other processes took more than 10%% "
             "of the CPU: verdicts compare that load as well as the code",
             loaded[0], rounds[0], loaded[1], rounds[1]);
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
  char machines[1400];
  int other_cpu = nnb_machine_diff(a, b, machines, sizeof machines);
  if (other_cpu) fprintf(stderr, "nnbench compare: warning: %s\n", machines);
  int cap = cJSON_GetArraySize(cJSON_GetObjectItem(a, "cases")) + 1;
  cJSON **ca = calloc((size_t)cap, sizeof *ca), **cb = calloc((size_t)cap, sizeof *cb);
  nnb_case_comparison *cmp = calloc((size_t)cap, sizeof *cmp);
  double *p = calloc((size_t)cap, sizeof *p), *ratios = calloc((size_t)cap, sizeof *ratios);
  int n = 0, regressions = 0;
  cJSON *c, *out = cJSON_CreateObject(), *rows = cJSON_AddArrayToObject(out, "cases");
  cJSON *skipped = cJSON_AddArrayToObject(out, "not_compared");
  cJSON *both = cJSON_AddArrayToObject(out, "skipped_in_both");
  char key[512], why[512];
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(a, "cases")) {
    key_of(c, key, sizeof key);
    cJSON *m = find(b, key);
    /* Left out of both runs by their max_step: the same scope, not a fault. */
    if (m && !strcmp(str(c, "status"), "skipped") && !strcmp(str(m, "status"), "skipped")) {
      not_compared(both, key, str(c, "reason"));
      continue;
    }
    if (!usable(c, "A", why, sizeof why) || !usable(m, "B", why, sizeof why)) {
      not_compared(skipped, key, why);
      continue;
    }
    if (nnb_compare_cases(c, m, RESAMPLES, 1, &cmp[n], &e) != NNB_OK) {
      not_compared(skipped, key, e.msg);
    } else if (!isfinite(cmp[n].c.ratio) || !isfinite(cmp[n].c.ratio_lo) ||
               !isfinite(cmp[n].c.ratio_hi) || !(cmp[n].c.ratio > 0)) {
      snprintf(why, sizeof why, "the ratio of medians is not a finite number > 0 (%g, CI %g..%g)",
               cmp[n].c.ratio, cmp[n].c.ratio_lo, cmp[n].c.ratio_hi);
      not_compared(skipped, key, why);
    } else {
      ca[n] = c, cb[n] = m, p[n] = cmp[n].c.p_value, ratios[n] = cmp[n].c.ratio;
      n++;
    }
  }
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(b, "cases")) {
    key_of(c, key, sizeof key);
    if (!find(a, key)) not_compared(skipped, key, "missing in A");
  }
  nnb_holm(p, n);
  char load_note[400] = "";
  loaded_rounds_note(ca, cb, n, load_note, sizeof load_note);
  if (*load_note) fprintf(stderr, "nnbench compare: warning: %s\n", load_note);
  /* The whole case name, however long: batch and threads are part of it. */
  int width = 4;
  for (int i = 0; i < n; i++) {
    key_of(ca[i], key, sizeof key);
    if ((int)strlen(key) > width) width = (int)strlen(key);
  }
  if (!json)
    printf("%-*s %11s %11s %8s %19s %9s %7s  %s\n", width, "case", "A median", "B median", "B/A",
           "95% CI", "p (Holm)", "rounds", "verdict");
  int by_iterations = 0, overlaps = 0;
  for (int i = 0; i < n; i++) {
    cJSON *sa = cJSON_GetObjectItem(ca[i], "summary"), *sb = cJSON_GetObjectItem(cb[i], "summary");
    const nnb_compare *k = &cmp[i].c;
    nnb_change v = nnb_case_verdict(&cmp[i], p[i], threshold);
    const char *verdict = v == NNB_SLOWER ? "slower" : v == NNB_FASTER ? "faster" : "same";
    regressions += v == NNB_SLOWER;
    by_iterations += !cmp[i].by_rounds;
    /* Whether the two runs' own 95% intervals overlap: what repeating a run
     * should give nearly always when the intervals are honest. */
    int overlap = !(num(sa, "median_ci95_hi_s") < num(sb, "median_ci95_lo_s") ||
                    num(sb, "median_ci95_hi_s") < num(sa, "median_ci95_lo_s"));
    overlaps += overlap;
    key_of(ca[i], key, sizeof key);
    if (json || plot_dir) {
      cJSON *r = cJSON_CreateObject();
      cJSON_AddStringToObject(r, "case", key);
      cJSON_AddStringToObject(r, "backend", str(ca[i], "backend"));
      cJSON_AddNumberToObject(r, "a_median_s", num(sa, "median_s"));
      cJSON_AddNumberToObject(r, "b_median_s", num(sb, "median_s"));
      cJSON_AddNumberToObject(r, "ratio", k->ratio);
      cJSON_AddNumberToObject(r, "ratio_ci95_lo", k->ratio_lo);
      cJSON_AddNumberToObject(r, "ratio_ci95_hi", k->ratio_hi);
      cJSON_AddNumberToObject(r, "p_value", k->p_value);
      cJSON_AddNumberToObject(r, "p_holm", p[i]);
      cJSON_AddStringToObject(r, "method", cmp[i].by_rounds ? "rounds" : "iterations");
      cJSON_AddNumberToObject(r, "rounds_a", cmp[i].rounds_a);
      cJSON_AddNumberToObject(r, "rounds_b", cmp[i].rounds_b);
      cJSON_AddNumberToObject(r, "noise", cmp[i].noise);
      cJSON_AddNumberToObject(r, "threshold", nnb_case_threshold(&cmp[i], threshold));
      cJSON_AddBoolToObject(r, "intervals_overlap", overlap);
      cJSON_AddStringToObject(r, "verdict", verdict);
      cJSON_AddItemToArray(rows, r);
    }
    if (!json) {
      char rounds[24];
      snprintf(rounds, sizeof rounds, "%dv%d%s", cmp[i].rounds_a, cmp[i].rounds_b,
               cmp[i].by_rounds ? "" : "*");
      printf("%-*s %11.4g %11.4g %8.4f [%8.4f, %8.4f] %9.3g %7s  %s\n", width, key,
             num(sa, "median_s"), num(sb, "median_s"), k->ratio, k->ratio_lo, k->ratio_hi, p[i],
             rounds, verdict);
    }
  }
  int n_skipped = cJSON_GetArraySize(skipped);
  double gm = nnb_geomean(ratios, n);
  int status = 0;
  if (fail_on_reg && (regressions || n_skipped || !n)) {
    status = 1;
    /* A broken or empty run must not pass as "no regression". */
    fprintf(stderr, "nnbench compare: the gate fails: %d case(s) slower, %d not compared%s\n",
            regressions, n_skipped, n ? "" : ", nothing compared");
  }
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
    if (n)
      cJSON_AddNumberToObject(out, "geomean_ratio", gm);
    else
      cJSON_AddNullToObject(out, "geomean_ratio");
    cJSON_AddNumberToObject(out, "compared", n);
    cJSON_AddNumberToObject(out, "regressions", regressions);
    cJSON_AddNumberToObject(out, "intervals_overlap", overlaps);
    cJSON *warnings = cJSON_AddArrayToObject(out, "warnings");
    if (other_cpu) cJSON_AddItemToArray(warnings, cJSON_CreateString(machines));
    if (*load_note) cJSON_AddItemToArray(warnings, cJSON_CreateString(load_note));
    if (cli_print_json(out)) status = 1;
  } else {
    if (n)
      printf("%-*s %11s %11s %8.4f\n", width, "geometric mean", "", "", gm);
    else
      printf("%-*s %11s %11s %8s\n", width, "geometric mean", "", "", "-");
    if (by_iterations)
      printf("* %d case(s) with one round on a side: compared by iterations, which describe one "
             "process each and are not calibrated (measure with --rounds 3 or more)\n",
             by_iterations);
    cJSON *x;
    cJSON_ArrayForEach(x, skipped) printf("not compared: %s: %s\n", str(x, "case"), str(x, "why"));
    cJSON_ArrayForEach(x, both) printf("skipped in both: %s: %s\n", str(x, "case"), str(x, "why"));
    printf("%d case(s) compared, %d slower, %d not compared; the runs' 95%% intervals overlap on "
           "%d of %d\n",
           n, regressions, n_skipped, overlaps, n);
    cJSON_Delete(out);
  }
  free(ca), free(cb), free(cmp), free(p), free(ratios);
  cJSON_Delete(a);
  cJSON_Delete(b);
  return status;
}
