#include "jsonpath.h"

#include <math.h>
#include <string.h>

cJSON *nnb_json_at(const cJSON *o, const char *path) {
  cJSON *v = (cJSON *)o;
  char key[128];
  while (v && *path) {
    size_t n = strcspn(path, ".");
    if (n >= sizeof key) return NULL;
    memcpy(key, path, n);
    key[n] = 0;
    v = cJSON_GetObjectItemCaseSensitive(v, key);
    path += n + (path[n] == '.');
  }
  return v;
}

const char *nnb_json_str(const cJSON *o, const char *path) {
  cJSON *v = nnb_json_at(o, path);
  return cJSON_IsString(v) ? v->valuestring : "";
}

double nnb_json_num(const cJSON *o, const char *path) {
  cJSON *v = nnb_json_at(o, path);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}
