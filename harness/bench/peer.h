/* External peers: a framework (PyTorch, say) measured outside nnbench's
 * process. A peer is an executable, nnb-peer-<name>, that reads one JSON
 * request on stdin and writes one JSON answer on stdout (docs/peers.md).
 * It returns raw per-step seconds; nnbench computes every statistic from
 * them exactly as for a plugin, and turns a crash, hang, bad answer or
 * refusal into that case's failure with the reason. */
#ifndef NNB_PEER_H
#define NNB_PEER_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "dataset.h"
#include "suite.h"

#define NNB_PEER_PROTOCOL 1
#define NNB_PEER_ENV "NNBENCH_PEER_PATH"
#define NNB_PEER_PREFIX "nnb-peer-"

/* ---- finding peers (peer_registry.c) --------------------------------------- */

typedef struct nnb_peer_info {
  char name[32];
  char path[512]; /* the executable, or "" when not found */
  bool available;
  char reason[512]; /* why not available */
  char device[128], library[128];
} nnb_peer_info;

/* True when `name` is a peer: an executable nnb-peer-<name> on
 * NNBENCH_PEER_PATH (colon separated), the source tree's peers/ or the
 * install prefix's libexec/nnbench, or a peer nnbench ships. *path gets the
 * executable, "" (and *why the reason) when a shipped peer is missing. */
bool nnb_peer_lookup(const char *name, char *path, size_t len, char *why, size_t wlen);

/* Every peer found or shipped, each asked to describe itself (a quick
 * request that loads no framework): fills up to max, returns how many. */
int nnb_peer_list(nnb_peer_info *out, int max);

/* Appends to arr, for each peer some case names, what a results document
 * lists of a backend: name, "kind": "peer", available, reason, path. */
void nnb_peers_json(cJSON *arr, const nnb_case *cases, int n);

/* The folders searched, in order; `buf` holds the copy of the variable. */
int nnb_peer_search_dirs(const char **dirs, int max, char *buf, size_t len);

/* ---- one exchange (peer_exchange.c) ------------------------------------------ */

/* What the peer's process used, from wait4. */
typedef struct nnb_peer_usage {
  double peak_rss_bytes, cpu_s;
} nnb_peer_usage;

/* Runs exe in its own process group (pinned to the CPU list `pin` unless
 * NULL or "") with `request` on stdin, within timeout_s, and returns its
 * parsed answer, an object with "protocol" 1 and a "status". NULL when
 * there is none: *why says what happened (crashed, timed out, exited with
 * a status, invalid JSON, wrong protocol). *use is filled either way. */
cJSON *nnb_peer_exchange(const char *exe, const cJSON *request, double timeout_s, const char *pin,
                         nnb_peer_usage *use, char *why, size_t wlen);

/* ---- requests and answers (peer_case.c) -------------------------------------- */

/* One measurement of a case by the peer at exe: the same record shape as
 * nnb_run_case (status, samples_s, cold_s, loss, parameters, work, memory,
 * backend_info, or status failed/unsupported and reason) plus "peer". */
cJSON *nnb_peer_run_case(const char *exe, const nnb_case *c, const nnb_dataset *d,
                         unsigned long long seed);

/* The peer's logits for every sample of `test` with the given checkpoint
 * (NULL: nnbench's seeded initialisation, written to a temporary
 * checkpoint): a record with status, accuracy, mean_loss and logits, as
 * the accuracy section takes it from a plugin. */
cJSON *nnb_peer_evaluate(const char *exe, const char *model, const char *weights,
                         const nnb_dataset *test, unsigned long long seed, double timeout_s);

#endif
