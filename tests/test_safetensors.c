/* safetensors: round trips, the written header's form, every rejected input
 * (each built from raw bytes) and the write-to-temp-then-rename guarantee. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "safetensors.h"

/* ---- helpers ---- */

static char *make_dir(void) {
  char tmpl[] = "/tmp/nnb-st-XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl), "mkdtemp failed");
  return strdup(tmpl);
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  cr_assert_not_null(p);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

/* Files and folders in `dir`, not counting . and .. */
static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d, "cannot open %s", dir);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
  closedir(d);
  return n;
}

/* Removes `dir` and the plain files in it. */
static void remove_dir(char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d))) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
      char *p = join(dir, de->d_name);
      if (remove(p) != 0) rmdir(p);
      free(p);
    }
    closedir(d);
  }
  rmdir(dir);
  free(dir);
}

static void write_bytes(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot create %s", path);
  cr_assert_eq(fwrite(p, 1, n, f), n);
  cr_assert_eq(fclose(f), 0);
}

/* A file with header length `hlen`, then `header` and `data_len` bytes. */
static void write_raw_len(const char *path, uint64_t hlen, const char *header, size_t data_len) {
  size_t jl = strlen(header), n = 8 + jl + data_len;
  unsigned char *buf = calloc(1, n);
  cr_assert_not_null(buf);
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(hlen >> (8 * i));
  memcpy(buf + 8, header, jl);
  for (size_t i = 0; i < data_len; i++) buf[8 + jl + i] = (unsigned char)i;
  write_bytes(path, buf, n);
  free(buf);
}

static void write_raw(const char *path, const char *header, size_t data_len) {
  write_raw_len(path, strlen(header), header, data_len);
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  cr_assert_not_null(f, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)n + 1);
  cr_assert_not_null(buf);
  cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* Reads `path`, which must fail with a message naming it and saying `phrase`;
 * the output must be left empty. */
static void expect_reject(const char *label, const char *path, const char *phrase) {
  nnb_safetensors st;
  nnb_error e = {{0}};
  nnb_status s = nnb_st_read(path, &st, &e);
  cr_expect_neq(s, NNB_OK, "%s: read should fail", label);
  cr_expect(strstr(e.msg, path) != NULL, "%s: message '%s' does not name the file", label, e.msg);
  cr_expect(strstr(e.msg, phrase) != NULL, "%s: message '%s' does not say '%s'", label, e.msg,
            phrase);
  cr_expect(st.n == 0 && st.tensors == NULL && st.data == NULL && st.meta == NULL,
            "%s: output not left empty", label);
  nnb_st_free(&st);
}

/* Three tensors of ranks 1, 2 and 4 with recognisable values. */
static const int64_t dims1[] = {5};
static const int64_t dims2[] = {3, 4};
static const int64_t dims4[] = {2, 3, 1, 2};

typedef struct sample {
  float a[5], b[12], c[12];
  nnb_st_entry entries[3];
} sample;

static void make_sample(sample *s, float base) {
  for (int i = 0; i < 5; i++) s->a[i] = base + (float)i * 0.5f;
  for (int i = 0; i < 12; i++) s->b[i] = base - (float)i / 3.0f;
  for (int i = 0; i < 12; i++) s->c[i] = base * (float)(i + 1) - 1e-7f * (float)i;
  s->c[11] = -0.0f;
  s->entries[0] = (nnb_st_entry){"layer0.bias", 1, dims1, s->a};
  s->entries[1] = (nnb_st_entry){"layer0.weight", 2, dims2, s->b};
  s->entries[2] = (nnb_st_entry){"conv.kernel", 4, dims4, s->c};
}

static const char *const sample_meta[2][2] = {{"format", "pt"}, {"model", "mlp \"tiny\" \u00e9"}};

/* ---- round trips ---- */

Test(safetensors, round_trip) {
  char *dir = make_dir(), *path = join(dir, "w.safetensors");
  sample s;
  make_sample(&s, 1.25f);
  nnb_error e = {{0}};
  cr_assert_eq(nnb_st_write(path, s.entries, 3, sample_meta, 2, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(count_entries(dir), 1, "a temporary file was left behind");

  nnb_safetensors st;
  cr_assert_eq(nnb_st_read(path, &st, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(st.path, path);
  cr_assert_eq(st.n, 3);
  cr_expect_eq(st.data_len, (5 + 12 + 12) * 4);
  uint64_t at = 0;
  for (int i = 0; i < 3; i++) {
    const nnb_st_entry *en = &s.entries[i];
    const nnb_st_tensor *t = &st.tensors[i];
    cr_expect_str_eq(t->name, en->name, "tensors keep the written order");
    cr_expect_eq(nnb_st_find(&st, en->name), t);
    cr_assert_eq(t->rank, en->rank, "%s", en->name);
    int64_t numel = 1;
    for (int d = 0; d < en->rank; d++) {
      cr_expect_eq(t->dims[d], en->dims[d], "%s dim %d", en->name, d);
      numel *= en->dims[d];
    }
    cr_expect_eq(t->begin, at, "offsets are contiguous");
    cr_expect_eq(t->end - t->begin, (uint64_t)numel * 4);
    at = t->end;
    float got[12];
    nnb_st_copy(&st, t, got);
    cr_expect_eq(memcmp(got, en->data, (size_t)numel * 4), 0, "%s values differ", en->name);
  }
  cr_expect_null(nnb_st_find(&st, "missing"));
  cr_assert_eq(st.n_meta, 2);
  for (int i = 0; i < 2; i++) {
    cr_expect_str_eq(st.meta[i][0], sample_meta[i][0]);
    cr_expect_str_eq(st.meta[i][1], sample_meta[i][1]);
  }
  nnb_st_free(&st);
  nnb_st_free(&st); /* twice is harmless */
  cr_expect_eq(st.n, 0);
  free(path);
  remove_dir(dir);
}

Test(safetensors, written_header_is_padded_json) {
  char *dir = make_dir(), *path = join(dir, "w.safetensors");
  sample s;
  make_sample(&s, -3.0f);
  nnb_error e = {{0}};
  cr_assert_eq(nnb_st_write(path, s.entries, 3, sample_meta, 2, &e), NNB_OK, "%s", e.msg);

  size_t len;
  unsigned char *buf = slurp(path, &len);
  cr_assert_geq(len, 8);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | buf[i];
  cr_expect_eq(hlen % 8, 0, "header length %llu is not a multiple of 8", (unsigned long long)hlen);
  cr_assert_eq(len, 8 + hlen + (5 + 12 + 12) * 4);
  /* Only spaces after the JSON. */
  size_t jl = (size_t)hlen;
  while (jl > 0 && buf[8 + jl - 1] == ' ') jl--;
  cr_expect_eq(buf[8 + jl - 1], '}');
  cr_expect_lt(hlen - jl, 8);

  cJSON *root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)hlen);
  cr_assert_not_null(root, "header does not parse");
  cr_assert(cJSON_IsObject(root));
  cr_expect_str_eq(root->child->string, "__metadata__", "metadata comes first");
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
  cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "format")), "pt");
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(root, "layer0.weight");
  cr_assert(cJSON_IsObject(w));
  cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(w, "dtype")), "F32");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive(w, "shape");
  cr_assert_eq(cJSON_GetArraySize(shape), 2);
  cr_expect_eq(cJSON_GetArrayItem(shape, 0)->valuedouble, 3);
  cr_expect_eq(cJSON_GetArrayItem(shape, 1)->valuedouble, 4);
  const cJSON *offs = cJSON_GetObjectItemCaseSensitive(w, "data_offsets");
  cr_assert_eq(cJSON_GetArraySize(offs), 2);
  cr_expect_eq(cJSON_GetArrayItem(offs, 0)->valuedouble, 20);
  cr_expect_eq(cJSON_GetArrayItem(offs, 1)->valuedouble, 68);
  /* Keys in the given order. */
  const char *order[] = {"__metadata__", "layer0.bias", "layer0.weight", "conv.kernel"};
  int k = 0;
  for (const cJSON *it = root->child; it; it = it->next, k++) {
    cr_assert_lt(k, 4);
    cr_expect_str_eq(it->string, order[k]);
  }
  cr_expect_eq(k, 4);
  /* The data is little-endian F32: bytes of layer0.bias[1] = 1.5 - 3 = -2.5. */
  const unsigned char *v = buf + 8 + hlen + 4;
  cr_expect(v[0] == 0x00 && v[1] == 0x00 && v[2] == 0x20 && v[3] == 0xc0);
  cJSON_Delete(root);
  free(buf);
  free(path);
  remove_dir(dir);
}

Test(safetensors, no_metadata_and_empty_tensors) {
  char *dir = make_dir(), *path = join(dir, "w.safetensors");
  const int64_t d0[] = {0, 3};
  const int64_t d1[] = {1};
  const float one = 7.0f;
  nnb_st_entry en[2] = {{"empty", 2, d0, NULL}, {"one", 1, d1, &one}};
  nnb_error e = {{0}};
  cr_assert_eq(nnb_st_write(path, en, 2, NULL, 0, &e), NNB_OK, "%s", e.msg);
  size_t len;
  unsigned char *buf = slurp(path, &len);
  cr_expect_null(strstr((const char *)buf + 8, "__metadata__"));
  free(buf);
  nnb_safetensors st;
  cr_assert_eq(nnb_st_read(path, &st, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(st.n_meta, 0);
  cr_assert_eq(st.n, 2);
  cr_expect_eq(st.tensors[0].begin, st.tensors[0].end);
  float got = 0;
  nnb_st_copy(&st, &st.tensors[1], &got);
  cr_expect_eq(got, 7.0f);
  nnb_st_free(&st);

  /* A file with no tensors at all. */
  cr_assert_eq(nnb_st_write(path, NULL, 0, NULL, 0, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_st_read(path, &st, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(st.n, 0);
  cr_expect_eq(st.data_len, 0);
  nnb_st_free(&st);
  free(path);
  remove_dir(dir);
}

/* A file as another writer might make it: padding, tensors out of offset
 * order, a scalar, and extra whitespace. */
Test(safetensors, reads_foreign_layout) {
  char *dir = make_dir(), *path = join(dir, "f.safetensors");
  const char *hdr = "{ \"__metadata__\" : {\"format\":\"pt\"},\n"
                    "  \"b\": {\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},\n"
                    "  \"s\": {\"data_offsets\":[0,4],\"shape\":[],\"dtype\":\"F32\"} }       ";
  const float vals[3] = {3.5f, -1.0f, 0.25f}; /* s, then b */
  size_t hl = strlen(hdr);
  unsigned char buf[512];
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
  memcpy(buf + 8, hdr, hl);
  for (int i = 0; i < 3; i++) {
    uint32_t u;
    memcpy(&u, &vals[i], 4);
    for (int k = 0; k < 4; k++)
      buf[8 + hl + 4 * (size_t)i + (size_t)k] = (unsigned char)(u >> (8 * k));
  }
  write_bytes(path, buf, 8 + hl + 12);

  nnb_safetensors st;
  nnb_error e = {{0}};
  cr_assert_eq(nnb_st_read(path, &st, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(st.n, 2);
  const nnb_st_tensor *b = nnb_st_find(&st, "b"), *s = nnb_st_find(&st, "s");
  cr_assert(b && s);
  cr_expect_eq(s->rank, 1, "a scalar reads as rank 1");
  cr_expect_eq(s->dims[0], 1);
  float got[2];
  nnb_st_copy(&st, s, got);
  cr_expect_eq(got[0], 3.5f);
  nnb_st_copy(&st, b, got);
  cr_expect_eq(got[0], -1.0f);
  cr_expect_eq(got[1], 0.25f);
  nnb_st_free(&st);
  free(path);
  remove_dir(dir);
}

/* ---- rejected inputs ---- */

Test(safetensors, rejects_missing_file) {
  char *dir = make_dir(), *path = join(dir, "nope.safetensors");
  expect_reject("missing", path, "cannot open");
  free(path);
  remove_dir(dir);
}

Test(safetensors, rejects_short_file) {
  char *dir = make_dir(), *path = join(dir, "short.safetensors");
  write_bytes(path, "\x10\0\0\0\0", 5);
  expect_reject("short", path, "shorter than 8 bytes");
  write_bytes(path, "", 0);
  expect_reject("empty", path, "shorter than 8 bytes");
  free(path);
  remove_dir(dir);
}

Test(safetensors, rejects_bad_header_length) {
  char *dir = make_dir(), *path = join(dir, "len.safetensors");
  write_raw_len(path, 1000, "{}", 4);
  expect_reject("longer than file", path, "larger than the file");
  write_raw_len(path, 9, "{}", 4); /* one byte past the end */
  expect_reject("one past", path, "larger than the file");
  write_raw_len(path, (uint64_t)1 << 40, "{}", 4);
  expect_reject("absurd", path, "absurdly large");
  write_raw_len(path, UINT64_MAX, "{}", 4);
  expect_reject("max", path, "absurdly large");
  free(path);
  remove_dir(dir);
}

typedef struct bad_case {
  const char *label, *header;
  size_t data_len;
  const char *phrase;
} bad_case;

#define T(dt, shape, offs) "{\"dtype\":" dt ",\"shape\":" shape ",\"data_offsets\":" offs "}"
#define LONG95                                                                                     \
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
  "a"

static const bad_case bad_cases[] = {
    {"not json", "{\"w\": ", 0, "header is not valid JSON"},
    {"garbage after json", "{}  x", 0, "header is not valid JSON"},
    {"binary", "\x01\x02\x03", 0, "header is not valid JSON"},
    {"array", "[1, 2]", 0, "header is not a JSON object"},
    {"string", "\"w\"", 0, "header is not a JSON object"},
    {"entry not object", "{\"w\": 3}", 4, "'w' is not a JSON object"},
    {"no dtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "'w' is missing 'dtype'"},
    {"no shape", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "'w' is missing 'shape'"},
    {"no offsets", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "'w' is missing 'data_offsets'"},
    {"dtype number", "{\"w\":" T("32", "[1]", "[0,4]") "}", 4, "'dtype' must be a string"},
    {"shape string", "{\"w\":" T("\"F32\"", "\"1\"", "[0,4]") "}", 4,
     "'shape' must be an array of integers"},
    {"shape of strings", "{\"w\":" T("\"F32\"", "[\"1\"]", "[0,4]") "}", 4,
     "'shape' must be an array of integers"},
    {"fractional dim", "{\"w\":" T("\"F32\"", "[1.5]", "[0,4]") "}", 4,
     "'shape' must be an array of integers"},
    {"offsets object", "{\"w\":" T("\"F32\"", "[1]", "{}") "}", 4,
     "'data_offsets' must be an array of two integers"},
    {"three offsets", "{\"w\":" T("\"F32\"", "[1]", "[0,4,8]") "}", 8,
     "'data_offsets' must be an array of two integers"},
    {"string offsets", "{\"w\":" T("\"F32\"", "[1]", "[\"0\",\"4\"]") "}", 4,
     "'data_offsets' must be two non-negative integers"},
    {"negative offset", "{\"w\":" T("\"F32\"", "[1]", "[-4,0]") "}", 4,
     "'data_offsets' must be two non-negative integers"},
    {"f16", "{\"w\":" T("\"F16\"", "[2]", "[0,4]") "}", 4,
     "'w' has dtype F16; only F32 is supported"},
    {"bf16", "{\"w\":" T("\"BF16\"", "[2]", "[0,4]") "}", 4, "'w' has dtype BF16; only F32"},
    {"i64", "{\"w\":" T("\"I64\"", "[1]", "[0,8]") "}", 8, "'w' has dtype I64; only F32"},
    {"rank 5", "{\"w\":" T("\"F32\"", "[1,1,1,1,1]", "[0,4]") "}", 4, "'w' has rank 5"},
    {"negative dim", "{\"w\":" T("\"F32\"", "[2,-1]", "[0,4]") "}", 4, "negative dimension -1"},
    {"end past data", "{\"w\":" T("\"F32\"", "[2]", "[0,8]") "}", 4, "out of range"},
    {"begin past data", "{\"w\":" T("\"F32\"", "[0]", "[12,12]") "}", 8, "out of range"},
    {"huge offset", "{\"w\":" T("\"F32\"", "[1]", "[1e300,1e300]") "}", 4,
     "'data_offsets' must be two non-negative integers"},
    {"begin after end", "{\"w\":" T("\"F32\"", "[1]", "[8,4]") "}", 8, "begin after end"},
    {"too few bytes", "{\"w\":" T("\"F32\"", "[2,3]", "[0,20]") "}", 24,
     "has 20 bytes of data but shape [2,3] needs 24 bytes"},
    {"too many bytes", "{\"w\":" T("\"F32\"", "[1]", "[0,8]") "}", 8, "needs 4 bytes"},
    {"overflowing shape", "{\"w\":" T("\"F32\"", "[4294967296,4294967296,4294967296]", "[0,8]") "}",
     8, "needs more than"},
    {"overlap", "{\"a\":" T("\"F32\"", "[2]", "[0,8]") ",\"b\":" T("\"F32\"", "[2]", "[4,12]") "}",
     12, "overlap"},
    {"overlap unordered",
     "{\"a\":" T("\"F32\"", "[1]", "[8,12]") ",\"b\":" T("\"F32\"", "[1]", "[0,4]") ",\"c\":" T(
         "\"F32\"", "[3]", "[4,16]") "}",
     16, "overlap"},
    {"same range",
     "{\"a\":" T("\"F32\"", "[1]", "[0,4]") ",\"b\":" T("\"F32\"", "[1]", "[0,4]") "}", 4,
     "overlap"},
    {"gap between tensors",
     "{\"a\":" T("\"F32\"", "[1]", "[0,4]") ",\"b\":" T("\"F32\"", "[1]", "[8,12]") "}", 12,
     "bytes [4, 8) of the data buffer belong to no tensor (before 'b')"},
    {"gap at the start", "{\"a\":" T("\"F32\"", "[1]", "[4,8]") "}", 8,
     "bytes [0, 4) of the data buffer belong to no tensor"},
    {"trailing data", "{\"a\":" T("\"F32\"", "[1]", "[0,4]") "}", 7,
     "the last 3 bytes of the data buffer belong to no tensor"},
    {"data but no tensors", "{\"__metadata__\":{}}", 4, "the last 4 bytes"},
    {"long name", "{\"" LONG95 "b\":" T("\"F32\"", "[1]", "[0,4]") "}", 4,
     "is longer than 95 bytes"},
    {"empty name", "{\"\":" T("\"F32\"", "[1]", "[0,4]") "}", 4, "empty name"},
    {"duplicate name",
     "{\"a\":" T("\"F32\"", "[1]", "[0,4]") ",\"a\":" T("\"F32\"", "[1]", "[4,8]") "}", 8,
     "'a' appears twice"},
    {"metadata not object", "{\"__metadata__\": [1]}", 0, "'__metadata__' is not a JSON object"},
    {"metadata value number", "{\"__metadata__\": {\"k\": 1}}", 0,
     "metadata value for 'k' is not a string"},
};

Test(safetensors, rejects_bad_headers) {
  char *dir = make_dir(), *path = join(dir, "bad.safetensors");
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    write_raw(path, bad_cases[i].header, bad_cases[i].data_len);
    expect_reject(bad_cases[i].label, path, bad_cases[i].phrase);
  }
  /* The 95-byte name is the longest accepted. */
  write_raw(path, "{\"" LONG95 "\":" T("\"F32\"", "[1]", "[0,4]") "}", 4);
  nnb_safetensors st;
  nnb_error e = {{0}};
  cr_expect_eq(nnb_st_read(path, &st, &e), NNB_OK, "%s", e.msg);
  cr_expect_not_null(nnb_st_find(&st, LONG95));
  nnb_st_free(&st);
  free(path);
  remove_dir(dir);
}

Test(safetensors, write_rejects_bad_entries) {
  char *dir = make_dir(), *path = join(dir, "w.safetensors");
  const int64_t d5[] = {1, 1, 1, 1, 1}, dneg[] = {-1};
  const float x[1] = {0};
  const nnb_st_entry cases[][2] = {
      {{"a", 5, d5, x}, {"b", 1, d5, x}},
      {{"a", 1, dneg, x}, {"b", 1, d5, x}},
      {{"a", 1, d5, x}, {"a", 1, d5, x}},
      {{LONG95 "b", 1, d5, x}, {"b", 1, d5, x}},
      {{"__metadata__", 1, d5, x}, {"b", 1, d5, x}},
      {{"a", 1, d5, NULL}, {"b", 1, d5, x}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    nnb_error e = {{0}};
    cr_expect_eq(nnb_st_write(path, cases[i], 2, NULL, 0, &e), NNB_ERR_INVALID, "case %zu", i);
    cr_expect(strstr(e.msg, path) != NULL, "case %zu: '%s'", i, e.msg);
  }
  cr_expect_eq(count_entries(dir), 0, "nothing written");
  free(path);
  remove_dir(dir);
}

/* ---- atomic writes ---- */

Test(safetensors, write_into_missing_dir_fails_cleanly) {
  char *dir = make_dir(), *sub = join(dir, "missing"), *path = join(sub, "w.safetensors");
  sample s;
  make_sample(&s, 2.0f);
  nnb_error e = {{0}};
  cr_expect_eq(nnb_st_write(path, s.entries, 3, NULL, 0, &e), NNB_ERR_IO);
  cr_expect(strstr(e.msg, path) != NULL, "'%s' does not name the file", e.msg);
  cr_expect(strstr(e.msg, "No such file or directory") != NULL, "'%s'", e.msg);
  struct stat sb;
  cr_expect_neq(stat(path, &sb), 0);
  cr_expect_neq(stat(sub, &sb), 0);
  cr_expect_eq(count_entries(dir), 0, "no partial file");
  free(path);
  free(sub);
  remove_dir(dir);
}

static void expect_sample(const char *path, float base) {
  sample want;
  make_sample(&want, base);
  nnb_safetensors st;
  nnb_error e = {{0}};
  cr_assert_eq(nnb_st_read(path, &st, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(st.n, 3);
  float got[12];
  nnb_st_copy(&st, &st.tensors[1], got);
  cr_expect_eq(memcmp(got, want.b, sizeof want.b), 0, "file holds the wrong version");
  nnb_st_free(&st);
}

Test(safetensors, existing_file_replaced_only_on_success) {
  char *dir = make_dir(), *path = join(dir, "w.safetensors");
  sample s;
  make_sample(&s, 1.0f);
  nnb_error e = {{0}};
  cr_assert_eq(nnb_st_write(path, s.entries, 3, NULL, 0, &e), NNB_OK, "%s", e.msg);
  expect_sample(path, 1.0f);

  /* Invalid input: nothing touched. */
  sample bad;
  make_sample(&bad, 9.0f);
  const int64_t d5[] = {1, 1, 1, 1, 1};
  bad.entries[2].rank = 5;
  bad.entries[2].dims = d5;
  cr_expect_neq(nnb_st_write(path, bad.entries, 3, NULL, 0, &e), NNB_OK);
  expect_sample(path, 1.0f);

  /* A failure midway through writing (the file-size limit is hit): the old
   * file stays and the temporary one is removed. Criterion runs each test in
   * its own process, so the limit does not leak. */
  enum { BIG = 1 << 16 };
  float *big = calloc(BIG, sizeof *big);
  cr_assert_not_null(big);
  const int64_t dbig[] = {BIG};
  nnb_st_entry ebig[2] = {s.entries[1], {"big", 1, dbig, big}};
  struct rlimit old, lim;
  cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 4096;
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  nnb_status st = nnb_st_write(path, ebig, 2, NULL, 0, &e);
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, prev);
  cr_expect_eq(st, NNB_ERR_IO);
  cr_expect(strstr(e.msg, path) != NULL, "'%s' does not name the file", e.msg);
  cr_expect_eq(count_entries(dir), 1, "the temporary file was left behind");
  expect_sample(path, 1.0f);
  free(big);

  /* Rename failure (the target is a non-empty folder): temp removed. */
  char *sub = join(dir, "sub"), *inner = join(sub, "x");
  cr_assert_eq(mkdir(sub, 0700), 0);
  write_bytes(inner, "x", 1);
  cr_expect_eq(nnb_st_write(sub, s.entries, 3, NULL, 0, &e), NNB_ERR_IO);
  cr_expect(strstr(e.msg, sub) != NULL, "'%s'", e.msg);
  cr_expect_eq(count_entries(dir), 2, "the temporary file was left behind");
  remove(inner);
  rmdir(sub);
  free(inner);
  free(sub);

  /* Success replaces it. */
  make_sample(&s, 4.0f);
  cr_assert_eq(nnb_st_write(path, s.entries, 3, NULL, 0, &e), NNB_OK, "%s", e.msg);
  expect_sample(path, 4.0f);
  cr_expect_eq(count_entries(dir), 1);
  free(path);
  remove_dir(dir);
}

/* ---- files written by PyTorch's safetensors ---- */

Test(safetensors, pytorch_fixtures_round_trip) {
  static const char *const models[] = {"mlp", "cnn", "lstm", "transformer"};
  char *dir = make_dir(), *out = join(dir, "copy.safetensors");
  int found = 0;
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/pytorch/%s.safetensors", NNB_SOURCE_DIR,
             models[m]);
    if (access(path, R_OK) != 0) continue;
    found++;
    nnb_safetensors st, back;
    nnb_error e = {{0}};
    cr_assert_eq(nnb_st_read(path, &st, &e), NNB_OK, "%s", e.msg);
    cr_expect_gt(st.n, 0, "%s", path);
    const char *model = NULL;
    for (int i = 0; i < st.n_meta; i++)
      if (!strcmp(st.meta[i][0], "model")) model = st.meta[i][1];
    cr_expect(model && !strcmp(model, models[m]), "%s: metadata 'model' is %s", path,
              model ? model : "missing");

    /* Write every tensor back out and compare. */
    nnb_st_entry *en = calloc((size_t)st.n, sizeof *en);
    float **vals = calloc((size_t)st.n, sizeof *vals);
    const char *(*meta)[2] = calloc((size_t)st.n_meta + 1, sizeof *meta);
    cr_assert(en && vals && meta);
    for (int i = 0; i < st.n; i++) {
      const nnb_st_tensor *t = &st.tensors[i];
      vals[i] = malloc((size_t)(t->end - t->begin) + 1);
      cr_assert_not_null(vals[i]);
      nnb_st_copy(&st, t, vals[i]);
      en[i] = (nnb_st_entry){t->name, t->rank, t->dims, vals[i]};
    }
    for (int i = 0; i < st.n_meta; i++) meta[i][0] = st.meta[i][0], meta[i][1] = st.meta[i][1];
    cr_assert_eq(nnb_st_write(out, en, st.n, (const char *const(*)[2])meta, st.n_meta, &e), NNB_OK,
                 "%s", e.msg);
    cr_assert_eq(nnb_st_read(out, &back, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(back.n, st.n);
    cr_expect_eq(back.n_meta, st.n_meta);
    for (int i = 0; i < st.n; i++) {
      const nnb_st_tensor *a = &st.tensors[i], *b = &back.tensors[i];
      cr_expect_str_eq(a->name, b->name);
      cr_expect_eq(a->rank, b->rank);
      cr_expect_eq(memcmp(a->dims, b->dims, (size_t)a->rank * sizeof a->dims[0]), 0);
      cr_expect_eq(a->end - a->begin, b->end - b->begin);
      cr_expect_eq(memcmp(st.data + a->begin, back.data + b->begin, (size_t)(a->end - a->begin)), 0,
                   "%s: '%s' differs after a round trip", path, a->name);
      free(vals[i]);
    }
    free(vals);
    free(en);
    free(meta);
    nnb_st_free(&back);
    nnb_st_free(&st);
  }
  cr_assert(found, "no PyTorch fixtures under %s/tests/fixtures/pytorch (they are committed)",
            NNB_SOURCE_DIR);
  free(out);
  remove_dir(dir);
}
