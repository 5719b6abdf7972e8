#include "train.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

nnb_status nnb_train(const nnb_train_config *c, nnb_backend *b, const nnb_dataset *train,
                     const nnb_dataset *test, nnb_weights *w, FILE *loss_csv, nnb_train_cb cb,
                     void *user, nnb_error *e) {
  int64_t steps = train->n / c->batch;
  if (steps < 1)
    return nnb_fail(e, NNB_ERR_INVALID, "%lld training samples do not fill one batch of %d",
                    (long long)train->n, c->batch);
  nnb_input_shape in = {train->c, train->h, train->w, train->classes};
  nnb_model m;
  nnb_status st = nnb_model_build(&c->spec, &in, c->batch, 1, &m, e);
  if (st != NNB_OK) return st;
  st = nnb_autodiff(&m.g, m.loss, &c->opt, NULL, e);
  nnb_session s = {0};
  if (st == NNB_OK) st = nnb_session_create(b, &m.g, &s, e);
  if (st != NNB_OK) {
    nnb_model_free(&m);
    return st;
  }
  int64_t per = (int64_t)train->c * train->h * train->w;
  float *x = malloc((size_t)(c->batch * per) * sizeof *x);
  int32_t *y = malloc((size_t)c->batch * sizeof *y);
  int64_t *order = malloc((size_t)train->n * sizeof *order);
  if (!x || !y || !order) st = nnb_fail(e, NNB_ERR_NOMEM, "out of memory");
  if (st == NNB_OK) st = nnb_weights_to_session(&m, &s, w, e);
  if (loss_csv) fprintf(loss_csv, "epoch,step,samples,loss\n");
  double t_start = now_s();
  for (int ep = 1; st == NNB_OK && ep <= c->epochs; ep++) {
    for (int64_t i = 0; i < train->n; i++) order[i] = i;
    nnb_shuffle(order, train->n, c->seed + (uint64_t)ep); /* a new order each epoch, replayable */
    double t_epoch = now_s();
    for (int64_t step = 1; st == NNB_OK && step <= steps; step++) {
      nnb_dataset_gather(train, order + (step - 1) * c->batch, c->batch, x, y);
      float loss = 0;
      st = nnb_session_upload(&s, m.x, x, e);
      if (st == NNB_OK) st = nnb_session_upload(&s, m.labels, y, e);
      if (st == NNB_OK) st = nnb_session_run(&s, e);
      if (st == NNB_OK) st = nnb_session_download(&s, m.loss, &loss, e);
      if (st != NNB_OK) break;
      if (loss_csv)
        fprintf(loss_csv, "%d,%lld,%lld,%.7g\n", ep, (long long)step,
                (long long)(((ep - 1) * steps + step) * c->batch), (double)loss);
      double now = now_s(), done = (double)((ep - 1) * steps + step);
      nnb_train_progress p = {ep, c->epochs, step, steps, loss, 0, 0, 0, 0, 0};
      p.samples_per_s = (double)(step * c->batch) / (now - t_epoch);
      p.eta_s = (now - t_start) / done * ((double)c->epochs * (double)steps - done);
      if (cb) cb(&p, user);
    }
    if (st == NNB_OK) st = nnb_weights_from_session(&m, &s, w, e);
    if (st == NNB_OK && test) {
      nnb_eval_result r;
      st = nnb_evaluate(&c->spec, b, w, test, c->eval_batch, &r, e);
      if (st == NNB_OK && cb) {
        nnb_train_progress p = {ep, c->epochs, steps, steps, 0, 0, 0, 1, r.accuracy, r.mean_loss};
        cb(&p, user);
      }
      nnb_eval_result_free(&r);
    }
  }
  free(x), free(y), free(order);
  nnb_session_free(&s);
  nnb_model_free(&m);
  return st;
}
