/* The plugin loader: a good plugin loads and runs; plugins broken in each
 * way the loader must catch are listed as unavailable with a reason a
 * person can act on, and are never called into. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nnbench/nnbench.h>

static void teardown(void) {
  nnb_registry_unload();
  unsetenv("NNBENCH_BACKEND_PATH");
}
TestSuite(loader, .fini = teardown, .timeout = 60);

/* Loads one fixture file and returns its entry. */
static const nnb_plugin *load_fixture(const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/libnnb-%s.so", NNB_FIXTURE_DIR, name);
  nnb_error e = {{0}};
  cr_assert_eq(nnb_registry_load_file(path, &e), NNB_OK, "%s: %s", path, e.msg);
  const nnb_plugin *p = nnb_registry_find(name);
  cr_assert_not_null(p, "%s was not recorded as '%s'", path, name);
  return p;
}

static bool contains(const char *s, const char *what) { return strstr(s, what) != NULL; }

Test(loader, good_plugin_opens_and_round_trips_a_buffer) {
  const nnb_plugin *p = load_fixture("good");
  cr_assert(p->available, "good is unavailable: %s", p->reason);
  cr_expect_eq(p->score, 1, "no score export means score 1");
  cr_expect_not_null(p->handle);
  cr_expect_not_null(p->vt);

  nnb_error e = {{0}};
  nnb_backend b;
  nnb_backend_config cfg = {0};
  cr_assert_eq(nnb_backend_open("good", &cfg, &b, &e), NNB_OK, "%s", e.msg);
  cr_expect_eq(b.plugin, p);

  nnb_backend_info info;
  cr_assert_eq(b.vt->describe(b.ctx, &info, &e), NNB_OK, "%s", e.msg);
  cr_expect_str_eq(info.name, "good");
  cr_expect(info.device[0], "describe names a device");

  float src[37], dst[37];
  for (int i = 0; i < 37; i++) src[i] = (float)i * 0.5f - 3.0f;
  memset(dst, 0, sizeof dst);
  nnb_buffer *buf = NULL;
  cr_assert_eq(b.vt->buffer_alloc(b.ctx, 64 + sizeof src, &buf, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(b.vt->upload(b.ctx, buf, 64, src, sizeof src, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(b.vt->download(b.ctx, buf, 64, dst, sizeof dst, &e), NNB_OK, "%s", e.msg);
  cr_expect_arr_eq(dst, src, sizeof src, "the buffer round-trips");
  nnb_memory_stats ms;
  b.vt->memory_stats(b.ctx, &ms);
  cr_expect_eq(ms.current_bytes, 64 + sizeof src);
  cr_expect_eq(ms.n_allocs, 1);
  b.vt->buffer_free(b.ctx, buf);

  /* Every op is refused with a reason, not faked. */
  nnb_node n;
  memset(&n, 0, sizeof n);
  n.op = NNB_OP_RELU;
  nnb_error why = {{0}};
  cr_expect_not(b.vt->supports(b.ctx, NULL, &n, &why));
  cr_expect(why.msg[0], "an unsupported op comes with a reason");
  nnb_backend_close(&b);
  cr_expect_null(b.vt, "close clears the handle");
}

Test(loader, loading_the_same_file_twice_keeps_one_entry) {
  load_fixture("good");
  int n = nnb_registry_count();
  const nnb_plugin *p = load_fixture("good");
  cr_expect_eq(nnb_registry_count(), n);
  cr_expect(p->available, "%s", p->reason);
}

Test(loader, no_entry_symbol_is_reported) {
  const nnb_plugin *p = load_fixture("nosym");
  cr_expect_not(p->available);
  cr_expect_null(p->handle, "a refused library is closed");
  cr_expect_null(p->vt);
  cr_expect(contains(p->reason, "nnb_backend_entry"), "reason: %s", p->reason);
  cr_expect(contains(p->reason, "libnnb-nosym.so"), "the reason names the file: %s", p->reason);
}

Test(loader, abi_mismatch_is_refused_before_anything_is_called) {
  /* badabi's functions abort: reaching the end of this test proves the
   * loader read the version and nothing else. */
  const nnb_plugin *p = load_fixture("badabi");
  cr_expect_not(p->available);
  cr_expect_null(p->vt);
  char theirs[16], ours[16];
  snprintf(theirs, sizeof theirs, "%u", NNB_BACKEND_ABI_VERSION + 98u);
  snprintf(ours, sizeof ours, "%u", NNB_BACKEND_ABI_VERSION);
  cr_expect(contains(p->reason, "version"), "reason: %s", p->reason);
  cr_expect(contains(p->reason, theirs), "the plugin's version: %s", p->reason);
  cr_expect(contains(p->reason, ours), "nnbench's version: %s", p->reason);
  cr_expect(contains(p->reason, "rebuild"), "says what to do: %s", p->reason);

  nnb_error e = {{0}};
  nnb_backend b;
  cr_expect_eq(nnb_backend_open("badabi", NULL, &b, &e), NNB_ERR_UNAVAILABLE);
  cr_expect(contains(e.msg, theirs), "open repeats the reason: %s", e.msg);
}

Test(loader, zero_score_is_unavailable) {
  const nnb_plugin *p = load_fixture("zeroscore");
  cr_expect_not(p->available);
  cr_expect_eq(p->score, 0);
  cr_expect(contains(p->reason, "score"), "reason: %s", p->reason);
  nnb_error e = {{0}};
  nnb_backend b;
  nnb_backend_config cfg = {0};
  cr_expect_eq(nnb_backend_open("zeroscore", &cfg, &b, &e), NNB_ERR_UNAVAILABLE);
  cr_expect(contains(e.msg, "score"), "%s", e.msg);
}

Test(loader, missing_file_reports_dlerror) {
  const char *path = NNB_FIXTURE_DIR "/libnnb-doesnotexist.so";
  nnb_error e = {{0}};
  cr_assert_eq(nnb_registry_load_file(path, &e), NNB_OK, "%s", e.msg);
  const nnb_plugin *p = nnb_registry_find("doesnotexist");
  cr_assert_not_null(p);
  cr_expect_not(p->available);
  cr_expect(contains(p->reason, path), "dlerror names the file: %s", p->reason);
  cr_expect(contains(p->reason, "No such file"), "dlerror's text verbatim: %s", p->reason);
}

static bool exists(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/libnnb-%s.so", dir, name);
  return access(path, F_OK) == 0;
}

Test(loader, search_path_lists_fixtures_and_shipped_backends) {
  cr_assert_eq(setenv("NNBENCH_BACKEND_PATH", "/nonexistent/nnbench:" NNB_FIXTURE_DIR, 1), 0);
  const char *dirs[8];
  int nd = nnb_registry_search_dirs(dirs, 8);
  cr_assert_geq(nd, 2);
  cr_expect_str_eq(dirs[0], "/nonexistent/nnbench");
  cr_expect_str_eq(dirs[1], NNB_FIXTURE_DIR);

  nnb_error e = {{0}};
  cr_assert_eq(nnb_registry_load(&e), NNB_OK, "%s", e.msg);
  int n = nnb_registry_count();
  cr_assert_eq(nnb_registry_load(&e), NNB_OK, "%s", e.msg);
  cr_expect_eq(nnb_registry_count(), n, "loading twice changes nothing");

  const nnb_plugin *p = nnb_registry_find("good");
  cr_assert_not_null(p, "the fixture folder was searched");
  cr_expect(p->available, "%s", p->reason);
  cr_expect(contains(p->path, NNB_FIXTURE_DIR), "found in the fixture folder: %s", p->path);
  p = nnb_registry_find("nosym");
  cr_assert_not_null(p);
  cr_expect(!p->available && contains(p->reason, "nnb_backend_entry"), "%s", p->reason);
  p = nnb_registry_find("badabi");
  cr_assert_not_null(p);
  cr_expect(!p->available && contains(p->reason, "version"), "%s", p->reason);
  p = nnb_registry_find("zeroscore");
  cr_assert_not_null(p);
  cr_expect(!p->available && contains(p->reason, "score"), "%s", p->reason);

  /* The shipped backends come first and are always listed. */
  static const char *const shipped[] = {"reference", "openblas", "onednn", "vulkan"};
  for (int i = 0; i < 4; i++) {
    const nnb_plugin *s = nnb_registry_get(i);
    cr_assert_not_null(s);
    cr_expect_str_eq(s->name, shipped[i], "entry %d", i);
    if (exists(NNB_BACKEND_DIR, shipped[i]) || exists(NNB_FIXTURE_DIR, shipped[i])) {
      cr_expect(s->path[0], "%s was found", s->name);
    } else {
      cr_expect_not(s->available);
      cr_expect(contains(s->reason, "not found"), "%s: %s", s->name, s->reason);
      cr_expect(contains(s->reason, NNB_FIXTURE_DIR), "names where it looked: %s", s->reason);
      cr_expect(contains(s->reason, NNB_BACKEND_DIR), "names where it looked: %s", s->reason);
    }
  }
  if (exists(NNB_BACKEND_DIR, "reference")) {
    p = nnb_registry_find("reference");
    cr_expect(p->available, "reference: %s", p->reason);
    cr_expect(contains(p->path, NNB_BACKEND_DIR), "from the build tree: %s", p->path);
    nnb_backend b;
    cr_expect_eq(nnb_backend_open("reference", NULL, &b, &e), NNB_OK, "%s", e.msg);
    nnb_backend_close(&b);
  }
  for (int i = 0; i < nnb_registry_count(); i++) {
    const nnb_plugin *q = nnb_registry_get(i);
    cr_expect(q->available || q->reason[0], "%s is unavailable without a reason", q->name);
    cr_expect_eq(q->available, q->vt != NULL, "%s", q->name);
    for (int j = 0; j < i; j++)
      cr_expect_str_neq(q->name, nnb_registry_get(j)->name, "%s listed twice", q->name);
  }
  cr_expect_null(nnb_registry_get(nnb_registry_count()));
}

Test(loader, earlier_directory_wins) {
  /* The fixture folder twice: its plugins are recorded once. */
  cr_assert_eq(setenv("NNBENCH_BACKEND_PATH", NNB_FIXTURE_DIR ":" NNB_FIXTURE_DIR "/", 1), 0);
  nnb_error e = {{0}};
  cr_assert_eq(nnb_registry_load(&e), NNB_OK, "%s", e.msg);
  int goods = 0;
  for (int i = 0; i < nnb_registry_count(); i++)
    goods += !strcmp(nnb_registry_get(i)->name, "good");
  cr_expect_eq(goods, 1);
  cr_expect_str_eq(nnb_registry_find("good")->path, NNB_FIXTURE_DIR "/libnnb-good.so");
}

Test(loader, unknown_backend_is_named) {
  nnb_error e = {{0}};
  nnb_backend b;
  nnb_backend_config cfg = {0};
  cr_expect_eq(nnb_backend_open("no-such-backend", &cfg, &b, &e), NNB_ERR_INVALID);
  cr_expect(contains(e.msg, "'no-such-backend'"), "%s", e.msg);
  cr_expect(contains(e.msg, "available"), "lists what is available: %s", e.msg);
  cr_expect_null(b.vt);
}

Test(loader, unload_resets) {
  load_fixture("good");
  cr_expect_gt(nnb_registry_count(), 0);
  nnb_registry_unload();
  cr_expect_eq(nnb_registry_count(), 0);
  cr_expect_null(nnb_registry_find("good"));
  load_fixture("good");
  cr_expect(nnb_registry_find("good")->available);
}
