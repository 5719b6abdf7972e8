/* The machine's state around one round: what else ran while it ran. On a
 * shared machine a round that ran while another process took CPU time is
 * not comparable with a quiet one; recording it lets readers (and compare)
 * tell them apart. Linux /proc and /sys; on other systems the figures read
 * as unknown (-1). */
#ifndef NNB_ROUND_CONDITIONS_H
#define NNB_ROUND_CONDITIONS_H

#include <cjson/cJSON.h>

/* Another process's share of the machine's CPU time above which a round is
 * flagged as taken under load: 10% is a fifth of one vCPU on a 2-vCPU
 * machine, more than the harness's own parent process and the kernel use. */
#define NNB_LOADED_SHARE 0.10

typedef struct nnb_conditions {
  double wall_s;         /* monotonic clock at the snapshot */
  long long busy, total; /* /proc/stat's "cpu" line: busy and all jiffies, -1 unknown */
  long long steal;       /* time the hypervisor gave to other guests, jiffies */
  double load1;          /* 1-minute load average, -1 unknown */
  double cpu_mhz;        /* mean current frequency over CPUs, -1 unknown */
  char mhz_source[48];   /* where cpu_mhz came from */
} nnb_conditions;

void nnb_conditions_snapshot(nnb_conditions *c);

/* The round's conditions between two snapshots, as a new JSON object:
 * load_avg_1m at start and end, cpu_mhz at start and end (and its source),
 * other_cpu_share (CPU time of all processes but the round's own child,
 * child_cpu_s, as a fraction of the machine's CPU time over the round),
 * steal_share, and loaded (other_cpu_share > NNB_LOADED_SHARE). The shares
 * are -1 when unknown: /proc/stat unreadable, or a round shorter than the
 * kernel's clock tick, which /proc/stat counts in. */
cJSON *nnb_conditions_json(const nnb_conditions *start, const nnb_conditions *end,
                           double child_cpu_s);

#endif
