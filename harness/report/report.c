/* The report's content. Every table is printed from a table of fields (a
 * heading, where the value is in a record, how to format it), so Markdown
 * and HTML, which print the same document, show the same figures. */
#include "report.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doc.h"
#include "jsonpath.h"
#include "results.h"

typedef enum {
  RF_TEXT,   /* a string as it is */
  RF_INT,    /* an integer */
  RF_NUM,    /* 4 significant digits; whole numbers from 10000 on */
  RF_SCI,    /* 3 significant digits, for tiny errors */
  RF_MS,     /* seconds shown as milliseconds, 4 significant digits */
  RF_PCT,    /* a fraction shown as a percentage, 1 decimal */
  RF_MIB,    /* bytes shown as MiB, 2 decimals */
  RF_FLAG,   /* a bool shown as the field's heading when true */
  RF_THREADS /* an integer, 0 meaning the backend's default */
} rf_kind;

typedef struct rf {
  const char *head;
  const char *path; /* in the record; NULL when derived */
  rf_kind kind;
  double (*derive)(const cJSON *rec); /* for a figure computed from others */
} rf;

static double planned_bytes(const cJSON *r) {
  return nnb_json_num(r, "memory.persistent_bytes") + nnb_json_num(r, "memory.arena_bytes");
}
/* What the backend held beyond the planner's tensors: its own workspace
 * (recorded by newer runs, else derived). */
static double beyond_plan_bytes(const cJSON *r) {
  double x = nnb_json_num(r, "memory.workspace_bytes");
  if (!isnan(x)) return x;
  x = nnb_json_num(r, "memory.backend_peak_bytes") - planned_bytes(r);
  return x > 0 ? x : isnan(x) ? x : 0;
}

#define CASE_ID                                                                                    \
  {"model", "model", RF_TEXT, NULL}, {"backend", "backend", RF_TEXT, NULL},                        \
      {"mode", "mode", RF_TEXT, NULL}, {                                                           \
    "batch", "batch", RF_INT, NULL                                                                 \
  }

static const rf timing_fields[] = {
    CASE_ID,
    {"threads", "threads", RF_THREADS, NULL},
    {"iterations", "summary.n", RF_INT, NULL},
    {"median (ms)", "summary.median_s", RF_MS, NULL},
    {"CI low (ms)", "summary.median_ci95_lo_s", RF_MS, NULL},
    {"CI high (ms)", "summary.median_ci95_hi_s", RF_MS, NULL},
    {"p99 (ms)", "summary.p99_s", RF_MS, NULL},
    {"cold (ms)", "cold_s", RF_MS, NULL},
    {"samples/s", "throughput_samples_per_s", RF_NUM, NULL},
    {"GFLOP/s", "gflops", RF_NUM, NULL},
    {"FLOP/byte", "arithmetic_intensity", RF_NUM, NULL},
    {"CV (%)", "summary.cv", RF_PCT, NULL},
    {"noisy", "noisy", RF_FLAG, NULL},
    {"harness overhead (%)", "harness_overhead.fraction", RF_PCT, NULL},
};

static const rf memory_fields[] = {
    CASE_ID,
    {"parameters (MiB)", "memory.by_role_bytes.parameter", RF_MIB, NULL},
    {"activations (MiB)", "memory.by_role_bytes.activation", RF_MIB, NULL},
    {"gradients (MiB)", "memory.by_role_bytes.gradient", RF_MIB, NULL},
    {"optimizer state (MiB)", "memory.by_role_bytes.optimizer_state", RF_MIB, NULL},
    {"planned, with reuse (MiB)", NULL, RF_MIB, planned_bytes},
    {"backend peak (MiB)", "memory.backend_peak_bytes", RF_MIB, NULL},
    {"beyond plan (MiB)", NULL, RF_MIB, beyond_plan_bytes},
    {"peak RSS (MiB)", "memory.peak_rss_bytes", RF_MIB, NULL},
};

static const rf accuracy_fields[] = {
    {"model", "model", RF_TEXT, NULL},
    {"backend", "backend", RF_TEXT, NULL},
    {"samples", "samples", RF_INT, NULL},
    {"status", "status", RF_TEXT, NULL},
    {"accuracy (%)", "accuracy", RF_PCT, NULL},
    {"mean loss", "mean_loss", RF_NUM, NULL},
    {"agreement with reference (%)", "agreement_with_reference", RF_PCT, NULL},
    {"max |logit diff|", "max_abs_logit_diff", RF_SCI, NULL},
    {"weights", "weights", RF_TEXT, NULL},
    {"reason", "reason", RF_TEXT, NULL},
};

static const rf failed_fields[] = {
    CASE_ID,
    {"status", "status", RF_TEXT, NULL},
    {"reason", "reason", RF_TEXT, NULL},
    {"reproduce", "reproduce", RF_TEXT, NULL},
};

static const rf noisy_fields[] = {
    CASE_ID,
    {"iterations", "summary.n", RF_INT, NULL},
    {"CV (%)", "summary.cv", RF_PCT, NULL},
    {"high outliers", "summary.outliers.high_severe", RF_INT, NULL},
    {"reproduce", "reproduce", RF_TEXT, NULL},
};

#define N(a) (int)(sizeof a / sizeof *a)

static void format_field(const rf *f, const cJSON *rec, char *buf, size_t len) {
  buf[0] = 0;
  if (f->kind == RF_TEXT || f->kind == RF_FLAG) {
    const cJSON *v = nnb_json_at(rec, f->path);
    if (f->kind == RF_FLAG)
      snprintf(buf, len, "%s", cJSON_IsTrue(v) ? f->head : "");
    else if (cJSON_IsString(v))
      snprintf(buf, len, "%s", v->valuestring);
    return;
  }
  double x = f->derive ? f->derive(rec) : nnb_json_num(rec, f->path);
  if (isnan(x)) return;
  switch (f->kind) {
  case RF_INT: snprintf(buf, len, "%.0f", x); break;
  case RF_NUM: snprintf(buf, len, fabs(x) >= 1e4 ? "%.0f" : "%.4g", x); break;
  case RF_THREADS: snprintf(buf, len, x > 0 ? "%.0f" : "default", x); break;
  case RF_SCI: snprintf(buf, len, "%.3g", x); break;
  case RF_MS: snprintf(buf, len, "%.4g", x * 1e3); break;
  case RF_PCT: snprintf(buf, len, "%.1f", x * 100); break;
  case RF_MIB: snprintf(buf, len, "%.2f", x / (1024.0 * 1024.0)); break;
  default: break;
  }
}

typedef int (*rec_filter)(const cJSON *rec);
static int is_ok(const cJSON *r) { return !strcmp(nnb_json_str(r, "status"), "ok"); }
static int is_not_ok(const cJSON *r) { return !is_ok(r); }
static int is_noisy(const cJSON *r) {
  return is_ok(r) && cJSON_IsTrue(cJSON_GetObjectItem(r, "noisy"));
}
static int any(const cJSON *r) { return 1; }

/* A table of the records of arr that pass keep; returns how many. A column
 * no record has a value for (a field older runs lack) is left out. */
static int field_table(nnb_doc *d, const rf *f, int n, const cJSON *arr, rec_filter keep) {
  const char *head[32], *row[32];
  char align[33], cells[32][1024];
  int rows = 0, col[32], ncols = 0;
  const cJSON *rec;
  cJSON_ArrayForEach(rec, arr) rows += keep(rec);
  if (!rows) return 0;
  for (int c = 0; c < n; c++) {
    int seen = f[c].kind == RF_FLAG;
    cJSON_ArrayForEach(rec, arr) if (!seen && keep(rec)) {
      format_field(&f[c], rec, cells[0], sizeof cells[0]);
      seen = *cells[0] != 0;
    }
    if (!seen) continue;
    head[ncols] = f[c].head;
    align[ncols] = f[c].kind == RF_TEXT || f[c].kind == RF_FLAG ? 'l' : 'r';
    row[ncols] = cells[ncols];
    col[ncols++] = c;
  }
  align[ncols] = 0;
  nnb_doc_table(d, ncols, head, align);
  cJSON_ArrayForEach(rec, arr) {
    if (!keep(rec)) continue;
    for (int c = 0; c < ncols; c++) format_field(&f[col[c]], rec, cells[c], sizeof cells[c]);
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

static void summary(nnb_doc *d, const cJSON *doc) {
  int n = 0, ok = 0, noisy = 0;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    n++;
    ok += is_ok(c);
    noisy += is_noisy(c);
  }
  nnb_doc_text(d,
               "%d case%s: %d ran, %d failed or unsupported, %d noisy (coefficient of variation "
               "above %.0f%%). "
               "Times are per step (one inference batch, or one training step); the median's "
               "95%% confidence interval is a seeded percentile bootstrap.",
               n, n == 1 ? "" : "s", ok, n - ok, noisy, NNB_NOISY_CV * 100);
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
  summary(d, doc);
  provenance(d, doc);
  backends(d, doc);
  nnb_doc_heading(d, 2, "Timings");
  if (!field_table(d, timing_fields, N(timing_fields), cases, is_ok))
    nnb_doc_text(d, "No case ran successfully.");
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
    nnb_doc_text(d, "None: every case's coefficient of variation is at most %.0f%%.",
                 NNB_NOISY_CV * 100);
  nnb_doc_heading(d, 2, "Failed and unsupported cases");
  if (!field_table(d, failed_fields, N(failed_fields), cases, is_not_ok)) nnb_doc_text(d, "None.");
  plots(d, dir, out);
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
