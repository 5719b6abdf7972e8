#include "case_rounds.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "round_stats.h"

int nnb_case_ok(const cJSON *rec) {
  const cJSON *s = cJSON_GetObjectItem(rec, "status");
  return cJSON_IsString(s) && !strcmp(s->valuestring, "ok");
}

/* Moves rec's key (when present) into the round entry. */
static void move_key(cJSON *rec, cJSON *entry, const char *key) {
  cJSON *v = cJSON_DetachItemFromObject(rec, key);
  if (v) cJSON_AddItemToObject(entry, key, v);
}

static double num(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItem(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The round's entry: its slice of the samples and what only it knows. */
static cJSON *round_entry(cJSON *r, int round, int order, int first, const char *pin) {
  cJSON *entry = cJSON_CreateObject();
  cJSON_AddNumberToObject(entry, "round", round);
  cJSON_AddNumberToObject(entry, "order", order);
  cJSON *st = cJSON_GetObjectItem(r, "status");
  cJSON_AddStringToObject(entry, "status", cJSON_IsString(st) ? st->valuestring : "failed");
  if (!nnb_case_ok(r)) {
    cJSON *why = cJSON_GetObjectItem(r, "reason");
    cJSON_AddStringToObject(entry, "reason", cJSON_IsString(why) ? why->valuestring : "?");
  }
  cJSON *arr = cJSON_GetObjectItem(r, "samples_s");
  int n = cJSON_GetArraySize(arr);
  cJSON_AddNumberToObject(entry, "first", first);
  cJSON_AddNumberToObject(entry, "n", n);
  double *v = malloc((size_t)(n ? n : 1) * sizeof *v), med, cv;
  int i = 0;
  cJSON *x;
  cJSON_ArrayForEach(x, arr) if (v) v[i++] = x->valuedouble;
  nnb_error e;
  if (v && n && nnb_round_median_cv(v, n, &med, &cv, &e) == NNB_OK) {
    cJSON_AddNumberToObject(entry, "median_s", med);
    cJSON_AddNumberToObject(entry, "cv", cv);
  }
  free(v);
  cJSON_AddNumberToObject(entry, "cold_s", num(r, "cold_s"));
  move_key(r, entry, "warmup_iters");
  move_key(r, entry, "warmup_s");
  move_key(r, entry, "warmup_steady");
  move_key(r, entry, "child_cpu_s");
  cJSON_AddNumberToObject(entry, "peak_rss_bytes",
                          num(cJSON_GetObjectItem(r, "memory"), "peak_rss_bytes"));
  cJSON_AddStringToObject(entry, "pin", pin ? pin : "");
  return entry;
}

/* A node's figures from its seconds (the median over the rounds). */
static void set_node_seconds(cJSON *node, double sec) {
  cJSON_ReplaceItemInObject(node, "seconds", cJSON_CreateNumber(sec));
  double flops = num(node, "flops");
  cJSON_ReplaceItemInObject(node, "gflops",
                            cJSON_CreateNumber(sec > 0 && flops > 0 ? flops / sec / 1e9 : 0));
}

/* The case's per-node profile over its rounds: each node's seconds is the
 * median of every round's own figure (seconds_by_round), so one disturbed
 * round does not make the profile. Nodes are matched by position and
 * name; a round whose profile has another shape is left out. */
static void merge_profile(cJSON *rec, const cJSON *r) {
  cJSON *have = cJSON_GetObjectItem(rec, "node_profile");
  const cJSON *more = cJSON_GetObjectItem(r, "node_profile");
  int n = cJSON_GetArraySize(have);
  if (!cJSON_IsArray(have) || !cJSON_IsArray(more) || cJSON_GetArraySize(more) != n) return;
  for (const cJSON *a = have->child, *b = more->child; a && b; a = a->next, b = b->next) {
    const cJSON *na = cJSON_GetObjectItem(a, "name"), *nb = cJSON_GetObjectItem(b, "name");
    if (!cJSON_IsString(na) || !cJSON_IsString(nb) || strcmp(na->valuestring, nb->valuestring))
      return;
  }
  double v[NNB_MAX_ROUNDS];
  for (cJSON *a = have->child, *b = more->child; a && b; a = a->next, b = b->next) {
    cJSON *by = cJSON_GetObjectItem(a, "seconds_by_round");
    if (!by) {
      by = cJSON_AddArrayToObject(a, "seconds_by_round");
      cJSON_AddItemToArray(by, cJSON_CreateNumber(num(a, "seconds")));
    }
    cJSON_AddItemToArray(by, cJSON_CreateNumber(num(b, "seconds")));
    int k = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, by) if (k < NNB_MAX_ROUNDS) v[k++] = x->valuedouble;
    double med, cv;
    nnb_error e;
    if (nnb_round_median_cv(v, k, &med, &cv, &e) == NNB_OK) set_node_seconds(a, med);
  }
}

void nnb_case_add_round(cJSON **rec, cJSON *r, int round, int order, cJSON *conditions,
                        const char *pin) {
  cJSON *all = *rec ? cJSON_GetObjectItem(*rec, "samples_s") : NULL;
  cJSON *entry = round_entry(r, round, order, cJSON_GetArraySize(all), pin);
  if (conditions) cJSON_AddItemToObject(entry, "conditions", conditions);
  if (!*rec) {
    *rec = r;
    cJSON_AddItemToArray(cJSON_AddArrayToObject(r, "rounds"), entry);
    return;
  }
  cJSON_AddItemToArray(cJSON_GetObjectItem(*rec, "rounds"), entry);
  if (nnb_case_ok(r) && nnb_case_ok(*rec)) merge_profile(*rec, r);
  cJSON *more = cJSON_GetObjectItem(r, "samples_s");
  if (all && more) {
    cJSON *x;
    cJSON_ArrayForEach(x, more) cJSON_AddItemToArray(all, cJSON_CreateNumber(x->valuedouble));
  }
  cJSON *mem = cJSON_GetObjectItem(*rec, "memory");
  double rss = num(cJSON_GetObjectItem(r, "memory"), "peak_rss_bytes");
  if (rss > num(mem, "peak_rss_bytes")) /* the case's peak: the largest of its rounds */
    cJSON_ReplaceItemInObject(mem, "peak_rss_bytes", cJSON_CreateNumber(rss));
  if (!nnb_case_ok(r)) {
    cJSON *st = cJSON_GetObjectItem(r, "status"), *why = cJSON_GetObjectItem(r, "reason");
    char reason[1024];
    snprintf(reason, sizeof reason, "round %d: %s", round + 1,
             cJSON_IsString(why) ? why->valuestring : "?");
    cJSON_DeleteItemFromObject(*rec, "status");
    cJSON_DeleteItemFromObject(*rec, "reason");
    cJSON_AddStringToObject(*rec, "status", cJSON_IsString(st) ? st->valuestring : "failed");
    cJSON_AddStringToObject(*rec, "reason", reason);
  }
  cJSON_Delete(r);
}

int nnb_case_round_medians(const cJSON *rec, double *m, int max) {
  int n = 0;
  const cJSON *x;
  if (!nnb_case_ok(rec)) return 0;
  cJSON_ArrayForEach(x, cJSON_GetObjectItem(rec, "rounds")) {
    double v = num(x, "median_s");
    if (n < max && nnb_case_ok(x) && v > 0) m[n++] = v;
  }
  return n;
}
