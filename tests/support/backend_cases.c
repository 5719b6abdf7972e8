/* Cases shared by the tests of compute backends (backend_cases.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend_cases.h"

#include "check.h"
#include "modelrun.h"
#include "testutil.h"

void bc_every_op(nnb_backend *ref, nnb_backend *b, int seeds) {
  for (uint64_t seed = 1; seed <= (uint64_t)seeds; seed++)
    for (int op = 0; op < NNB_OP_COUNT; op++) {
      nnb_check_result r;
      nnb_check_op(ref, b, (nnb_op)op, seed, &r);
      cr_expect_eq(r.verdict, NNB_PASS, "%s seed %llu: %s (%s)", nnb_op_name((nnb_op)op),
                   (unsigned long long)seed, nnb_verdict_name(r.verdict), r.detail);
      cr_expect_eq(r.cases, nnb_check_variants((nnb_op)op), "%s ran %d cases",
                   nnb_op_name((nnb_op)op), r.cases);
    }
}

void bc_big_case(nnb_backend *ref, nnb_backend *ob, nnb_op op, const int64_t (*shapes)[4],
                 const int *ranks, int n_in, const nnb_attr *at, double tol) {
  nnb_graph g;
  nnb_graph_init(&g);
  int in[NNB_MAX_IN], out[NNB_MAX_OUT];
  for (int i = 0; i < n_in; i++) {
    char name[16];
    snprintf(name, sizeof name, "in%d", i);
    in[i] = nnb_tensor(&g, name, i ? NNB_ROLE_PARAM : NNB_ROLE_INPUT, NNB_F32, ranks[i], shapes[i]);
  }
  nnb_node_add(&g, op, in, n_in, at, nnb_op_name(op), out);
  nnb_error e = {{0}};
  cr_assert_eq(nnb_graph_status(&g, &e), NNB_OK, "%s", e.msg);
  const nnb_node *n = &g.nodes[0];
  for (int i = 0; i < n->n_out; i++) nnb_graph_mark_output(&g, n->out[i]);
  nnb_session s[2];
  nnb_backend *bs[2] = {ref, ob};
  for (int k = 0; k < 2; k++) {
    cr_assert_eq(nnb_session_create(bs[k], &g, &s[k], &e), NNB_OK, "%s", e.msg);
    for (int i = 0; i < n_in; i++) {
      int64_t cnt = nnb_numel(&g.tensors[in[i]]);
      /* Adam's second moment and step count must be non-negative */
      float *v =
          tu_rand(100 + (uint64_t)i, (size_t)cnt, op == NNB_OP_ADAM && i >= 3 ? 0.0f : -1.0f, 1.0f);
      cr_assert_eq(nnb_session_upload(&s[k], in[i], v, &e), NNB_OK, "%s", e.msg);
      free(v);
    }
    cr_assert_eq(nnb_session_run(&s[k], &e), NNB_OK, "%s: %s", nnb_op_name(op), e.msg);
  }
  int n_cmp = 0, cmp[NNB_MAX_IN + NNB_MAX_OUT];
  for (int i = 0; i < n->n_out; i++) cmp[n_cmp++] = n->out[i];
  if (nnb_op_is_update(op))
    for (int i = 0; i < n_in; i++)
      if (i != 1) cmp[n_cmp++] = in[i]; /* everything but the gradient is written */
  for (int c = 0; c < n_cmp; c++) {
    int64_t cnt = nnb_numel(&g.tensors[cmp[c]]);
    float *a = malloc((size_t)cnt * sizeof *a), *b = malloc((size_t)cnt * sizeof *b);
    cr_assert_eq(nnb_session_download(&s[0], cmp[c], a, &e), NNB_OK, "%s", e.msg);
    cr_assert_eq(nnb_session_download(&s[1], cmp[c], b, &e), NNB_OK, "%s", e.msg);
    double err = mr_nmse(b, a, cnt);
    cr_expect_leq(err, tol, "%s, tensor %d: NMSE %.3g", nnb_op_name(op), c, err);
    free(a), free(b);
  }
  nnb_session_free(&s[0]), nnb_session_free(&s[1]);
  nnb_graph_free(&g);
}

void bc_lstm_case(nnb_backend *ref, nnb_backend *b, int64_t batch, int64_t t, int64_t i,
                  int64_t h) {
  const int64_t sh[5][4] = {{batch, t, i}, {4 * h, i}, {4 * h, h}, {4 * h}, {4 * h}};
  nnb_attr none = {0};
  bc_big_case(ref, b, NNB_OP_LSTM, sh, (int[]){3, 2, 2, 1, 1}, 5, &none, 1e-6);
  /* its backward on seeded stand-ins for y and the gates' cache */
  const int64_t shb[6][4] = {{batch, t, h}, {batch, t, i}, {4 * h, i},
                             {4 * h, h},    {batch, t, h}, {batch, t, 5 * h}};
  bc_big_case(ref, b, NNB_OP_LSTM_BWD, shb, (int[]){3, 3, 2, 2, 3, 3}, 6, &none, 1e-6);
}
