#include "round_conditions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void read_stat(nnb_conditions *c) {
  c->busy = c->total = c->steal = -1;
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return;
  long long v[10] = {0};
  int n = fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2],
                 &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
  fclose(f);
  if (n < 8) return;
  /* user nice system idle iowait irq softirq steal (guest time is already in user) */
  c->busy = v[0] + v[1] + v[2] + v[5] + v[6];
  c->steal = v[7];
  c->total = c->busy + v[3] + v[4] + v[7];
}

/* The mean of scaling_cur_freq over CPUs when cpufreq exposes it, else of
 * /proc/cpuinfo's "cpu MHz" (on many VMs a fixed nominal figure). */
static void read_mhz(nnb_conditions *c) {
  c->cpu_mhz = -1;
  c->mhz_source[0] = 0;
  double sum = 0;
  int n = 0;
  for (int i = 0; i < 1024; i++) {
    char path[96];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", i);
    FILE *f = fopen(path, "r");
    if (!f) break;
    double khz;
    if (fscanf(f, "%lf", &khz) == 1) sum += khz / 1000, n++;
    fclose(f);
  }
  if (n) {
    c->cpu_mhz = sum / n;
    snprintf(c->mhz_source, sizeof c->mhz_source, "cpufreq scaling_cur_freq");
    return;
  }
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[256];
  while (fgets(line, sizeof line, f)) {
    double mhz;
    if (!strncmp(line, "cpu MHz", 7) && sscanf(strchr(line, ':') + 1, "%lf", &mhz) == 1)
      sum += mhz, n++;
  }
  fclose(f);
  if (n) {
    c->cpu_mhz = sum / n;
    snprintf(c->mhz_source, sizeof c->mhz_source, "/proc/cpuinfo cpu MHz");
  }
}

void nnb_conditions_snapshot(nnb_conditions *c) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  c->wall_s = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
  double l[1];
  c->load1 = getloadavg(l, 1) == 1 ? l[0] : -1;
  read_stat(c);
  read_mhz(c);
}

cJSON *nnb_conditions_json(const nnb_conditions *a, const nnb_conditions *b, double child_cpu_s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "wall_s", b->wall_s - a->wall_s);
  cJSON_AddNumberToObject(o, "load_avg_1m_start", a->load1);
  cJSON_AddNumberToObject(o, "load_avg_1m_end", b->load1);
  cJSON_AddNumberToObject(o, "cpu_mhz_start", a->cpu_mhz);
  cJSON_AddNumberToObject(o, "cpu_mhz_end", b->cpu_mhz);
  cJSON_AddStringToObject(o, "cpu_mhz_source", *a->mhz_source ? a->mhz_source : "unreadable");
  double share = -1, steal = -1;
  long long total = b->total - a->total;
  if (a->total >= 0 && b->total >= 0 && total == 0) {
    share = steal = 0; /* shorter than one clock tick: nothing else was seen running */
  } else if (a->total >= 0 && b->total >= 0 && total > 0) {
    double hz = (double)sysconf(_SC_CLK_TCK);
    double others = (double)(b->busy - a->busy) - child_cpu_s * hz;
    /* jiffies are coarse: a short round can read slightly below zero */
    share = others > 0 ? others / (double)total : 0;
    steal = (double)(b->steal - a->steal) / (double)total;
  }
  cJSON_AddNumberToObject(o, "child_cpu_s", child_cpu_s);
  cJSON_AddNumberToObject(o, "other_cpu_share", share);
  cJSON_AddNumberToObject(o, "steal_share", steal);
  cJSON_AddBoolToObject(o, "loaded", share > NNB_LOADED_SHARE);
  return o;
}
