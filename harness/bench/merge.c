#include "merge.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"
#include "results.h"
#include "run_dir.h"

typedef struct shard_doc {
  const char *dir;
  cJSON *doc;
  int index, count; /* 1/1 for a run measured whole */
} shard_doc;

static const cJSON *at(const cJSON *o, const char *a, const char *b) {
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
  return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

/* A value as text, for naming a difference ("missing" when absent). */
static void text_of(const cJSON *v, char *buf, size_t len) {
  if (cJSON_IsString(v))
    snprintf(buf, len, "%s", v->valuestring);
  else if (cJSON_IsNumber(v))
    snprintf(buf, len, "%.17g", v->valuedouble);
  else
    snprintf(buf, len, "missing");
}

static int num_of(const cJSON *v, int def) { return cJSON_IsNumber(v) ? v->valueint : def; }

/* Appends "; " and the formatted text to the differences, as far as they fit. */
static void note(char *why, size_t len, cJSON *list, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(char *why, size_t len, cJSON *list, const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  cJSON_AddItemToArray(list, cJSON_CreateString(line));
  strncat(why, "; ", len - strlen(why) - 1);
  strncat(why, line, len - strlen(why) - 1);
}

/* What every folder must share with the first, by its key in the document. */
static const struct {
  const char *a, *b, *what;
} same[] = {
    {"suite", "fingerprint", "suite fingerprint (the cases differ)"},
    {"provenance", "nnbench_version", "nnbench version"},
    {"provenance", "git_commit", "nnbench commit"},
    {"provenance", "seed", "seed"},
};

static void check_shards(shard_doc *d, int n, char *why, size_t len, cJSON *diffs) {
  for (int i = 1; i < n; i++) {
    for (size_t k = 0; k < sizeof same / sizeof *same; k++) {
      char want[256], have[256];
      text_of(at(d[0].doc, same[k].a, same[k].b), want, sizeof want);
      text_of(at(d[i].doc, same[k].a, same[k].b), have, sizeof have);
      if (strcmp(want, have))
        note(why, len, diffs, "%s: %s is %s, %s has %s", d[i].dir, same[k].what, have, d[0].dir,
             want);
    }
    if (d[i].count != d[0].count)
      note(why, len, diffs, "%s is shard %d/%d, %s is one of %d shards", d[i].dir, d[i].index,
           d[i].count, d[0].dir, d[0].count);
  }
  for (int i = 0; i < n; i++) {
    if (!cJSON_IsTrue(at(d[i].doc, "run", "complete")))
      note(why, len, diffs, "%s is unfinished (continue it with nnbench run --resume %s)", d[i].dir,
           d[i].dir);
    for (int j = 0; j < i; j++)
      if (d[j].index == d[i].index && d[j].count == d[i].count)
        note(why, len, diffs, "shard %d/%d twice: %s and %s", d[i].index, d[i].count, d[j].dir,
             d[i].dir);
  }
  for (int s = 1; s <= d[0].count; s++) {
    int found = 0;
    for (int i = 0; i < n && !found; i++) found = d[i].index == s && d[i].count == d[0].count;
    if (!found) note(why, len, diffs, "shard %d/%d is missing", s, d[0].count);
  }
}

/* Where a folder's k-th case stands in the whole run's order. */
static int position(const shard_doc *d, int k) {
  const cJSON *idx = at(d->doc, "run", "shard");
  idx = cJSON_GetObjectItemCaseSensitive(idx, "case_indices");
  const cJSON *v = cJSON_GetArrayItem(idx, k);
  return cJSON_IsNumber(v) ? v->valueint : NNB_SUITE_MAX_CASES + k;
}

typedef struct placed {
  int pos, shard, k;
  cJSON *rec;
} placed;

static int by_position(const void *pa, const void *pb) {
  const placed *a = pa, *b = pb;
  if (a->pos != b->pos) return a->pos < b->pos ? -1 : 1;
  if (a->shard != b->shard) return a->shard < b->shard ? -1 : 1;
  return a->k - b->k;
}

/* The cases of every folder, in the whole run's order; a case already taken
 * from an earlier folder is a difference (and dropped). */
static cJSON *merged_cases(shard_doc *d, int n, char *why, size_t len, cJSON *diffs) {
  int total = 0;
  for (int i = 0; i < n; i++) total += cJSON_GetArraySize(at(d[i].doc, "cases", NULL));
  placed *p = calloc((size_t)(total ? total : 1), sizeof *p);
  cJSON *arr = cJSON_CreateArray();
  if (!p) return arr;
  int m = 0;
  for (int i = 0; i < n; i++) {
    int k = 0;
    cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItemCaseSensitive(d[i].doc, "cases")) {
      p[m++] = (placed){position(&d[i], k), i, k, rec};
      k++;
    }
  }
  qsort(p, (size_t)m, sizeof *p, by_position);
  for (int a = 0; a < m; a++) {
    char key[512], other[512];
    nnb_record_key(p[a].rec, key, sizeof key);
    int dup = -1;
    for (int b = 0; b < a && dup < 0; b++) {
      nnb_record_key(p[b].rec, other, sizeof other);
      if (!strcmp(key, other)) dup = b;
    }
    if (dup >= 0) {
      note(why, len, diffs, "case %s measured in both %s and %s", key, d[p[dup].shard].dir,
           d[p[a].shard].dir);
      continue;
    }
    cJSON_AddItemToArray(arr, cJSON_Duplicate(p[a].rec, 1));
  }
  free(p);
  return arr;
}

/* The accuracy rows of every folder, each (model, backend) once. */
static cJSON *merged_accuracy(shard_doc *d, int n) {
  cJSON *arr = cJSON_CreateArray(), *row, *have;
  for (int i = 0; i < n; i++)
    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(d[i].doc, "accuracy")) {
      char key[512], other[512], a[256], b[256];
      text_of(at(row, "model", NULL), a, sizeof a);
      text_of(at(row, "backend", NULL), b, sizeof b);
      snprintf(key, sizeof key, "%s|%s", a, b);
      int dup = 0;
      cJSON_ArrayForEach(have, arr) {
        text_of(at(have, "model", NULL), a, sizeof a);
        text_of(at(have, "backend", NULL), b, sizeof b);
        snprintf(other, sizeof other, "%s|%s", a, b);
        dup |= !strcmp(key, other);
      }
      if (!dup) cJSON_AddItemToArray(arr, cJSON_Duplicate(row, 1));
    }
  return arr;
}

static cJSON *merged_document(shard_doc *d, int n, int force, char *why, size_t len, cJSON *diffs) {
  int first = 0;
  for (int i = 1; i < n; i++)
    if (d[i].index < d[first].index) first = i;
  cJSON *doc = cJSON_Duplicate(d[first].doc, 1);
  cJSON_ReplaceItemInObject(doc, "cases", merged_cases(d, n, why, len, diffs));
  cJSON_DeleteItemFromObject(doc, "accuracy");
  cJSON_AddItemToObject(doc, "accuracy", merged_accuracy(d, n));
  cJSON_DeleteItemFromObject(doc, "run");
  cJSON *run = cJSON_AddObjectToObject(doc, "run");
  int planned = 0, complete = 1;
  for (int i = 0; i < n; i++) {
    planned += num_of(at(d[i].doc, "run", "cases_planned"), 0);
    complete &= cJSON_IsTrue(at(d[i].doc, "run", "complete"));
  }
  cJSON_AddBoolToObject(run, "complete", complete);
  cJSON_AddNumberToObject(run, "cases_planned", planned);
  cJSON_AddNumberToObject(run, "cases_recorded", cJSON_GetArraySize(at(doc, "cases", NULL)));
  cJSON *merged = cJSON_AddObjectToObject(run, "merged");
  cJSON *from = cJSON_AddArrayToObject(merged, "shards");
  for (int i = 0; i < n; i++) {
    cJSON *s = cJSON_CreateObject();
    char machine[600], stamp[64];
    nnb_run_machine_id(at(d[i].doc, "provenance", "machine"), machine, sizeof machine);
    text_of(at(d[i].doc, "provenance", "created_utc"), stamp, sizeof stamp);
    cJSON_AddStringToObject(s, "dir", d[i].dir);
    cJSON_AddNumberToObject(s, "index", d[i].index);
    cJSON_AddNumberToObject(s, "count", d[i].count);
    cJSON_AddStringToObject(s, "machine", machine);
    cJSON_AddStringToObject(s, "created_utc", stamp);
    cJSON_AddNumberToObject(s, "cases", cJSON_GetArraySize(at(d[i].doc, "cases", NULL)));
    cJSON_AddItemToArray(from, s);
  }
  cJSON_AddBoolToObject(merged, "forced", force);
  cJSON_AddItemToObject(merged, "differences", cJSON_Duplicate(diffs, 1));
  return doc;
}

nnb_status nnb_merge_runs(const char *const *dirs, int n, const char *out, int force,
                          nnb_error *e) {
  if (n < 1) return nnb_fail(e, NNB_ERR_INVALID, "no results folders to merge");
  shard_doc *d = calloc((size_t)n, sizeof *d);
  if (!d) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory for %d folders", n);
  nnb_status st = NNB_OK;
  for (int i = 0; i < n && st == NNB_OK; i++) {
    d[i].dir = dirs[i];
    st = nnb_results_read(dirs[i], &d[i].doc, e);
    const cJSON *sh = at(d[i].doc, "run", "shard");
    d[i].index = num_of(cJSON_GetObjectItemCaseSensitive(sh, "index"), 1);
    d[i].count = num_of(cJSON_GetObjectItemCaseSensitive(sh, "count"), 1);
  }
  char why[sizeof e->msg - 128] = "";
  cJSON *diffs = cJSON_CreateArray(), *doc = NULL;
  if (st == NNB_OK) {
    check_shards(d, n, why, sizeof why, diffs);
    doc = merged_document(d, n, force, why, sizeof why, diffs);
  }
  if (st == NNB_OK && *why && !force)
    st = nnb_fail(e, NNB_ERR_INVALID, "refusing to merge: %s (--force merges anyway)", why + 2);
  nnb_run_lock lock = {-1};
  if (st == NNB_OK) st = nnb_mkdir_p(out, e);
  if (st == NNB_OK) st = nnb_run_dir_lock(out, &lock, e);
  if (st == NNB_OK) st = nnb_run_dir_check_new(out, e);
  if (st == NNB_OK) st = nnb_results_write(out, doc, e);
  nnb_run_dir_unlock(&lock);
  cJSON_Delete(doc);
  cJSON_Delete(diffs);
  for (int i = 0; i < n; i++) cJSON_Delete(d[i].doc);
  free(d);
  return st;
}
