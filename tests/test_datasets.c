/* Dataset loaders: IDX (raw and gzip), CIFAR-10 binary batches, the seeded
 * generator, and every kind of bad input, each of which must name the file
 * and what is wrong with it. The files are made here, in a temporary folder. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "dataset.h"

static char dir[64];
static void setup(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-data-XXXXXX");
  cr_assert(mkdtemp(dir));
}
static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}
TestSuite(datasets, .init = setup, .fini = teardown, .timeout = 60);

#define N 5
#define ROWS 3
#define COLS 4

static const char *path_of(const char *name) {
  static char paths[8][256];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* An IDX images file of `count` images (header says `declared`), pixel i = i % 251. */
static size_t idx_images(unsigned char *buf, uint32_t magic, uint32_t declared, int count) {
  put_be32(buf, magic);
  put_be32(buf + 4, declared);
  put_be32(buf + 8, ROWS);
  put_be32(buf + 12, COLS);
  for (int i = 0; i < count * ROWS * COLS; i++) buf[16 + i] = (unsigned char)(i % 251);
  return 16 + (size_t)count * ROWS * COLS;
}

static size_t idx_labels(unsigned char *buf, uint32_t declared, int count) {
  put_be32(buf, 0x00000801u);
  put_be32(buf + 4, declared);
  for (int i = 0; i < count; i++) buf[8 + i] = (unsigned char)(i * 3 % 10);
  return 8 + (size_t)count;
}

static void write_raw(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  cr_assert(f, "cannot write %s", path);
  cr_assert_eq(fwrite(data, 1, len, f), len);
  fclose(f);
}

static void write_gz(const char *path, const void *data, size_t len) {
  gzFile f = gzopen(path, "wb");
  cr_assert(f);
  cr_assert_eq(gzwrite(f, data, (unsigned)len), (int)len);
  cr_assert_eq(gzclose(f), Z_OK);
}

/* A good pair of files; returns their paths through *ip, *lp. */
static void good_pair(const char *prefix, int gz, const char **ip, const char **lp) {
  unsigned char img[16 + N * ROWS * COLS], lab[8 + N];
  size_t ni = idx_images(img, 0x00000803u, N, N), nl = idx_labels(lab, N, N);
  char name[64];
  snprintf(name, sizeof name, "%s-images%s", prefix, gz ? ".gz" : "");
  *ip = path_of(name);
  snprintf(name, sizeof name, "%s-labels%s", prefix, gz ? ".gz" : "");
  *lp = path_of(name);
  (gz ? write_gz : write_raw)(*ip, img, ni);
  (gz ? write_gz : write_raw)(*lp, lab, nl);
}

/* Loading must fail with `status`, and the message must hold each of `want`. */
static void expect_fail(const char *what, nnb_status got, nnb_status status, const nnb_error *e,
                        const char *want1, const char *want2) {
  cr_expect_eq(got, status, "%s: status %d, expected %d (%s)", what, got, status, e->msg);
  cr_expect(strstr(e->msg, want1), "%s: '%s' does not name '%s'", what, e->msg, want1);
  if (want2) cr_expect(strstr(e->msg, want2), "%s: '%s' lacks '%s'", what, e->msg, want2);
}

Test(datasets, idx_raw_and_gzip_read_the_same_samples) {
  const char *ip, *lp, *gip, *glp;
  good_pair("raw", 0, &ip, &lp);
  good_pair("gz", 1, &gip, &glp);
  nnb_dataset a, b;
  nnb_error e;
  cr_assert_eq(nnb_dataset_load_idx(ip, lp, 0, &a, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_dataset_load_idx(gip, glp, 0, &b, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(a.n, N);
  cr_expect(a.c == 1 && a.h == ROWS && a.w == COLS && a.classes == 10);
  for (int i = 0; i < N * ROWS * COLS; i++) {
    cr_expect_float_eq(a.images[i], (float)(i % 251) / 255.0f, 1e-7, "pixel %d", i);
    cr_expect_eq(a.images[i], b.images[i]);
  }
  for (int i = 0; i < N; i++) cr_expect_eq(a.labels[i], i * 3 % 10);
  cr_expect_arr_eq(a.labels, b.labels, N * sizeof *a.labels);
  /* The checksum is of the bytes read after decompression: the same data,
   * compressed or not, has the same checksum; other data has another. */
  cr_expect_eq(a.checksum, b.checksum);
  cr_expect(strstr(a.source, ip) && strstr(a.source, lp), "%s", a.source);
  nnb_dataset c;
  cr_assert_eq(nnb_dataset_load_idx(ip, lp, 2, &c, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(c.n, 2, "limit keeps the first samples");
  cr_expect_neq(c.checksum, a.checksum, "the checksum covers only what was read");
  nnb_dataset_free(&a);
  nnb_dataset_free(&b);
  nnb_dataset_free(&c);
  cr_expect_null(c.images, "free zeroes the dataset");
}

Test(datasets, truncated_files_name_the_file_and_the_count) {
  unsigned char img[16 + N * ROWS * COLS], lab[8 + N];
  const char *good_i, *good_l;
  good_pair("ok", 0, &good_i, &good_l);
  nnb_dataset d;
  nnb_error e;
  size_t ni = idx_images(img, 0x00000803u, N, N);
  const char *ti = path_of("short-images");
  write_raw(ti, img, ni - 7); /* the last image is cut */
  expect_fail("images", nnb_dataset_load_idx(ti, good_l, 0, &d, &e), NNB_ERR_FORMAT, &e, ti,
              "truncated");
  cr_expect(strstr(e.msg, "after 4 of them"), "%s", e.msg);
  cr_expect_null(d.images, "a failed load leaves nothing allocated");
  write_raw(ti, img, 10); /* inside the header */
  expect_fail("header", nnb_dataset_load_idx(ti, good_l, 0, &d, &e), NNB_ERR_FORMAT, &e, ti,
              "header");
  size_t nl = idx_labels(lab, N, N);
  const char *tl = path_of("short-labels");
  write_raw(tl, lab, nl - 2);
  expect_fail("labels", nnb_dataset_load_idx(good_i, tl, 0, &d, &e), NNB_ERR_FORMAT, &e, tl,
              "truncated");
  /* A gzip stream cut short: zlib's own complaint, with the file's name. */
  const char *tg = path_of("cut.gz");
  write_gz(tg, img, ni);
  struct stat sb;
  cr_assert_eq(stat(tg, &sb), 0);
  cr_assert_eq(truncate(tg, sb.st_size - 12), 0);
  cr_expect_neq(nnb_dataset_load_idx(tg, good_l, 0, &d, &e), NNB_OK);
  cr_expect(strstr(e.msg, tg), "%s", e.msg);
}

Test(datasets, wrong_magic_and_swapped_paths) {
  unsigned char img[16 + N * ROWS * COLS];
  const char *gi, *gl;
  good_pair("ok", 0, &gi, &gl);
  nnb_dataset d;
  nnb_error e;
  const char *bad = path_of("bad-magic");
  write_raw(bad, img, idx_images(img, 0x12345678u, N, N));
  expect_fail("magic", nnb_dataset_load_idx(bad, gl, 0, &d, &e), NNB_ERR_FORMAT, &e, bad,
              "0x12345678");
  expect_fail("swapped", nnb_dataset_load_idx(gl, gi, 0, &d, &e), NNB_ERR_FORMAT, &e, gl,
              "swapped paths?");
}

Test(datasets, label_and_image_counts_must_agree) {
  unsigned char img[16 + N * ROWS * COLS], lab[8 + N];
  nnb_dataset d;
  nnb_error e;
  const char *ip = path_of("images"), *lp = path_of("labels");
  write_raw(ip, img, idx_images(img, 0x00000803u, N, N));
  write_raw(lp, lab, idx_labels(lab, N - 1, N - 1));
  expect_fail("counts", nnb_dataset_load_idx(ip, lp, 0, &d, &e), NNB_ERR_FORMAT, &e, lp, ip);
  cr_expect(strstr(e.msg, "4 labels") && strstr(e.msg, "5 images"), "%s", e.msg);
}

Test(datasets, corrupt_gzip_and_trailing_bytes_are_errors) {
  unsigned char img[16 + N * ROWS * COLS + 3], lab[8 + N];
  const char *gi, *gl;
  good_pair("ok", 0, &gi, &gl);
  nnb_dataset d;
  nnb_error e;
  /* Flip bytes inside the deflate data of a good gzip file. */
  const char *gz = path_of("corrupt.gz");
  size_t ni = idx_images(img, 0x00000803u, N, N);
  write_gz(gz, img, ni);
  FILE *f = fopen(gz, "r+b");
  cr_assert(f);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  for (long at = 12; at < size - 8; at += 3) {
    fseek(f, at, SEEK_SET);
    fputc(0x5a, f);
  }
  fclose(f);
  expect_fail("corrupt gzip", nnb_dataset_load_idx(gz, gl, 0, &d, &e), NNB_ERR_FORMAT, &e, gz,
              "corrupt");
  /* A gzip header over garbage. */
  const char *junk = path_of("junk.gz");
  write_raw(junk, "\x1f\x8b\x08\x00garbage that is not deflate data at all", 44);
  expect_fail("not deflate", nnb_dataset_load_idx(junk, gl, 0, &d, &e), NNB_ERR_FORMAT, &e, junk,
              NULL);
  /* More data than the header declares. */
  const char *longer = path_of("longer");
  img[ni] = 1, img[ni + 1] = 2, img[ni + 2] = 3;
  write_raw(longer, img, ni + 3);
  expect_fail("trailing", nnb_dataset_load_idx(longer, gl, 0, &d, &e), NNB_ERR_FORMAT, &e, longer,
              "continues");
  /* A label outside 0..9. */
  size_t nl = idx_labels(lab, N, N);
  lab[8 + 2] = 10;
  const char *badl = path_of("bad-label");
  write_raw(badl, lab, nl);
  expect_fail("label", nnb_dataset_load_idx(gi, badl, 0, &d, &e), NNB_ERR_FORMAT, &e, badl,
              "index 2");
}

Test(datasets, missing_files_and_folders_are_named) {
  const char *gi, *gl;
  good_pair("ok", 0, &gi, &gl);
  nnb_dataset d;
  nnb_error e;
  const char *none = path_of("does-not-exist");
  expect_fail("missing", nnb_dataset_load_idx(none, gl, 0, &d, &e), NNB_ERR_IO, &e, none,
              "No such file");
  expect_fail("folder", nnb_dataset_load_idx(dir, gl, 0, &d, &e), NNB_ERR_IO, &e, dir, "directory");
  char spec[128];
  snprintf(spec, sizeof spec, "mnist:%s", dir);
  expect_fail("mnist folder without files", nnb_dataset_open(spec, 0, 0, &d, &e), NNB_ERR_IO, &e,
              "train-images-idx3-ubyte", NULL);
  expect_fail("mnist needs a folder", nnb_dataset_open("mnist", 0, 0, &d, &e), NNB_ERR_INVALID, &e,
              "mnist:DIR", NULL);
  expect_fail("unknown kind", nnb_dataset_open("imagenet", 0, 0, &d, &e), NNB_ERR_INVALID, &e,
              "imagenet", NULL);
}

Test(datasets, mnist_folder_prefers_gzip_files) {
  unsigned char img[16 + N * ROWS * COLS], lab[8 + N];
  size_t ni = idx_images(img, 0x00000803u, N, N), nl = idx_labels(lab, N, N);
  write_gz(path_of("t10k-images-idx3-ubyte.gz"), img, ni);
  write_gz(path_of("t10k-labels-idx1-ubyte.gz"), lab, nl);
  write_raw(path_of("t10k-images-idx3-ubyte"), "broken", 6); /* would fail if read */
  char spec[128];
  snprintf(spec, sizeof spec, "mnist:%s", dir);
  nnb_dataset d;
  nnb_error e;
  cr_assert_eq(nnb_dataset_open(spec, 1, 0, &d, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(d.name, "mnist");
  cr_expect_eq(d.n, N);
  cr_expect(strstr(d.source, ".gz"), "%s", d.source);
  nnb_dataset_free(&d);
}

/* CIFAR-10 records: 1 label byte, 3x32x32 pixels. */
static void cifar_file(const char *name, int records, int bad_label_at, long cut) {
  size_t len = (size_t)records * 3073;
  unsigned char *buf = malloc(len);
  cr_assert(buf);
  for (int r = 0; r < records; r++) {
    buf[(size_t)r * 3073] = (unsigned char)(r == bad_label_at ? 11 : r % 10);
    for (int i = 0; i < 3072; i++) buf[(size_t)r * 3073 + 1 + i] = (unsigned char)((r + i) % 256);
  }
  write_raw(path_of(name), buf, len - (size_t)cut);
  free(buf);
}

Test(datasets, cifar10_binary_batches) {
  cifar_file("test_batch.bin", 4, -1, 0);
  nnb_dataset d;
  nnb_error e;
  char spec[128];
  snprintf(spec, sizeof spec, "cifar10:%s", dir);
  cr_assert_eq(nnb_dataset_open(spec, 1, 0, &d, &e), NNB_OK, "%s", e.msg);
  cr_expect(d.n == 4 && d.c == 3 && d.h == 32 && d.w == 32 && d.classes == 10);
  cr_expect_eq(d.labels[3], 3);
  cr_expect_float_eq(d.images[3072 + 5], 6.0f / 255.0f, 1e-7, "record 1, pixel 5");
  cr_expect_neq(d.checksum, 0);
  nnb_dataset_free(&d);
  /* Training batches: with a limit, only data_batch_1 is needed. */
  cifar_file("data_batch_1.bin", 3, -1, 0);
  cr_assert_eq(nnb_dataset_open(spec, 0, 2, &d, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(d.n, 2);
  nnb_dataset_free(&d);
  expect_fail("missing batch", nnb_dataset_open(spec, 0, 0, &d, &e), NNB_ERR_IO, &e,
              "data_batch_2.bin", NULL);
  cifar_file("test_batch.bin", 4, -1, 100);
  expect_fail("truncated", nnb_dataset_open(spec, 1, 0, &d, &e), NNB_ERR_FORMAT, &e,
              "test_batch.bin", "whole number of 3073-byte records");
  cifar_file("test_batch.bin", 4, 2, 0);
  expect_fail("label", nnb_dataset_open(spec, 1, 0, &d, &e), NNB_ERR_FORMAT, &e, "test_batch.bin",
              "label 11");
  expect_fail("no folder", nnb_dataset_open("cifar10", 1, 0, &d, &e), NNB_ERR_INVALID, &e,
              "cifar10:DIR", NULL);
}

Test(datasets, synthetic_is_seeded_and_checks_its_keys) {
  nnb_dataset a, b, t, o;
  nnb_error e;
  const char *spec = "synthetic:c=3,h=5,w=7,classes=4,n=20,seed=9";
  cr_assert_eq(nnb_dataset_open(spec, 0, 0, &a, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_dataset_open(spec, 0, 0, &b, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_dataset_open(spec, 1, 0, &t, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_dataset_open("synthetic:c=3,h=5,w=7,classes=4,n=20,seed=10", 0, 0, &o, &e),
               NNB_OK, "%s", e.msg);
  cr_expect(a.n == 20 && a.c == 3 && a.h == 5 && a.w == 7 && a.classes == 4);
  cr_expect_arr_eq(a.images, b.images, 20 * 105 * sizeof(float), "same seed, same data");
  cr_expect_eq(a.checksum, b.checksum);
  cr_expect_neq(a.checksum, t.checksum, "the test split is other samples");
  cr_expect_neq(a.checksum, o.checksum, "another seed, other samples");
  for (int i = 0; i < 20; i++) cr_expect(a.labels[i] >= 0 && a.labels[i] < 4);
  for (int i = 0; i < 20 * 105; i++) cr_expect(a.images[i] >= 0 && a.images[i] < 1);
  nnb_dataset_free(&a), nnb_dataset_free(&b), nnb_dataset_free(&t), nnb_dataset_free(&o);
  expect_fail("key", nnb_dataset_open("synthetic:depth=3", 0, 0, &a, &e), NNB_ERR_INVALID, &e,
              "depth", NULL);
  expect_fail("value", nnb_dataset_open("synthetic:h=-2", 0, 0, &a, &e), NNB_ERR_INVALID, &e, "h",
              "positive integer");
  expect_fail("no value", nnb_dataset_open("synthetic:n", 0, 0, &a, &e), NNB_ERR_INVALID, &e, "n",
              NULL);
}

Test(datasets, fashion_mnist_is_the_default) {
  /* scripts/install-deps.sh installs Debian's dataset-fashion-mnist. */
  nnb_dataset d;
  nnb_error e;
  cr_assert_eq(nnb_dataset_open(NULL, 1, 16, &d, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(d.name, "fashion-mnist");
  cr_expect(d.n == 16 && d.h == 28 && d.w == 28 && d.classes == 10);
  cr_expect(strstr(d.source, NNB_FASHION_MNIST_DIR), "%s", d.source);
  nnb_dataset_free(&d);
}
