/* nnbench sysinfo: describe this machine, warn about conditions that spoil
 * timings, and measure its peak f32 FLOP/s and copy bandwidth. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "sysinfo.h"

static const char about[] =
    "Describes this machine (CPU, ISA extensions, cores, caches, memory, OS,\n"
    "frequency governor, load, affinity, speed-affecting environment variables,\n"
    "build) and warns about conditions that make timings unrepresentative. Then it\n"
    "measures the peak f32 FLOP/s with an FMA loop on one core and on every core,\n"
    "and the memory copy bandwidth with one thread and with every thread.\n\n"
    "Exit status: 0 success, 1 an error, 2 bad usage.";

static const char *fmt_bytes(char *buf, size_t n, double b) {
  if (b < 0) {
    snprintf(buf, n, "unknown");
    return buf;
  }
  const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    u++;
  }
  snprintf(buf, n, b == floor(b) ? "%.0f %s" : "%.1f %s", b, unit[u]);
  return buf;
}

static void row(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void row(const char *key, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("  %-14s ", key);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

static void print_table(const nnb_sysinfo *s, const nnb_peak *p) {
  char a[32], b[32], c[32], d[32];
  printf("machine\n");
  row("hostname", "%s", s->hostname);
  row("os", "%s; %s %s, %s", s->os_release, s->os, s->kernel, s->arch);
  printf("cpu\n");
  row("model", "%s", s->cpu_model);
  row("vendor", "%s", s->cpu_vendor);
  row("isa", "%s", s->isa_flags[0] ? s->isa_flags : "(none of interest)");
  char phys[16] = "?", sock[16] = "?";
  if (s->physical_cores > 0) snprintf(phys, sizeof phys, "%d", s->physical_cores);
  if (s->sockets > 0) snprintf(sock, sizeof sock, "%d", s->sockets);
  row("cores", "%d logical, %s physical, %s socket(s)", s->logical_cores, phys, sock);
  row("affinity", "%d CPU(s): %s", s->affinity_count, s->affinity_list);
  row("caches", "L1d %s, L1i %s, L2 %s, L3 %s", fmt_bytes(a, sizeof a, (double)s->cache_l1d_bytes),
      fmt_bytes(b, sizeof b, (double)s->cache_l1i_bytes),
      fmt_bytes(c, sizeof c, (double)s->cache_l2_bytes),
      fmt_bytes(d, sizeof d, (double)s->cache_l3_bytes));
  row("governor", "%s (boost %s)", s->governor, s->boost);
  printf("system\n");
  row("memory", "%s total, %s available", fmt_bytes(a, sizeof a, (double)s->mem_total_bytes),
      fmt_bytes(b, sizeof b, (double)s->mem_available_bytes));
  row("load average", "%.2f %.2f %.2f", s->loadavg[0], s->loadavg[1], s->loadavg[2]);
  if (s->aslr >= 0)
    row("aslr", "%d (%s)", s->aslr, s->aslr ? "on" : "off");
  else
    row("aslr", "unknown");
  row("build", "nnbench %s, %s, %s%s", s->nnbench_version, s->build_type, s->compiler,
      s->sanitized ? ", sanitized" : "");
  row("libraries", "cJSON %s, zlib %s, glibc %s", s->lib_cjson, s->lib_zlib, s->lib_glibc);
  printf("environment\n");
  if (!s->n_env) printf("  (no speed-affecting variables set)\n");
  for (int i = 0; i < s->n_env; i++) printf("  %s\n", s->env[i]);
  nnb_warning_list w;
  nnb_sysinfo_warnings(s, &w);
  printf("warnings\n");
  if (!w.n) printf("  (none)\n");
  for (int i = 0; i < w.n; i++) printf("  - %s\n", w.msg[i]);
  if (!p) return;
  printf("peak (measured in %.2f s)\n", p->elapsed_s);
  row("f32 fma", "%.1f GFLOP/s single core, %.1f GFLOP/s all %d threads (%s)",
      p->single_core_gflops, p->all_core_gflops, p->threads, p->isa);
  row("copy", "%.1f GB/s single thread, %.1f GB/s all %d threads (%s, read+write)",
      p->single_thread_copy_gbs, p->all_thread_copy_gbs, p->threads,
      fmt_bytes(a, sizeof a, (double)p->copy_buffer_bytes));
}

int cmd_sysinfo(int argc, char **argv) {
  int json = 0, no_measure = 0;
  double seconds;
  cli_option opts[] = {
      {"--json", NULL, CLI_FLAG, &json, NULL, "print one JSON object instead of the table"},
      {"--no-measure", NULL, CLI_FLAG, &no_measure, NULL,
       "skip the measurements (\"peak\" is null in the JSON)"},
      {"--seconds", "S", CLI_NUM, &seconds, "2", "time budget of the measurements, 0.05 to 600"},
  };
  cli_spec spec = CLI_SPEC("sysinfo", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  if (seconds < 0.05 || seconds > 600)
    return cli_usage_error("sysinfo", "--seconds needs a number from 0.05 to 600, got '%g'",
                           seconds);
  int measure = !no_measure;

  nnb_error e = {{0}};
  nnb_sysinfo *s = malloc(sizeof *s);
  if (!s) {
    fprintf(stderr, "nnbench sysinfo: out of memory\n");
    return 1;
  }
  if (nnb_sysinfo_collect(s, &e) != NNB_OK) {
    fprintf(stderr, "nnbench sysinfo: %s\n", e.msg);
    free(s);
    return 1;
  }
  nnb_peak peak, *p = NULL;
  if (measure) {
    fprintf(stderr, "measuring peak FLOP/s and copy bandwidth (about %.1f s) ...\n", seconds);
    if (nnb_measure_peak(&peak, seconds, &e) != NNB_OK) {
      fprintf(stderr, "nnbench sysinfo: %s\n", e.msg);
      free(s);
      return 1;
    }
    p = &peak;
  }

  int status = 0;
  if (json) {
    cJSON *doc = cJSON_CreateObject();
    cJSON *si = nnb_sysinfo_to_json(s);
    cJSON *pk = p ? nnb_peak_to_json(p) : cJSON_CreateNull();
    char *text = NULL;
    if (doc && si && pk) {
      cJSON_AddItemToObject(doc, "sysinfo", si);
      cJSON_AddItemToObject(doc, "peak", pk);
      si = pk = NULL;
      text = cJSON_Print(doc);
    }
    if (text) {
      printf("%s\n", text);
      cJSON_free(text);
    } else {
      fprintf(stderr, "nnbench sysinfo: out of memory while writing the JSON\n");
      status = 1;
    }
    cJSON_Delete(si);
    cJSON_Delete(pk);
    cJSON_Delete(doc);
  } else {
    print_table(s, p);
  }
  free(s);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "nnbench sysinfo: cannot write to stdout\n");
    status = 1;
  }
  return status;
}
