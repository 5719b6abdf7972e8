/* The own LSTM path's gate passes (dn_lstm.c), vectorised: dn_vec.c is
 * compiled once per ISA (AVX-512, AVX2+FMA and the x86-64 baseline) and
 * init() picks the table for oneDNN's effective ISA, so the option isa=
 * caps these loops as it caps the primitives. */
#ifndef NNB_DN_VEC_H
#define NNB_DN_VEC_H

#include <stdint.h>

typedef struct dn_vec {
  const char *isa; /* "avx512", "avx2", "baseline" */
  /* One step of one sequence, n units: z holds the gate pre-activations
   * without bias (i, f, g, o at 0, n, 2n, 3n), bias = b_ih + b_hh likewise,
   * cprev = c_{t-1} (NULL at t = 0). Writes the cache row (i, f, g, o, c at
   * stride n) and h_t. */
  void (*lstm_fwd)(int64_t n, const float *z, const float *bias, const float *cprev, float *cache,
                   float *hout);
  /* The same step backwards: dh = dy + dh_next (dh_next NULL: zero); dc
   * holds the gradient flowing into c_t from step t+1 and leaves with the
   * one flowing into c_{t-1}; writes dz (gate pre-activations, stride n). */
  void (*lstm_bwd)(int64_t n, const float *dy, const float *dh_next, float *dc, const float *cache,
                   const float *cprev, float *dz);
} dn_vec;

extern const dn_vec dn_vec_avx512, dn_vec_avx2, dn_vec_baseline;

#endif
