#include "rng.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void nnb_rng_seed(nnb_rng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t nnb_rng_u64(nnb_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double nnb_rng_unit(nnb_rng *r) { return (double)(nnb_rng_u64(r) >> 11) * 0x1.0p-53; }

float nnb_rng_uniform(nnb_rng *r, float lo, float hi) {
  return (float)(lo + (hi - lo) * nnb_rng_unit(r));
}

uint64_t nnb_rng_below(nnb_rng *r, uint64_t n) {
  /* Lemire's multiply-shift would be faster; a modulo's tiny bias does not
   * matter for test data and shuffles of < 2^32 items. */
  return n ? nnb_rng_u64(r) % n : 0;
}

void nnb_rng_fill(nnb_rng *r, float *dst, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) dst[i] = nnb_rng_uniform(r, lo, hi);
}
