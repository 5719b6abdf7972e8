/* The writer of the plot against a peer: every series' speed relative to
 * the peer (PyTorch) at the peer's best thread count, per model, one panel
 * per mode and batch the peer ran. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonpath.h"
#include "plot_data.h"
#include "relative.h"

#define MAX_PANELS 16
#define LOG_SPAN 10.0 /* ratios spanning more get a logarithmic axis */

int nnb_pl_vs_peer(const nnb_pl *p, const cJSON *doc, FILE *v, FILE *d, char *why, size_t len) {
  const char *peer = nnb_rel_peer(doc);
  if (!peer) {
    snprintf(why, len, "no peer (such as pytorch) ran in this run");
    return 0;
  }
  /* The (mode, batch) pairs the peer ran, in order of appearance. */
  int mode[MAX_PANELS], batch[MAX_PANELS], panels = 0;
  for (int i = 0; i < p->ncases && panels < MAX_PANELS; i++) {
    const nnb_pl_case *c = &p->cases[i];
    if (strcmp(p->series[c->series].backend, peer)) continue;
    int seen = 0;
    for (int k = 0; k < panels; k++) seen |= mode[k] == c->train && batch[k] == c->batch;
    if (!seen) mode[panels] = c->train, batch[panels++] = c->batch;
  }
  for (int k = 0; k < panels; k++) {
    const char *m = mode[k] ? "train" : "infer";
    double lo = INFINITY, hi = 0;
    fprintf(d,
            "# %s batch %d: model, then per series: speed / %s's at its best thread count, "
            "95%% CI low, high\n",
            m, batch[k], peer);
    for (int s = 0; s < p->nspecs; s++) {
      const cJSON *ref = nnb_rel_best(doc, p->spec_key[s], m, batch[k], peer);
      if (!ref) continue;
      nnb_pl_data_word(d, p->spec_label[s]);
      for (int j = 0; j < p->nseries; j++) {
        const nnb_pl_case *c = nnb_pl_find(p, j, s, mode[k], batch[k]);
        nnb_rel r = nnb_rel_speed(c ? c->rec : NULL, ref);
        fprintf(d, " %.6g %.6g %.6g", r.ratio, r.lo, r.hi);
        if (r.lo > 0 && r.lo < lo) lo = r.lo;
        if (r.hi > hi) hi = r.hi;
      }
      fputc('\n', d);
    }
    fprintf(d, "\n\n");
    char title[160];
    snprintf(title, sizeof title, "%s, batch %d", mode[k] ? "Training" : "Inference", batch[k]);
    nnb_pl_panel_vars(v, k + 1, title, -1, "");
    fprintf(v, "panel_logy_%d = %d\n", k + 1, hi > LOG_SPAN * lo);
  }
  fprintf(v, "npanels = %d\npeer_name = '%s'\n", panels, peer);
  return panels > 0;
}
