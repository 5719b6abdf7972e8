/* A small seeded generator (splitmix64 seeding xoshiro256**): the same seed
 * gives the same numbers on every machine, so every random case can be
 * replayed from the seed printed with it. */
#ifndef NNB_RNG_H
#define NNB_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct nnb_rng {
  uint64_t s[4];
} nnb_rng;

void nnb_rng_seed(nnb_rng *r, uint64_t seed);
uint64_t nnb_rng_u64(nnb_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double nnb_rng_unit(nnb_rng *r);
/* Uniform in [lo, hi). */
float nnb_rng_uniform(nnb_rng *r, float lo, float hi);
/* Uniform integer in [0, n). */
uint64_t nnb_rng_below(nnb_rng *r, uint64_t n);
void nnb_rng_fill(nnb_rng *r, float *dst, size_t n, float lo, float hi);

#endif
