/* Speeds relative to another contender (relative.h). */
#include "relative.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonpath.h"

int nnb_rel_timed(const cJSON *r) {
  return !strcmp(nnb_json_str(r, "status"), "ok") && nnb_json_num(r, "summary.median_s") > 0;
}

/* Half the width of a case's 95% interval on the log scale (0 without one). */
static double log_half_width(const cJSON *r) {
  double lo = nnb_json_num(r, "summary.median_ci95_lo_s"),
         hi = nnb_json_num(r, "summary.median_ci95_hi_s");
  return lo > 0 && hi >= lo ? (log(hi) - log(lo)) / 2 : 0;
}

nnb_rel nnb_rel_speed(const cJSON *a, const cJSON *b) {
  nnb_rel r = {NAN, NAN, NAN};
  if (!a || !b || !nnb_rel_timed(a) || !nnb_rel_timed(b)) return r;
  double ta = nnb_json_num(a, "summary.median_s"), tb = nnb_json_num(b, "summary.median_s");
  double ha = a == b ? 0 : log_half_width(a), hb = a == b ? 0 : log_half_width(b);
  double h = sqrt(ha * ha + hb * hb);
  r.ratio = tb / ta;
  r.lo = r.ratio * exp(-h);
  r.hi = r.ratio * exp(h);
  return r;
}

void nnb_rel_format(nnb_rel r, char *buf, size_t len) {
  if (isnan(r.ratio))
    snprintf(buf, len, "%s", "");
  else
    snprintf(buf, len, "%.3g [%.3g, %.3g]", r.ratio, r.lo, r.hi);
}

const char *nnb_rel_peer(const cJSON *doc) {
  const char *first = NULL;
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    if (!nnb_rel_timed(c) || strcmp(nnb_json_str(c, "backend_kind"), "peer")) continue;
    if (!strcmp(nnb_json_str(c, "backend"), "pytorch")) return nnb_json_str(c, "backend");
    if (!first) first = nnb_json_str(c, "backend");
  }
  return first;
}

void nnb_rel_contender(const cJSON *rec, char *buf, size_t len) {
  const char *o = nnb_json_str(rec, "options");
  snprintf(buf, len, *o ? "%s[%s]" : "%s", nnb_json_str(rec, "backend"), o);
}

/* Whether c is the contender's case of that model spec, mode and batch. */
static int same_case(const cJSON *c, const char *spec, const char *mode, double batch,
                     const char *contender) {
  char who[160];
  nnb_rel_contender(c, who, sizeof who);
  return !strcmp(nnb_json_str(c, "spec"), spec) && !strcmp(nnb_json_str(c, "mode"), mode) &&
         nnb_json_num(c, "batch") == batch && !strcmp(who, contender);
}

const char *nnb_rel_untimed_status(const cJSON *doc, const char *spec, const char *mode,
                                   double batch, const char *contender) {
  const cJSON *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    if (!nnb_rel_timed(c) && same_case(c, spec, mode, batch, contender))
      return nnb_json_str(c, "status");
  }
  return "";
}

const cJSON *nnb_rel_best(const cJSON *doc, const char *spec, const char *mode, double batch,
                          const char *contender) {
  const cJSON *best = NULL, *c;
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(doc, "cases")) {
    if (!nnb_rel_timed(c) || !same_case(c, spec, mode, batch, contender)) continue;
    if (!best || nnb_json_num(c, "summary.median_s") < nnb_json_num(best, "summary.median_s"))
      best = c;
  }
  return best;
}
