/* Finding peers: executables named nnb-peer-<name> on a search path, and
 * whether each can run here (its own answer to a describe request). Nothing
 * is cached: a lookup scans a few folders, which costs nothing next to a
 * measurement. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"

#ifndef NNB_PEER_SOURCE_DIR
#define NNB_PEER_SOURCE_DIR ""
#endif
#ifndef NNB_PEER_INSTALL_DIR
#define NNB_PEER_INSTALL_DIR ""
#endif

#define DESCRIBE_TIMEOUT_S 30

/* The peers nnbench ships, listed whether found or not. */
static const char *const shipped[] = {"pytorch"};
#define N_SHIPPED (int)(sizeof shipped / sizeof shipped[0])

int nnb_peer_search_dirs(const char **dirs, int max, char *buf, size_t len) {
  int n = 0;
  const char *env = getenv(NNB_PEER_ENV);
  snprintf(buf, len, "%s", env ? env : "");
  char *save = NULL;
  for (char *d = strtok_r(buf, ":", &save); d && n < max; d = strtok_r(NULL, ":", &save))
    dirs[n++] = d;
  const char *builtin[] = {NNB_PEER_SOURCE_DIR, NNB_PEER_INSTALL_DIR};
  for (int i = 0; i < 2 && n < max; i++)
    if (*builtin[i]) dirs[n++] = builtin[i];
  return n;
}

static bool is_shipped(const char *name) {
  for (int i = 0; i < N_SHIPPED; i++)
    if (!strcmp(shipped[i], name)) return true;
  return false;
}

bool nnb_peer_lookup(const char *name, char *path, size_t len, char *why, size_t wlen) {
  const char *dirs[32];
  char buf[4096];
  int n = nnb_peer_search_dirs(dirs, 32, buf, sizeof buf);
  *path = 0;
  if (!*name || strchr(name, '/')) return false;
  for (int i = 0; i < n; i++) {
    int w = snprintf(path, len, "%s/%s%s", dirs[i], NNB_PEER_PREFIX, name);
    if (w > 0 && (size_t)w < len && access(path, X_OK) == 0) return true;
  }
  *path = 0;
  if (!is_shipped(name)) return false;
  int w = snprintf(why, wlen, "peer %s: no executable %s%s in", name, NNB_PEER_PREFIX, name);
  for (int i = 0; i < n && w > 0 && (size_t)w < wlen; i++)
    w += snprintf(why + w, wlen - (size_t)w, "%s %s", i ? "," : "", dirs[i]);
  if (w > 0 && (size_t)w < wlen)
    snprintf(why + w, wlen - (size_t)w, " (set %s to its folder)", NNB_PEER_ENV);
  return true;
}

static void describe(nnb_peer_info *p) {
  cJSON *req = cJSON_CreateObject();
  cJSON_AddNumberToObject(req, "protocol", NNB_PEER_PROTOCOL);
  cJSON_AddStringToObject(req, "op", "describe");
  nnb_peer_usage use;
  char why[512];
  cJSON *a = nnb_peer_exchange(p->path, req, DESCRIBE_TIMEOUT_S, NULL, &use, why, sizeof why);
  cJSON_Delete(req);
  if (!a) {
    snprintf(p->reason, sizeof p->reason, "%s", why);
    return;
  }
  cJSON *st = cJSON_GetObjectItem(a, "status"), *r = cJSON_GetObjectItem(a, "reason");
  cJSON *dev = cJSON_GetObjectItem(a, "device"), *lib = cJSON_GetObjectItem(a, "library");
  p->available = !strcmp(st->valuestring, "ok");
  if (!p->available)
    snprintf(p->reason, sizeof p->reason, "%s", cJSON_IsString(r) ? r->valuestring : "refused");
  snprintf(p->device, sizeof p->device, "%s", cJSON_IsString(dev) ? dev->valuestring : "?");
  snprintf(p->library, sizeof p->library, "%s", cJSON_IsString(lib) ? lib->valuestring : "?");
  cJSON_Delete(a);
}

static int add(nnb_peer_info *out, int n, int max, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(out[i].name, name)) return n;
  if (n == max || strlen(name) >= sizeof out[n].name) return n;
  nnb_peer_info *p = &out[n];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  if (!nnb_peer_lookup(name, p->path, sizeof p->path, p->reason, sizeof p->reason)) return n;
  if (*p->path) describe(p);
  return n + 1;
}

int nnb_peer_list(nnb_peer_info *out, int max) {
  int n = 0;
  for (int i = 0; i < N_SHIPPED; i++) n = add(out, n, max, shipped[i]);
  const char *dirs[32];
  char buf[4096];
  int nd = nnb_peer_search_dirs(dirs, 32, buf, sizeof buf);
  size_t pre = strlen(NNB_PEER_PREFIX);
  for (int i = 0; i < nd; i++) {
    DIR *d = opendir(dirs[i]);
    for (struct dirent *de; d && (de = readdir(d));)
      if (!strncmp(de->d_name, NNB_PEER_PREFIX, pre) && de->d_name[pre] && !strchr(de->d_name, '.'))
        n = add(out, n, max, de->d_name + pre);
    if (d) closedir(d);
  }
  return n;
}

void nnb_peers_json(cJSON *arr, const nnb_case *cases, int n) {
  nnb_peer_info peers[16];
  int np = nnb_peer_list(peers, 16);
  for (int k = 0; k < np; k++) {
    int named = 0;
    for (int i = 0; i < n && !named; i++) named = !strcmp(cases[i].backend, peers[k].name);
    if (!named) continue;
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "name", peers[k].name);
    cJSON_AddStringToObject(b, "kind", "peer");
    cJSON_AddBoolToObject(b, "available", peers[k].available);
    cJSON_AddStringToObject(b, "reason", peers[k].available ? "" : peers[k].reason);
    cJSON_AddStringToObject(b, "path", peers[k].path);
    cJSON_AddItemToArray(arr, b);
  }
}
