/* nnbench train: trains a reference model on one backend, writes the
 * checkpoint (safetensors, PyTorch's names) and the loss curve (CSV). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buildinfo.h"
#include "cli.h"
#include "options.h"
#include "record.h"
#include "results.h"
#include "train.h"

static const char about[] =
    "Trains model M (mlp, cnn, lstm, transformer, with presets and sizes as\n"
    "'transformer:d=256,layers=4,heads=8') on backend B, evaluating the test set after\n"
    "each epoch. Defaults follow PyTorch: Adam, lr 1e-3, betas (0.9, 0.999), eps 1e-8,\n"
    "batch 32, PyTorch-default initialisation, a seeded shuffle each epoch.\n"
    "Progress goes to stderr: one updating line on a terminal, plain lines otherwise.";

typedef struct progress_state {
  int tty;
  int64_t last_line_step; /* plain lines: every tenth of an epoch */
  double last_draw_s;     /* terminal: redrawn at most ten times a second */
  cJSON *epochs;
} progress_state;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void on_progress(const nnb_train_progress *p, void *user) {
  progress_state *ps = user;
  if (p->epoch_done) {
    fprintf(stderr, "%sepoch %d/%d: test accuracy %.4f, test loss %.4f\n",
            ps->tty ? "\r\033[K" : "", p->epoch, p->epochs, p->test_accuracy, p->test_loss);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "epoch", p->epoch);
    cJSON_AddNumberToObject(o, "test_accuracy", p->test_accuracy);
    cJSON_AddNumberToObject(o, "test_loss", p->test_loss);
    cJSON_AddItemToArray(ps->epochs, o);
    return;
  }
  int last = p->step == p->steps;
  if (ps->tty) {
    double now = now_s();
    if (!last && p->step > 1 && now - ps->last_draw_s < 0.1) return;
    ps->last_draw_s = now;
  } else {
    if (!last && p->step - ps->last_line_step < (p->steps + 9) / 10) return;
    ps->last_line_step = last ? 0 : p->step;
  }
  char eta[32];
  if (p->eta_s >= 60)
    snprintf(eta, sizeof eta, "%dm%02ds", (int)(p->eta_s / 60), (int)fmod(p->eta_s, 60));
  else
    snprintf(eta, sizeof eta, "%.0fs", p->eta_s);
  fprintf(stderr, "%sepoch %d/%d step %lld/%lld loss %.4f %.0f samples/s ETA %s%s",
          ps->tty ? "\r\033[K" : "", p->epoch, p->epochs, (long long)p->step, (long long)p->steps,
          p->loss, p->samples_per_s, eta, ps->tty ? "" : "\n");
}

/* The folder is created below, with the one an explicit --out names. */
static void default_out(const char *model, const char *backend, char *buf, size_t len) {
  char stamp[32];
  nnb_utc_now("%Y%m%dT%H%M%SZ", stamp, sizeof stamp);
  char kind[32];
  snprintf(kind, sizeof kind, "%s", model);
  kind[strcspn(kind, ":")] = 0;
  snprintf(buf, len, "results/checkpoints/%s-%s-%s.safetensors", kind, backend, stamp);
}

int cmd_train(int argc, char **argv) {
  const char *model = NULL, *backend = NULL, *dataset, *out = NULL, *optname;
  nnb_train_config c = {.eval_batch = 256};
  c.opt = (nnb_opt_config){NNB_OPT_ADAM, 1e-3f, 0.9f, 0.9f, 0.999f, 1e-8f};
  double lr, momentum;
  unsigned long long seed_arg;
  int limit, threads, json = 0;
  cli_kv backend_opts;
  cli_option opts[] = {
      {"--model", "M", CLI_STR, &model, NULL, "the model (required)"},
      {"--backend", "B", CLI_STR, &backend, NULL, "the backend (required)"},
      CLI_BACKEND_OPT(&backend_opts),
      {"--epochs", "N", CLI_INT, &c.epochs, "1", "passes over the training set"},
      {"--batch", "N", CLI_INT, &c.batch, "32", "samples per step"},
      {"--lr", "X", CLI_POS_NUM, &lr, "0.001", "learning rate"},
      {"--optimizer", "adam|sgd", CLI_CHOICE, &optname, "adam", "the update"},
      {"--momentum", "X", CLI_NUM, &momentum, "0.9", "SGD momentum"},
      {"--seed", "N", CLI_U64, &seed_arg, "1", "seed of initialisation and shuffle"},
      {"--limit", "N", CLI_INT, &limit, "0", "use only the first N training samples, 0 for all"},
      {"--dataset", "SPEC", CLI_STR, &dataset, "fashion-mnist",
       "fashion-mnist, mnist:DIR, cifar10:DIR, synthetic:..."},
      {"--threads", "N", CLI_INT, &threads, "0", "backend threads, 0 for its own default"},
      {"--out", "FILE", CLI_STR, &out, NULL,
       "checkpoint path (default results/checkpoints/M-B-<UTC>.safetensors);\n"
       "the loss curve goes next to it as FILE.loss.csv"},
      {"--json", NULL, CLI_FLAG, &json, NULL, "print the summary as JSON on stdout"},
  };
  cli_spec spec = CLI_SPEC("train", about, opts);
  int rc = cli_parse(&spec, argc, argv);
  if (rc >= 0) return rc;
  c.opt.lr = (float)lr;
  c.opt.momentum = (float)momentum;
  c.seed = seed_arg;
  if (!model || !backend) return cli_usage_error("train", "--model and --backend are required");
  if (c.epochs < 1 || c.batch < 1)
    return cli_usage_error("train", "--epochs and --batch must be >= 1");
  if (!strcmp(optname, "sgd")) c.opt.kind = NNB_OPT_SGD;

  nnb_error e = {{0}};
  if (nnb_model_parse(model, &c.spec, &e) != NNB_OK) return cli_usage_error("train", "%s", e.msg);
  char outbuf[512], csv[600];
  if (out && strlen(out) >= sizeof outbuf) /* csv has room for its suffix */
    return cli_usage_error("train", "--out: a path longer than %zu characters", sizeof outbuf - 1);
  if (!out) {
    default_out(model, backend, outbuf, sizeof outbuf);
    out = outbuf;
  }
  /* Before hours of training: the folder the checkpoint goes to must exist. */
  char parent[512];
  snprintf(parent, sizeof parent, "%s", out);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    if (nnb_mkdir_p(parent, &e) != NNB_OK) {
      fprintf(stderr, "nnbench train: --out %s: %s\n", out, e.msg);
      return 1;
    }
  }
  snprintf(csv, sizeof csv, "%.*s.loss.csv",
           (int)(strlen(out) > 12 && !strcmp(out + strlen(out) - 12, ".safetensors")
                     ? strlen(out) - 12
                     : strlen(out)),
           out);

  nnb_dataset train = {0}, test = {0};
  nnb_backend b = {0};
  nnb_weights w = {0};
  nnb_backend_config cfg = {.threads = (int)threads, .options = backend_opts.text};
  FILE *f = NULL; /* the loss curve, in memory until the run succeeds: no file to leave behind */
  char *curve = NULL;
  size_t curve_len = 0;
  nnb_status st = nnb_dataset_open(dataset, 0, limit, &train, &e);
  if (st == NNB_OK) st = nnb_dataset_open(dataset, 1, 0, &test, &e);
  if (st == NNB_OK) st = nnb_backend_open(backend, &cfg, &b, &e);
  nnb_model probe;
  int have_probe = 0;
  nnb_input_shape in = {train.c, train.h, train.w, train.classes};
  if (st == NNB_OK && (st = nnb_model_build(&c.spec, &in, c.batch, 0, &probe, &e)) == NNB_OK) {
    have_probe = 1;
    st = nnb_weights_init(&probe, c.seed, &w, &e);
    fprintf(stderr,
            "training %s (%lld parameters) on %s: %lld samples of %s (crc32 %08x), %d epoch(s), "
            "batch %d, %s lr %g, seed %llu\n",
            c.spec.text, (long long)nnb_model_param_count(&probe), backend, (long long)train.n,
            train.name, (unsigned)train.checksum, c.epochs, c.batch, optname, (double)c.opt.lr,
            (unsigned long long)c.seed);
  }
  if (st == NNB_OK && !(f = open_memstream(&curve, &curve_len)))
    st = nnb_fail(&e, NNB_ERR_NOMEM, "out of memory for the loss curve");
  progress_state ps = {isatty(STDERR_FILENO), 0, 0, cJSON_CreateArray()};
  if (st == NNB_OK) st = nnb_train(&c, &b, &train, &test, &w, f, on_progress, &ps, &e);
  if (f && fclose(f) && st == NNB_OK) st = nnb_fail(&e, NNB_ERR_NOMEM, "out of memory");
  if (st == NNB_OK) {
    char epochs[16], seed[32], acc[32], batch[16], crc[16], samples[32];
    cJSON *last = cJSON_GetArrayItem(ps.epochs, cJSON_GetArraySize(ps.epochs) - 1);
    snprintf(epochs, sizeof epochs, "%d", c.epochs);
    snprintf(batch, sizeof batch, "%d", c.batch);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c.seed);
    snprintf(crc, sizeof crc, "%08x", (unsigned)train.checksum);
    snprintf(samples, sizeof samples, "%lld", (long long)train.n);
    snprintf(acc, sizeof acc, "%.4f",
             last ? cJSON_GetObjectItem(last, "test_accuracy")->valuedouble : 0);
    const char *const meta[][2] = {{"model", c.spec.text},
                                   {"backend", backend},
                                   {"dataset", train.name},
                                   {"dataset_crc32", crc},
                                   {"train_samples", samples},
                                   {"epochs", epochs},
                                   {"batch", batch},
                                   {"optimizer", optname},
                                   {"seed", seed},
                                   {"test_accuracy", acc},
                                   {"nnbench_version", nnb_version()},
                                   {"nnbench_commit", nnb_git_commit()}};
    st = nnb_weights_save(&probe, &w, out, meta, (int)(sizeof meta / sizeof meta[0]), &e);
  }
  if (st == NNB_OK) st = nnb_write_file_atomic(csv, curve, &e);
  free(curve);
  if (st == NNB_OK) {
    fprintf(stderr, "checkpoint: %s\nloss curve: %s\n", out, csv);
    if (json) {
      cJSON *doc = cJSON_CreateObject();
      cJSON_AddStringToObject(doc, "model", c.spec.text);
      cJSON_AddStringToObject(doc, "backend", backend);
      cJSON_AddStringToObject(doc, "dataset", train.name);
      char crc[16];
      snprintf(crc, sizeof crc, "%08x", (unsigned)train.checksum);
      cJSON_AddStringToObject(doc, "dataset_crc32", crc);
      cJSON_AddNumberToObject(doc, "train_samples", (double)train.n);
      cJSON_AddNumberToObject(doc, "batch", c.batch);
      cJSON_AddNumberToObject(doc, "seed", (double)c.seed);
      cJSON_AddStringToObject(doc, "checkpoint", out);
      cJSON_AddStringToObject(doc, "loss_csv", csv);
      cJSON_AddItemToObject(doc, "epochs", ps.epochs);
      ps.epochs = NULL;
      cli_print_json(doc);
    }
  } else {
    fprintf(stderr, "%snnbench train: %s\n", ps.tty ? "\n" : "", e.msg);
  }
  cJSON_Delete(ps.epochs);
  if (have_probe) nnb_model_free(&probe);
  nnb_weights_free(&w);
  if (b.vt) nnb_backend_close(&b);
  nnb_dataset_free(&train);
  nnb_dataset_free(&test);
  return st == NNB_OK ? 0 : 1;
}
