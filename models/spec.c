/* Model specs: presets and "name:key=value,..." parsing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static const char *const kind_names[NNB_MODEL_COUNT] = {"mlp", "cnn", "lstm", "transformer"};

const char *nnb_model_kind_name(nnb_model_kind k) {
  return (unsigned)k < NNB_MODEL_COUNT ? kind_names[k] : "?";
}

typedef struct key {
  const char *name;
  size_t off;
  int min, max;
  const char *doc;
} key;

#define K(f, lo, hi, doc)                                                                          \
  { #f, offsetof(nnb_model_spec, f), lo, hi, doc }
static const key mlp_keys[] = {K(hidden, 1, 65536, "hidden width"),
                               K(layers, 1, 64, "hidden layers")};
static const key cnn_keys[] = {K(c1, 1, 4096, "conv1 channels"), K(c2, 1, 4096, "conv2 channels"),
                               K(c3, 1, 4096, "conv3 channels"), K(fc, 1, 65536, "fc1 width")};
static const key lstm_keys[] = {K(hidden, 1, 16384, "hidden size"),
                                K(layers, 1, 64, "stacked layers")};
static const key tf_keys[] = {K(d, 1, 16384, "model width"), K(layers, 1, 128, "encoder layers"),
                              K(heads, 1, 1024, "attention heads"),
                              K(ffn, 1, 65536, "feed-forward width")};
#undef K

static const key *keys_of(nnb_model_kind k, int *n) {
  switch (k) {
  case NNB_MODEL_MLP: *n = 2; return mlp_keys;
  case NNB_MODEL_CNN: *n = 4; return cnn_keys;
  case NNB_MODEL_LSTM: *n = 2; return lstm_keys;
  case NNB_MODEL_TRANSFORMER: *n = 4; return tf_keys;
  default: *n = 0; return NULL;
  }
}

static void canonical(nnb_model_spec *s) {
  int n;
  const key *keys = keys_of(s->kind, &n);
  size_t at = (size_t)snprintf(s->text, sizeof s->text, "%s:", kind_names[s->kind]);
  for (int i = 0; i < n && at < sizeof s->text; i++)
    at += (size_t)snprintf(s->text + at, sizeof s->text - at, "%s%s=%d", i ? "," : "", keys[i].name,
                           *(const int *)((const char *)s + keys[i].off));
}

nnb_status nnb_model_preset(nnb_model_kind k, const char *preset, nnb_model_spec *s, nnb_error *e) {
  memset(s, 0, sizeof *s);
  s->kind = k;
  int large = !strcmp(preset, "large");
  if (!large && strcmp(preset, "seed"))
    return nnb_fail(e, NNB_ERR_INVALID, "model %s: unknown preset '%s' (expected seed or large)",
                    nnb_model_kind_name(k), preset);
  snprintf(s->preset, sizeof s->preset, "%s", preset);
  /* `large` is about 100x the FLOPs per sample of `seed` (docs/models.md). */
  switch (k) {
  case NNB_MODEL_MLP: s->hidden = large ? 2816 : 128, s->layers = large ? 2 : 1; break;
  case NNB_MODEL_CNN:
    s->c1 = large ? 320 : 32, s->c2 = large ? 640 : 64, s->c3 = large ? 640 : 64;
    s->fc = large ? 640 : 64;
    break;
  case NNB_MODEL_LSTM: s->hidden = large ? 1280 : 128, s->layers = 2; break;
  case NNB_MODEL_TRANSFORMER:
    s->d = large ? 384 : 64, s->layers = large ? 4 : 2, s->heads = large ? 6 : 4;
    s->ffn = large ? 1536 : 128;
    break;
  default: return nnb_fail(e, NNB_ERR_INVALID, "unknown model kind %d", (int)k);
  }
  canonical(s);
  return NNB_OK;
}

nnb_status nnb_model_parse(const char *text, nnb_model_spec *s, nnb_error *e) {
  char buf[256];
  if (strlen(text) >= sizeof buf)
    return nnb_fail(e, NNB_ERR_INVALID, "model spec '%.40s...' is longer than %zu characters", text,
                    sizeof buf - 1);
  snprintf(buf, sizeof buf, "%s", text);
  char *params = strchr(buf, ':');
  if (params) *params++ = 0;
  nnb_model_kind k = NNB_MODEL_COUNT;
  for (int i = 0; i < NNB_MODEL_COUNT; i++)
    if (!strcmp(buf, kind_names[i])) k = (nnb_model_kind)i;
  if (k == NNB_MODEL_COUNT)
    return nnb_fail(e, NNB_ERR_INVALID,
                    "unknown model '%s' (expected mlp, cnn, lstm or transformer)", buf);
  int n;
  const key *keys = keys_of(k, &n);
  const char *preset = "seed";
  char *save = NULL;
  /* a preset, bare or as preset=NAME, may come first; sizes then override it */
  if (params) {
    char *first = params;
    size_t len = strcspn(first, ",");
    int named = !strncmp(first, "preset=", 7), is_key = 0;
    for (int i = 0; i < n; i++)
      is_key |= strlen(keys[i].name) == len && !strncmp(first, keys[i].name, len);
    if (named || (!memchr(first, '=', len) && !is_key)) {
      params = first[len] ? first + len + 1 : NULL;
      first[len] = 0;
      preset = named ? first + 7 : first;
    }
  }
  nnb_status st = nnb_model_preset(k, preset, s, e);
  if (st != NNB_OK) return st;
  for (char *tok = params ? strtok_r(params, ",", &save) : NULL; tok;
       tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    const key *found = NULL;
    if (eq) *eq = 0;
    for (int i = 0; i < n; i++)
      if (!strcmp(tok, keys[i].name)) found = &keys[i];
    if (!found) {
      char names[128] = "";
      for (int i = 0; i < n; i++)
        strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1),
            strncat(names, keys[i].name, sizeof names - strlen(names) - 1);
      return nnb_fail(e, NNB_ERR_INVALID, "model %s: unknown key '%s' (keys: %s)", kind_names[k],
                      tok, names);
    }
    char *end;
    errno = 0;
    long v = eq ? strtol(eq + 1, &end, 10) : 0;
    if (!eq || errno || *end || end == eq + 1 || v < found->min || v > found->max)
      return nnb_fail(e, NNB_ERR_INVALID,
                      "model %s: %s (%s) must be an integer in [%d, %d], got '%s'", kind_names[k],
                      found->name, found->doc, found->min, found->max, eq ? eq + 1 : "");
    *(int *)((char *)s + found->off) = (int)v;
  }
  if (k == NNB_MODEL_TRANSFORMER && s->d % s->heads)
    return nnb_fail(e, NNB_ERR_INVALID, "model transformer: heads=%d must divide d=%d", s->heads,
                    s->d);
  canonical(s);
  return NNB_OK;
}
