/* The report's content. Every table lists fields of the results' one table
 * of fields (fields.h: a heading, where the value is in a record, what it
 * measures), so the report, results.csv and the console show the same
 * figures, and Markdown and HTML print the same document. */
#include "report.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doc.h"
#include "fields.h"
#include "gemm_peak.h"
#include "glance.h"
#include "jsonpath.h"
#include "results.h"

/* Each table is a list of fields of the shared table (fields.h). */
#define CASE_ID "model", "contender", "mode", "batch"

static const char *const timing_fields[] = {CASE_ID,
                                            "threads",
                                            "iterations",
                                            "median_s",
                                            "ci95_lo_s",
                                            "ci95_hi_s",
                                            "p99_s",
                                            "cold_s",
                                            "samples_per_s",
                                            "gflops",
                                            "arithmetic_intensity",
                                            "cv",
                                            "noisy",
                                            "harness_overhead"};

static const char *const memory_fields[] = {CASE_ID,
                                            "parameter_bytes",
                                            "activation_bytes",
                                            "gradient_bytes",
                                            "optimizer_state_bytes",
                                            "planned_bytes",
                                            "backend_peak_bytes",
                                            "beyond_plan_bytes",
                                            "peak_rss_bytes"};

static const char *const accuracy_fields[] = {"model",
                                              "backend",
                                              "samples",
                                              "status",
                                              "accuracy",
                                              "mean_loss",
                                              "agreement_with_reference",
                                              "max_abs_logit_diff",
                                              "weights",
                                              "reason"};

static const char *const failed_fields[] = {CASE_ID, "status", "reason", "reproduce"};

static const char *const noisy_fields[] = {CASE_ID,         "iterations",    "rounds",
                                           "round_cv",      "loaded_rounds", "cv",
                                           "high_outliers", "reproduce"};

#define N(a) (int)(sizeof a / sizeof *a)

/* Text as it is, a flag as its heading when true, numbers in the report's
 * units: milliseconds, percentages, MiB; 4 significant digits. */
static void format_field(const nnb_field *f, const cJSON *rec, char *buf, size_t len) {
  buf[0] = 0;
  if (f->type == NNB_FIELD_TEXT && f->derive) {
    f->derive(rec, buf, len);
    return;
  }
  if (f->type == NNB_FIELD_TEXT || f->type == NNB_FIELD_BOOL) {
    const cJSON *v = nnb_json_at(rec, f->path);
    if (f->type == NNB_FIELD_BOOL)
      snprintf(buf, len, "%s", cJSON_IsTrue(v) ? f->heading : "");
    else if (cJSON_IsString(v))
      snprintf(buf, len, "%s", v->valuestring);
    return;
  }
  double x = nnb_field_num(f, rec);
  if (isnan(x)) return;
  switch (f->unit) {
  case NNB_UNIT_THREADS: snprintf(buf, len, x > 0 ? "%.0f" : "default", x); break;
  case NNB_UNIT_ERROR: snprintf(buf, len, "%.3g", x); break;
  case NNB_UNIT_SECONDS: snprintf(buf, len, "%.4g", x * 1e3); break;
  case NNB_UNIT_FRACTION: snprintf(buf, len, "%.1f", x * 100); break;
  case NNB_UNIT_BYTES: snprintf(buf, len, "%.2f", x / (1024.0 * 1024.0)); break;
  case NNB_UNIT_NONE:
    if (f->type == NNB_FIELD_INT)
      snprintf(buf, len, "%.0f", x);
    else
      snprintf(buf, len, fabs(x) >= 1e4 ? "%.0f" : "%.4g", x);
    break;
  }
}

typedef int (*rec_filter)(const cJSON *rec);
static int is_ok(const cJSON *r) { return !strcmp(nnb_json_str(r, "status"), "ok"); }
/* failed, unsupported or skipped; a case not measured yet is none of them */
static int is_not_ok(const cJSON *r) {
  return !is_ok(r) && strcmp(nnb_json_str(r, "status"), "pending");
}
static int is_noisy(const cJSON *r) {
  return is_ok(r) && cJSON_IsTrue(cJSON_GetObjectItem(r, "noisy"));
}
static int any(const cJSON *r) { return 1; }

/* A table of the records of arr that pass keep; returns how many. A column
 * no record has a value for (a field older runs lack) is left out. */
static int field_table(nnb_doc *d, const char *const *names, int n, const cJSON *arr,
                       rec_filter keep) {
  const char *head[32], *row[32];
  const nnb_field *f[32];
  char align[33], cells[32][1024];
  int rows = 0, ncols = 0;
  const cJSON *rec;
  cJSON_ArrayForEach(rec, arr) rows += keep(rec);
  if (!rows) return 0;
  for (int c = 0; c < n && c < 32; c++) {
    const nnb_field *fc = nnb_field_named(names[c]);
    int seen = fc->type == NNB_FIELD_BOOL;
    cJSON_ArrayForEach(rec, arr) if (!seen && keep(rec)) {
      format_field(fc, rec, cells[0], sizeof cells[0]);
      seen = *cells[0] != 0;
    }
    if (!seen) continue;
    head[ncols] = fc->heading;
    align[ncols] = fc->type == NNB_FIELD_TEXT || fc->type == NNB_FIELD_BOOL ? 'l' : 'r';
    row[ncols] = cells[ncols];
    f[ncols++] = fc;
  }
  align[ncols] = 0;
  nnb_doc_table(d, ncols, head, align);
  cJSON_ArrayForEach(rec, arr) {
    if (!keep(rec)) continue;
    for (int c = 0; c < ncols; c++) format_field(f[c], rec, cells[c], sizeof cells[c]);
    nnb_doc_row(d, row);
  }
  return rows;
}

static void kv(nnb_doc *d, const char *key, const char *value) {
  const char *row[2] = {key, value};
  nnb_doc_row(d, row);
}

static void provenance(nnb_doc *d, const cJSON *doc) {
  const cJSON *p = cJSON_GetObjectItem(doc, "provenance"), *m = cJSON_GetObjectItem(p, "machine");
  const char *head[2] = {"item", "value"};
  char buf[1024];
  nnb_doc_heading(d, 2, "Provenance");
  nnb_doc_table(d, 2, head, "ll");
  const char *file = nnb_json_str(doc, "suite.file"),
             *desc = nnb_json_str(doc, "suite.description");
  snprintf(buf, sizeof buf, "%s%s%s, %s%s", nnb_json_str(doc, "suite.name"), *desc ? ": " : "",
           desc, *file == '(' ? "from the " : "file ", *file == '(' ? file + 1 : file);
  if (*file == '(' && buf[strlen(buf) - 1] == ')') buf[strlen(buf) - 1] = 0;
  kv(d, "suite", buf);
  kv(d, "created (UTC)", nnb_json_str(p, "created_utc"));
  snprintf(
      buf, sizeof buf, "%s, commit %s, %s build, %s%s", nnb_json_str(p, "nnbench_version"),
      nnb_json_str(p, "git_commit"), nnb_json_str(p, "build_type"), nnb_json_str(p, "compiler"),
      cJSON_IsTrue(cJSON_GetObjectItem(p, "sanitized")) ? ", sanitized (timings not representative)"
                                                        : "");
  kv(d, "nnbench", buf);
  snprintf(buf, sizeof buf, "%s, CRC-32 %s, seed %.0f", nnb_json_str(p, "dataset"),
           nnb_json_str(p, "dataset_crc32"), nnb_json_num(p, "seed"));
  kv(d, "dataset", buf);
  snprintf(buf, sizeof buf, "%s; %.0f logical cores, %.0f physical; %s",
           nnb_json_str(m, "cpu.model"), nnb_json_num(m, "cpu.logical_cores"),
           nnb_json_num(m, "cpu.physical_cores"), nnb_json_str(m, "cpu.isa_flags"));
  kv(d, "CPU", buf);
  snprintf(buf, sizeof buf, "%.1f GiB", nnb_json_num(m, "memory.total_bytes") / (1 << 30));
  kv(d, "memory", buf);
  snprintf(buf, sizeof buf, "%s, kernel %s", nnb_json_str(m, "host.os_release"),
           nnb_json_str(m, "host.kernel"));
  kv(d, "system", buf);
  cJSON *la = cJSON_GetObjectItem(m, "load_average");
  snprintf(buf, sizeof buf, "governor %s, boost %s, load average %.2f at the start",
           nnb_json_str(m, "cpu.governor"), nnb_json_str(m, "cpu.boost"),
           cJSON_IsNumber(cJSON_GetArrayItem(la, 0)) ? cJSON_GetArrayItem(la, 0)->valuedouble
                                                     : NAN);
  kv(d, "conditions", buf);
  const cJSON *pk = cJSON_GetObjectItem(p, "peak");
  if (pk) {
    snprintf(buf, sizeof buf,
             "%.1f GFLOP/s on %.0f threads, %.1f on one (%s); copy %.1f GB/s on %.0f threads, "
             "%.1f on one",
             nnb_json_num(pk, "all_core_gflops"), nnb_json_num(pk, "threads"),
             nnb_json_num(pk, "single_core_gflops"), nnb_json_str(pk, "isa"),
             nnb_json_num(pk, "all_thread_copy_gbs"), nnb_json_num(pk, "threads"),
             nnb_json_num(pk, "single_thread_copy_gbs"));
    kv(d, "measured peak", buf);
  } else {
    kv(d, "measured peak",
       *nnb_json_str(p, "peak_error") ? nnb_json_str(p, "peak_error") : "not measured");
  }
  nnb_doc_text(d, "Command:");
  nnb_doc_code(d, nnb_json_str(p, "command"));
  cJSON *w, *warnings = nnb_json_at(m, "warnings");
  if (cJSON_GetArraySize(warnings)) nnb_doc_text(d, "Warnings recorded with the results:");
  cJSON_ArrayForEach(w, warnings) if (cJSON_IsString(w)) nnb_doc_item(d, "%s", w->valuestring);
}

/* Backends: whether they were found, and their describe() from a case they ran. */
static void backends(nnb_doc *d, const cJSON *doc) {
  static const char *const head[] = {"backend", "available", "device", "library",
                                     "properties / reason"};
  nnb_doc_heading(d, 3, "Backends");
  nnb_doc_table(d, 5, head, "lllll");
  const cJSON *b, *c;
  cJSON_ArrayForEach(b, cJSON_GetObjectItem(doc, "backends")) {
    const char *name = nnb_json_str(b, "name");
    const cJSON *info = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(
                              doc, "cases")) if (!info && !strcmp(nnb_json_str(c, "backend"), name))
        info = cJSON_GetObjectItem(c, "backend_info");
    char props[1024] = "";
    const cJSON *kvp;
    cJSON_ArrayForEach(kvp, cJSON_GetObjectItem(info, "properties")) if (cJSON_IsString(kvp))
        snprintf(props + strlen(props), sizeof props - strlen(props), "%s%s=%s", *props ? "; " : "",
                 kvp->string, kvp->valuestring);
    int avail = cJSON_IsTrue(cJSON_GetObjectItem(b, "available"));
    const char *row[] = {name, avail ? "yes" : "no", nnb_json_str(info, "device"),
                         nnb_json_str(info, "library"), avail ? props : nnb_json_str(b, "reason")};
    nnb_doc_row(d, row);
  }
}

static void summary(nnb_doc *d, const char *dir, const cJSON *doc) {
  int n = 0, ok = 0, noisy = 0, skipped = 0, pending = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    n++;
    ok += is_ok(c);
    noisy += is_noisy(c);
    skipped += !strcmp(nnb_json_str(c, "status"), "skipped");
    pending += !strcmp(nnb_json_str(c, "status"), "pending");
  }
  /* A report may be made while the run still writes the folder, or of an
   * interrupted one: its cases not measured yet are no failures. */
  if (cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "run"), "complete")))
    nnb_doc_text(d,
                 "This run is not complete (it is still going, or it was interrupted: nnbench "
                 "run --resume %s continues it): %d of its %d cases have no round yet, others "
                 "may lack some of their rounds, and the accuracy section comes last.",
                 dir, pending, n);
  nnb_doc_text(d,
               "%d case%s: %d ran, %d failed or unsupported, %d skipped (a first step over the "
               "suite's max_step), %d noisy (spread between rounds, "
               "or of iterations for one-round cases, above %.0f%%). "
               "Times are per step (one inference batch, or one training step); a case measured "
               "in rounds (fresh processes) reports the geometric mean of its round medians "
               "with a Student t 95%% confidence interval across rounds (docs/statistics.md).",
               n, n == 1 ? "" : "s", ok, n - ok - skipped - pending, skipped, noisy,
               NNB_NOISY_CV * 100);
}

static void plots(nnb_doc *d, const char *dir, const nnb_plot_outcome *out) {
  nnb_doc_heading(d, 2, "Plots");
  for (int i = 0; i < NNB_PLOT_KINDS; i++) {
    const nnb_plot_kind *k = nnb_plot_kind_at(i);
    char png[128], svg[128], svg_file[PATH_MAX + 160];
    snprintf(png, sizeof png, "plots/%s.png", k->name);
    snprintf(svg, sizeof svg, "plots/%s.svg", k->name);
    snprintf(svg_file, sizeof svg_file, "%s/%s", dir, svg);
    struct stat sb;
    int have = out ? out[i].drawn : !stat(svg_file, &sb);
    nnb_doc_heading(d, 3, k->title);
    if (have)
      nnb_doc_figure(d, k->title, k->caption, png, svg, svg_file);
    else if (out)
      nnb_doc_text(d, "Not drawn: %s.", out[i].skipped);
    else
      nnb_doc_text(d, "Not drawn (run nnbench plot or nnbench report without --no-plots).");
  }
}

static nnb_doc *build(const char *dir, const cJSON *doc, const nnb_plot_outcome *out) {
  char title[256];
  snprintf(title, sizeof title, "nnbench report: %s",
           *nnb_json_str(doc, "suite.name") ? nnb_json_str(doc, "suite.name") : dir);
  nnb_doc *d = nnb_doc_new(title);
  if (!d) return NULL;
  const cJSON *cases = cJSON_GetObjectItem(doc, "cases"),
              *acc = cJSON_GetObjectItem(doc, "accuracy");
  /* What a reader wants first, then the plots; the wide tables follow. */
  summary(d, dir, doc);
  nnb_report_glance(d, doc);
  plots(d, dir, out);
  nnb_report_vs_peer(d, doc);
  provenance(d, doc);
  backends(d, doc);
  nnb_doc_heading(d, 2, "Timings");
  if (!field_table(d, timing_fields, N(timing_fields), cases, is_ok))
    nnb_doc_text(d, "No case ran successfully.");
  nnb_report_gemm_peak(d, doc);
  nnb_doc_heading(d, 2, "Accuracy and agreement");
  nnb_doc_text(d, "Each model's weights (the weights column) evaluated on the first test "
                  "samples on every backend; agreement is the fraction of samples whose top-1 "
                  "class matches the reference's.");
  if (!field_table(d, accuracy_fields, N(accuracy_fields), acc, any))
    nnb_doc_text(d, "No accuracy evaluation in this run.");
  nnb_doc_heading(d, 2, "Memory");
  nnb_doc_text(d,
               "By role: the planner's sizes without reuse. Planned, with reuse: persistent "
               "tensors plus the shared arena. Beyond plan: what the backend held on top of that "
               "(its workspace). Peak RSS: the case's whole process.");
  if (!field_table(d, memory_fields, N(memory_fields), cases, is_ok))
    nnb_doc_text(d, "No case ran successfully.");
  nnb_doc_heading(d, 2, "Noisy cases");
  if (!field_table(d, noisy_fields, N(noisy_fields), cases, is_noisy))
    nnb_doc_text(d, "None: every case's spread between rounds is at most %.0f%%.",
                 NNB_NOISY_CV * 100);
  nnb_doc_heading(d, 2, "Failed, unsupported and skipped cases");
  if (!field_table(d, failed_fields, N(failed_fields), cases, is_not_ok)) nnb_doc_text(d, "None.");
  return d;
}

nnb_status nnb_report_write(const char *dir, const cJSON *doc,
                            const nnb_plot_outcome plots_drawn[NNB_PLOT_KINDS], nnb_error *e) {
  nnb_doc *d = build(dir, doc, plots_drawn);
  if (!d) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory building the report");
  char path[PATH_MAX + 32], *text[2] = {nnb_doc_markdown(d), NULL};
  static const char *const name[2] = {"report.md", "report.html"};
  nnb_status st =
      text[0] ? NNB_OK : nnb_fail(e, NNB_ERR_NOMEM, "out of memory building the report");
  if (st == NNB_OK && !(text[1] = nnb_doc_html(d, e))) st = NNB_ERR_IO;
  for (int i = 0; i < 2 && st == NNB_OK; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, name[i]);
    st = nnb_write_file_atomic(path, text[i], e);
  }
  free(text[0]);
  free(text[1]);
  nnb_doc_free(d);
  return st;
}
