/* What machine a benchmark ran on, and what that machine can do at best.
 *
 * nnb_sysinfo_collect() describes the host (CPU, ISA, cores, caches, memory,
 * OS, frequency governor, load, affinity, speed-affecting environment
 * variables, build and library versions) without measuring anything; it is
 * cheap and is meant to be recorded as provenance in every result.
 * nnb_measure_peak() measures the peak f32 FLOP/s (an FMA loop) and the copy
 * bandwidth, single-threaded and on every CPU the process may use, so results
 * can be given as a fraction of peak. docs/cli.md ("nnbench sysinfo") lists
 * the JSON keys and the method. Nothing here keeps global state. */
#ifndef NNB_SYSINFO_H
#define NNB_SYSINFO_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <nnbench/status.h>

#define NNB_SYSINFO_MAX_ENV 64   /* environment entries kept */
#define NNB_SYSINFO_ENV_LEN 256  /* "KEY=value", truncated to fit */
#define NNB_SYSINFO_MAX_WARN 16  /* warnings kept */
#define NNB_SYSINFO_WARN_LEN 512 /* one warning, truncated to fit */

/* The barrier spin nnbench gives libgomp when the user sets neither
 * GOMP_SPINCOUNT nor OMP_WAIT_POLICY (harness/cli/main.c says why). It is
 * recorded with the other variables but is no cause for a warning. */
#define NNB_GOMP_SPINCOUNT "10000"

/* The host. Strings are never NULL; a value that could not be found is
 * "unknown" for strings and -1 for numbers (null in the JSON). */
typedef struct nnb_sysinfo {
  /* Machine and OS (uname, /etc/os-release). */
  char hostname[256];
  char os[64];            /* uname sysname, e.g. "Linux" */
  char os_release[128];   /* PRETTY_NAME of /etc/os-release, e.g. "Debian GNU/Linux 12" */
  char kernel[128];       /* uname release, e.g. "6.1.0-18-amd64" */
  char kernel_build[256]; /* uname version, e.g. "#1 SMP PREEMPT_DYNAMIC ..." */
  char arch[64];          /* uname machine, e.g. "x86_64" */

  /* CPU (/proc/cpuinfo). */
  char cpu_model[256]; /* "model name", e.g. "AMD EPYC 9R14 96-Core Processor" */
  char cpu_vendor[64]; /* "vendor_id", e.g. "AuthenticAMD" */
  /* The ISA extensions of interest this CPU has, space-separated, in a fixed
   * order: e.g. "sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_bf16". */
  char isa_flags[512];
  bool has_avx2, has_fma, has_avx512f;
  int logical_cores;  /* CPUs online (sysconf(_SC_NPROCESSORS_ONLN)) */
  int physical_cores; /* distinct (package, core) pairs in /proc/cpuinfo; -1 unknown */
  int sockets;        /* distinct packages in /proc/cpuinfo; -1 unknown */
  /* Cache sizes of cpu0 in bytes (sysfs, else sysconf); -1 unknown. */
  int64_t cache_l1d_bytes, cache_l1i_bytes, cache_l2_bytes, cache_l3_bytes;

  /* Memory (/proc/meminfo), bytes; -1 unknown. */
  int64_t mem_total_bytes, mem_available_bytes;

  /* Conditions that change timings. */
  char governor[64];       /* cpu0 scaling_governor, or "unknown" (e.g. in most VMs) */
  char boost[16];          /* turbo/boost: "on", "off" or "unknown" */
  double loadavg[3];       /* 1, 5 and 15 minute load averages when collected; -1 unknown */
  int aslr;                /* /proc/sys/kernel/randomize_va_space (0 off, 1-2 on); -1 unknown */
  int affinity_count;      /* CPUs this process may run on (sched_getaffinity) */
  char affinity_list[256]; /* those CPUs as ranges, e.g. "0-3,8" */
  /* Environment variables that change library behaviour or speed: every
   * OPENBLAS_*, OMP_*, GOMP_*, KMP_*, GOTO*, DNNL_*, ONEDNN_*, MKL_*, VK_* and
   * MESA_* set, as "KEY=value", sorted. */
  int n_env;
  char env[NNB_SYSINFO_MAX_ENV][NNB_SYSINFO_ENV_LEN];

  /* This build of nnbench. */
  char nnbench_version[32];
  char build_type[32]; /* CMAKE_BUILD_TYPE, e.g. "Release" */
  char compiler[64];   /* e.g. "GNU 12.2.0" */
  bool sanitized;      /* built with ASan/UBSan */

  /* Library versions found at run time; "unknown" where not available. */
  char lib_cjson[32];
  char lib_zlib[32];
  char lib_glibc[32];
} nnb_sysinfo;

/* Reasons the timings taken on this host may not be representative. */
typedef struct nnb_warning_list {
  int n;
  char msg[NNB_SYSINFO_MAX_WARN][NNB_SYSINFO_WARN_LEN];
} nnb_warning_list;

/* Measured peaks. */
typedef struct nnb_peak {
  char isa[16];              /* the FMA loop used: "avx512f", "avx2+fma", "sse2" or "generic" */
  int threads;               /* threads in the all-core figures: one per CPU in the affinity mask */
  double single_core_gflops; /* f32 GFLOP/s, one thread (an FMA counts as 2 FLOPs) */
  double all_core_gflops;    /* f32 GFLOP/s, all threads together */
  int64_t copy_buffer_bytes; /* size of the source (and of the destination) of the copy */
  double single_thread_copy_gbs; /* copy bandwidth, GB/s (1e9 bytes), read + write bytes */
  double all_thread_copy_gbs;    /* the same with all threads, each copying its share */
  double budget_s;               /* the time asked for */
  double elapsed_s;              /* the time the measurement took (allocation included) */
} nnb_peak;

/* Fills `out` (everything is overwritten). Fails only when a source every
 * Linux system has cannot be read (e.g. uname fails); missing optional
 * sources leave "unknown" or -1. */
nnb_status nnb_sysinfo_collect(nnb_sysinfo *out, nnb_error *e);

/* Fills `out` with warnings for `s`: governor other than "performance",
 * 1-minute load above half the logical cores, a Debug or sanitized build,
 * speed-affecting environment variables set, an affinity mask smaller than
 * the online CPUs. ASLR is recorded, not warned about. Returns out->n. */
int nnb_sysinfo_warnings(const nnb_sysinfo *s, nnb_warning_list *out);

/* Measures the peaks in about `seconds_budget` seconds (0.05 to 600; 2 is a
 * good default; below 1 the copy buffer shrinks from 256 MiB to 64 MiB).
 * Single-core FLOP/s runs on the calling thread, whose affinity is left
 * as it is; everything else runs on threads pinned one per CPU of the
 * affinity mask (the single-thread copy on the first of them). Page faults
 * of the copy buffers are included in elapsed_s, so it can exceed the
 * budget by a few tenths of a second. docs/cli-sysinfo.md describes the
 * method. */
nnb_status nnb_measure_peak(nnb_peak *out, double seconds_budget, nnb_error *e);

/* The JSON forms (docs/cli-sysinfo.md); NULL when out of memory. The sysinfo
 * object includes its "warnings". The caller owns the result (cJSON_Delete). */
cJSON *nnb_sysinfo_to_json(const nnb_sysinfo *s);
cJSON *nnb_peak_to_json(const nnb_peak *p);

#endif
