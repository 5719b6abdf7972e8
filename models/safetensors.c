/* safetensors reading and writing; see safetensors.h. All JSON goes through
 * cJSON. */
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#define ST_MAX_HEADER (100u * 1000u * 1000u) /* bytes; the reference limit */
#define ST_MAX_EXACT 9007199254740992.0      /* 2^53: larger JSON numbers are inexact */
#define ST_METADATA "__metadata__"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ST_HOST_LE 1
#else
#define ST_HOST_LE 0
#endif

/* ---- reading ---- */

/* An integral JSON number in [-2^53, 2^53]. */
static int json_int(const cJSON *j, double *out) {
  if (!cJSON_IsNumber(j)) return 0;
  double v = j->valuedouble;
  if (!isfinite(v) || v != floor(v) || fabs(v) > ST_MAX_EXACT) return 0;
  *out = v;
  return 1;
}

/* Validates one tensor entry and fills `t` (its name is already set). */
static nnb_status parse_tensor(const char *path, const cJSON *j, uint64_t data_len,
                               nnb_st_tensor *t, nnb_error *e) {
  const char *name = t->name;
  if (!cJSON_IsObject(j))
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: header entry '%s' is not a JSON object", path, name);
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(j, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(j, "shape");
  const cJSON *offs = cJSON_GetObjectItemCaseSensitive(j, "data_offsets");
  if (!dtype) return nnb_fail(e, NNB_ERR_FORMAT, "%s: tensor '%s' is missing 'dtype'", path, name);
  if (!shape) return nnb_fail(e, NNB_ERR_FORMAT, "%s: tensor '%s' is missing 'shape'", path, name);
  if (!offs)
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: tensor '%s' is missing 'data_offsets'", path, name);
  if (!cJSON_IsString(dtype))
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: tensor '%s': 'dtype' must be a string", path, name);
  if (strcmp(dtype->valuestring, "F32") != 0)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED, "%s: '%s' has dtype %.32s; only F32 is supported", path,
                    name, dtype->valuestring);

  if (!cJSON_IsArray(shape))
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: tensor '%s': 'shape' must be an array of integers",
                    path, name);
  int rank = cJSON_GetArraySize(shape);
  if (rank > NNB_MAX_RANK)
    return nnb_fail(e, NNB_ERR_UNSUPPORTED, "%s: tensor '%s' has rank %d; at most %d is supported",
                    path, name, rank, NNB_MAX_RANK);
  uint64_t numel = 1;
  int overflow = 0, zero = 0, i = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, shape) {
    double d;
    if (!json_int(it, &d))
      return nnb_fail(e, NNB_ERR_FORMAT, "%s: tensor '%s': 'shape' must be an array of integers",
                      path, name);
    if (d < 0)
      return nnb_fail(e, NNB_ERR_FORMAT, "%s: tensor '%s' has negative dimension %.0f in 'shape'",
                      path, name, d);
    t->dims[i++] = (int64_t)d;
    if ((uint64_t)d == 0)
      zero = 1;
    else if (numel > UINT64_MAX / (uint64_t)d)
      overflow = 1;
    else
      numel *= (uint64_t)d;
  }
  if (zero) numel = 0, overflow = 0;
  t->rank = rank;
  if (rank == 0) t->rank = 1, t->dims[0] = 1; /* a scalar */

  if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
    return nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: tensor '%s': 'data_offsets' must be an array of two integers", path, name);
  double b, en;
  if (!json_int(cJSON_GetArrayItem(offs, 0), &b) || !json_int(cJSON_GetArrayItem(offs, 1), &en) ||
      b < 0 || en < 0)
    return nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: tensor '%s': 'data_offsets' must be two non-negative integers", path,
                    name);
  t->begin = (uint64_t)b;
  t->end = (uint64_t)en;
  if (t->begin > t->end)
    return nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: tensor '%s' has data_offsets [%llu, %llu] with begin after end", path,
                    name, (unsigned long long)t->begin, (unsigned long long)t->end);
  if (t->end > data_len)
    return nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: tensor '%s' has data_offsets [%llu, %llu] out of range of the "
                    "%llu-byte data buffer",
                    path, name, (unsigned long long)t->begin, (unsigned long long)t->end,
                    (unsigned long long)data_len);
  if (overflow || numel > UINT64_MAX / 4 || t->end - t->begin != numel * 4) {
    char dims[96];
    nnb_dims_str(t->rank, t->dims, dims, sizeof dims);
    return nnb_fail(e, NNB_ERR_FORMAT,
                    "%s: tensor '%s' has %llu bytes of data but shape %s needs %s%llu bytes (F32)",
                    path, name, (unsigned long long)(t->end - t->begin), rank ? dims : "[]",
                    overflow ? "more than " : "",
                    overflow ? (unsigned long long)UINT64_MAX : (unsigned long long)(numel * 4));
  }
  return NNB_OK;
}

static nnb_status parse_metadata(const char *path, const cJSON *j, nnb_safetensors *out,
                                 nnb_error *e) {
  if (!cJSON_IsObject(j))
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: '" ST_METADATA "' is not a JSON object", path);
  int n = cJSON_GetArraySize(j);
  if (n == 0) return NNB_OK;
  out->meta = calloc((size_t)n, sizeof *out->meta);
  if (!out->meta) return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory for metadata", path);
  const cJSON *it;
  cJSON_ArrayForEach(it, j) {
    if (!cJSON_IsString(it))
      return nnb_fail(e, NNB_ERR_FORMAT, "%s: metadata value for '%.200s' is not a string", path,
                      it->string);
    if (strlen(it->string) >= NNB_ST_META_LEN)
      return nnb_fail(e, NNB_ERR_UNSUPPORTED, "%s: metadata key '%.40s...' is longer than %d bytes",
                      path, it->string, NNB_ST_META_LEN - 1);
    if (strlen(it->valuestring) >= NNB_ST_META_LEN)
      return nnb_fail(e, NNB_ERR_UNSUPPORTED,
                      "%s: metadata value for '%.200s' is longer than %d bytes", path, it->string,
                      NNB_ST_META_LEN - 1);
    strcpy(out->meta[out->n_meta][0], it->string);
    strcpy(out->meta[out->n_meta][1], it->valuestring);
    out->n_meta++;
  }
  return NNB_OK;
}

static int cmp_begin(const void *a, const void *b) {
  const nnb_st_tensor *x = *(const nnb_st_tensor *const *)a;
  const nnb_st_tensor *y = *(const nnb_st_tensor *const *)b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The tensors must tile the data buffer, as the format's reference
 * implementation requires: no two (non-empty) byte ranges overlap, no byte
 * between them belongs to no tensor, and nothing follows the last one. */
static nnb_status check_layout(const char *path, const nnb_safetensors *st, nnb_error *e) {
  const nnb_st_tensor **order = malloc((size_t)(st->n ? st->n : 1) * sizeof *order);
  if (!order) return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory", path);
  int m = 0;
  for (int i = 0; i < st->n; i++)
    if (st->tensors[i].end > st->tensors[i].begin) order[m++] = &st->tensors[i];
  qsort(order, (size_t)m, sizeof *order, cmp_begin);
  nnb_status s = NNB_OK;
  uint64_t covered = 0; /* bytes [0, covered) belong to tensors */
  for (int i = 0; i < m && s == NNB_OK; i++) {
    const nnb_st_tensor *q = order[i];
    if (q->begin < covered)
      s = nnb_fail(e, NNB_ERR_FORMAT,
                   "%s: the data of tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap", path,
                   order[i - 1]->name, (unsigned long long)order[i - 1]->begin,
                   (unsigned long long)order[i - 1]->end, q->name, (unsigned long long)q->begin,
                   (unsigned long long)q->end);
    else if (q->begin > covered)
      s = nnb_fail(e, NNB_ERR_FORMAT,
                   "%s: bytes [%llu, %llu) of the data buffer belong to no tensor (before '%s'): "
                   "a tensor is missing from the header or its offsets are wrong",
                   path, (unsigned long long)covered, (unsigned long long)q->begin, q->name);
    covered = q->end;
  }
  if (s == NNB_OK && covered < st->data_len)
    s = nnb_fail(e, NNB_ERR_FORMAT,
                 "%s: the last %llu bytes of the data buffer belong to no tensor: a tensor is "
                 "missing from the header, or the file has trailing bytes",
                 path, (unsigned long long)(st->data_len - covered));
  free(order);
  return s;
}

static nnb_status parse_header(const char *path, const char *text, size_t len, nnb_safetensors *out,
                               nnb_error *e) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
  if (root && end) /* only padding may follow the JSON value */
    for (const char *c = end; c < text + len; c++)
      if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r') {
        cJSON_Delete(root);
        root = NULL;
        break;
      }
  if (!root) return nnb_fail(e, NNB_ERR_FORMAT, "%s: header is not valid JSON", path);
  nnb_status s = NNB_OK;
  if (!cJSON_IsObject(root)) {
    s = nnb_fail(e, NNB_ERR_FORMAT, "%s: header is not a JSON object", path);
    goto done;
  }
  int total = cJSON_GetArraySize(root);
  out->tensors = calloc(total ? (size_t)total : 1, sizeof *out->tensors);
  if (!out->tensors) {
    s = nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory for %d tensors", path, total);
    goto done;
  }
  const cJSON *it;
  int seen_meta = 0;
  cJSON_ArrayForEach(it, root) {
    if (strcmp(it->string, ST_METADATA) == 0) {
      if (seen_meta) {
        s = nnb_fail(e, NNB_ERR_FORMAT, "%s: '" ST_METADATA "' appears twice", path);
        goto done;
      }
      seen_meta = 1;
      if ((s = parse_metadata(path, it, out, e)) != NNB_OK) goto done;
      continue;
    }
    size_t nlen = strlen(it->string);
    if (nlen == 0) {
      s = nnb_fail(e, NNB_ERR_FORMAT, "%s: a tensor has an empty name", path);
      goto done;
    }
    if (nlen > NNB_NAME_LEN - 1) {
      s = nnb_fail(e, NNB_ERR_UNSUPPORTED,
                   "%s: tensor name '%.40s...' (%zu bytes) is longer than %d bytes", path,
                   it->string, nlen, NNB_NAME_LEN - 1);
      goto done;
    }
    if (nnb_st_find(out, it->string)) {
      s = nnb_fail(e, NNB_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", path,
                   it->string);
      goto done;
    }
    nnb_st_tensor *t = &out->tensors[out->n];
    memcpy(t->name, it->string, nlen + 1);
    if ((s = parse_tensor(path, it, out->data_len, t, e)) != NNB_OK) goto done;
    out->n++;
  }
  s = check_layout(path, out, e);
done:
  cJSON_Delete(root);
  return s;
}

static nnb_status read_file(const char *path, nnb_safetensors *out, nnb_error *e) {
  FILE *f = fopen(path, "rb");
  if (!f) return nnb_fail(e, NNB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  nnb_status s = NNB_OK;
  char *header = NULL;
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0) {
    s = nnb_fail(e, NNB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    goto done;
  }
  if (!S_ISREG(sb.st_mode)) {
    s = nnb_fail(e, NNB_ERR_IO, "%s: not a regular file", path);
    goto done;
  }
  uint64_t size = (uint64_t)sb.st_size;
  unsigned char lenbuf[8];
  if (size < 8) {
    s = nnb_fail(e, NNB_ERR_FORMAT,
                 "%s: file is %llu bytes, shorter than 8 bytes (the header length)", path,
                 (unsigned long long)size);
    goto done;
  }
  if (fread(lenbuf, 1, 8, f) != 8) {
    s = nnb_fail(e, NNB_ERR_IO, "%s: cannot read the header length", path);
    goto done;
  }
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | lenbuf[i];
  if (hlen > ST_MAX_HEADER) {
    s = nnb_fail(e, NNB_ERR_FORMAT,
                 "%s: header length %llu is absurdly large (limit %u bytes); not a safetensors "
                 "file?",
                 path, (unsigned long long)hlen, ST_MAX_HEADER);
    goto done;
  }
  if (hlen > size - 8) {
    s = nnb_fail(e, NNB_ERR_FORMAT,
                 "%s: header length %llu is larger than the file (%llu bytes after the length)",
                 path, (unsigned long long)hlen, (unsigned long long)(size - 8));
    goto done;
  }
  out->data_len = size - 8 - hlen;
  if (out->data_len > SIZE_MAX) {
    s = nnb_fail(e, NNB_ERR_NOMEM, "%s: data buffer too large for this host", path);
    goto done;
  }
  header = malloc(hlen ? (size_t)hlen : 1);
  out->data = malloc(out->data_len ? (size_t)out->data_len : 1);
  if (!header || !out->data) {
    s = nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory for %llu bytes", path,
                 (unsigned long long)size);
    goto done;
  }
  if (fread(header, 1, (size_t)hlen, f) != hlen ||
      fread(out->data, 1, (size_t)out->data_len, f) != out->data_len) {
    s = nnb_fail(e, NNB_ERR_IO, "%s: short read: %s", path,
                 ferror(f) ? strerror(errno) : "the file shrank while being read");
    goto done;
  }
  s = parse_header(path, header, (size_t)hlen, out, e);
done:
  free(header);
  fclose(f);
  return s;
}

nnb_status nnb_st_read(const char *path, nnb_safetensors *out, nnb_error *e) {
  if (!out) return nnb_fail(e, NNB_ERR_INVALID, "nnb_st_read: out is NULL");
  memset(out, 0, sizeof *out);
  if (!path) return nnb_fail(e, NNB_ERR_INVALID, "nnb_st_read: path is NULL");
  if (strlen(path) >= sizeof out->path)
    return nnb_fail(e, NNB_ERR_INVALID, "%.200s...: path longer than %zu bytes", path,
                    sizeof out->path - 1);
  nnb_status s = read_file(path, out, e);
  if (s != NNB_OK) {
    nnb_st_free(out);
    return s;
  }
  strcpy(out->path, path);
  return NNB_OK;
}

const nnb_st_tensor *nnb_st_find(const nnb_safetensors *st, const char *name) {
  if (!st || !name) return NULL;
  for (int i = 0; i < st->n; i++)
    if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
  return NULL;
}

void nnb_st_copy(const nnb_safetensors *st, const nnb_st_tensor *t, float *dst) {
  const unsigned char *src = st->data + t->begin;
  size_t n = (size_t)((t->end - t->begin) / 4);
#if ST_HOST_LE
  if (n) memcpy(dst, src, n * 4);
#else
  for (size_t i = 0; i < n; i++) {
    const unsigned char *p = src + 4 * i;
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    memcpy(&dst[i], &u, 4);
  }
#endif
}

void nnb_st_free(nnb_safetensors *st) {
  if (!st) return;
  free(st->tensors);
  free(st->data);
  free(st->meta);
  memset(st, 0, sizeof *st);
}

/* ---- writing ---- */

static uint64_t entry_numel(const nnb_st_entry *en) {
  uint64_t n = 1;
  for (int d = 0; d < en->rank; d++) n *= (uint64_t)en->dims[d];
  return n;
}

static nnb_status check_entries(const char *path, const nnb_st_entry *entries, int n,
                                const char *const (*meta)[2], int n_meta, nnb_error *e) {
  if (n < 0 || (n > 0 && !entries) || n_meta < 0 || (n_meta > 0 && !meta))
    return nnb_fail(e, NNB_ERR_INVALID, "%s: bad tensor or metadata list (n=%d, n_meta=%d)", path,
                    n, n_meta);
  for (int i = 0; i < n_meta; i++) {
    if (!meta[i][0] || !meta[i][1])
      return nnb_fail(e, NNB_ERR_INVALID, "%s: metadata pair %d has a NULL key or value", path, i);
    if (strlen(meta[i][0]) >= NNB_ST_META_LEN || strlen(meta[i][1]) >= NNB_ST_META_LEN)
      return nnb_fail(e, NNB_ERR_INVALID,
                      "%s: metadata '%.40s' key or value is longer than %d bytes", path, meta[i][0],
                      NNB_ST_META_LEN - 1);
    for (int j = 0; j < i; j++)
      if (strcmp(meta[i][0], meta[j][0]) == 0)
        return nnb_fail(e, NNB_ERR_INVALID, "%s: metadata key '%s' appears twice", path,
                        meta[i][0]);
  }
  uint64_t total = 0;
  for (int i = 0; i < n; i++) {
    const nnb_st_entry *en = &entries[i];
    if (!en->name || !en->name[0])
      return nnb_fail(e, NNB_ERR_INVALID, "%s: tensor %d has no name", path, i);
    if (strlen(en->name) > NNB_NAME_LEN - 1)
      return nnb_fail(e, NNB_ERR_INVALID, "%s: tensor name '%.40s...' is longer than %d bytes",
                      path, en->name, NNB_NAME_LEN - 1);
    if (strcmp(en->name, ST_METADATA) == 0)
      return nnb_fail(e, NNB_ERR_INVALID, "%s: '" ST_METADATA "' is not a valid tensor name", path);
    if (en->rank < 1 || en->rank > NNB_MAX_RANK || !en->dims)
      return nnb_fail(e, NNB_ERR_INVALID, "%s: tensor '%s' has rank %d; expected 1..%d", path,
                      en->name, en->rank, NNB_MAX_RANK);
    uint64_t numel = 1;
    for (int d = 0; d < en->rank; d++) {
      if (en->dims[d] < 0)
        return nnb_fail(e, NNB_ERR_INVALID, "%s: tensor '%s' has negative dimension %lld", path,
                        en->name, (long long)en->dims[d]);
      if (en->dims[d] && numel > (uint64_t)(ST_MAX_EXACT / 4) / (uint64_t)en->dims[d])
        return nnb_fail(e, NNB_ERR_INVALID, "%s: tensor '%s' is too large", path, en->name);
      numel *= (uint64_t)en->dims[d];
    }
    if (numel && !en->data)
      return nnb_fail(e, NNB_ERR_INVALID, "%s: tensor '%s' has no data", path, en->name);
    total += numel * 4;
    if (total > (uint64_t)1e15) /* cJSON prints larger numbers with an exponent */
      return nnb_fail(e, NNB_ERR_INVALID, "%s: tensors total more than 1e15 bytes", path);
    for (int j = 0; j < i; j++)
      if (strcmp(en->name, entries[j].name) == 0)
        return nnb_fail(e, NNB_ERR_INVALID, "%s: tensor name '%s' appears twice", path, en->name);
  }
  return NNB_OK;
}

/* The header JSON, unpadded; NULL when out of memory. cJSON_free() it. */
static char *build_header(const nnb_st_entry *entries, int n, const char *const (*meta)[2],
                          int n_meta) {
  cJSON *root = cJSON_CreateObject();
  if (!root) return NULL;
  int ok = 1;
  if (n_meta > 0) {
    cJSON *m = cJSON_AddObjectToObject(root, ST_METADATA);
    ok = m != NULL;
    for (int i = 0; ok && i < n_meta; i++)
      ok = cJSON_AddStringToObject(m, meta[i][0], meta[i][1]) != NULL;
  }
  uint64_t at = 0;
  for (int i = 0; ok && i < n; i++) {
    const nnb_st_entry *en = &entries[i];
    cJSON *t = cJSON_AddObjectToObject(root, en->name);
    ok = t && cJSON_AddStringToObject(t, "dtype", "F32"); /* key order as the reference */
    cJSON *shape = ok ? cJSON_AddArrayToObject(t, "shape") : NULL;
    cJSON *offs = shape ? cJSON_AddArrayToObject(t, "data_offsets") : NULL;
    ok = offs != NULL;
    uint64_t bytes = entry_numel(en) * 4;
    for (int d = 0; ok && d < en->rank; d++) {
      cJSON *v = cJSON_CreateNumber((double)en->dims[d]);
      ok = v && cJSON_AddItemToArray(shape, v);
      if (v && !ok) cJSON_Delete(v);
    }
    double range[2] = {(double)at, (double)(at + bytes)};
    for (int k = 0; ok && k < 2; k++) {
      cJSON *v = cJSON_CreateNumber(range[k]);
      ok = v && cJSON_AddItemToArray(offs, v);
      if (v && !ok) cJSON_Delete(v);
    }
    at += bytes;
  }
  char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  return text;
}

static int write_all(FILE *f, const void *p, size_t n) { return n == 0 || fwrite(p, 1, n, f) == n; }

static int write_floats(FILE *f, const float *x, uint64_t n) {
#if ST_HOST_LE
  return write_all(f, x, (size_t)n * 4);
#else
  unsigned char buf[4096];
  for (uint64_t i = 0; i < n;) {
    size_t k = 0;
    for (; i < n && k + 4 <= sizeof buf; i++, k += 4) {
      uint32_t u;
      memcpy(&u, &x[i], 4);
      for (int b = 0; b < 4; b++) buf[k + b] = (unsigned char)(u >> (8 * b));
    }
    if (!write_all(f, buf, k)) return 0;
  }
  return 1;
#endif
}

nnb_status nnb_st_write(const char *path, const nnb_st_entry *entries, int n,
                        const char *const (*meta)[2], int n_meta, nnb_error *e) {
  if (!path || !path[0]) return nnb_fail(e, NNB_ERR_INVALID, "nnb_st_write: no path given");
  nnb_status s = check_entries(path, entries, n, meta, n_meta, e);
  if (s != NNB_OK) return s;

  char *json = build_header(entries, n, meta, n_meta);
  if (!json) return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory building the header", path);
  size_t jlen = strlen(json);
  size_t hlen = (jlen + 7) / 8 * 8; /* padded with spaces, as the reference does */
  char *header = malloc(hlen ? hlen : 1);
  if (header) {
    memcpy(header, json, jlen);
    memset(header + jlen, ' ', hlen - jlen);
  }
  cJSON_free(json);
  if (!header) return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory building the header", path);

  size_t tlen = strlen(path) + 32;
  char *tmp = malloc(tlen);
  if (!tmp) {
    free(header);
    return nnb_fail(e, NNB_ERR_NOMEM, "%s: out of memory", path);
  }
  snprintf(tmp, tlen, "%s.tmp-%ld", path, (long)getpid());

  FILE *f = fopen(tmp, "wb");
  if (!f) {
    s = nnb_fail(e, NNB_ERR_IO, "%s: cannot create temporary file '%s': %s", path, tmp,
                 strerror(errno));
    goto out;
  }
  unsigned char lenbuf[8];
  for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  int ok = write_all(f, lenbuf, 8) && write_all(f, header, hlen);
  for (int i = 0; ok && i < n; i++) ok = write_floats(f, entries[i].data, entry_numel(&entries[i]));
  if (ok) ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
  int err = errno;
  if (fclose(f) != 0 && ok) ok = 0, err = errno;
  if (!ok) {
    s = nnb_fail(e, NNB_ERR_IO, "%s: writing temporary file '%s' failed: %s", path, tmp,
                 strerror(err));
    remove(tmp);
    goto out;
  }
  if (rename(tmp, path) != 0) {
    s = nnb_fail(e, NNB_ERR_IO, "%s: cannot rename '%s' over it: %s", path, tmp, strerror(errno));
    remove(tmp);
    goto out;
  }
out:
  free(tmp);
  free(header);
  return s;
}
