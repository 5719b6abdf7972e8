/* sysinfo: host description, peak measurement and their JSON forms. Only
 * sanity is asserted on the measured figures: test machines are noisy. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_uarch.h"
#include "sysinfo.h"

static nnb_sysinfo *collect(void) {
  nnb_sysinfo *s = malloc(sizeof *s);
  cr_assert_not_null(s);
  nnb_error e = {{0}};
  cr_assert_eq(nnb_sysinfo_collect(s, &e), NNB_OK, "collect failed: %s", e.msg);
  return s;
}

Test(sysinfo, collect_basics) {
  nnb_sysinfo *s = collect();
  cr_expect_geq(s->logical_cores, 1);
  cr_expect_gt(s->mem_total_bytes, 0);
  cr_expect_gt(strlen(s->cpu_model), 0);
  cr_expect_neq(strcmp(s->cpu_model, "unknown"), 0);
  cr_expect_geq(s->affinity_count, 1);
  cr_expect_gt(strlen(s->affinity_list), 0);
  cr_expect_gt(strlen(s->os), 0);
  cr_expect_gt(strlen(s->kernel), 0);
  cr_expect_gt(strlen(s->governor), 0);
  cr_expect_gt(strlen(s->lib_cjson), 0);
  cr_expect_gt(strlen(s->lib_zlib), 0);
  cr_expect(s->physical_cores == -1 || s->physical_cores >= 1);
  cr_expect(s->physical_cores <= s->logical_cores);
  /* The booleans agree with the flag string. */
  cr_expect_eq(s->has_avx2, strstr(s->isa_flags, "avx2") != NULL);
  cr_expect_eq(s->has_avx512f, strstr(s->isa_flags, "avx512f") != NULL);
  free(s);
}

Test(sysinfo, env_vars_are_recorded_and_warned) {
  setenv("OMP_NUM_THREADS", "3", 1);
  nnb_sysinfo *s = collect();
  int found = 0;
  for (int i = 0; i < s->n_env; i++) found |= !strcmp(s->env[i], "OMP_NUM_THREADS=3");
  cr_expect(found, "OMP_NUM_THREADS=3 is not in the environment list");
  nnb_warning_list w;
  nnb_sysinfo_warnings(s, &w);
  int warned = 0;
  for (int i = 0; i < w.n; i++) warned |= strstr(w.msg[i], "OMP_NUM_THREADS=3") != NULL;
  cr_expect(warned, "no warning names OMP_NUM_THREADS");
  unsetenv("OMP_NUM_THREADS");
  free(s);
}

Test(sysinfo, warnings_for_debug_build_and_governor) {
  nnb_sysinfo *s = collect();
  strcpy(s->build_type, "Debug");
  strcpy(s->governor, "powersave");
  s->sanitized = false;
  s->n_env = 0;
  s->aslr = 2;
  nnb_warning_list w;
  int n = nnb_sysinfo_warnings(s, &w);
  cr_expect_eq(n, w.n);
  int debug = 0, gov = 0, aslr = 0;
  for (int i = 0; i < w.n; i++) {
    debug |= strstr(w.msg[i], "Debug build") != NULL;
    gov |= strstr(w.msg[i], "powersave") != NULL;
    aslr |= strstr(w.msg[i], "ASLR") != NULL || strstr(w.msg[i], "aslr") != NULL;
  }
  cr_expect(debug && gov, "expected Debug and governor warnings");
  cr_expect(!aslr, "ASLR is recorded, not warned about");
  free(s);
}

Test(sysinfo, peak_is_sane) {
  nnb_peak p;
  nnb_error e = {{0}};
  cr_assert_eq(nnb_measure_peak(&p, 0.3, &e), NNB_OK, "measure failed: %s", e.msg);
  cr_expect(isfinite(p.single_core_gflops) && p.single_core_gflops > 0, "single %g",
            p.single_core_gflops);
  cr_expect(isfinite(p.all_core_gflops) && p.all_core_gflops >= 0.5 * p.single_core_gflops,
            "all-core %g vs single %g", p.all_core_gflops, p.single_core_gflops);
  cr_expect(isfinite(p.single_thread_copy_gbs) && p.single_thread_copy_gbs > 0);
  cr_expect(isfinite(p.all_thread_copy_gbs) && p.all_thread_copy_gbs > 0);
  cr_expect_geq(p.threads, 1);
  cr_expect_gt(p.copy_buffer_bytes, 0);
  cr_expect_gt(strlen(p.isa), 0);
  cr_expect_gt(p.elapsed_s, 0);
  cr_expect_lt(p.elapsed_s, 30.0, "a 0.3 s budget took %g s", p.elapsed_s);
}

Test(sysinfo, peak_rejects_bad_budget) {
  nnb_peak p;
  nnb_error e = {{0}};
  cr_expect_eq(nnb_measure_peak(&p, 0.0, &e), NNB_ERR_INVALID);
  cr_expect_gt(strlen(e.msg), 0);
  cr_expect_eq(nnb_measure_peak(&p, NAN, &e), NNB_ERR_INVALID);
}

static void expect_keys(const cJSON *o, const char *const *keys) {
  for (; *keys; keys++) cr_expect(cJSON_HasObjectItem(o, *keys), "missing key '%s'", *keys);
}

Test(sysinfo, json_has_documented_keys) {
  nnb_sysinfo *s = collect();
  cJSON *j = nnb_sysinfo_to_json(s);
  cr_assert_not_null(j);
  expect_keys(j, (const char *[]){"host", "cpu", "memory", "load_average", "aslr", "environment",
                                  "build", "libraries", "warnings", NULL});
  expect_keys(
      cJSON_GetObjectItem(j, "host"),
      (const char *[]){"hostname", "os", "os_release", "kernel", "kernel_build", "arch", NULL});
  const cJSON *cpu = cJSON_GetObjectItem(j, "cpu");
  expect_keys(cpu, (const char *[]){"model", "vendor", "isa_flags", "avx2", "fma", "avx512f",
                                    "logical_cores", "physical_cores", "sockets", "l1d_cache_bytes",
                                    "l1i_cache_bytes", "l2_cache_bytes", "l3_cache_bytes",
                                    "governor", "boost", "affinity_count", "affinity_list", NULL});
  cr_expect(cJSON_IsString(cJSON_GetObjectItem(cpu, "model")));
  cr_expect(cJSON_IsBool(cJSON_GetObjectItem(cpu, "avx2")));
  cr_expect_geq(cJSON_GetObjectItem(cpu, "logical_cores")->valuedouble, 1);
  const cJSON *mem = cJSON_GetObjectItem(j, "memory");
  expect_keys(mem, (const char *[]){"total_bytes", "available_bytes", NULL});
  cr_expect_gt(cJSON_GetObjectItem(mem, "total_bytes")->valuedouble, 0);
  cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "load_average")), 3);
  cr_expect(cJSON_IsArray(cJSON_GetObjectItem(j, "environment")));
  cr_expect(cJSON_IsArray(cJSON_GetObjectItem(j, "warnings")));
  expect_keys(cJSON_GetObjectItem(j, "build"),
              (const char *[]){"nnbench_version", "type", "compiler", "sanitized", NULL});
  expect_keys(cJSON_GetObjectItem(j, "libraries"),
              (const char *[]){"cjson", "zlib", "glibc", NULL});
  cJSON_Delete(j);
  free(s);

  nnb_peak p = {.isa = "avx2+fma", .threads = 2, .single_core_gflops = 1, .all_core_gflops = 2};
  cJSON *pj = nnb_peak_to_json(&p);
  cr_assert_not_null(pj);
  expect_keys(pj, (const char *[]){"isa", "threads", "single_core_gflops", "all_core_gflops",
                                   "copy_buffer_bytes", "single_thread_copy_gbs",
                                   "all_thread_copy_gbs", "budget_s", "elapsed_s", NULL});
  cr_expect_str_eq(cJSON_GetObjectItem(pj, "isa")->valuestring, "avx2+fma");
  cJSON_Delete(pj);
}

Test(sysinfo, microarchitecture_from_family_and_model) {
  struct {
    const char *vendor;
    int family, model;
    const char *want;
  } t[] = {
      {"AuthenticAMD", 25, 1, "Zen 3"},
      {"AuthenticAMD", 25, 0x11, "Zen 4"},
      {"AuthenticAMD", 26, 2, "Zen 5"},
      {"AuthenticAMD", 23, 0x31, "Zen 2"},
      {"GenuineIntel", 6, 0x8f, "Sapphire Rapids"},
      {"GenuineIntel", 6, 0x01, "unknown"},
      {"AuthenticAMD", 99, 1, "unknown"},
      {"unknown", -1, -1, "unknown"},
  };
  for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
    char buf[64];
    nnb_cpu_uarch(t[i].vendor, t[i].family, t[i].model, buf, sizeof buf);
    cr_expect_str_eq(buf, t[i].want, "%s family %d model %d", t[i].vendor, t[i].family, t[i].model);
  }
}

Test(sysinfo, x86_hosts_record_family_model_and_stepping) {
  nnb_sysinfo s;
  nnb_error e;
  cr_assert_eq(nnb_sysinfo_collect(&s, &e), NNB_OK, "%s", e.msg);
  if (!strcmp(s.arch, "x86_64")) { /* /proc/cpuinfo has them on every x86 Linux */
    cr_expect_geq(s.cpu_family, 0);
    cr_expect_geq(s.cpu_model_number, 0);
    cr_expect_geq(s.cpu_stepping, 0);
  }
  cr_expect(s.cpu_uarch[0], "the microarchitecture is a word, \"unknown\" at worst");
  cJSON *j = nnb_sysinfo_to_json(&s), *cpu = cJSON_GetObjectItem(j, "cpu");
  cr_expect(cJSON_IsString(cJSON_GetObjectItem(cpu, "microarchitecture")));
  cr_expect(cJSON_GetObjectItem(cpu, "family") && cJSON_GetObjectItem(cpu, "model_number") &&
            cJSON_GetObjectItem(cpu, "stepping"));
  cJSON_Delete(j);
}
