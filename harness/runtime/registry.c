/* The plugin registry: finds libnnb-<name>.so files, dlopens them, checks
 * the ABI and records every plugin, usable or not, with the reason when not.
 * This file holds the only global mutable state in nnbench (the table
 * below); it is not thread-safe: load and unload from one thread.
 *
 * Nothing here does ISA-specific work: a plugin that needs an instruction
 * set says so through its optional score export. */
#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <nnbench/runtime.h>

#ifndef NNB_BACKEND_BUILD_DIR
#define NNB_BACKEND_BUILD_DIR ""
#endif
#ifndef NNB_BACKEND_INSTALL_DIR
#define NNB_BACKEND_INSTALL_DIR ""
#endif

#define MAX_PLUGINS 64
#define MAX_DIRS 32
#define PATH_ENV "NNBENCH_BACKEND_PATH"
#define FILE_PREFIX "libnnb-"
#define FILE_SUFFIX ".so"

/* The backends nnbench ships, listed after a load whether found or not. */
static const char *const shipped[] = {"reference", "openblas", "onednn", "vulkan"};
#define N_SHIPPED (int)(sizeof shipped / sizeof shipped[0])

static struct {
  nnb_plugin plugins[MAX_PLUGINS];
  int count;
  bool loaded;
  char env_copy[4096];        /* NNBENCH_BACKEND_PATH, split in place */
  const char *dirs[MAX_DIRS]; /* the search path, in order */
  int n_dirs;
} reg;

/* ---- names and the search path ------------------------------------------ */

/* The <name> of ".../libnnb-<name>.so"; a file of another form keeps its
 * base name without "lib" and ".so". Returns false when name is empty or
 * does not fit. */
static bool name_from_path(const char *path, char *name, size_t len) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (!strncmp(base, FILE_PREFIX, strlen(FILE_PREFIX))) {
    base += strlen(FILE_PREFIX);
    n -= strlen(FILE_PREFIX);
  } else if (!strncmp(base, "lib", 3)) {
    base += 3;
    n -= 3;
  }
  if (n > strlen(FILE_SUFFIX) && !strcmp(base + n - strlen(FILE_SUFFIX), FILE_SUFFIX))
    n -= strlen(FILE_SUFFIX);
  if (n == 0 || n >= len) return false;
  memcpy(name, base, n);
  name[n] = '\0';
  return true;
}

/* A plugin file name: libnnb-<name>.so with a non-empty name that fits. */
static bool is_plugin_file(const char *file, char *name, size_t len) {
  size_t n = strlen(file), pre = strlen(FILE_PREFIX), suf = strlen(FILE_SUFFIX);
  if (n <= pre + suf || strncmp(file, FILE_PREFIX, pre) || strcmp(file + n - suf, FILE_SUFFIX))
    return false;
  return name_from_path(file, name, len);
}

static void add_dir(const char *d) {
  if (!d || !*d || reg.n_dirs >= MAX_DIRS) return; /* an empty element is not ".": skip */
  for (int i = 0; i < reg.n_dirs; i++)
    if (!strcmp(reg.dirs[i], d)) return;
  reg.dirs[reg.n_dirs++] = d;
}

/* Rebuilds the search path from the environment: NNBENCH_BACKEND_PATH's
 * directories, then the build tree, then the install prefix. */
static void compute_dirs(void) {
  reg.n_dirs = 0;
  const char *env = getenv(PATH_ENV);
  snprintf(reg.env_copy, sizeof reg.env_copy, "%s", env ? env : "");
  char *save = NULL;
  for (char *d = strtok_r(reg.env_copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) add_dir(d);
  add_dir(NNB_BACKEND_BUILD_DIR);
  add_dir(NNB_BACKEND_INSTALL_DIR);
}

/* Fills at most max entries and returns how many it filled. The strings
 * stay valid until the next call here, nnb_registry_load or unload. */
int nnb_registry_search_dirs(const char **dirs, int max) {
  if (!reg.loaded) compute_dirs(); /* once loaded: the path that was searched */
  int n = 0;
  for (; dirs && n < reg.n_dirs && n < max; n++) dirs[n] = reg.dirs[n];
  return n;
}

static void dirs_joined(char *buf, size_t len) {
  size_t at = 0;
  buf[0] = '\0';
  for (int i = 0; i < reg.n_dirs && at < len; i++)
    at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? ":" : "", reg.dirs[i]);
}

/* ---- loading one library ------------------------------------------------- */

static nnb_plugin *find_entry(const char *name) {
  for (int i = 0; i < reg.count; i++)
    if (!strcmp(reg.plugins[i].name, name)) return &reg.plugins[i];
  return NULL;
}

static void release(nnb_plugin *p) {
  if (p->handle) dlclose(p->handle);
  p->handle = NULL;
  p->vt = NULL;
}

/* Marks p unavailable with a formatted reason and closes its library. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
refuse(nnb_plugin *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->reason, sizeof p->reason, fmt, ap);
  va_end(ap);
  p->available = false;
  release(p);
}

/* Names the required slots that are NULL, comma separated, into buf. */
static int missing_slots(const nnb_backend_vtable *vt, char *buf, size_t len) {
  struct {
    const char *name;
    bool present;
  } slots[] = {
      {"describe", vt->describe != NULL},
      {"init", vt->init != NULL},
      {"destroy", vt->destroy != NULL},
      {"supports", vt->supports != NULL},
      {"buffer_alloc", vt->buffer_alloc != NULL},
      {"buffer_free", vt->buffer_free != NULL},
      {"upload", vt->upload != NULL},
      {"download", vt->download != NULL},
      {"prepare", vt->prepare != NULL},
      {"execute", vt->execute != NULL},
      {"sync", vt->sync != NULL},
      {"plan_free", vt->plan_free != NULL},
      {"memory_stats", vt->memory_stats != NULL},
  };
  int n = 0;
  size_t at = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
    if (slots[i].present) continue;
    if (at < len) at += (size_t)snprintf(buf + at, len - at, "%s%s", n ? ", " : "", slots[i].name);
    n++;
  }
  return n;
}

/* Fills p (name and path already set) by opening and checking p->path. */
static void load_library(nnb_plugin *p) {
  const char *path = p->path;
  p->available = false;
  p->reason[0] = '\0';
  p->score = 1;
  p->handle = NULL;
  p->vt = NULL;

  dlerror();
  /* RTLD_NODELETE: a plugin's libraries may start threads (OpenMP, BLAS,
   * driver pools) that outlive its close; unmapping their code under them
   * would crash the process later. Closing only forgets the plugin. */
  p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!p->handle) {
    const char *why = dlerror();
    refuse(p, "%s", why ? why : "dlopen failed without a message");
    return;
  }
  /* ISO C forbids converting an object pointer to a function pointer:
   * copy the bytes, as POSIX guarantees they are the same. */
  void *sym = dlsym(p->handle, NNB_BACKEND_ENTRY_SYMBOL);
  if (!sym) {
    refuse(p, "%s: no entry symbol '%s' (not an nnbench plugin?)", path, NNB_BACKEND_ENTRY_SYMBOL);
    return;
  }
  nnb_backend_entry_fn entry;
  memcpy(&entry, &sym, sizeof entry);
  const nnb_backend_vtable *vt = entry();
  if (!vt) {
    refuse(p, "%s: %s() returned no table", path, NNB_BACKEND_ENTRY_SYMBOL);
    return;
  }
  /* The version first, and through its bytes only: a table of another
   * layout is refused before any other field is read. */
  uint32_t abi;
  memcpy(&abi, (const void *)vt, sizeof abi);
  if (abi != NNB_BACKEND_ABI_VERSION) {
    refuse(
        p,
        "%s: plugin ABI version %u, nnbench expects %u (rebuild the plugin against this nnbench)",
        path, (unsigned)abi, (unsigned)NNB_BACKEND_ABI_VERSION);
    return;
  }
  if (vt->struct_size < sizeof(nnb_backend_vtable)) {
    refuse(p,
           "%s: plugin table is %u bytes, nnbench expects at least %zu (rebuild the plugin against "
           "this nnbench)",
           path, (unsigned)vt->struct_size, sizeof(nnb_backend_vtable));
    return;
  }
  char missing[256];
  int n_missing = missing_slots(vt, missing, sizeof missing);
  if (n_missing) {
    refuse(p, "%s: plugin table lacks required slot%s %s", path, n_missing > 1 ? "s" : "", missing);
    return;
  }
  dlerror();
  sym = dlsym(p->handle, NNB_BACKEND_SCORE_SYMBOL);
  if (sym) {
    nnb_backend_score_fn score;
    memcpy(&score, &sym, sizeof score);
    p->score = score();
    if (p->score <= 0) {
      refuse(p, "%s: score %d: not usable on this machine", path, p->score);
      return;
    }
  }
  p->vt = vt;
  p->available = true;
}

/* Records one plugin in a free slot, or replaces the entry of that name.
 * The new library is opened before the old one is closed, so reloading the
 * same file keeps it mapped for backends opened from the old entry. */
static nnb_status record(const char *name, const char *path, nnb_error *e) {
  nnb_plugin *p = find_entry(name);
  if (!p && reg.count >= MAX_PLUGINS)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "too many plugins: cannot record '%s' (%s), the registry holds %d; "
                    "remove unused libnnb-*.so files from the search path",
                    name, path, MAX_PLUGINS);
  nnb_plugin fresh;
  memset(&fresh, 0, sizeof fresh);
  snprintf(fresh.name, sizeof fresh.name, "%s", name);
  snprintf(fresh.path, sizeof fresh.path, "%s", path);
  load_library(&fresh);
  if (p)
    release(p);
  else
    p = &reg.plugins[reg.count++];
  *p = fresh;
  return NNB_OK;
}

static nnb_status record_missing(const char *name, nnb_error *e) {
  if (reg.count >= MAX_PLUGINS)
    return nnb_fail(e, NNB_ERR_INVALID, "too many plugins: cannot record '%s'", name);
  nnb_plugin *p = &reg.plugins[reg.count++];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  char dirs[400];
  dirs_joined(dirs, sizeof dirs);
  p->score = 1;
  if (!strcmp(name, "reference")) {
    refuse(p,
           FILE_PREFIX "%s" FILE_SUFFIX " not found in %s (the reference backend is always built: "
                       "build the nnb-reference target, or install nnbench)",
           name, dirs);
  } else {
    char option[32];
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof option; i++)
      option[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
    option[i] = '\0';
    refuse(p,
           FILE_PREFIX "%s" FILE_SUFFIX " not found in %s (not in this build: CMake's configure "
                       "output says why; see NNB_BACKEND_%s)",
           name, dirs, option);
  }
  return NNB_OK;
}

/* ---- the registry --------------------------------------------------------- */

typedef struct candidate {
  char name[32];
  char path[512];
} candidate;

static int by_name(const void *a, const void *b) {
  return strcmp(((const candidate *)a)->name, ((const candidate *)b)->name);
}

/* Adds the plugin files of one directory whose name no earlier directory
 * (and no entry already recorded) has. A missing directory is no error. */
static int scan_dir(const char *dir, candidate *c, int n, int max) {
  DIR *d = opendir(dir);
  if (!d) return n;
  struct dirent *de;
  while ((de = readdir(d)) != NULL && n < max) {
    char name[32];
    if (!is_plugin_file(de->d_name, name, sizeof name)) continue;
    bool dup = find_entry(name) != NULL;
    for (int i = 0; i < n && !dup; i++) dup = !strcmp(c[i].name, name);
    if (dup) continue;
    int len = snprintf(c[n].path, sizeof c[n].path, "%s/%s", dir, de->d_name);
    if (len < 0 || (size_t)len >= sizeof c[n].path) continue; /* path too long to record */
    snprintf(c[n].name, sizeof c[n].name, "%s", name);
    n++;
  }
  closedir(d);
  return n;
}

nnb_status nnb_registry_load(nnb_error *e) {
  if (reg.loaded) return NNB_OK;
  compute_dirs();
  candidate *c = calloc(MAX_PLUGINS, sizeof *c);
  if (!c) return nnb_fail(e, NNB_ERR_NOMEM, "registry: out of memory");
  int n = 0;
  for (int i = 0; i < reg.n_dirs; i++) n = scan_dir(reg.dirs[i], c, n, MAX_PLUGINS);

  nnb_status s = NNB_OK;
  /* The shipped backends first, in a fixed order, found or not... */
  for (int k = 0; k < N_SHIPPED && s == NNB_OK; k++) {
    if (find_entry(shipped[k])) continue;
    int at = -1;
    for (int i = 0; i < n && at < 0; i++)
      if (!strcmp(c[i].name, shipped[k])) at = i;
    if (at >= 0) {
      s = record(c[at].name, c[at].path, e);
      c[at].name[0] = '\0';
    } else {
      s = record_missing(shipped[k], e);
    }
  }
  /* ...then every other plugin found, by name. */
  qsort(c, (size_t)n, sizeof *c, by_name);
  for (int i = 0; i < n && s == NNB_OK; i++)
    if (c[i].name[0]) s = record(c[i].name, c[i].path, e);
  free(c);
  reg.loaded = true; /* what fitted is usable even when the table overflowed */
  return s;
}

nnb_status nnb_registry_load_file(const char *path, nnb_error *e) {
  if (!path || !*path) return nnb_fail(e, NNB_ERR_INVALID, "registry: no plugin path given");
  char name[32];
  if (!name_from_path(path, name, sizeof name))
    return nnb_fail(e, NNB_ERR_INVALID,
                    "%s: cannot derive a backend name from the file name (expected "
                    "libnnb-<name>.so, name at most %zu characters)",
                    path, sizeof name - 1);
  if (strlen(path) >= sizeof reg.plugins[0].path)
    return nnb_fail(e, NNB_ERR_INVALID, "%s: path longer than %zu characters", path,
                    sizeof reg.plugins[0].path - 1);
  return record(name, path, e);
}

void nnb_registry_unload(void) {
  for (int i = 0; i < reg.count; i++) release(&reg.plugins[i]);
  memset(&reg, 0, sizeof reg);
}

int nnb_registry_count(void) { return reg.count; }

const nnb_plugin *nnb_registry_get(int i) {
  return i >= 0 && i < reg.count ? &reg.plugins[i] : NULL;
}

const nnb_plugin *nnb_registry_find(const char *name) { return name ? find_entry(name) : NULL; }

/* ---- backend instances ------------------------------------------------------ */

nnb_status nnb_backend_open(const char *name, const nnb_backend_config *cfg, nnb_backend *out,
                            nnb_error *e) {
  if (out) memset(out, 0, sizeof *out);
  if (!name || !out) return nnb_fail(e, NNB_ERR_INVALID, "nnb_backend_open: no name or no output");
  nnb_status s = nnb_registry_load(e);
  if (s != NNB_OK) return s;
  const nnb_plugin *p = find_entry(name);
  if (!p) {
    char names[512];
    size_t at = 0;
    names[0] = '\0';
    for (int i = 0; i < reg.count && at < sizeof names; i++)
      if (reg.plugins[i].available)
        at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", at ? ", " : "",
                               reg.plugins[i].name);
    return nnb_fail(e, NNB_ERR_INVALID,
                    "no backend named '%s' (available: %s; see 'nnbench list backends')", name,
                    at ? names : "none");
  }
  if (!p->available)
    return nnb_fail(e, NNB_ERR_UNAVAILABLE, "backend '%s' is unavailable: %s", name, p->reason);
  nnb_backend_config dflt = {0};
  nnb_fail(e, NNB_ERR_BACKEND, "%s: init failed without a message", name);
  nnb_backend_ctx *ctx = NULL;
  s = p->vt->init(cfg ? cfg : &dflt, &ctx, e);
  if (s != NNB_OK) return s;
  if (e) e->msg[0] = '\0';
  out->plugin = p;
  out->vt = p->vt;
  out->ctx = ctx;
  return NNB_OK;
}

void nnb_backend_close(nnb_backend *b) {
  if (!b) return;
  if (b->vt && b->vt->destroy) b->vt->destroy(b->ctx);
  memset(b, 0, sizeof *b);
}
