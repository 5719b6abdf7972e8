/* nnbench plot, report and compare --plot on a committed results fixture: a
 * real run (reference, openblas, a crashing and an unsupported backend;
 * mlp, cnn and transformer; inference and training at batch 1 and 4),
 * trimmed of its per-node profiles. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plot.h"
#include "results.h"
#include "testutil.h"

#define NNBENCH NNB_BINARY_DIR "/nnbench"
#define FIXTURE NNB_SOURCE_DIR "/tests/fixtures/results/small/results.json"

static char dir[64];

/* A fresh results folder holding a copy of the fixture. */
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-plot-XXXXXX");
  cr_assert(mkdtemp(dir));
  char *text = tu_read_file(FIXTURE, NULL), path[128];
  cr_assert(text, "read %s", FIXTURE);
  snprintf(path, sizeof path, "%s/results.json", dir);
  FILE *f = fopen(path, "w");
  cr_assert(f);
  fputs(text, f);
  fclose(f);
  free(text);
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  cr_expect_eq(system(cmd), 0);
}

TestSuite(plot, .init = setup, .fini = teardown, .timeout = 120);

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A PNG: the signature, an IHDR chunk first with a non-zero size, IEND last. */
static void expect_png(const char *path) {
  size_t n = 0;
  unsigned char *p = (unsigned char *)tu_read_file(path, &n);
  cr_assert(p, "%s exists", path);
  cr_assert_gt(n, 8 + 25 + 12, "%s is more than its header", path);
  cr_expect(!memcmp(p, "\x89PNG\r\n\x1a\n", 8), "%s has the PNG signature", path);
  cr_expect_eq(be32(p + 8), 13u, "%s: IHDR is 13 bytes", path);
  cr_expect(!memcmp(p + 12, "IHDR", 4), "%s: IHDR comes first", path);
  cr_expect(be32(p + 16) > 100 && be32(p + 20) > 100, "%s is %ux%u", path, be32(p + 16),
            be32(p + 20));
  cr_expect(!memcmp(p + n - 8, "IEND", 4), "%s ends with IEND (complete)", path);
  free(p);
}

/* An SVG: an XML declaration or <svg> first, one <svg> element, closed. */
static void expect_svg(const char *path) {
  char *s = tu_read_file(path, NULL);
  cr_assert(s, "%s exists", path);
  cr_expect(!strncmp(s, "<?xml", 5) || !strncmp(s, "<svg", 4), "%s starts as SVG", path);
  char *open = strstr(s, "<svg"), *close = strstr(s, "</svg>");
  cr_expect(open && close && open < close, "%s has <svg> ... </svg>", path);
  cr_expect(close && !strstr(close + 6, "<"), "%s ends after </svg>", path);
  cr_expect(strstr(s, "<path") || strstr(s, "<rect"), "%s draws something", path);
  free(s);
}

static int file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) ? -1 : (int)sb.st_size;
}

Test(plot, every_plot_is_drawn_as_valid_png_and_svg) {
  char cmd[256], *out;
  snprintf(cmd, sizeof cmd, NNBENCH " plot %s --json", dir);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  cJSON *doc = cJSON_Parse(out);
  cr_assert(doc, "stdout is JSON: %s", out);
  cJSON *plots = cJSON_GetObjectItem(doc, "plots"), *p;
  cr_assert_eq(cJSON_GetArraySize(plots), NNB_PLOT_KINDS);
  int i = 0;
  cJSON_ArrayForEach(p, plots) {
    const char *name = cJSON_GetObjectItem(p, "name")->valuestring;
    cr_expect_str_eq(name, nnb_plot_kind_at(i++)->name);
    cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(p, "drawn")), "%s drawn: %s", name,
              cJSON_GetObjectItem(p, "skipped")->valuestring);
    expect_png(cJSON_GetObjectItem(p, "png")->valuestring);
    expect_svg(cJSON_GetObjectItem(p, "svg")->valuestring);
    cr_expect_gt(file_size(cJSON_GetObjectItem(p, "data")->valuestring), 0, "%s data", name);
    cr_expect_gt(file_size(cJSON_GetObjectItem(p, "script")->valuestring), 0, "%s script", name);
  }
  cJSON_Delete(doc);
  free(out);
  /* The driver redraws its plot by itself, as the docs tell users to do. */
  snprintf(cmd, sizeof cmd, "cd %s && rm plots/roofline.png && gnuplot plots/data/roofline.gp 2>&1",
           dir);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  free(out);
  char png[128];
  snprintf(png, sizeof png, "%s/plots/roofline.png", dir);
  expect_png(png);
}

/* The report's cells, formatted as the report states them. */
static void ms(char *b, size_t n, const cJSON *o, const char *k) {
  snprintf(b, n, "%.4g", cJSON_GetObjectItem(o, k)->valuedouble * 1e3);
}
static void num4(char *b, size_t n, double x) {
  snprintf(b, n, fabs(x) >= 1e4 ? "%.0f" : "%.4g", x);
}
static void mib(char *b, size_t n, const cJSON *mem, const char *k) {
  snprintf(b, n, "%.2f", cJSON_GetObjectItem(mem, k)->valuedouble / (1024.0 * 1024.0));
}

/* The line of text that starts with prefix, or NULL. */
static const char *line_of(const char *text, const char *prefix) {
  for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (!strncmp(l, prefix, strlen(prefix))) return l;
  return NULL;
}
static int in_line(const char *line, const char *cell) {
  char want[128];
  snprintf(want, sizeof want, "| %s |", cell);
  const char *end = strchr(line, '\n'), *at = strstr(line, want);
  return at && (!end || at < end);
}

Test(plot, report_tables_hold_the_fixture_numbers) {
  char cmd[256], *out;
  snprintf(cmd, sizeof cmd, NNBENCH " report %s", dir);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  cr_expect(strstr(out, "report.md"), "prints the report's path: %s", out);
  free(out);
  char path[128];
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = tu_read_file(path, NULL);
  snprintf(path, sizeof path, "%s/report.html", dir);
  char *html = tu_read_file(path, NULL);
  cr_assert(md && html);
  cJSON *fx;
  nnb_error e;
  cr_assert_eq(nnb_results_read(FIXTURE, &fx, &e), NNB_OK, "%s", e.msg);

  int ok = 0, failed = 0;
  cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases")) {
    const char *model = cJSON_GetObjectItem(c, "model")->valuestring,
               *backend = cJSON_GetObjectItem(c, "backend")->valuestring,
               *mode = cJSON_GetObjectItem(c, "mode")->valuestring;
    int batch = cJSON_GetObjectItem(c, "batch")->valueint;
    if (strcmp(cJSON_GetObjectItem(c, "status")->valuestring, "ok")) {
      const char *reason = cJSON_GetObjectItem(c, "reason")->valuestring;
      cr_expect(strstr(md, reason), "failed case's reason in the report: %s", reason);
      failed++;
      continue;
    }
    cJSON *s = cJSON_GetObjectItem(c, "summary"), *mem = cJSON_GetObjectItem(c, "memory");
    char row[512], med[32], lo[32], hi[32], thr[32], gf[32], rss[32], par[32];
    ms(med, sizeof med, s, "median_s");
    ms(lo, sizeof lo, s, "median_ci95_lo_s");
    ms(hi, sizeof hi, s, "median_ci95_hi_s");
    num4(thr, sizeof thr, cJSON_GetObjectItem(c, "throughput_samples_per_s")->valuedouble);
    num4(gf, sizeof gf, cJSON_GetObjectItem(c, "gflops")->valuedouble);
    /* Timings: the case, its iterations, median and CI, then throughput and GFLOP/s. */
    snprintf(row, sizeof row, "| %s | %s | %s | %d | default | %d | %s | %s | %s |", model, backend,
             mode, batch, cJSON_GetObjectItem(s, "n")->valueint, med, lo, hi);
    const char *line = line_of(md, row);
    cr_expect(line, "timing row in report.md: %s", row);
    if (line) {
      cr_expect(in_line(line, thr), "samples/s %s in: %.300s", thr, line);
      cr_expect(in_line(line, gf), "GFLOP/s %s in: %.300s", gf, line);
    }
    cr_expect(strstr(html, med), "median %s in report.html", med);
    /* Memory: the case's planned parameters first, its peak RSS last. */
    mib(rss, sizeof rss, mem, "peak_rss_bytes");
    *par = 0; /* a peer's process has no planned roles, only its RSS */
    if (cJSON_GetObjectItem(mem, "by_role_bytes"))
      mib(par, sizeof par, cJSON_GetObjectItem(mem, "by_role_bytes"), "parameter");
    snprintf(row, sizeof row, "| %s | %s | %s | %d | %s |", model, backend, mode, batch, par);
    line = line_of(md, row);
    cr_expect(line, "memory row in report.md: %s", row);
    if (line) {
      char tail[48];
      snprintf(tail, sizeof tail, "| %s |\n", rss);
      cr_expect(strstr(line, tail) == strchr(line, '\n') - strlen(tail) + 1,
                "peak RSS %s ends %.300s", rss, line);
    }
    ok++;
  }
  cr_expect_gt(ok, 10);
  cr_expect_gt(failed, 10);

  int agreements = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "accuracy")) {
    if (strcmp(cJSON_GetObjectItem(c, "status")->valuestring, "ok")) continue;
    char row[256];
    snprintf(row, sizeof row, "| %s | %s | %d | ok | %.1f | %.4g |",
             cJSON_GetObjectItem(c, "model")->valuestring,
             cJSON_GetObjectItem(c, "backend")->valuestring,
             cJSON_GetObjectItem(c, "samples")->valueint,
             cJSON_GetObjectItem(c, "accuracy")->valuedouble * 100,
             cJSON_GetObjectItem(c, "mean_loss")->valuedouble);
    const char *line = line_of(md, row);
    cr_expect(line, "accuracy row in report.md: %s", row);
    cJSON *agree = cJSON_GetObjectItem(c, "agreement_with_reference");
    if (line && agree) {
      char cell[32];
      snprintf(cell, sizeof cell, "%.1f", agree->valuedouble * 100);
      cr_expect(in_line(line, cell), "agreement %s in %.300s", cell, line);
      agreements++;
    }
  }
  cr_expect_gt(agreements, 0, "the fixture compares a backend with the reference");

  /* The report opens with the comparison, then the plots; the raw tables follow. */
  const char *glance = strstr(md, "## At a glance"), *plots = strstr(md, "## Plots"),
             *prov_h = strstr(md, "## Provenance"), *timings = strstr(md, "## Timings");
  cr_assert(glance && plots && prov_h && timings);
  cr_expect(glance < plots && plots < prov_h && prov_h < timings, "glance, plots, then the tables");
  /* The fixture's pytorch cases take 1.6 times openblas's time, to the last digit. */
  const char *vs = strstr(glance, "Relative to pytorch");
  cr_assert(vs, "a peer ran: the glance compares with it");
  const char *row = line_of(vs, "| mlp | infer | 1 | openblas (default threads) |");
  cr_assert(row, "%.400s", vs);
  /* report.md escapes brackets, so no cell can open a link */
  cr_expect(in_line(row, "1.6 \\[1.6, 1.6\\]"), "openblas is 1.6 times as fast: %.300s", row);
  row = line_of(glance, "| mlp | infer | 1 | openblas (default threads) |");
  cr_expect(in_line(row, "0.625 \\[0.624, 0.626\\]"), "pytorch at 1/1.6 of the fastest: %.300s",
            row);
  cr_expect(strstr(md, "## Against pytorch"));

  cJSON *prov = cJSON_GetObjectItem(fx, "provenance");
  cr_expect(strstr(md, cJSON_GetObjectItem(prov, "git_commit")->valuestring));
  cr_expect(strstr(md, cJSON_GetObjectItem(prov, "dataset_crc32")->valuestring));
  cr_expect(strstr(md, cJSON_GetObjectItem(prov, "command")->valuestring));
  for (int i = 0; i < NNB_PLOT_KINDS; i++) {
    char link[64];
    snprintf(link, sizeof link, "](plots/%s.png)", nnb_plot_kind_at(i)->name);
    cr_expect(strstr(md, link), "report.md shows %s", link);
  }
  /* The HTML stands alone: every plot inline as SVG, no image fetched. */
  int svgs = 0;
  for (const char *s = html; (s = strstr(s, "<svg")); s++) svgs++;
  cr_expect_eq(svgs, NNB_PLOT_KINDS);
  cr_expect(!strstr(html, "<img"), "no external image");
  cr_expect(!strstr(html, "<?xml"), "SVGs are inlined from their <svg> element");
  cJSON_Delete(fx);
  free(md);
  free(html);
}

Test(plot, missing_gnuplot_is_a_clear_error) {
  char cmd[512], *out, plots[96];
  snprintf(plots, sizeof plots, "%s/plots", dir);
  snprintf(cmd, sizeof cmd, "NNBENCH_GNUPLOT=/nonexistent/gnuplot " NNBENCH " plot %s 2>&1", dir);
  cr_expect_eq(tu_run(cmd, &out), 1, "%s", out);
  cr_expect(strstr(out, "/nonexistent/gnuplot") && strstr(out, "NNBENCH_GNUPLOT"), "%s", out);
  free(out);
  /* No gnuplot on PATH (an empty folder): the message says how to install it. */
  snprintf(cmd, sizeof cmd, "env -u NNBENCH_GNUPLOT PATH=%s " NNBENCH " plot %s 2>&1", dir, dir);
  cr_expect_eq(tu_run(cmd, &out), 1, "%s", out);
  cr_expect(strstr(out, "gnuplot") && strstr(out, "install-deps.sh") && strstr(out, "gnuplot-nox"),
            "%s", out);
  free(out);
  cr_expect_eq(file_size(plots), -1, "nothing written before failing");
  snprintf(cmd, sizeof cmd, "env -u NNBENCH_GNUPLOT PATH=%s " NNBENCH " report %s 2>&1", dir, dir);
  cr_expect_eq(tu_run(cmd, &out), 1, "%s", out);
  cr_expect(strstr(out, "--no-plots"), "report says how to do without: %s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "env -u NNBENCH_GNUPLOT PATH=%s " NNBENCH " report %s --no-plots 2>&1",
           dir, dir);
  cr_expect_eq(tu_run(cmd, &out), 0, "%s", out);
  free(out);
}

Test(plot, bad_input_names_the_file) {
  char cmd[256], *out;
  snprintf(cmd, sizeof cmd, NNBENCH " plot %s/nowhere 2>&1", dir);
  cr_expect_eq(tu_run(cmd, &out), 1, "%s", out);
  cr_expect(strstr(out, "nowhere/results.json") || strstr(out, "nowhere"), "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "NNBENCH_PLOTS_DIR=%s " NNBENCH " plot %s 2>&1", dir, dir);
  cr_expect_eq(tu_run(cmd, &out), 1, "%s", out);
  cr_expect(strstr(out, "NNBENCH_PLOTS_DIR") && strstr(out, "common.gp"), "%s", out);
  free(out);
}

/* Restyled templates are used, and a backend keeps its colour in every plot. */
Test(plot, templates_restyle_every_plot) {
  char cmd[1024], *out; /* five copies of the folder and two paths of the checkout */
  snprintf(cmd, sizeof cmd,
           "mkdir %s/style && cp " NNB_SOURCE_DIR "/scripts/plots/*.gp %s/style/ && "
           "echo \"color_reference = '#abcdef'\" >> %s/style/palette.gp && "
           "NNBENCH_PLOTS_DIR=%s/style " NNBENCH " plot %s 2>&1",
           dir, dir, dir, dir, dir);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  free(out);
  for (int i = 0; i < NNB_PLOT_KINDS; i++) {
    char path[128];
    snprintf(path, sizeof path, "%s/plots/%s.svg", dir, nnb_plot_kind_at(i)->name);
    char *svg = tu_read_file(path, NULL);
    cr_assert(svg, "%s", path);
    cr_expect(strstr(svg, "rgb(171, 205, 239)"), "%s draws reference in its palette colour", path);
    free(svg);
  }
}

Test(plot, a_plot_without_data_is_skipped_and_its_old_files_removed) {
  nnb_error e;
  cJSON *doc;
  nnb_plot_outcome out[NNB_PLOT_KINDS];
  cr_assert_eq(nnb_results_read(dir, &doc, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_plot_results(dir, doc, out, &e), NNB_OK, "%s", e.msg);
  int loss = 0;
  while (strcmp(nnb_plot_kind_at(loss)->name, "loss")) loss++;
  cr_assert(out[loss].drawn);
  /* Without its training cases, the run has no loss curve to show. */
  cJSON *cases = cJSON_GetObjectItem(doc, "cases");
  for (int i = cJSON_GetArraySize(cases) - 1; i >= 0; i--)
    if (!strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(cases, i), "mode")->valuestring, "train"))
      cJSON_DeleteItemFromArray(cases, i);
  cr_assert_eq(nnb_plot_results(dir, doc, out, &e), NNB_OK, "%s", e.msg);
  cr_expect(!out[loss].drawn);
  cr_expect(strstr(out[loss].skipped, "training"), "%s", out[loss].skipped);
  char path[128];
  snprintf(path, sizeof path, "%s/plots/loss.png", dir);
  cr_expect_eq(file_size(path), -1, "the earlier loss.png is gone");
  for (int i = 0; i < NNB_PLOT_KINDS; i++)
    if (i != loss) cr_expect(out[i].drawn, "%s still drawn", nnb_plot_kind_at(i)->name);
  cJSON_Delete(doc);
}

Test(plot, compare_plots_a_against_b) {
  char cmd[512], *out, path[128];
  snprintf(cmd, sizeof cmd, NNBENCH " compare " FIXTURE " %s --plot %s/cmp 2>&1", dir, dir);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/cmp/compare.png", dir);
  expect_png(path);
  snprintf(path, sizeof path, "%s/cmp/compare.svg", dir);
  expect_svg(path);
}

/* The report.md that `nnbench report --no-plots` writes of results fx (taken). */
static char *report_md_of(cJSON *fx) {
  nnb_error e;
  cr_assert_eq(nnb_results_write(dir, fx, &e), NNB_OK, "%s", e.msg);
  cJSON_Delete(fx);
  char cmd[256], *out, path[128];
  snprintf(cmd, sizeof cmd, NNBENCH " report %s --no-plots 2>&1", dir);
  cr_assert_eq(tu_run(cmd, &out), 0, "%s", out);
  free(out);
  snprintf(path, sizeof path, "%s/report.md", dir);
  char *md = tu_read_file(path, NULL);
  cr_assert(md);
  return md;
}

Test(plot, the_glance_names_a_skipped_contender_instead_of_a_blank) {
  cJSON *fx;
  nnb_error e;
  cr_assert_eq(nnb_results_read(FIXTURE, &fx, &e), NNB_OK, "%s", e.msg);
  cJSON *c;
  int marked = 0;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases")) {
    if (strcmp(cJSON_GetObjectItem(c, "model")->valuestring, "transformer") ||
        strcmp(cJSON_GetObjectItem(c, "backend")->valuestring, "reference") ||
        strcmp(cJSON_GetObjectItem(c, "mode")->valuestring, "infer") ||
        cJSON_GetObjectItem(c, "batch")->valueint != 4)
      continue;
    cJSON_ReplaceItemInObject(c, "status", cJSON_CreateString("skipped"));
    cJSON_AddStringToObject(c, "reason", "its first step took 9.5 s, more than max_step = 1 s");
    cJSON_DeleteItemFromObject(c, "summary");
    cJSON_DeleteItemFromObject(c, "samples_s");
    marked++;
  }
  cr_assert_eq(marked, 1);
  char *md = report_md_of(fx);
  const char *row = line_of(strstr(md, "## At a glance"), "| transformer | infer | 4 |");
  cr_assert(row, "%.600s", md);
  cr_expect(in_line(row, "skipped"), "the reference's cell says why it has no ratio: %.300s", row);
  cr_expect(strstr(md, "1 skipped"), "the summary counts it");
  free(md);
}

Test(plot, a_report_of_a_run_not_complete_says_so_and_fails_no_pending_case) {
  /* What a report made while the run writes the folder reads: a pending case
   * (not measured yet) and run.complete false. */
  cJSON *fx;
  nnb_error e;
  cr_assert_eq(nnb_results_read(FIXTURE, &fx, &e), NNB_OK, "%s", e.msg);
  cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(fx, "cases"), 0);
  cr_assert_str_eq(cJSON_GetObjectItem(c, "status")->valuestring, "ok");
  cJSON_ReplaceItemInObject(c, "status", cJSON_CreateString("pending"));
  cJSON_AddStringToObject(c, "reason", "not measured yet");
  cJSON_DeleteItemFromObject(c, "summary");
  cJSON_DeleteItemFromObject(c, "samples_s");
  cJSON_AddBoolToObject(cJSON_AddObjectToObject(fx, "run"), "complete", 0);
  char *md = report_md_of(fx);
  cr_expect(strstr(md, "This run is not complete") && strstr(md, "1 of its 60 cases have no round"),
            "%.600s", md);
  cr_expect(strstr(md, "60 cases: 35 ran, 24 failed or unsupported, 0 skipped"), "%.600s", md);
  const char *failed = strstr(md, "## Failed, unsupported and skipped cases");
  cr_assert(failed);
  cr_expect_null(strstr(failed, "not measured yet"), "a pending case is not listed as failed");
  free(md);
}

static cJSON *profiled_node(const char *name, const char *op, double flops, double secs,
                            const char *kernel) {
  cJSON *n = cJSON_CreateObject();
  cJSON_AddStringToObject(n, "name", name);
  cJSON_AddStringToObject(n, "op", op);
  cJSON_AddNumberToObject(n, "seconds", secs);
  cJSON_AddNumberToObject(n, "flops", flops);
  cJSON_AddNumberToObject(n, "gflops", flops / secs / 1e9);
  if (kernel) cJSON_AddStringToObject(n, "kernel", kernel);
  return n;
}

/* The GEMM-shaped nodes that carry 90% of a case's GEMM FLOPs against the
 * run's peak for its thread count; the small ones and the other ops left
 * out. */
Test(plot, the_report_puts_gemm_nodes_against_the_measured_peak) {
  cJSON *fx;
  nnb_error e;
  cr_assert_eq(nnb_results_read(FIXTURE, &fx, &e), NNB_OK, "%s", e.msg);
  cJSON *peak = cJSON_CreateObject();
  cJSON_AddNumberToObject(peak, "single_core_gflops", 100);
  cJSON_AddNumberToObject(peak, "all_core_gflops", 200);
  cJSON_DeleteItemFromObject(cJSON_GetObjectItem(fx, "provenance"), "peak");
  cJSON_AddItemToObject(cJSON_GetObjectItem(fx, "provenance"), "peak", peak);
  cJSON *c, *picked = NULL;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases")) {
    cJSON_DeleteItemFromObject(c, "node_profile");
    if (!picked && !strcmp(cJSON_GetObjectItem(c, "status")->valuestring, "ok")) picked = c;
  }
  cr_assert(picked);
  cJSON_ReplaceItemInObject(picked, "threads", cJSON_CreateNumber(1));
  cJSON *prof = cJSON_AddArrayToObject(picked, "node_profile");
  cJSON_AddItemToArray(prof, profiled_node("tiny", "matmul", 1e6, 1.0, NULL));
  cJSON_AddItemToArray(prof, profiled_node("act", "relu", 0, 0.5, NULL));
  cJSON_AddItemToArray(prof, profiled_node("mid", "conv2d", 1e9, 0.02, "k:x"));
  cJSON_AddItemToArray(prof, profiled_node("big", "matmul", 9e9, 0.1, NULL));
  char want[256];
  snprintf(want, sizeof want, "| %s |", cJSON_GetObjectItem(picked, "model")->valuestring);
  char *md = report_md_of(fx);
  const char *sec = strstr(md, "## GEMM-shaped nodes against peak");
  cr_assert(sec, "%.400s", md);
  const char *row = line_of(sec, want);
  cr_assert(row, "%.800s", sec);
  /* big and mid: 10 GFLOP in 0.12 s against one core's 100 GFLOP/s */
  static const char *const cells[] = {"2", "83.3", "83%", "50-90%", "mid (conv2d, k:x)"};
  for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++)
    cr_expect(in_line(row, cells[i]), "no cell %s in %.300s", cells[i], row);
  int rows = 0; /* the table's lines but its rule: the head and one row, the profiled case's */
  for (const char *l = sec; l && strncmp(l, "## ", 3) | (l == sec);
       l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    rows += !strncmp(l, "| ", 2);
  cr_expect_eq(rows, 2, "only the profiled case has a row");
  free(md);
}
