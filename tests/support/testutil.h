/* Helpers shared by the tests. */
#ifndef NNB_TESTUTIL_H
#define NNB_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <nnbench/nnbench.h>

/* Largest |a-b| / max(1, |b|) over n elements. */
double tu_max_rel_err(const float *a, const float *b, size_t n);
/* A seeded array of n floats uniform in [lo, hi); free() it. */
float *tu_rand(uint64_t seed, size_t n, float lo, float hi);

/* Opens the reference backend from the build tree; aborts the test on failure. */
void tu_open_reference(nnb_backend *out);

/* Differentiates `loss` (autodiff, no optimizer), runs the graph on `b` with
 * seeded inputs in [-1, 1) (labels: integers below label_max), and returns
 * the worst relative difference between each parameter's gradient and
 * central finite differences (at most `samples` elements per parameter).
 * An element whose one-sided differences disagree sits on a ReLU or max-pool
 * kink and is skipped; more than a fifth of them skipped is a failure
 * (INFINITY). Fills msg with the worst case. Returns a negative value on
 * error. */
double tu_gradient_error(nnb_backend *b, nnb_graph *g, int loss, int label_max, uint64_t seed,
                         int samples, char *msg, size_t msg_len);

/* Runs a shell command; returns its exit status (-1 when killed) and what
 * it printed on stdout (malloc'd, NUL-terminated). */
int tu_run(const char *cmd, char **out);
/* tu_run of the printf-formatted command with its stderr joined to stdout. */
int tu_runf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same on a pseudo-terminal: *out gets what it wrote to the terminal
 * (stdout and stderr together). */
int tu_run_tty(const char *cmd, char **out);
/* The whole file (malloc'd, NUL-terminated, length in *len if len), or NULL. */
char *tu_read_file(const char *path, size_t *len);

/* A fresh folder /tmp/nnb-STEM-XXXXXX into buf; and removing it with all it holds. */
void tu_tmpdir(char *buf, size_t len, const char *stem);
void tu_rm_rf(const char *dir);

/* The results document of the run in DIR/SUB (the test fails when unreadable). */
typedef struct cJSON cJSON;
cJSON *tu_results(const char *dir, const char *sub);

#endif
