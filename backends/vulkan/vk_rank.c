/* Device choice and option parsing (vk_rank.h). */
#include "vk_rank.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vk_option(const char *options, const char *key, char *out, size_t len) {
  size_t klen = strlen(key);
  for (const char *p = options; p && *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n > klen && !strncmp(p, key, klen) && p[klen] == '=') {
      size_t v = n - klen - 1;
      if (v >= len) v = len - 1;
      memcpy(out, p + klen + 1, v);
      out[v] = 0;
      return 1;
    }
    p = end ? end + 1 : p + n;
  }
  return 0;
}

static int contains_nocase(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++) {
    size_t i = 0;
    while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
      i++;
    if (i == n) return 1;
  }
  return 0;
}

static int all_digits(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!isdigit((unsigned char)*s)) return 0;
  return 1;
}

int vk_pick_device(const vk_dev_desc *devs, int n, const char *device, int rank_index, char *why,
                   size_t why_len) {
  if (n <= 0) {
    snprintf(why, why_len, "the Vulkan loader reports no physical device (no ICD installed?)");
    return -1;
  }
  if (device && device[0]) {
    int at = -1;
    if (all_digits(device)) {
      at = atoi(device);
      if (at >= n) {
        snprintf(why, why_len, "device=%s: only %d device(s), indices 0..%d", device, n, n - 1);
        return -1;
      }
    } else {
      for (int i = 0; i < n && at < 0; i++)
        if (contains_nocase(devs[i].name, device)) at = i;
      if (at < 0) {
        snprintf(why, why_len, "device=%s matches no device name", device);
        return -1;
      }
    }
    if (!devs[at].usable) {
      snprintf(why, why_len, "device %d (%s) is not usable: %s", at, devs[at].name,
               devs[at].why ? devs[at].why : "unknown reason");
      return -1;
    }
    return at;
  }
  int any_gpu = 0;
  for (int i = 0; i < n; i++) any_gpu |= devs[i].usable && devs[i].kind != VK_KIND_CPU;
  /* ranked: stable by kind, then enumeration order */
  int seen = 0;
  for (int kind = VK_KIND_DISCRETE; kind <= VK_KIND_CPU; kind++) {
    if (kind == VK_KIND_CPU && any_gpu) break;
    for (int i = 0; i < n; i++)
      if (devs[i].usable && (int)devs[i].kind == kind && seen++ == rank_index) return i;
  }
  if (seen == 0) {
    snprintf(why, why_len, "no usable Vulkan device among %d: device 0 (%s): %s", n, devs[0].name,
             devs[0].why ? devs[0].why : "unknown reason");
    return -1;
  }
  snprintf(why, why_len, "device_index %d: only %d usable device(s)%s", rank_index, seen,
           any_gpu ? " (CPU devices are skipped when a GPU exists; device=NAME picks one)" : "");
  return -1;
}
