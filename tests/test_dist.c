/* Data-parallel training under mpirun: two ranks train a seeded model for a
 * few steps, end with bit-identical parameters on both ranks that match one
 * rank trained on the doubled batch, and report the allreduce's share. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "results.h"
#include "testutil.h"
#include "weights.h"

static char dir[64];
static void setup(void) {
  tu_tmpdir(dir, sizeof dir, "dist");
  /* CI runs as root, which mpirun refuses unless told */
  setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
  /* In the ASan build: Open MPI's components stay loaded and allocations
   * keep their whole stack, so LeakSanitizer can tell Open MPI's own
   * allocations (suppressed by library in tests/lsan.supp) from nnbench's */
  setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 1);
  const char *asan = getenv("ASAN_OPTIONS");
  char opts[512];
  snprintf(opts, sizeof opts, "%s%sfast_unwind_on_malloc=0", asan ? asan : "",
           asan && *asan ? ":" : "");
  setenv("ASAN_OPTIONS", opts, 1);
}
static void teardown(void) { tu_rm_rf(dir); }
TestSuite(dist, .init = setup, .fini = teardown, .timeout = 180);

#define MODEL "mlp:hidden=32"
#define DATA "synthetic:n=512"

/* mpirun -np NP nnbench bench (the model, backend, mode and data) ARGS */
#define MPIRUN(np)                                                                                 \
  "mpirun -np " #np " --oversubscribe " NNB_BINARY_DIR "/nnbench bench --model " MODEL             \
  " --backend reference --mode train --dataset " DATA " "

static const cJSON *run_of(const cJSON *doc, const char *scaling, int ranks) {
  const cJSON *row;
  cJSON_ArrayForEach(row, cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "distributed"), "runs")) {
    if (!strcmp(cJSON_GetObjectItem(row, "scaling")->valuestring, scaling) &&
        cJSON_GetObjectItem(row, "ranks")->valueint == ranks)
      return row;
  }
  cr_assert_fail("no %s run on %d ranks", scaling, ranks);
  return NULL;
}

static void load_params(const char *sub, nnb_model *m, nnb_weights *w) {
  nnb_model_spec spec;
  nnb_error e;
  nnb_input_shape in = {1, 28, 28, 10};
  char path[256];
  snprintf(path, sizeof path, "%s/%s/params.safetensors", dir, sub);
  cr_assert_eq(nnb_model_parse(MODEL, &spec, &e), NNB_OK);
  cr_assert_eq(nnb_model_build(&spec, &in, 1, 0, m, &e), NNB_OK, "%s", e.msg);
  cr_assert_eq(nnb_weights_load(m, path, 1, w, &e), NNB_OK, "%s", e.msg);
}

Test(dist, two_ranks_match_one_rank_on_the_doubled_batch) {
  char *text = NULL;
  int rc =
      tu_runf(&text, MPIRUN(2) "--batch 32 --ranks 2 --min-iters 4 --warmup 1 --out %s/two", dir);
  cr_assert_eq(rc, 0, "%s", text);
  free(text);
  rc = tu_runf(&text, MPIRUN(1) "--batch 32 --ranks 1 --min-iters 4 --warmup 1 --out %s/one", dir);
  cr_assert_eq(rc, 0, "%s", text);
  free(text);

  cJSON *two = tu_results(dir, "two");
  const cJSON *mpi = cJSON_GetObjectItem(two, "mpi");
  cr_assert_eq(cJSON_GetObjectItem(mpi, "ranks")->valueint, 2);
  cr_assert(strstr(cJSON_GetObjectItem(mpi, "library")->valuestring, "Open MPI"));
  cr_assert_geq(cJSON_GetArraySize(cJSON_GetObjectItem(mpi, "hosts")), 1);
  const cJSON *strong = run_of(two, "strong", 2), *weak = run_of(two, "weak", 2);
  cr_assert_eq(cJSON_GetObjectItem(strong, "batch_per_rank")->valueint, 16);
  cr_assert_eq(cJSON_GetObjectItem(weak, "batch_per_rank")->valueint, 32);
  const cJSON *row;
  cJSON_ArrayForEach(row, cJSON_GetObjectItem(cJSON_GetObjectItem(two, "distributed"), "runs"))
      cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(row, "params_identical")),
                "the ranks' parameters differ in the %s run on %d ranks",
                cJSON_GetObjectItem(row, "scaling")->valuestring,
                cJSON_GetObjectItem(row, "ranks")->valueint);
  double share = cJSON_GetObjectItem(strong, "allreduce_share")->valuedouble;
  cr_assert(share > 0 && share < 1, "allreduce share %g", share);
  cr_assert_gt(cJSON_GetObjectItem(strong, "bytes_sent_per_rank")->valuedouble, 0);
  double eff = cJSON_GetObjectItem(strong, "efficiency")->valuedouble;
  cr_assert(eff > 0 && isfinite(eff), "efficiency %g", eff);
  cJSON_Delete(two);
  /* the scaling plot of the run */
  rc = tu_runf(&text, "%s/nnbench plot %s/two", NNB_BINARY_DIR, dir);
  cr_assert_eq(rc, 0, "%s", text);
  free(text);
  char png[256];
  snprintf(png, sizeof png, "%s/two/plots/ranks.png", dir);
  size_t bytes = 0;
  char *img = tu_read_file(png, &bytes);
  cr_assert(img && bytes > 1000, "no scaling plot %s", png);
  free(img);

  /* the saved parameters: two ranks x 16 against one rank x 32, same data */
  nnb_model m1, m2;
  nnb_weights w1, w2;
  load_params("one", &m1, &w1);
  load_params("two", &m2, &w2);
  cr_assert_eq(w1.n, w2.n);
  double worst = 0, moved = 0;
  nnb_weights init;
  nnb_error e;
  cr_assert_eq(nnb_weights_init(&m1, 1, &init, &e), NNB_OK);
  for (int i = 0; i < w1.n; i++) {
    int64_t n = nnb_numel(&m1.g.tensors[m1.params[i].tensor]);
    for (int64_t k = 0; k < n; k++) {
      worst = fmax(worst, fabs((double)w1.data[i][k] - w2.data[i][k]));
      moved = fmax(moved, fabs((double)w1.data[i][k] - init.data[i][k]));
    }
  }
  cr_assert_gt(moved, 1e-4, "training did not move the parameters (%g)", moved);
  cr_assert_lt(worst, 1e-5, "two ranks x 16 and one rank x 32 differ by %g", worst);
  nnb_weights_free(&init);
  nnb_weights_free(&w1), nnb_weights_free(&w2);
  nnb_model_free(&m1), nnb_model_free(&m2);
}

Test(dist, ranks_must_match_mpirun) {
  char *text = NULL;
  int rc = tu_runf(&text, MPIRUN(1) "--batch 8 --ranks 2 --min-iters 1 --out %s/x", dir);
  cr_assert_neq(rc, 0);
  cr_assert(strstr(text, "--ranks 2, but mpirun started 1 rank(s)"), "%s", text);
  free(text);
  rc = tu_runf(&text, MPIRUN(1) "--batch 8 --ranks 1 --mode infer --out %s/y", dir);
  cr_assert_neq(rc, 0);
  cr_assert(strstr(text, "give --mode train"), "%s", text);
  free(text);
}
