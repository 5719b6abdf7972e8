/* The report of a results folder: report.md and report.html (the same
 * content, with the plots' SVGs inline in the HTML): provenance, the figures
 * of every case, accuracy and agreement, memory, noisy and failed cases, and
 * the plots. */
#ifndef NNB_REPORT_H
#define NNB_REPORT_H

#include <cjson/cJSON.h>

#include <nnbench/status.h>

#include "plot.h"

/* Writes dir/report.md and dir/report.html (each through a temporary file
 * and rename). plots: what nnb_plot_results drew, or NULL to show whichever
 * plots dir/plots/ already holds. */
nnb_status nnb_report_write(const char *dir, const cJSON *doc,
                            const nnb_plot_outcome plots[NNB_PLOT_KINDS], nnb_error *e);

#endif
