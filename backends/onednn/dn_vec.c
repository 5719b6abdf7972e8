/* The gate passes of dn_vec.h: <nnbench/cpu_math.h>'s LSTM step, which
 * the compiler vectorises for the ISA CMake compiles this file for (once
 * per ISA, DN_VEC_TABLE naming the table and DN_VEC_ISA its name). */
#include <nnbench/cpu_math.h>

#include "dn_vec.h"

#if !defined(DN_VEC_TABLE) || !defined(DN_VEC_ISA)
#error "dn_vec.c is compiled with -DDN_VEC_TABLE=<table> -DDN_VEC_ISA=<name>"
#endif

/* The step of one sequence: every unit's gates at stride n. */
static void k_lstm_fwd(int64_t n, const float *z, const float *bias, const float *cprev,
                       float *cache, float *hout) {
  nnb_lstm_step_fwd(n, n, z, bias, cprev, cache, hout);
}

static void k_lstm_bwd(int64_t n, const float *dy, const float *dhn, float *dc, const float *ct,
                       const float *cp, float *dz) {
  nnb_lstm_step_bwd(n, n, dy, dhn, dc, ct, cp, dz);
}

const dn_vec DN_VEC_TABLE = {
    .isa = DN_VEC_ISA,
    .lstm_fwd = k_lstm_fwd,
    .lstm_bwd = k_lstm_bwd,
};
