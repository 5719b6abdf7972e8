/* Fixed-size buffers refuse what does not fit, with a message naming the
 * limit, instead of cutting a path, a spec or a list without a word. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <nnbench/runtime.h>

#include "dataset.h"
#include "fmt.h"
#include "results.h"
#include "testutil.h"

/* "/tmp/aaaa...a" of n characters. */
static char *long_path(size_t n) {
  char *p = malloc(n + 1);
  cr_assert(p);
  memset(p, 'a', n);
  memcpy(p, "/tmp/", 5);
  p[n] = 0;
  return p;
}

Test(limits, format_refuses_instead_of_cutting) {
  char buf[8];
  nnb_error e;
  cr_expect_eq(nnb_format(buf, sizeof buf, &e, "a name", "%s", "1234567"), NNB_OK);
  cr_expect_str_eq(buf, "1234567");
  cr_expect_eq(nnb_format(buf, sizeof buf, &e, "a name", "%s", "12345678"), NNB_ERR_INVALID);
  cr_expect_str_empty(buf, "nothing half-written");
  cr_expect(strstr(e.msg, "a name is longer than 7 characters"), "%s", e.msg);
}

Test(limits, dataset_paths_and_specs_that_do_not_fit_are_refused) {
  char *dir = long_path(1100), spec[1200];
  nnb_dataset d;
  nnb_error e;
  const char *kinds[] = {"mnist", "fashion-mnist", "cifar10"};
  for (int i = 0; i < 3; i++) {
    snprintf(spec, sizeof spec, "%s:%s", kinds[i], dir);
    cr_expect_eq(nnb_dataset_open(spec, 0, 0, &d, &e), NNB_ERR_INVALID, "%s", kinds[i]);
    cr_expect(strstr(e.msg, "longer than 1023 characters"), "%s: %s", kinds[i], e.msg);
  }
  char params[400] = "synthetic:n=4";
  while (strlen(params) < 300) strcat(params, ",seed=1");
  cr_expect_eq(nnb_dataset_open(params, 0, 0, &d, &e), NNB_ERR_INVALID);
  cr_expect(strstr(e.msg, "longer than 255"), "%s", e.msg);
  free(dir);
}

Test(limits, a_results_path_that_does_not_fit_is_refused) {
  char *path = long_path(1200);
  cJSON *doc = NULL;
  nnb_error e;
  cr_expect_eq(nnb_results_read(path, &doc, &e), NNB_ERR_INVALID);
  cr_expect(strstr(e.msg, "longer than 1099"), "%s", e.msg);
  free(path);
}

Test(limits, a_backend_path_that_does_not_fit_is_refused_whole) {
  char *env = long_path(5000);
  setenv("NNBENCH_BACKEND_PATH", env, 1);
  nnb_error e;
  cr_expect_eq(nnb_registry_load(&e), NNB_ERR_INVALID);
  cr_expect(strstr(e.msg, "NNBENCH_BACKEND_PATH is longer than 4095"), "%s", e.msg);
  nnb_registry_unload();
  char many[512] = "";
  for (int i = 0; i < 40; i++)
    snprintf(many + strlen(many), sizeof many - strlen(many), "%s/d%d", i ? ":" : "", i);
  setenv("NNBENCH_BACKEND_PATH", many, 1);
  cr_expect_eq(nnb_registry_load(&e), NNB_ERR_INVALID);
  cr_expect(strstr(e.msg, "more than 30 folders"), "%s", e.msg);
  nnb_registry_unload();
  free(env);
}

Test(limits, an_output_folder_that_does_not_fit_is_refused) {
  char *dir = long_path(1100), cmd[1400], *out;
  snprintf(cmd, sizeof cmd,
           NNB_BINARY_DIR "/nnbench bench --model mlp:hidden=8 --backend reference "
                          "--dataset synthetic:n=16 --min-time 0 --out %s 2>&1",
           dir);
  cr_expect_eq(tu_run(cmd, &out), 1, "%s", out);
  cr_expect(strstr(out, "results folder's path is longer than 1023"), "%s", out);
  free(out);
  free(dir);
}
