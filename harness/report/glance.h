/* The report's opening sections: what a reader wants first, on one screen
 * (per model, mode and batch: the fastest contender, every other's speed
 * relative to it and to the peer), and the comparison with the peer
 * (PyTorch) at every thread count. */
#ifndef NNB_GLANCE_H
#define NNB_GLANCE_H

#include <cjson/cJSON.h>

#include "doc.h"

/* "At a glance": every backend at its best thread count. */
void nnb_report_glance(nnb_doc *d, const cJSON *doc);

/* "Against <peer>": nothing when no peer ran. */
void nnb_report_vs_peer(nnb_doc *d, const cJSON *doc);

#endif
