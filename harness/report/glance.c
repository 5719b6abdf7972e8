/* The report's opening sections (glance.h). */
#include "glance.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonpath.h"
#include "relative.h"

#define MAX_GROUPS 256
#define MAX_BACKENDS 16

/* The (spec, mode, batch) groups and the backends of the timed cases, in
 * order of appearance, the peer last. */
typedef struct grid {
  const cJSON *group[MAX_GROUPS]; /* a case of each group, for its identity */
  int ngroups;
  char backend[MAX_BACKENDS][160]; /* contenders: backend[options] */
  int nbackends;
  const char *peer; /* NULL when none ran */
} grid;

static int same_group(const cJSON *a, const cJSON *b) {
  return !strcmp(nnb_json_str(a, "spec"), nnb_json_str(b, "spec")) &&
         !strcmp(nnb_json_str(a, "mode"), nnb_json_str(b, "mode")) &&
         nnb_json_num(a, "batch") == nnb_json_num(b, "batch");
}

static void collect(const cJSON *doc, grid *g) {
  memset(g, 0, sizeof *g);
  g->peer = nnb_rel_peer(doc);
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    if (!nnb_rel_timed(c)) continue;
    int seen = 0;
    for (int i = 0; i < g->ngroups && !seen; i++) seen = same_group(g->group[i], c);
    if (!seen && g->ngroups < MAX_GROUPS) g->group[g->ngroups++] = c;
    char b[160];
    nnb_rel_contender(c, b, sizeof b);
    seen = g->peer && !strcmp(b, g->peer);
    for (int i = 0; i < g->nbackends && !seen; i++) seen = !strcmp(g->backend[i], b);
    if (!seen && g->nbackends < MAX_BACKENDS - 1)
      snprintf(g->backend[g->nbackends++], sizeof g->backend[0], "%s", b);
  }
  if (g->peer) snprintf(g->backend[g->nbackends++], sizeof g->backend[0], "%s", g->peer);
}

static const cJSON *best(const cJSON *doc, const cJSON *group, const char *backend) {
  return nnb_rel_best(doc, nnb_json_str(group, "spec"), nnb_json_str(group, "mode"),
                      nnb_json_num(group, "batch"), backend);
}

static void threads_word(const cJSON *rec, char *buf, size_t len) {
  double t = nnb_json_num(rec, "threads");
  if (t > 0)
    snprintf(buf, len, "%.0f thread%s", t, t == 1 ? "" : "s");
  else
    snprintf(buf, len, "default threads");
}

/* One table: per group, the fastest and every backend relative to `to`
 * (NULL: the fastest). */
static void relative_table(nnb_doc *d, const cJSON *doc, const grid *g, const char *to) {
  const char *head[4 + MAX_BACKENDS + 2];
  char align[4 + MAX_BACKENDS + 3], cells[4 + MAX_BACKENDS + 2][160];
  const char *row[4 + MAX_BACKENDS + 2];
  int n = 0;
  static const char *const id[] = {"model", "mode", "batch"};
  for (int i = 0; i < 3; i++) align[n] = 'l', head[n++] = id[i];
  align[n] = 'l', head[n++] = "fastest";
  align[n] = 'r', head[n++] = "its median (ms)";
  for (int b = 0; b < g->nbackends; b++) align[n] = 'r', head[n++] = g->backend[b];
  align[n] = 0;
  nnb_doc_table(d, n, head, align);
  for (int i = 0; i < n; i++) row[i] = cells[i];
  for (int k = 0; k < g->ngroups; k++) {
    const cJSON *grp = g->group[k], *fast = NULL, *base;
    for (int b = 0; b < g->nbackends; b++) {
      const cJSON *c = best(doc, grp, g->backend[b]);
      if (c &&
          (!fast || nnb_json_num(c, "summary.median_s") < nnb_json_num(fast, "summary.median_s")))
        fast = c;
    }
    base = to ? best(doc, grp, to) : fast;
    char th[32];
    threads_word(fast, th, sizeof th);
    snprintf(cells[0], sizeof cells[0], "%s", nnb_json_str(grp, "model"));
    snprintf(cells[1], sizeof cells[1], "%s", nnb_json_str(grp, "mode"));
    snprintf(cells[2], sizeof cells[2], "%.0f", nnb_json_num(grp, "batch"));
    char who[160];
    nnb_rel_contender(fast, who, sizeof who);
    snprintf(cells[3], sizeof cells[3], "%.100s (%s)", who, th);
    snprintf(cells[4], sizeof cells[4], "%.4g", nnb_json_num(fast, "summary.median_s") * 1e3);
    for (int b = 0; b < g->nbackends; b++) {
      const cJSON *c = best(doc, grp, g->backend[b]);
      if (c && c == base)
        snprintf(cells[5 + b], sizeof cells[5 + b], "1");
      else if (!c) /* say why there is no ratio: skipped, failed, unsupported */
        snprintf(cells[5 + b], sizeof cells[5 + b], "%s",
                 nnb_rel_untimed_status(doc, nnb_json_str(grp, "spec"), nnb_json_str(grp, "mode"),
                                        nnb_json_num(grp, "batch"), g->backend[b]));
      else
        nnb_rel_format(nnb_rel_speed(c, base), cells[5 + b], sizeof cells[5 + b]);
    }
    nnb_doc_row(d, row);
  }
}

void nnb_report_glance(nnb_doc *d, const cJSON *doc) {
  grid *g = &(grid){0};
  collect(doc, g);
  nnb_doc_heading(d, 2, "At a glance");
  if (!g->ngroups) {
    nnb_doc_text(d, "No case ran successfully.");
    return;
  }
  nnb_doc_text(d, "Per model, mode and batch: the fastest contender and how fast every other "
                  "is relative to it (its time / theirs: 1 is the fastest, 0.5 half its speed), "
                  "each backend at its best thread count, with a 95%% confidence interval "
                  "[low, high] of the ratio (the two medians' intervals combined on the log "
                  "scale).");
  relative_table(d, doc, g, NULL);
  if (!g->peer) return;
  nnb_doc_text(d,
               "Relative to %s at its best thread count: above 1 is faster than %s, below 1 "
               "slower.",
               g->peer, g->peer);
  relative_table(d, doc, g, g->peer);
}

void nnb_report_vs_peer(nnb_doc *d, const cJSON *doc) {
  const char *peer = nnb_rel_peer(doc);
  if (!peer) return;
  char title[96];
  snprintf(title, sizeof title, "Against %s", peer);
  nnb_doc_heading(d, 2, title);
  nnb_doc_text(d,
               "Every case's speed relative to %s on the same model, mode and batch, at %s's "
               "best thread count there (same data, same weights, same timed region; %s runs "
               "as a peer process, docs/peers.md). Above 1: faster than %s.",
               peer, peer, peer, peer);
  static const char *const head[] = {"model",   "mode",        "batch",  "backend",
                                     "threads", "median (ms)", "x peer", "95% CI"};
  nnb_doc_table(d, 8, head, "lllllrrl");
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    const cJSON *ref;
    if (!nnb_rel_timed(c) ||
        !(ref = nnb_rel_best(doc, nnb_json_str(c, "spec"), nnb_json_str(c, "mode"),
                             nnb_json_num(c, "batch"), peer)))
      continue;
    nnb_rel r = nnb_rel_speed(c, ref);
    char cells[8][96];
    const char *row[8];
    for (int i = 0; i < 8; i++) row[i] = cells[i];
    snprintf(cells[0], sizeof cells[0], "%s", nnb_json_str(c, "model"));
    snprintf(cells[1], sizeof cells[1], "%s", nnb_json_str(c, "mode"));
    snprintf(cells[2], sizeof cells[2], "%.0f", nnb_json_num(c, "batch"));
    nnb_rel_contender(c, cells[3], sizeof cells[3]);
    threads_word(c, cells[4], sizeof cells[4]);
    snprintf(cells[5], sizeof cells[5], "%.4g", nnb_json_num(c, "summary.median_s") * 1e3);
    snprintf(cells[6], sizeof cells[6], "%.3g", r.ratio);
    snprintf(cells[7], sizeof cells[7], "[%.3g, %.3g]", r.lo, r.hi);
    nnb_doc_row(d, row);
  }
}
