/* lstm and lstm_bwd (docs/ops.md): GEMMs for the products, one fused
 * vector pass per step for the gates.
 *
 * Forward, per layer: Z [B*T, 4H] = x [B*T, I] w_ih^T (all steps at once),
 * then per step t: Z[:, t] += h_{t-1} w_hh^T (one GEMM; h_{t-1} is read in
 * place from y with leading dimension T*H) and the gate pass writes
 * cache[:, t] and y[:, t].
 *
 * Backward: per step, from T-1 down, the gate pass gives dZ[:, t] and
 * dh_{t-1} = dZ[:, t] w_hh (one GEMM per step); then dx = dZ w_ih,
 * dw_ih = dZ^T x, dw_hh = dZ^T h_prev (h shifted by one step) and
 * db = column sums of dZ, each one GEMM or one pass over all steps.
 *
 * Two ways to share the recurrence among threads:
 * - by sequences: each thread runs every step of its own rows of the batch,
 *   with no barrier at all; but each packs all of w_hh for every step;
 * - by units: each thread computes the four gates of its own hidden units
 *   for every row (its slices of w_ih and w_hh only), then waits for the
 *   others once per step, since the next step reads every unit of h.
 * Sequences win while w_hh is small; units win for large weights.
 *
 * The per-step products (forward: the gates; backward: dh_{t-1}) run
 * either as OpenBLAS's SGEMM, which packs the step's weights again on
 * every call (every step, every thread), or as the vector table's GEMM on
 * weights packed once at the start of the op (ob_vec_pgemm.c), in panels
 * of 16 units (forward: each gate's units apart) so that a thread's slice
 * of the units is a run of whole panels. */
#include <omp.h>
#include <string.h>

#include "ob.h"

typedef struct ldims {
  int64_t b, t, i, h;
} ldims;

static ldims dims_of(const nnb_tensor_desc *x, const nnb_tensor_desc *w_hh) {
  return (ldims){x->dims[0], x->dims[1], x->dims[2], w_hh->dims[1]};
}

/* Threads for the recurrence, and whether they split the units. */
static int seq_threads(const ob_step *s, const ldims *d, bool *by_units) {
  double flops = 2.0 * (double)(d->b * d->t * 4 * d->h * (d->i + d->h));
  int nt = ob_threads_for(s->env, d->b > d->h / 16 ? d->b : d->h / 16, flops / 16.0);
  /* Measured on two cores: H = 128, training at batch 32, 3.8 ms a step by
   * sequences, 5.9 ms by units (inference at 256: 9.3 and 10.4 ms); H =
   * 1280, inference at batch 32: 166 and 111 ms. Units from a w_hh of
   * 1 MiB (H = 256) on. */
  bool units = d->h >= 16 * nt && 4 * d->h * d->h >= (1 << 18);
  if (s->env->lstm_split >= 0) units = s->env->lstm_split == 1;
  if (!units && nt > d->b) nt = (int)d->b;
  if (units && nt > d->h / 16) nt = (int)(d->h / 16 > 0 ? d->h / 16 : 1);
  *by_units = units && nt > 1;
  return nt;
}

/* A thread's part of the recurrence: sequences [b0, b1) and hidden units
 * [u0, u1); all units of its share of the sequences, or its share of the
 * units (whole 16-float vectors) of every sequence. */
typedef struct part {
  int64_t b0, b1, u0, u1;
} part;

static part thread_part(const ldims *d, bool by_units) {
  int t = omp_get_thread_num(), nth = omp_get_num_threads();
  part p = {0, d->b, 0, d->h};
  if (by_units) {
    int64_t blocks = (d->h + 15) / 16;
    p.u0 = blocks * t / nth * 16;
    p.u1 = blocks * (t + 1) / nth * 16;
    if (p.u1 > d->h) p.u1 = d->h;
    if (p.u0 > d->h) p.u0 = d->h;
  } else {
    p.b0 = d->b * t / nth, p.b1 = d->b * (t + 1) / nth;
  }
  return p;
}

/* Where the input's contribution to the gates is computed:
 * - all steps at once (one GEMM Z [B*T, 4H] = x w_ih^T before the
 *   recurrence, each step then adds h_{t-1} w_hh^T into its rows of Z): the
 *   weights are streamed once per step (w_hh) but Z, 4H floats per row and
 *   step, goes through memory three times, and the GEMM has K = I (28 for
 *   the first layer: a poor GEMM);
 * - per step (Z_t [B, 4H] = [x_t h_{t-1}] [w_ih w_hh]^T, one GEMM with
 *   K = I + H into a buffer that stays in cache): w_ih is streamed every
 *   step as well.
 * Per step the first moves about 3 x 4H floats more per row of the GEMM,
 * the second 4H x I more weights: per step wins while I < 3 rows. */
static bool input_per_step(const ob_step *s, const ldims *d, int nt, bool by_units) {
  if (s->env->lstm_input >= 0) return s->env->lstm_input == 1;
  int64_t rows = by_units ? d->b : (d->b + nt - 1) / nt;
  return d->i < 3 * rows;
}

bool ob_lstm_packed(const ob_env *env) { return ob_own_gemm(env, env->lstm_packed); }

/* The forward's workspace, in floats from s->ws: bias = b_ih + b_hh [4H];
 * all at once: Z [B*T, 4H]; per step: w_cat [4H, I+H], Z_t [B, 4H], one
 * [x_t h_{t-1}] buffer [B, I+H] per thread. Packed, w_cat holds the
 * panels of [w_ih w_hh] (per step) or of w_hh, each gate's H columns
 * padded to whole panels. */
typedef struct fwd_ws {
  bool per_step, by_units, packed;
  int nt;
  int64_t kp; /* packed: the panels' K, I + H or H */
  size_t bias, z, wcat, xh, xh_each, total;
} fwd_ws;

static fwd_ws fwd_layout(const ob_step *s, const ldims *d) {
  fwd_ws w = {0};
  w.nt = seq_threads(s, d, &w.by_units);
  w.per_step = input_per_step(s, d, w.nt, w.by_units);
  w.packed = ob_lstm_packed(s->env);
  w.kp = w.per_step ? d->i + d->h : d->h;
  size_t g = (size_t)(4 * d->h), k = (size_t)(d->i + d->h), at = ob_round16(g);
  size_t panels = 4 * (size_t)((d->h + OB_PANEL - 1) / OB_PANEL) * OB_PANEL * (size_t)w.kp;
  w.bias = 0;
  if (w.packed || w.per_step) w.wcat = at, at += ob_round16(w.packed ? panels : g * k);
  if (w.per_step) {
    w.z = at, at += ob_round16((size_t)d->b * g);
    w.xh = at, w.xh_each = ob_round16((size_t)d->b * k), at += (size_t)w.nt * w.xh_each;
  } else {
    w.z = at, at += ob_round16((size_t)(d->b * d->t) * g);
  }
  w.total = at;
  return w;
}

/* Packs the step's weights into wcat, shared over the team: panel j holds
 * gate q = j / ph's units u from 16 (j % ph), 16 at most (rows q*H + u of
 * [w_ih w_hh] per step, or of w_hh). Ends with the team's barrier. */
static void pack_weights(const ob_env *env, const ldims *d, const fwd_ws *w, const float *w_ih,
                         const float *w_hh, float *wcat) {
  const int64_t H = d->h, NI = d->i, ph = (H + OB_PANEL - 1) / OB_PANEL, kp = w->kp;
#pragma omp for
  for (int64_t j = 0; j < 4 * ph; j++) {
    int64_t r0 = j / ph * H + j % ph * OB_PANEL, nc = H - j % ph * OB_PANEL;
    nc = nc < OB_PANEL ? nc : OB_PANEL;
    float *panel = wcat + j * OB_PANEL * kp;
    if (w->per_step) {
      env->vec->pack_panels(nc, NI, w_ih + r0 * NI, NI, 1, panel, kp);
      panel += NI * OB_PANEL; /* w_hh after w_ih along k */
    }
    env->vec->pack_panels(nc, H, w_hh + r0 * H, H, 1, panel, kp);
  }
}

size_t ob_lstm_ws(const ob_step *s) {
  ldims d = dims_of(s->ti[0], s->ti[2]);
  return fwd_layout(s, &d).total;
}

nnb_status ob_lstm(const ob_step *s, nnb_error *e) {
  ldims d = dims_of(s->ti[0], s->ti[2]);
  const int64_t T = d.t, NI = d.i, H = d.h, G = 4 * H, K = NI + H;
  const float *x = s->in[0], *w_ih = s->in[1], *w_hh = s->in[2];
  const float *b_ih = s->in[3], *b_hh = s->in[4];
  float *y = s->out[0];
  fwd_ws w = fwd_layout(s, &d);
  float *bias = s->ws + w.bias, *z = s->ws + w.z, *wcat = s->ws + w.wcat;
  for (int64_t r = 0; r < G; r++) bias[r] = b_ih[r] + b_hh[r];
  if (w.per_step && !w.packed)
    for (int64_t r = 0; r < G; r++) {
      memcpy(wcat + r * K, w_ih + r * NI, (size_t)NI * sizeof *wcat);
      memcpy(wcat + r * K + NI, w_hh + r * H, (size_t)H * sizeof *wcat);
    }
  float *cache = s->out[1];
  const ob_env *env = s->env;
#pragma omp parallel num_threads(w.nt) if (w.nt > 1)
  {
    part pt = thread_part(&d, w.by_units);
    int64_t b0 = pt.b0, b1 = pt.b1, u0 = pt.u0, nb = b1 - b0, nu = pt.u1 - u0;
    float *xh = s->ws + w.xh + (size_t)omp_get_thread_num() * w.xh_each;
    /* packed: this thread's first panel of gate q at wp + q * gstride */
    const int64_t gstride = (H + OB_PANEL - 1) / OB_PANEL * OB_PANEL * w.kp;
    const float *wp = wcat + u0 * w.kp;
    if (w.packed) pack_weights(env, &d, &w, w_ih, w_hh, wcat);
    /* With every unit, the four gates are one GEMM; with a slice of the
     * units, one GEMM per gate (rows q*H + u0 .. of the weights). */
    int gates = nu == H ? 1 : 4;
    int64_t ncols = nu == H ? G : nu;
    if (!w.per_step)
      for (int q = 0; q < gates; q++) /* these units, every step of these rows */
        ob_sgemm(env, false, true, nb * T, ncols, NI, 1.0f, x + b0 * T * NI, NI,
                 w_ih + (q * H + u0) * NI, NI, 0.0f, z + b0 * T * G + q * H + u0, G);
    for (int64_t t = 0; t < T; t++) {
      /* this step's gate pre-activations of rows b0..b1: zt, row stride zs */
      float *zt = w.per_step ? z + b0 * G : z + (b0 * T + t) * G;
      int64_t zs = w.per_step ? G : T * G;
      if (w.per_step) {
        for (int64_t b = b0; b < b1; b++) {
          float *row = xh + (b - b0) * K;
          memcpy(row, x + (b * T + t) * NI, (size_t)NI * sizeof *row);
          if (t > 0)
            memcpy(row + NI, y + (b * T + t - 1) * H, (size_t)H * sizeof *row);
          else
            memset(row + NI, 0, (size_t)H * sizeof *row);
        }
        if (w.packed)
          for (int q = 0; q < 4; q++)
            env->vec->gemm_packed(nb, nu, K, xh, K, wp + q * gstride, zt + q * H + u0, zs, false);
        else
          for (int q = 0; q < gates; q++)
            ob_sgemm(env, false, true, nb, ncols, K, 1.0f, xh, K, wcat + (q * H + u0) * K, K, 0.0f,
                     zt + q * H + u0, zs);
      } else if (t > 0) { /* h_{t-1} read in place: stride T*H in y */
        const float *hp = y + (b0 * T + t - 1) * H;
        if (w.packed)
          for (int q = 0; q < 4; q++)
            env->vec->gemm_packed(nb, nu, H, hp, T * H, wp + q * gstride, zt + q * H + u0, zs,
                                  true);
        else
          for (int q = 0; q < gates; q++)
            ob_sgemm(env, false, true, nb, ncols, H, 1.0f, hp, T * H, w_hh + (q * H + u0) * H, H,
                     1.0f, zt + q * H + u0, zs);
      }
      for (int64_t b = b0; b < b1 && nu > 0; b++) {
        int64_t row = b * T + t;
        env->vec->lstm_fwd(nu, H, zt + (b - b0) * zs + u0, bias + u0,
                           t > 0 ? cache + (row - 1) * 5 * H + 4 * H + u0 : NULL,
                           cache + row * 5 * H + u0, y + row * H + u0);
      }
      if (w.by_units) {
#pragma omp barrier
      }
    }
  }
  return NNB_OK;
}

/* Workspace: dZ [B*T, 4H], h_prev [B*T, H], dh [B, H], dc [B, H]; packed:
 * then w_hh [4H, H] in panels of its H columns (k = 4H). */
static size_t bwd_panels_at(const ldims *d) {
  return ob_round16((size_t)(d->b * d->t * 4 * d->h)) + ob_round16((size_t)(d->b * d->t * d->h)) +
         2 * ob_round16((size_t)(d->b * d->h));
}

size_t ob_lstm_bwd_ws(const ob_step *s) {
  ldims d = dims_of(s->ti[1], s->ti[3]);
  size_t panels = (size_t)((d.h + OB_PANEL - 1) / OB_PANEL * OB_PANEL * 4 * d.h);
  return bwd_panels_at(&d) + (ob_lstm_packed(s->env) ? panels : 0);
}

typedef struct colsum {
  const float *m;
  int64_t rows, cols;
  float *out;
} colsum;

/* out[j] = sum of column j over every row, for columns [lo, hi). */
static void colsum_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  const colsum *c = arg;
  memset(c->out + lo, 0, (size_t)(hi - lo) * sizeof *c->out);
  for (int64_t r = 0; r < c->rows; r++) {
    const float *row = c->m + r * c->cols;
#pragma omp simd
    for (int64_t j = lo; j < hi; j++) c->out[j] += row[j];
  }
}

typedef struct shift {
  const float *y;
  float *hprev;
  int64_t t, h;
} shift;

/* h_prev[b, t] = y[b, t-1], zero at t = 0, for sequences [lo, hi). */
static void shift_range(const ob_step *s, void *arg, int64_t lo, int64_t hi) {
  const shift *a = arg;
  for (int64_t b = lo; b < hi; b++) {
    memset(a->hprev + b * a->t * a->h, 0, (size_t)a->h * sizeof *a->hprev);
    memcpy(a->hprev + (b * a->t + 1) * a->h, a->y + b * a->t * a->h,
           (size_t)((a->t - 1) * a->h) * sizeof *a->hprev);
  }
}

nnb_status ob_lstm_bwd(const ob_step *s, nnb_error *e) {
  ldims d = dims_of(s->ti[1], s->ti[3]);
  const int64_t B = d.b, T = d.t, NI = d.i, H = d.h, G = 4 * H;
  const float *dy = s->in[0], *x = s->in[1], *w_ih = s->in[2], *w_hh = s->in[3];
  const float *y = s->in[4], *cache = s->in[5];
  float *dx = s->out[0], *dw_ih = s->out[1], *dw_hh = s->out[2], *db = s->out[3];
  float *dz = s->ws, *hprev = dz + ob_round16((size_t)(B * T * G));
  float *dh = hprev + ob_round16((size_t)(B * T * H)), *dc = dh + ob_round16((size_t)(B * H));
  float *panels = s->ws + bwd_panels_at(&d);
  const ob_env *env = s->env;
  bool by_units, packed = ob_lstm_packed(s->env);
  int nt = seq_threads(s, &d, &by_units);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    part pt = thread_part(&d, by_units);
    int64_t b0 = pt.b0, b1 = pt.b1, u0 = pt.u0, nb = b1 - b0, nu = pt.u1 - u0;
    if (packed) { /* shared: the team's barrier ends the loop */
#pragma omp for
      for (int64_t j = 0; j < H; j += OB_PANEL)
        env->vec->pack_panels(H - j < OB_PANEL ? H - j : OB_PANEL, G, w_hh + j, 1, H,
                              panels + j * G, G); /* w_hh [4H, H] is W^T */
    }
    for (int64_t b = b0; b < b1; b++) /* nothing flows back from after step T-1 */
      memset(dc + b * H + u0, 0, (size_t)nu * sizeof *dc);
    for (int64_t t = T - 1; t >= 0; t--) {
      for (int64_t b = b0; b < b1 && nu > 0; b++) {
        int64_t row = b * T + t;
        env->vec->lstm_bwd(nu, H, dy + row * H + u0, t < T - 1 ? dh + b * H + u0 : NULL,
                           dc + b * H + u0, cache + row * 5 * H + u0,
                           t > 0 ? cache + (row - 1) * 5 * H + 4 * H + u0 : NULL,
                           dz + row * G + u0);
      }
      if (by_units) { /* dh of these units reads every unit's dz */
#pragma omp barrier
      }
      if (t > 0 && packed) /* dh_{t-1} = dz_t w_hh (h_{-1} is the constant zero) */
        env->vec->gemm_packed(nb, nu, G, dz + (b0 * T + t) * G, T * G, panels + u0 * G,
                              dh + b0 * H + u0, H, false);
      else if (t > 0)
        ob_sgemm(env, false, false, nb, nu, G, 1.0f, dz + (b0 * T + t) * G, T * G, w_hh + u0, H,
                 0.0f, dh + b0 * H + u0, H);
    }
  }
  ob_gemm(env, false, false, B * T, NI, G, 1.0f, dz, G, w_ih, NI, 0.0f, dx, NI, NULL);
  ob_gemm(env, true, false, G, NI, B * T, 1.0f, dz, G, x, NI, 0.0f, dw_ih, NI, NULL);
  shift sh = {y, hprev, T, H};
  ob_par_range(s, B, 1, (double)(B * T * H), shift_range, &sh);
  ob_gemm(env, true, false, G, H, B * T, 1.0f, dz, G, hprev, H, 0.0f, dw_hh, H, NULL);
  colsum c = {dz, B * T, G, db};
  ob_par_range(s, G, 16, (double)(B * T * G), colsum_range, &c);
  return NNB_OK;
}
