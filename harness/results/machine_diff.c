#include "machine_diff.h"

#include <stdio.h>
#include <string.h>

static const cJSON *cpu_of(const cJSON *doc) {
  const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "provenance"), "machine");
  return cJSON_GetObjectItem(m, "cpu");
}

/* One CPU in words: "AMD EPYC (AuthenticAMD, Zen 3, family 25 model 1; sse4_2 avx avx2)". */
static void describe(const cJSON *cpu, char *buf, size_t len) {
  const cJSON *f = cJSON_GetObjectItem(cpu, "family"),
              *m = cJSON_GetObjectItem(cpu, "model_number");
  const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(cpu, "model"));
  const char *vendor = cJSON_GetStringValue(cJSON_GetObjectItem(cpu, "vendor"));
  const char *uarch = cJSON_GetStringValue(cJSON_GetObjectItem(cpu, "microarchitecture"));
  const char *isa = cJSON_GetStringValue(cJSON_GetObjectItem(cpu, "isa_flags"));
  char fm[64] = "family and model not recorded";
  if (cJSON_IsNumber(f) && cJSON_IsNumber(m))
    snprintf(fm, sizeof fm, "family %d model %d", f->valueint, m->valueint);
  snprintf(buf, len, "%s (%s, %s, %s; %s)", name ? name : "unknown CPU", vendor ? vendor : "?",
           uarch ? uarch : "microarchitecture not recorded", fm, isa ? isa : "ISA not recorded");
}

/* Differs only when both sides recorded the field. */
static int differs(const cJSON *a, const cJSON *b, const char *key) {
  const cJSON *x = cJSON_GetObjectItem(a, key), *y = cJSON_GetObjectItem(b, key);
  if (cJSON_IsNumber(x) && cJSON_IsNumber(y)) return x->valuedouble != y->valuedouble;
  if (cJSON_IsString(x) && cJSON_IsString(y)) return strcmp(x->valuestring, y->valuestring) != 0;
  return 0;
}

int nnb_machine_diff(const cJSON *a, const cJSON *b, char *msg, size_t len) {
  const cJSON *ca = cpu_of(a), *cb = cpu_of(b);
  static const char *const keys[] = {"vendor", "family", "model_number", "model", "isa_flags"};
  int diff = 0;
  for (size_t i = 0; ca && cb && i < sizeof keys / sizeof *keys; i++)
    diff |= differs(ca, cb, keys[i]);
  if (!diff) return 0;
  char da[512], db[512];
  describe(ca, da, sizeof da);
  describe(cb, db, sizeof db);
  snprintf(msg, len,
           "A and B ran on different CPUs: A on %s, B on %s; their ratios mix the change in the "
           "code with the change of machine",
           da, db);
  return 1;
}
