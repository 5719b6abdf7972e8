#include "schedule.h"

#include <stdlib.h>

#include "rng.h"

nnb_status nnb_schedule(const int *rounds, int n_cases, unsigned long long seed, nnb_slot **out,
                        int *n_out, nnb_error *e) {
  int total = 0, max_r = 0;
  for (int i = 0; i < n_cases; i++) {
    if (rounds[i] < 1)
      return nnb_fail(e, NNB_ERR_INVALID, "case %d has %d rounds; expected at least 1", i,
                      rounds[i]);
    total += rounds[i];
    if (rounds[i] > max_r) max_r = rounds[i];
  }
  nnb_slot *s = malloc((size_t)(total ? total : 1) * sizeof *s);
  if (!s) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory for a schedule of %d slots", total);
  int n = 0;
  for (int r = 0; r < max_r; r++) {
    int first = n;
    for (int i = 0; i < n_cases; i++)
      if (rounds[i] > r) s[n++] = (nnb_slot){i, r};
    nnb_rng rng; /* one stream per round: a round's order does not depend on the others */
    nnb_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ull + (unsigned long long)r);
    for (int k = n - first - 1; k > 0; k--) {
      int j = (int)nnb_rng_below(&rng, (uint64_t)k + 1);
      nnb_slot t = s[first + k];
      s[first + k] = s[first + j], s[first + j] = t;
    }
  }
  *out = s;
  *n_out = n;
  return NNB_OK;
}
