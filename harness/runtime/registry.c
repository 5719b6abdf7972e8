/* The plugin registry: finds libnnb-<name>.so files, dlopens them, checks
 * the ABI and records every plugin, usable or not, with the reason when not.
 * This file holds the only global mutable state in nnbench (the table
 * below); it is not thread-safe: load and unload from one thread.
 *
 * Nothing here does ISA-specific work: a plugin that needs an instruction
 * set says so through its optional score export. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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
#define INIT_TIMEOUT_ENV "NNBENCH_INIT_TIMEOUT"
#define INIT_TIMEOUT_S 60.0

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
  bool trust_init; /* open without trying init in a child first */
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
 * directories, then the build tree, then the install prefix. A path that
 * does not fit is refused whole (an error from nnb_registry_load), never
 * searched in part. */
static nnb_status compute_dirs(nnb_error *e) {
  reg.n_dirs = 0;
  const char *env = getenv(PATH_ENV);
  if (env && strlen(env) >= sizeof reg.env_copy)
    return nnb_fail(e, NNB_ERR_INVALID, "%s is longer than %zu characters", PATH_ENV,
                    sizeof reg.env_copy - 1);
  snprintf(reg.env_copy, sizeof reg.env_copy, "%s", env ? env : "");
  char *save = NULL;
  for (char *d = strtok_r(reg.env_copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
    if (reg.n_dirs + 2 >= MAX_DIRS) /* room for the build tree and the install prefix */
      return nnb_fail(e, NNB_ERR_INVALID, "%s names more than %d folders", PATH_ENV, MAX_DIRS - 2);
    else
      add_dir(d);
  add_dir(NNB_BACKEND_BUILD_DIR);
  add_dir(NNB_BACKEND_INSTALL_DIR);
  return NNB_OK;
}

/* Fills at most max entries and returns how many it filled. The strings
 * stay valid until the next call here, nnb_registry_load or unload. */
int nnb_registry_search_dirs(const char **dirs, int max) {
  if (!reg.loaded && compute_dirs(NULL) != NNB_OK) return 0; /* once loaded: the path searched */
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
 * (and no entry already recorded) has. A missing directory is no error; a
 * plugin file that cannot be recorded (its name or path too long, or one
 * more than the table holds) is, rather than being left out unseen.
 * Returns the new count, or -1 with e filled. */
static int scan_dir(const char *dir, candidate *c, int n, int max, nnb_error *e) {
  DIR *d = opendir(dir);
  if (!d) return n;
  struct dirent *de;
  while (n >= 0 && (de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name), pre = strlen(FILE_PREFIX), suf = strlen(FILE_SUFFIX);
    if (len <= pre + suf || strncmp(de->d_name, FILE_PREFIX, pre) ||
        strcmp(de->d_name + len - suf, FILE_SUFFIX))
      continue;
    char name[32];
    if (!is_plugin_file(de->d_name, name, sizeof name)) {
      nnb_fail(e, NNB_ERR_INVALID, "%s/%s: a backend name longer than %zu characters", dir,
               de->d_name, sizeof name - 1);
      n = -1;
      break;
    }
    bool dup = find_entry(name) != NULL;
    for (int i = 0; i < n && !dup; i++) dup = !strcmp(c[i].name, name);
    if (dup) continue;
    if (n == max) {
      nnb_fail(e, NNB_ERR_INVALID,
               "%s/%s: more than %d plugins on the search path; remove unused libnnb-*.so files",
               dir, de->d_name, max);
      n = -1;
      break;
    }
    int plen = snprintf(c[n].path, sizeof c[n].path, "%s/%s", dir, de->d_name);
    if (plen < 0 || (size_t)plen >= sizeof c[n].path) {
      nnb_fail(e, NNB_ERR_INVALID, "%s/%s: a plugin path longer than %zu characters", dir,
               de->d_name, sizeof c[n].path - 1);
      n = -1;
      break;
    }
    snprintf(c[n].name, sizeof c[n].name, "%s", name);
    n++;
  }
  closedir(d);
  return n;
}

nnb_status nnb_registry_load(nnb_error *e) {
  if (reg.loaded) return NNB_OK;
  nnb_status s = compute_dirs(e);
  if (s != NNB_OK) return s;
  candidate *c = calloc(MAX_PLUGINS, sizeof *c);
  if (!c) return nnb_fail(e, NNB_ERR_NOMEM, "registry: out of memory");
  int n = 0;
  for (int i = 0; i < reg.n_dirs && n >= 0; i++) n = scan_dir(reg.dirs[i], c, n, MAX_PLUGINS, e);
  if (n < 0) {
    free(c);
    return NNB_ERR_INVALID;
  }

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

void nnb_registry_trust_init(bool trust) { reg.trust_init = trust; }

static double init_timeout(void) {
  const char *env = getenv(INIT_TIMEOUT_ENV);
  char *end;
  double t = env ? strtod(env, &end) : 0;
  return env && *env && !*end && t > 0 ? t : INIT_TIMEOUT_S;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The child: init, destroy, and the status byte then init's message. */
static void init_child(const nnb_plugin *p, const nnb_backend_config *cfg, int fd) {
  dup2(STDERR_FILENO, STDOUT_FILENO); /* a plugin's chatter must never reach our stdout */
  /* A crash ends the child by its signal, also in a sanitizer build (whose
   * handlers would turn it into exit status 1), so it is reported as one. */
  const int crashes[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
  for (size_t i = 0; i < sizeof crashes / sizeof *crashes; i++) signal(crashes[i], SIG_DFL);
  nnb_error ce;
  nnb_fail(&ce, NNB_ERR_BACKEND, "%s: init failed without a message", p->name);
  nnb_backend_ctx *ctx = NULL;
  nnb_status st = nnb_plugin_status(p->vt->init(cfg, &ctx, &ce), &ce);
  if (st == NNB_OK) p->vt->destroy(ctx);
  unsigned char code = (unsigned char)st;
  size_t len = st == NNB_OK ? 0 : strlen(ce.msg);
  if (write(fd, &code, 1) != 1 || (len && write(fd, ce.msg, len) < 0)) _exit(3);
  _exit(0);
}

/* Runs p's init in a child process. NNB_OK when it succeeded there; its own
 * error when it returned one; and when the child was killed by a signal or
 * did not return in time, p is marked unavailable saying so. */
static nnb_status probe_init(nnb_plugin *p, const nnb_backend_config *cfg, nnb_error *e) {
  int fd[2];
  if (pipe(fd))
    return nnb_fail(e, NNB_ERR_IO, "%s: cannot create a pipe to try init: %s", p->name,
                    strerror(errno));
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]), close(fd[1]);
    return nnb_fail(e, NNB_ERR_IO, "%s: cannot fork to try init: %s", p->name, strerror(errno));
  }
  if (pid == 0) {
    close(fd[0]);
    init_child(p, cfg, fd[1]);
  }
  close(fd[1]);
  char msg[sizeof e->msg + 1];
  size_t len = 0;
  double timeout = init_timeout(), deadline = now_s() + timeout;
  int hung = 0;
  for (;;) {
    double left = deadline - now_s();
    if (left <= 0) {
      hung = 1;
      kill(pid, SIGKILL);
      break;
    }
    struct pollfd pfd = {fd[0], POLLIN, 0};
    int ready = poll(&pfd, 1, left > 1e6 ? 1000000000 : (int)(left * 1000) + 1);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    ssize_t n = read(fd[0], msg + len, len < sizeof msg - 1 ? sizeof msg - 1 - len : 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (len < sizeof msg - 1) len += (size_t)n; /* what does not fit is drained */
  }
  close(fd[0]);
  msg[len] = '\0';
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (hung)
    refuse(p, "init did not return within %g s and was killed (%s sets the limit)", timeout,
           INIT_TIMEOUT_ENV);
  else if (WIFSIGNALED(status))
    refuse(p, "init crashed: signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else if (!WIFEXITED(status) || WEXITSTATUS(status) || len < 1)
    refuse(p, "init ended its process (exit status %d) instead of returning",
           WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  else if (msg[0] != NNB_OK)
    return nnb_fail(e, (nnb_status)msg[0], "%s", msg + 1);
  else
    return NNB_OK;
  return nnb_fail(e, NNB_ERR_UNAVAILABLE, "backend '%s' is unavailable: %s", p->name, p->reason);
}

nnb_status nnb_backend_open(const char *name, const nnb_backend_config *cfg, nnb_backend *out,
                            nnb_error *e) {
  if (out) memset(out, 0, sizeof *out);
  if (!name || !out) return nnb_fail(e, NNB_ERR_INVALID, "nnb_backend_open: no name or no output");
  nnb_status s = nnb_registry_load(e);
  if (s != NNB_OK) return s;
  nnb_plugin *p = find_entry(name);
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
  if (!cfg) cfg = &dflt;
  if (!reg.trust_init && !p->init_tried) {
    if ((s = probe_init(p, cfg, e)) != NNB_OK) return s;
    p->init_tried = true;
  }
  nnb_fail(e, NNB_ERR_BACKEND, "%s: init failed without a message", name);
  nnb_backend_ctx *ctx = NULL;
  s = nnb_plugin_status(p->vt->init(cfg, &ctx, e), e);
  if (s != NNB_OK) return s;
  if (e) e->msg[0] = '\0';
  out->plugin = p;
  out->vt = p->vt;
  out->ctx = ctx;
  return NNB_OK;
}

nnb_status nnb_backend_describe(const nnb_backend *b, nnb_backend_info *info, nnb_error *e) {
  memset(info, 0, sizeof *info);
  nnb_status st = nnb_plugin_status(b->vt->describe(b->ctx, info, e), e);
  info->name[sizeof info->name - 1] = '\0';
  info->device[sizeof info->device - 1] = '\0';
  info->library[sizeof info->library - 1] = '\0';
  if (info->n_props < 0) info->n_props = 0;
  if (info->n_props > NNB_INFO_PROPS) info->n_props = NNB_INFO_PROPS;
  for (int i = 0; i < info->n_props; i++) {
    info->props[i].key[sizeof info->props[i].key - 1] = '\0';
    info->props[i].value[sizeof info->props[i].value - 1] = '\0';
  }
  return st;
}

void nnb_backend_close(nnb_backend *b) {
  if (!b) return;
  if (b->vt && b->vt->destroy) b->vt->destroy(b->ctx);
  memset(b, 0, sizeof *b);
}
