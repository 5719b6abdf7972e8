/* Datasets: IDX (raw and gzip), CIFAR-10 and synthetic data read right, with
 * the checksum of the bytes read; every bad file is refused with a message
 * naming the file and what is wrong. The files are made here, in a
 * temporary folder, with zlib. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dataset.h"
#include "model.h"
#include "testutil.h"

/* ---- files ---- */

static char dir[64];

static void make_dir(void) {
  snprintf(dir, sizeof dir, "/tmp/nnb-data-XXXXXX");
  cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
}

/* Removes the folder, its plain files and its empty subfolders. */
static void remove_dir(void) {
  DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    char p[512];
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    if (remove(p)) rmdir(p);
  }
  if (d) closedir(d);
  rmdir(dir);
}
TestSuite(datasets, .init = make_dir, .fini = remove_dir);

static const char *at(const char *name) {
  static char paths[8][512];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, sizeof paths[0], "%s/%s", dir, name);
  return p;
}

static void write_raw(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  cr_assert_not_null(f, "cannot create %s", path);
  cr_assert_eq(fwrite(p, 1, n, f), n);
  cr_assert_eq(fclose(f), 0);
}

static void write_gz(const char *path, const void *p, size_t n) {
  gzFile f = gzopen(path, "wb");
  cr_assert_not_null(f, "cannot create %s", path);
  cr_assert_eq(gzwrite(f, p, (unsigned)n), (int)n);
  cr_assert_eq(gzclose(f), Z_OK);
}

static unsigned char *slurp(const char *path, size_t *n) {
  unsigned char *bytes = (unsigned char *)tu_read_file(path, n);
  cr_assert_not_null(bytes, "cannot read %s", path);
  return bytes;
}

/* An IDX file in memory: a big-endian header, then the bytes. */
typedef struct idx {
  unsigned char b[4096];
  size_t n;
} idx;

static void put32(idx *x, uint32_t v) {
  for (int i = 3; i >= 0; i--) x->b[x->n++] = (unsigned char)(v >> (8 * i));
}

enum { N = 5, ROWS = 4, COLS = 3 };

static unsigned char pixel(int i, int k) { return (unsigned char)((i * 37 + k * 11) % 256); }

/* N images of ROWS x COLS (count in the header: `count`), and their labels. */
static idx images_file(uint32_t magic, uint32_t count) {
  idx x = {.n = 0};
  put32(&x, magic), put32(&x, count), put32(&x, ROWS), put32(&x, COLS);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < ROWS * COLS; k++) x.b[x.n++] = pixel(i, k);
  return x;
}

static idx labels_file(uint32_t magic, uint32_t count) {
  idx x = {.n = 0};
  put32(&x, magic), put32(&x, count);
  for (int i = 0; i < N; i++) x.b[x.n++] = (unsigned char)(9 - i);
  return x;
}

/* Loading must fail with `status`, naming `file` and saying `phrase`. */
static void expect_fail(const char *ip, const char *lp, nnb_status status, const char *file,
                        const char *phrase) {
  nnb_dataset d;
  nnb_error e = {{0}};
  nnb_status s = nnb_dataset_load_idx(ip, lp, 0, &d, &e);
  cr_expect_eq(s, status, "%s: status %d, expected %d (%s)", phrase, s, status, e.msg);
  cr_expect(strstr(e.msg, file), "message '%s' does not name %s", e.msg, file);
  cr_expect(strstr(e.msg, phrase), "message '%s' does not say '%s'", e.msg, phrase);
  cr_expect(d.images == NULL && d.labels == NULL && d.n == 0, "%s: output not left empty", phrase);
}

/* ---- IDX: good files ---- */

static void expect_idx_data(const nnb_dataset *d, int64_t n) {
  cr_assert_eq(d->n, n);
  cr_expect(d->c == 1 && d->h == ROWS && d->w == COLS && d->classes == 10);
  for (int i = 0; i < n; i++) {
    cr_expect_eq(d->labels[i], 9 - i);
    for (int k = 0; k < ROWS * COLS; k++)
      cr_expect_eq(d->images[i * ROWS * COLS + k], (float)pixel(i, k) / 255.0f, "image %d px %d", i,
                   k);
  }
}

Test(datasets, raw_and_gzip_idx_read_the_same_data_and_checksum) {
  idx im = images_file(0x803, N), lb = labels_file(0x801, N);
  write_raw(at("i.raw"), im.b, im.n), write_raw(at("l.raw"), lb.b, lb.n);
  write_gz(at("i.gz"), im.b, im.n), write_gz(at("l.gz"), lb.b, lb.n);
  nnb_dataset raw, gz;
  nnb_error e;
  cr_assert_eq(nnb_dataset_load_idx(at("i.raw"), at("l.raw"), 0, &raw, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_dataset_load_idx(at("i.gz"), at("l.gz"), 0, &gz, &e), NNB_OK, "%s", e.msg);
  expect_idx_data(&raw, N);
  expect_idx_data(&gz, N);
  /* The checksum is the crc32 of the (uncompressed) bytes read: the images
   * file's, header included, then the labels file's. */
  uint32_t want = (uint32_t)crc32(crc32(crc32(0, Z_NULL, 0), im.b, (uInt)im.n), lb.b, (uInt)lb.n);
  cr_expect_eq(raw.checksum, want, "raw: %08x, expected %08x", raw.checksum, want);
  cr_expect_eq(gz.checksum, want, "gzip: %08x, expected %08x", gz.checksum, want);
  cr_expect(strstr(gz.source, "i.gz") && strstr(gz.source, "l.gz"), "%s", gz.source);
  nnb_dataset_free(&raw);
  nnb_dataset_free(&gz);
  nnb_dataset_free(&gz); /* twice is harmless */
}

Test(datasets, limit_reads_only_the_first_samples) {
  idx im = images_file(0x803, N), lb = labels_file(0x801, N);
  write_gz(at("i.gz"), im.b, im.n), write_raw(at("l"), lb.b, lb.n);
  nnb_dataset d;
  nnb_error e;
  cr_assert_eq(nnb_dataset_load_idx(at("i.gz"), at("l"), 2, &d, &e), NNB_OK, "%s", e.msg);
  expect_idx_data(&d, 2);
  uint32_t want =
      (uint32_t)crc32(crc32(crc32(0, Z_NULL, 0), im.b, 16 + 2 * ROWS * COLS), lb.b, 8 + 2);
  cr_expect_eq(d.checksum, want, "the checksum covers the bytes read, no more");
  nnb_dataset_free(&d);
}

Test(datasets, mnist_folder_prefers_gz_and_reads_both_splits) {
  idx im = images_file(0x803, N), lb = labels_file(0x801, N);
  write_gz(at("train-images-idx3-ubyte.gz"), im.b, im.n);
  write_raw(at("train-labels-idx1-ubyte"), lb.b, lb.n);
  write_raw(at("train-images-idx3-ubyte"), "junk", 4); /* the .gz is read first */
  write_raw(at("t10k-images-idx3-ubyte"), im.b, im.n);
  write_gz(at("t10k-labels-idx1-ubyte.gz"), lb.b, lb.n);
  char spec[128];
  snprintf(spec, sizeof spec, "mnist:%s", dir);
  for (int split = 0; split < 2; split++) {
    nnb_dataset d;
    nnb_error e;
    cr_assert_eq(nnb_dataset_open(spec, split, 0, &d, &e), NNB_OK, "split %d: %s", split, e.msg);
    cr_expect_str_eq(d.name, "mnist");
    expect_idx_data(&d, N);
    nnb_dataset_free(&d);
  }
}

/* Debian's Fashion-MNIST, the default: read through a separate path (zlib
 * straight) to check the shape and the checksum of the test split. */
Test(datasets, fashion_mnist_default_test_split) {
  const char *files[2] = {NNB_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz",
                          NNB_FASHION_MNIST_DIR "/t10k-labels-idx1-ubyte.gz"};
  uint32_t want = (uint32_t)crc32(0, Z_NULL, 0);
  unsigned char *buf = malloc(1 << 16);
  for (int f = 0; f < 2; f++) {
    gzFile g = gzopen(files[f], "rb");
    cr_assert_not_null(g, "%s is missing: install dataset-fashion-mnist", files[f]);
    for (int k; (k = gzread(g, buf, 1 << 16)) > 0;) want = (uint32_t)crc32(want, buf, (uInt)k);
    gzclose(g);
  }
  free(buf);
  nnb_dataset d;
  nnb_error e;
  cr_assert_eq(nnb_dataset_open(NULL, 1, 0, &d, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(d.name, "fashion-mnist");
  cr_expect(d.n == 10000 && d.c == 1 && d.h == 28 && d.w == 28 && d.classes == 10);
  cr_expect_eq(d.checksum, want, "%08x, expected %08x", d.checksum, want);
  int count[10] = {0};
  for (int64_t i = 0; i < d.n; i++) count[d.labels[i]]++;
  for (int c = 0; c < 10; c++) cr_expect_eq(count[c], 1000, "class %d", c);
  nnb_dataset_free(&d);
}

/* ---- IDX: bad files ---- */

Test(datasets, idx_missing_file_and_directory) {
  idx lb = labels_file(0x801, N);
  write_raw(at("l"), lb.b, lb.n);
  expect_fail(at("nope"), at("l"), NNB_ERR_IO, at("nope"), "cannot open: No such file");
  mkdir(at("sub"), 0700);
  expect_fail(at("sub"), at("l"), NNB_ERR_IO, at("sub"), "is a directory");
  idx im = images_file(0x803, N);
  write_raw(at("i"), im.b, im.n);
  expect_fail(at("i"), at("sub"), NNB_ERR_IO, at("sub"), "is a directory");
}

Test(datasets, idx_truncated_files) {
  idx im = images_file(0x803, N), lb = labels_file(0x801, N);
  write_raw(at("l"), lb.b, lb.n);
  write_raw(at("i"), im.b, im.n - ROWS * COLS * 2 - 1); /* 2.x images short */
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("i"),
              "truncated: header says 5 images of 4x3, file ends after 2 of them");
  write_gz(at("i.gz"), im.b, im.n - 7);
  expect_fail(at("i.gz"), at("l"), NNB_ERR_FORMAT, at("i.gz"), "file ends after 4 of them");
  write_raw(at("i"), im.b, 10);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("i"),
              "truncated: the IDX images header needs 16 bytes, the file has 10");
  write_raw(at("i"), "", 0);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("i"), "the file has 0");

  write_raw(at("i"), im.b, im.n);
  write_raw(at("l"), lb.b, lb.n - 3);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("l"),
              "truncated: header says 5 labels, file ends after 2 of them");
  write_raw(at("l"), lb.b, 6);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("l"), "labels header needs 8 bytes");
}

/* A good labels file "l" and the bytes of a good gzip images file. */
static unsigned char *good_gzip_images(size_t *n) {
  idx im = images_file(0x803, N), lb = labels_file(0x801, N);
  write_raw(at("l"), lb.b, lb.n);
  write_gz(at("ok.gz"), im.b, im.n);
  return slurp(at("ok.gz"), n);
}

/* A gzip file cut short: the stream itself ends early. */
Test(datasets, idx_truncated_gzip_stream) {
  size_t n;
  unsigned char *gz = good_gzip_images(&n);
  write_raw(at("cut.gz"), gz, n / 2);
  expect_fail(at("cut.gz"), at("l"), NNB_ERR_FORMAT, at("cut.gz"), "truncated gzip data");
  write_raw(at("cut.gz"), gz, n - 4); /* only the trailer's length is missing */
  expect_fail(at("cut.gz"), at("l"), NNB_ERR_FORMAT, at("cut.gz"), "truncated gzip data");
  free(gz);
}

Test(datasets, idx_corrupt_gzip) {
  size_t n;
  unsigned char *gz = good_gzip_images(&n);
  unsigned char bad[2048];
  cr_assert_lt(n, sizeof bad);
  memcpy(bad, gz, n);
  bad[n - 8] ^= 0xff; /* the trailer's crc32 */
  write_raw(at("crc.gz"), bad, n);
  expect_fail(at("crc.gz"), at("l"), NNB_ERR_FORMAT, at("crc.gz"),
              "corrupt gzip data (incorrect data check)");
  memcpy(bad, gz, n);
  bad[2] = 7; /* compression method: only 8 (deflate) exists */
  write_raw(at("method.gz"), bad, n);
  expect_fail(at("method.gz"), at("l"), NNB_ERR_FORMAT, at("method.gz"), "corrupt gzip data");
  memcpy(bad, gz, n);
  for (size_t i = 10; i < n - 8; i++) bad[i] = (unsigned char)(i * 151 + 7); /* deflate garbage */
  write_raw(at("body.gz"), bad, n);
  expect_fail(at("body.gz"), at("l"), NNB_ERR_FORMAT, at("body.gz"), "corrupt gzip data");
  write_raw(at("junk.gz"), "\x1f\x8b\x08\x00garbage that is not deflate data at all", 44);
  expect_fail(at("junk.gz"), at("l"), NNB_ERR_FORMAT, at("junk.gz"), "gzip data");
  free(gz);
}

Test(datasets, idx_wrong_magic_and_swapped_paths) {
  idx im = images_file(0x803, N), lb = labels_file(0x801, N);
  write_raw(at("i"), im.b, im.n), write_raw(at("l"), lb.b, lb.n);
  idx bad = images_file(0x804, N);
  write_raw(at("bad"), bad.b, bad.n);
  expect_fail(at("bad"), at("l"), NNB_ERR_FORMAT, at("bad"),
              "magic 0x00000804, expected 0x00000803 (IDX images)");
  expect_fail(at("i"), at("bad"), NNB_ERR_FORMAT, at("bad"), "expected 0x00000801 (IDX labels)");
  expect_fail(at("l"), at("i"), NNB_ERR_FORMAT, at("l"), "swapped paths?");
  write_raw(at("text"), "hello, world: not an IDX file at all", 36);
  expect_fail(at("text"), at("l"), NNB_ERR_FORMAT, at("text"), "magic 0x68656c6c");
}

Test(datasets, idx_count_mismatch_names_both_files) {
  idx im = images_file(0x803, N), lb = labels_file(0x801, N - 1);
  lb.n--; /* a consistent labels file of N-1 labels */
  write_raw(at("i"), im.b, im.n), write_raw(at("l"), lb.b, lb.n);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("l"), "has 4 labels but");
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("i"), "has 5 images");
}

Test(datasets, idx_trailing_bytes) {
  idx im = images_file(0x803, N), lb = labels_file(0x801, N);
  write_raw(at("l"), lb.b, lb.n);
  memcpy(im.b + im.n, "garbage", 7);
  write_raw(at("i"), im.b, im.n + 7);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("i"),
              "data continues after the 76 bytes the header accounts for");
  write_gz(at("i.gz"), im.b, im.n + 7);
  expect_fail(at("i.gz"), at("l"), NNB_ERR_FORMAT, at("i.gz"), "data continues after");
  /* the header undercounts: the same bytes, one image fewer declared */
  idx under = images_file(0x803, N - 1);
  idx lb4 = labels_file(0x801, N - 1);
  lb4.n--;
  write_raw(at("i"), under.b, under.n), write_raw(at("l"), lb4.b, lb4.n);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("i"), "wrong count in the header");
  lb.b[lb.n++] = 3;
  write_raw(at("i"), im.b, im.n), write_raw(at("l"), lb.b, lb.n);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("l"), "data continues after the 13 bytes");
}

Test(datasets, idx_bad_header_values_and_labels) {
  idx lb = labels_file(0x801, N);
  write_raw(at("l"), lb.b, lb.n);
  idx im = images_file(0x803, N);
  im.b[11] = 0; /* rows */
  write_raw(at("i"), im.b, im.n);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("i"), "header says images of 0x3");
  im = images_file(0x803, 0);
  write_raw(at("i"), im.b, 16);
  idx lb0 = labels_file(0x801, 0);
  write_raw(at("l0"), lb0.b, 8);
  expect_fail(at("i"), at("l0"), NNB_ERR_FORMAT, at("i"), "header says 0 images");
  im = images_file(0x803, N);
  write_raw(at("i"), im.b, im.n);
  lb.b[8 + 3] = 12;
  write_raw(at("l"), lb.b, lb.n);
  expect_fail(at("i"), at("l"), NNB_ERR_FORMAT, at("l"),
              "label 12 at index 3 is out of range: expected 0..9");
}

Test(datasets, open_names_the_folder_and_the_spec) {
  nnb_dataset d;
  nnb_error e;
  char spec[128];
  snprintf(spec, sizeof spec, "fashion-mnist:%s/none", dir);
  cr_expect_eq(nnb_dataset_open(spec, 0, 0, &d, &e), NNB_ERR_IO);
  cr_expect(strstr(e.msg, "/none/train-images-idx3-ubyte: cannot open"), "%s", e.msg);
  cr_expect_eq(nnb_dataset_open("mnist", 0, 0, &d, &e), NNB_ERR_INVALID);
  cr_expect(strstr(e.msg, "mnist:DIR"), "%s", e.msg);
  cr_expect_eq(nnb_dataset_open("cifar10", 0, 0, &d, &e), NNB_ERR_INVALID);
  cr_expect(strstr(e.msg, "cifar10:DIR"), "%s", e.msg);
  cr_expect_eq(nnb_dataset_open("imagenet:/data", 0, 0, &d, &e), NNB_ERR_INVALID);
  cr_expect(strstr(e.msg, "unknown dataset 'imagenet:/data'"), "%s", e.msg);
}

/* ---- CIFAR-10 ---- */

enum { REC = 3073 };

static unsigned char cifar_px(int file, int r, int k) {
  return (unsigned char)((file * 53 + r * 29 + k * 7) % 256);
}

/* `records` records of file `file` (label = (file + r) % 10). */
static void write_cifar(const char *name, int file, int records) {
  unsigned char *b = malloc((size_t)records * REC + 1);
  for (int r = 0; r < records; r++) {
    b[r * REC] = (unsigned char)((file + r) % 10);
    for (int k = 0; k < 3072; k++) b[r * REC + 1 + k] = cifar_px(file, r, k);
  }
  write_raw(at(name), b, (size_t)records * REC);
  free(b);
}

static void write_cifar_set(void) {
  char name[32];
  for (int f = 1; f <= 5; f++) {
    snprintf(name, sizeof name, "data_batch_%d.bin", f);
    write_cifar(name, f, 3);
  }
  write_cifar("test_batch.bin", 0, 2);
}

static nnb_status open_cifar(int split, int64_t limit, nnb_dataset *d, nnb_error *e) {
  char spec[128];
  snprintf(spec, sizeof spec, "cifar10:%s", dir);
  return nnb_dataset_open(spec, split, limit, d, e);
}

Test(datasets, cifar10_reads_batches_as_3x32x32) {
  write_cifar_set();
  nnb_dataset d;
  nnb_error e;
  cr_assert_eq(open_cifar(0, 0, &d, &e), NNB_OK, "%s", e.msg);
  cr_assert(d.n == 15 && d.c == 3 && d.h == 32 && d.w == 32 && d.classes == 10);
  uint32_t want = (uint32_t)crc32(0, Z_NULL, 0);
  for (int i = 0; i < 15; i++) {
    int f = i / 3 + 1, r = i % 3;
    cr_expect_eq(d.labels[i], (f + r) % 10, "sample %d", i);
    cr_expect_eq(d.images[i * 3072 + 1500], (float)cifar_px(f, r, 1500) / 255.0f);
    char name[32];
    snprintf(name, sizeof name, "data_batch_%d.bin", f);
    size_t n;
    unsigned char *b = slurp(at(name), &n);
    want = (uint32_t)crc32(want, b + r * REC, REC);
    free(b);
  }
  cr_expect_eq(d.checksum, want, "crc32 of the records read");
  cr_expect(strstr(d.source, "data_batch_5.bin"), "%s", d.source);
  nnb_dataset_free(&d);
  cr_assert_eq(open_cifar(1, 0, &d, &e), NNB_OK, "%s", e.msg);
  cr_expect(d.n == 2 && d.labels[1] == 1);
  nnb_dataset_free(&d);
  /* a limit reads only the files it reaches into */
  remove(at("data_batch_4.bin"));
  cr_assert_eq(open_cifar(0, 7, &d, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(d.n, 7);
  cr_expect_eq(d.labels[6], 3 % 10);
  nnb_dataset_free(&d);
}

/* The cnn follows its input: CIFAR-10's 3x32x32 gives conv1 three input
 * channels and fc1 64*4*4 inputs, and a forward pass runs. */
Test(datasets, cnn_builds_and_runs_on_cifar10_input) {
  write_cifar_set();
  nnb_dataset d;
  nnb_error e;
  cr_assert_eq(open_cifar(1, 0, &d, &e), NNB_OK, "%s", e.msg);
  nnb_model_spec s;
  cr_assert_eq(nnb_model_parse("cnn", &s, &e), NNB_OK);
  nnb_input_shape in = {d.c, d.h, d.w, d.classes};
  nnb_model m;
  cr_assert_eq(nnb_model_build(&s, &in, 2, 0, &m, &e), NNB_OK, "%s", e.msg);
  const nnb_tensor_desc *w1 = &m.g.tensors[nnb_graph_find(&m.g, "conv1.weight")];
  cr_expect(w1->dims[0] == 32 && w1->dims[1] == 3 && w1->dims[2] == 3 && w1->dims[3] == 3);
  cr_expect_eq(m.g.tensors[nnb_graph_find(&m.g, "fc1.weight")].dims[1], 64 * 4 * 4);
  nnb_backend ref;
  tu_open_reference(&ref);
  nnb_session sess;
  cr_assert_eq(nnb_session_create(&ref, &m.g, &sess, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_model_init_session(&m, &sess, 1, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_session_upload(&sess, m.x, d.images, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_session_run(&sess, &e), NNB_OK, "%s", e.msg);
  float logits[20];
  cr_assert_eq(nnb_session_download(&sess, m.logits, logits, &e), NNB_OK, "%s", e.msg);
  int differ = 0;
  for (int i = 0; i < 20; i++) cr_expect(isfinite(logits[i]));
  for (int i = 0; i < 10; i++) differ += logits[i] != logits[10 + i];
  cr_expect_gt(differ, 0, "two different images give different logits");
  nnb_session_free(&sess);
  nnb_model_free(&m);
  nnb_backend_close(&ref);
  nnb_registry_unload();
  nnb_dataset_free(&d);
}

static void expect_cifar_fail(int split, const char *file, nnb_status status, const char *phrase) {
  nnb_dataset d;
  nnb_error e = {{0}};
  nnb_status s = open_cifar(split, 0, &d, &e);
  cr_expect_eq(s, status, "%s: status %d (%s)", phrase, s, e.msg);
  cr_expect(strstr(e.msg, at(file)), "message '%s' does not name %s", e.msg, file);
  cr_expect(strstr(e.msg, phrase), "message '%s' does not say '%s'", e.msg, phrase);
  cr_expect(d.images == NULL && d.n == 0);
}

Test(datasets, cifar10_bad_files) {
  write_cifar_set();
  unsigned char rec[REC * 2 + 100] = {0};
  write_raw(at("data_batch_2.bin"), rec, REC * 2 + 100);
  expect_cifar_fail(0, "data_batch_2.bin", NNB_ERR_FORMAT,
                    "6246 bytes is not a whole, non-zero number of 3073-byte records");
  write_raw(at("data_batch_2.bin"), rec, 0);
  expect_cifar_fail(0, "data_batch_2.bin", NNB_ERR_FORMAT, "0 bytes is not");
  write_cifar("data_batch_2.bin", 2, 3);
  rec[REC] = 10; /* the second record's label */
  write_raw(at("test_batch.bin"), rec, REC * 2);
  expect_cifar_fail(1, "test_batch.bin", NNB_ERR_FORMAT, "record 1 has label 10, expected 0..9");
  remove(at("data_batch_5.bin"));
  expect_cifar_fail(0, "data_batch_5.bin", NNB_ERR_IO, "cannot open: No such file");
  mkdir(at("data_batch_5.bin"), 0700);
  expect_cifar_fail(0, "data_batch_5.bin", NNB_ERR_IO, "not a regular file");
}

/* ---- synthetic ---- */

Test(datasets, synthetic_is_seeded_and_shaped) {
  nnb_dataset a, b, t;
  nnb_error e;
  cr_assert_eq(nnb_dataset_open("synthetic:c=3,h=8,w=5,classes=4,n=50,seed=7", 0, 0, &a, &e),
               NNB_OK, "%s", e.msg);
  cr_assert(a.n == 50 && a.c == 3 && a.h == 8 && a.w == 5 && a.classes == 4);
  cr_assert_eq(nnb_dataset_synthetic("seed=7,n=50,classes=4,w=5,h=8,c=3", 0, 0, &b, &e), NNB_OK);
  cr_expect_eq(memcmp(a.images, b.images, 50 * 120 * sizeof(float)), 0, "same seed, same data");
  cr_expect_eq(a.checksum, b.checksum);
  cr_expect_str_eq(a.source, "synthetic:c=3,h=8,w=5,classes=4,n=50,seed=7");
  int seen[4] = {0};
  for (int i = 0; i < 50; i++) {
    cr_assert(a.labels[i] >= 0 && a.labels[i] < 4);
    seen[a.labels[i]] = 1;
  }
  cr_expect(seen[0] && seen[1] && seen[2] && seen[3]);
  for (int i = 0; i < 50 * 120; i++) cr_assert(a.images[i] >= 0 && a.images[i] < 1);
  cr_assert_eq(nnb_dataset_synthetic("c=3,h=8,w=5,classes=4,n=50,seed=7", 1, 0, &t, &e), NNB_OK);
  cr_expect_neq(memcmp(a.images, t.images, 50 * 120 * sizeof(float)), 0, "test split differs");
  cr_expect_neq(a.checksum, t.checksum);
  nnb_dataset_free(&b);
  cr_assert_eq(nnb_dataset_synthetic("c=3,h=8,w=5,classes=4,n=50,seed=8", 0, 0, &b, &e), NNB_OK);
  cr_expect_neq(a.checksum, b.checksum, "another seed, other data");
  nnb_dataset_free(&b);
  cr_assert_eq(nnb_dataset_synthetic(NULL, 0, 10, &b, &e), NNB_OK);
  cr_expect(b.n == 10 && b.c == 1 && b.h == 28 && b.w == 28 && b.classes == 10);
  nnb_dataset_free(&a), nnb_dataset_free(&b), nnb_dataset_free(&t);
}

Test(datasets, synthetic_bad_specs) {
  static const char *const cases[][2] = {
      {"depth=3", "unknown key 'depth' (keys: c, h, w, classes, n, seed)"},
      {"c=0", "c needs an integer in [1, 65536], got '0'"},
      {"h=abc", "h needs an integer in [1, 65536], got 'abc'"},
      {"w=12x", "got '12x'"},
      {"n=-5", "n needs an integer in [1, 2147483648], got '-5'"},
      {"seed=", "seed needs an integer in [0, 2147483648], got ''"},
      {"classes", "classes needs an integer"},
      {"w=65537", "w needs an integer in [1, 65536]"},
      {"c=4096,h=4096,w=4096,n=4096", "4096 samples of 4096x4096x4096 are more than"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    nnb_dataset d;
    nnb_error e = {{0}};
    cr_expect_eq(nnb_dataset_synthetic(cases[i][0], 0, 0, &d, &e), NNB_ERR_INVALID, "%s",
                 cases[i][0]);
    cr_expect(strstr(e.msg, "synthetic: ") && strstr(e.msg, cases[i][1]),
              "'%s': message '%s' does not say '%s'", cases[i][0], e.msg, cases[i][1]);
    cr_expect(d.images == NULL);
  }
}
