/* The one option parser of the subcommands (options.h). */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define INT_LIMIT 1000000000ULL

static int is_positional(const cli_option *o) { return o->name[0] != '-'; }

/* What a kind of value must be, for the error that refuses one. */
static const char *expected(cli_kind k) {
  switch (k) {
  case CLI_U64:
  case CLI_INT: return "a non-negative integer";
  case CLI_POS_INT: return "a positive integer";
  case CLI_NUM: return "a finite non-negative number";
  case CLI_POS_NUM: return "a finite positive number";
  case CLI_PERCENT: return "a percentage such as 5%";
  case CLI_KV: return "KEY=VALUE (no commas; 255 characters in all)";
  default: return "a value";
  }
}

/* True when `word` is one of the '|'-separated words of `choices`. */
static int is_choice(const char *choices, const char *word) {
  size_t n = strlen(word);
  for (const char *p = choices; p; p = strchr(p, '|')) {
    p += *p == '|';
    if (!strncmp(p, word, n) && (p[n] == '|' || !p[n])) return 1;
  }
  return 0;
}

/* "a|b|c" as "a, b or c". */
static void choices_text(const char *choices, char *buf, size_t len) {
  size_t at = 0;
  for (const char *p = choices; *p && at + 5 < len; p++) {
    if (*p != '|') {
      buf[at++] = *p;
      continue;
    }
    const char *sep = strchr(p + 1, '|') ? ", " : " or ";
    at += (size_t)snprintf(buf + at, len - at, "%s", sep);
  }
  buf[at < len ? at : len - 1] = 0;
}

/* Stores text into o->dest by its kind; 0, or -1 when the text is not a
 * value of that kind. */
static int store(const cli_option *o, const char *text) {
  char *end;
  errno = 0;
  switch (o->kind) {
  case CLI_FLAG: *(int *)o->dest = 1; return 0;
  case CLI_STR: *(const char **)o->dest = text; return 0;
  case CLI_CHOICE:
    if (!is_choice(o->value, text)) return -1;
    *(const char **)o->dest = text;
    return 0;
  case CLI_U64:
  case CLI_INT:
  case CLI_POS_INT: {
    if (!*text || *text == '-') return -1;
    unsigned long long u = strtoull(text, &end, 10);
    if (errno || *end) return -1;
    if (o->kind == CLI_U64) {
      *(unsigned long long *)o->dest = u;
      return 0;
    }
    if (u > INT_LIMIT || (o->kind == CLI_POS_INT && u == 0)) return -1;
    *(int *)o->dest = (int)u;
    return 0;
  }
  case CLI_KV: {
    cli_kv *kv = o->dest;
    size_t used = strlen(kv->text), n = strlen(text);
    const char *eq = strchr(text, '=');
    if (!eq || eq == text || strchr(text, ',') || used + n + 2 > sizeof kv->text) return -1;
    snprintf(kv->text + used, sizeof kv->text - used, "%s%s", used ? "," : "", text);
    return 0;
  }
  case CLI_NUM:
  case CLI_POS_NUM:
  case CLI_PERCENT: {
    double d = strtod(text, &end);
    int pct = o->kind == CLI_PERCENT && !strcmp(end, "%");
    if (end == text || (*end && !pct) || errno || !isfinite(d) || d < 0) return -1;
    if (o->kind == CLI_POS_NUM && d == 0) return -1;
    if (o->kind == CLI_PERCENT) d /= 100.0;
    if (o->kind == CLI_PERCENT && d >= 10) return -1;
    *(double *)o->dest = d;
    return 0;
  }
  }
  return -1;
}

static int refuse(const cli_spec *spec, const cli_option *o, const char *text) {
  if (o->kind == CLI_CHOICE) {
    char words[256];
    choices_text(o->value, words, sizeof words);
    return cli_usage_error(spec->name, "%s must be %s, not '%s'", o->name, words, text);
  }
  return cli_usage_error(spec->name, "%s needs %s, got '%s'", o->name, expected(o->kind), text);
}

static int find(const cli_spec *spec, const char *name) {
  for (int i = 0; i < spec->n_opts; i++)
    if (!strcmp(spec->opts[i].name, name)) return i;
  return -1;
}

int cli_given(const cli_spec *spec, const char *name) {
  int i = find(spec, name);
  return i >= 0 && spec->seen[i];
}

int cli_parse(cli_spec *spec, int argc, char **argv) {
  if (spec->n_opts > CLI_MAX_OPTIONS)
    return cli_usage_error(spec->name, "more than %d options in the table", CLI_MAX_OPTIONS);
  memset(spec->seen, 0, sizeof spec->seen);
  for (int i = 0; i < spec->n_opts; i++) {
    const cli_option *o = &spec->opts[i];
    if (o->kind == CLI_KV) ((cli_kv *)o->dest)->text[0] = 0;
    if (o->def && store(o, o->def)) return refuse(spec, o, o->def);
  }
  if (cli_wants_help(argc, argv)) {
    cli_print_help(spec);
    return 0;
  }
  int next_positional = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int k = -1;
    if (a[0] == '-') {
      k = find(spec, a);
      if (k < 0 || is_positional(&spec->opts[k]))
        return cli_usage_error(spec->name, "unknown option '%s'", a);
    } else {
      for (; next_positional < spec->n_opts && k < 0; next_positional++)
        if (is_positional(&spec->opts[next_positional])) k = next_positional;
      if (k < 0) return cli_usage_error(spec->name, "unexpected argument '%s'", a);
    }
    const cli_option *o = &spec->opts[k];
    const char *v = is_positional(o) ? a : NULL;
    if (!is_positional(o) && o->kind != CLI_FLAG) {
      if (i + 1 >= argc) return cli_usage_error(spec->name, "option '%s' needs a value", a);
      v = argv[++i];
    }
    if (store(o, v)) return refuse(spec, o, v);
    spec->seen[k] = 1;
  }
  return -1;
}

void cli_print_help(const cli_spec *spec) {
  printf("usage: nnbench %s", spec->name);
  int n_flags = 0;
  for (int i = 0; i < spec->n_opts; i++) n_flags += !is_positional(&spec->opts[i]);
  for (int i = 0; i < spec->n_opts; i++)
    if (is_positional(&spec->opts[i])) printf(" %s", spec->opts[i].name);
  printf("%s\n\n%s\n", n_flags ? " [options]" : "", spec->about);
  if (!n_flags) return;
  int width = (int)strlen("-h, --help");
  char head[128];
  for (int pass = 0; pass < 2; pass++) {
    if (pass) printf("\noptions:\n");
    for (int i = 0; i < spec->n_opts; i++) {
      const cli_option *o = &spec->opts[i];
      if (is_positional(o)) continue;
      int n = snprintf(head, sizeof head, "%s%s%s", o->name, o->value ? " " : "",
                       o->value ? o->value : "");
      if (!pass) {
        width = n > width ? n : width;
        continue;
      }
      printf("  %-*s  ", width, head);
      for (const char *h = o->help; *h; h++) {
        putchar(*h);
        if (*h == '\n') printf("  %-*s  ", width, "");
      }
      if (o->def && o->kind != CLI_FLAG) printf(" (default %s)", o->def);
      if (o->kind == CLI_KV) printf(" (repeatable)");
      putchar('\n');
    }
  }
  printf("  %-*s  print this help\n", width, "-h, --help");
}
