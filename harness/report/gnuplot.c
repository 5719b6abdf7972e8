#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plot.h"
#include "results.h"

extern char **environ;

#define GNUPLOT_ENV "NNBENCH_GNUPLOT"
#define TEMPLATES_ENV "NNBENCH_PLOTS_DIR"
#define MIN_MAJOR 5
#define MIN_MINOR 2

static int is_file(const char *path) {
  struct stat sb;
  return !stat(path, &sb) && S_ISREG(sb.st_mode);
}

static int has_templates(const char *dir) {
  char path[PATH_MAX + 16];
  snprintf(path, sizeof path, "%s/common.gp", dir);
  return is_file(path);
}

nnb_status nnb_plot_templates_dir(char *buf, size_t len, nnb_error *e) {
  const char *env = getenv(TEMPLATES_ENV);
  if (env && *env) {
    if (!has_templates(env))
      return nnb_fail(e, NNB_ERR_IO,
                      "%s=%s: no common.gp there (expected a copy of the templates in "
                      "scripts/plots/)",
                      TEMPLATES_ENV, env);
    snprintf(buf, len, "%s", env);
    return NNB_OK;
  }
  /* An installed binary finds its own share/ folder, wherever the install was moved. */
  char exe[PATH_MAX] = "", rel[PATH_MAX + 64] = "";
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(rel, sizeof rel, "%s/../%s", exe, NNB_PLOTS_DATADIR_REL);
  }
  const char *candidates[] = {rel, NNB_PLOTS_SOURCE_DIR, NNB_PLOTS_INSTALL_DIR};
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
    if (*candidates[i] && has_templates(candidates[i])) {
      if (!realpath(candidates[i], buf) || strlen(buf) >= len)
        snprintf(buf, len, "%s", candidates[i]);
      return NNB_OK;
    }
  return nnb_fail(e, NNB_ERR_IO,
                  "the gnuplot templates (common.gp and one NAME.gp per plot) are not in %s, %s "
                  "or %s; set %s to a folder holding them (scripts/plots/ of the source tree)",
                  *rel ? rel : "(no binary path)", NNB_PLOTS_SOURCE_DIR, NNB_PLOTS_INSTALL_DIR,
                  TEMPLATES_ENV);
}

static nnb_status cannot_run(const char *program, int err, nnb_error *e) {
  if (getenv(GNUPLOT_ENV) && *getenv(GNUPLOT_ENV))
    return nnb_fail(e, NNB_ERR_UNAVAILABLE,
                    "cannot run gnuplot '%s' (from %s): %s; point %s at gnuplot %d.%d or newer, "
                    "or unset it to use gnuplot from PATH",
                    program, GNUPLOT_ENV, strerror(err), GNUPLOT_ENV, MIN_MAJOR, MIN_MINOR);
  return nnb_fail(e, NNB_ERR_UNAVAILABLE,
                  "gnuplot is needed to draw plots, and '%s' cannot be run from PATH: %s. "
                  "scripts/install-deps.sh installs it (Debian package gnuplot-nox), or set %s "
                  "to its path",
                  program, strerror(err), GNUPLOT_ENV);
}

/* Runs argv (stdin from /dev/null, stdout and stderr into one temporary file)
 * and returns the wait status and what it printed (malloc'd). */
static nnb_status run_capture(char *const *argv, int *status, char **text, nnb_error *e) {
  FILE *cap = tmpfile();
  if (!cap) return nnb_fail(e, NNB_ERR_IO, "cannot create a temporary file: %s", strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fileno(cap), 1);
  posix_spawn_file_actions_adddup2(&fa, fileno(cap), 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc) {
    fclose(cap);
    return cannot_run(argv[0], rc, e);
  }
  while (waitpid(pid, status, 0) < 0)
    if (errno != EINTR) {
      fclose(cap);
      return nnb_fail(e, NNB_ERR_IO, "waiting for %s: %s", argv[0], strerror(errno));
    }
  long len = ftell(cap);
  *text = malloc(len > 0 ? (size_t)len + 1 : 1);
  if (!*text) {
    fclose(cap);
    return nnb_fail(e, NNB_ERR_NOMEM, "out of memory reading %s's output", argv[0]);
  }
  rewind(cap);
  size_t got = len > 0 ? fread(*text, 1, (size_t)len, cap) : 0;
  (*text)[got] = 0;
  fclose(cap);
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 127) {
    free(*text);
    *text = NULL;
    return cannot_run(argv[0], ENOENT, e);
  }
  return NNB_OK;
}

nnb_status nnb_gnuplot_open(nnb_gnuplot *g, nnb_error *e) {
  const char *env = getenv(GNUPLOT_ENV);
  snprintf(g->program, sizeof g->program, "%s", env && *env ? env : "gnuplot");
  char *argv[] = {g->program, "--version", NULL}, *out = NULL;
  int status, major = 0, minor = 0;
  nnb_status st = run_capture(argv, &status, &out, e);
  if (st != NNB_OK) return st;
  int parsed = sscanf(out, "gnuplot %d.%d", &major, &minor) == 2;
  if (!WIFEXITED(status) || WEXITSTATUS(status) || !parsed) {
    st = nnb_fail(e, NNB_ERR_UNAVAILABLE, "'%s --version' did not answer as gnuplot does: %.200s",
                  g->program, out);
  } else if (major < MIN_MAJOR || (major == MIN_MAJOR && minor < MIN_MINOR)) {
    st = nnb_fail(e, NNB_ERR_UNAVAILABLE,
                  "%s is gnuplot %d.%d; the plot templates need %d.%d or newer "
                  "(scripts/install-deps.sh installs Debian's gnuplot-nox)",
                  g->program, major, minor, MIN_MAJOR, MIN_MINOR);
  }
  free(out);
  return st != NNB_OK ? st : nnb_plot_templates_dir(g->templates, sizeof g->templates, e);
}

/* gnuplot expands nothing inside single quotes (no backquoted command, no
 * macro), but they cannot hold a line break: a control character is joined
 * on as an octal escape in double quotes, which then hold nothing else. */
void nnb_gnuplot_quote(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c < 0x20 || c == 0x7f) {
      fprintf(f, "'.\"\\%03o\".'", c);
      continue;
    }
    if (c == '\'') fputc('\'', f);
    fputc(c, f);
  }
  fputc('\'', f);
}

/* The driver: sets where things are and the plot's variables, then draws
 * the template once per format. */
static char *driver_text(const nnb_gnuplot *g, const char *plots_dir, const char *name,
                         const char *vars) {
  char *text = NULL, path[PATH_MAX + 64];
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return NULL;
  /* No path in the comments: a comment ending in a backslash would swallow
   * the next line, and a line break would end it. */
  fprintf(f,
          "# The %s plot, written by nnbench. Redraw it, e.g. after editing the template,\n"
          "# by running gnuplot on this file.\n"
          "# Every style choice is in the templates (docs/plots.md).\n",
          name);
  fprintf(f, "templates = ");
  nnb_gnuplot_quote(f, g->templates);
  snprintf(path, sizeof path, "%s/data/%s.dat", plots_dir, name);
  fprintf(f, "\ndata = ");
  nnb_gnuplot_quote(f, path);
  static const char *const fmts[] = {"png", "svg"};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s.%s", plots_dir, name, fmts[i]);
    fprintf(f, "\nif (!exists('out_%s')) out_%s = ", fmts[i], fmts[i]);
    nnb_gnuplot_quote(f, path);
  }
  fprintf(f, "\n\n%s\nload templates.'/common.gp'\n", vars);
  for (int i = 0; i < 2; i++)
    fprintf(f, "fmt = '%s'; load templates.'/%s.gp'; set output\n", fmts[i], name);
  fclose(f);
  return text;
}

/* Drops trailing blank lines, so a message ends cleanly. */
static void trim(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = 0;
}

static nnb_status check_output(const char *path, const char *name, nnb_error *e) {
  struct stat sb;
  if (stat(path, &sb) || sb.st_size == 0)
    return nnb_fail(e, NNB_ERR_IO, "gnuplot wrote nothing to %s (the %s plot; check its template)",
                    path, name);
  return NNB_OK;
}

nnb_status nnb_gnuplot_draw(const nnb_gnuplot *g, const char *plots_dir, const char *name,
                            const char *vars, const char *data, nnb_error *e) {
  char dir[PATH_MAX], path[PATH_MAX + 64], out[2][PATH_MAX + 64], tmp[2][PATH_MAX + 96];
  snprintf(path, sizeof path, "%s/%s.gp", g->templates, name);
  if (!is_file(path))
    return nnb_fail(e, NNB_ERR_IO, "the template of the %s plot is missing: %s", name, path);
  snprintf(dir, sizeof dir, "%s/data", plots_dir);
  if (mkdir(dir, 0777) && errno != EEXIST)
    return nnb_fail(e, NNB_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
  snprintf(path, sizeof path, "%s/%s.dat", dir, name);
  nnb_status st = nnb_write_file_atomic(path, data, e);
  char *driver = st == NNB_OK ? driver_text(g, plots_dir, name, vars) : NULL;
  if (st == NNB_OK && !driver) st = nnb_fail(e, NNB_ERR_NOMEM, "out of memory writing %s", path);
  snprintf(path, sizeof path, "%s/%s.gp", dir, name);
  if (st == NNB_OK) st = nnb_write_file_atomic(path, driver, e);
  free(driver);
  if (st != NNB_OK) return st;

  /* gnuplot writes temporary files, renamed once both are complete. */
  static const char *const fmts[] = {"png", "svg"};
  char *set = NULL, *said = NULL;
  size_t set_len = 0;
  FILE *f = open_memstream(&set, &set_len);
  if (!f) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory");
  for (int i = 0; i < 2; i++) {
    snprintf(out[i], sizeof out[i], "%s/%s.%s", plots_dir, name, fmts[i]);
    snprintf(tmp[i], sizeof tmp[i], "%s.tmp-%ld", out[i], (long)getpid());
    fprintf(f, "%sout_%s = ", i ? "; " : "", fmts[i]);
    nnb_gnuplot_quote(f, tmp[i]);
  }
  fclose(f);
  char *argv[] = {(char *)g->program, "-e", set, path, NULL};
  int status = 0;
  st = run_capture(argv, &status, &said, e);
  free(set);
  if (st == NNB_OK) {
    trim(said);
    /* gnuplot ends with the message, after the command it quotes */
    size_t n = strlen(said);
    const char *tail = n > 600 ? said + n - 600 : said;
    if (!WIFEXITED(status) || WEXITSTATUS(status))
      st = nnb_fail(e, NNB_ERR_BACKEND, "gnuplot failed drawing the %s plot (%s): %s%s", name, path,
                    tail != said ? "..." : "", *said ? tail : "no message");
    else if (*said) /* warnings: the plot was drawn, but say what gnuplot said */
      fprintf(stderr, "nnbench: gnuplot, %s plot: %s\n", name, said);
  }
  for (int i = 0; i < 2 && st == NNB_OK; i++) st = check_output(tmp[i], name, e);
  for (int i = 0; i < 2 && st == NNB_OK; i++)
    if (rename(tmp[i], out[i]))
      st = nnb_fail(e, NNB_ERR_IO, "cannot write %s: %s", out[i], strerror(errno));
  for (int i = 0; i < 2; i++) remove(tmp[i]);
  free(said);
  return st;
}
