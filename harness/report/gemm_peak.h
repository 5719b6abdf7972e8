/* The report's section on how near the measured peak a case's GEMM-shaped
 * nodes run, from the per-node profile. */
#ifndef NNB_GEMM_PEAK_H
#define NNB_GEMM_PEAK_H

#include <cjson/cJSON.h>

#include "doc.h"

/* "GEMM-shaped nodes against peak": per profiled case, the matmul,
 * convolution and LSTM nodes that carry 90% of its GEMM FLOPs, their
 * GFLOP/s against the run's measured f32 FMA peak of the threads the case
 * used (one core for one thread, all otherwise), and the slowest of them.
 * Nothing when no case has a profile or the run no peak. */
void nnb_report_gemm_peak(nnb_doc *d, const cJSON *doc);

#endif
