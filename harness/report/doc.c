#include "doc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { B_HEADING, B_TEXT, B_ITEM, B_CODE, B_TABLE, B_FIGURE } btype;

typedef struct block {
  btype type;
  int level;
  char *text;                       /* heading, text, item, code; a figure's caption */
  char *alt, *png, *svg, *svg_file; /* a figure */
  int ncols, nrows;                 /* a table: cells[(row) * ncols + col], row 0 the head */
  char *align;
  char **cells;
} block;

struct nnb_doc {
  char *title;
  block *b;
  int n, cap;
  int oom; /* an allocation failed: the printers give NULL */
};

static char *dup(nnb_doc *d, const char *s) {
  char *c = strdup(s ? s : "");
  d->oom |= !c;
  return c;
}

nnb_doc *nnb_doc_new(const char *title) {
  nnb_doc *d = calloc(1, sizeof *d);
  if (d) d->title = dup(d, title);
  return d;
}

void nnb_doc_free(nnb_doc *d) {
  if (!d) return;
  for (int i = 0; i < d->n; i++) {
    block *b = &d->b[i];
    free(b->text), free(b->alt), free(b->png), free(b->svg), free(b->svg_file), free(b->align);
    for (int c = 0; b->cells && c < (b->nrows + 1) * b->ncols; c++) free(b->cells[c]);
    free(b->cells);
  }
  free(d->b);
  free(d->title);
  free(d);
}

static block *add(nnb_doc *d, btype t) {
  if (d->n == d->cap) {
    int cap = d->cap ? 2 * d->cap : 32;
    block *b = realloc(d->b, (size_t)cap * sizeof *b);
    if (!b) {
      d->oom = 1;
      return NULL;
    }
    d->b = b, d->cap = cap;
  }
  block *b = &d->b[d->n++];
  memset(b, 0, sizeof *b);
  b->type = t;
  return b;
}

void nnb_doc_heading(nnb_doc *d, int level, const char *text) {
  block *b = add(d, B_HEADING);
  if (!b) return;
  b->level = level;
  b->text = dup(d, text);
}

static void add_text(nnb_doc *d, btype t, const char *fmt, va_list ap) {
  block *b = add(d, t);
  if (b && vasprintf(&b->text, fmt, ap) < 0) {
    b->text = NULL;
    d->oom = 1;
  }
}

void nnb_doc_text(nnb_doc *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_text(d, B_TEXT, fmt, ap);
  va_end(ap);
}

void nnb_doc_item(nnb_doc *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  add_text(d, B_ITEM, fmt, ap);
  va_end(ap);
}

void nnb_doc_code(nnb_doc *d, const char *text) {
  block *b = add(d, B_CODE);
  if (b) b->text = dup(d, text);
}

void nnb_doc_table(nnb_doc *d, int ncols, const char *const *head, const char *align) {
  block *b = add(d, B_TABLE);
  if (!b) return;
  b->ncols = ncols;
  b->align = dup(d, align);
  b->cells = calloc((size_t)ncols, sizeof *b->cells);
  if (!b->cells) {
    d->oom = 1;
    b->ncols = 0;
    return;
  }
  for (int c = 0; c < ncols; c++) b->cells[c] = dup(d, head[c]);
}

void nnb_doc_row(nnb_doc *d, const char *const *cells) {
  block *b = d->n ? &d->b[d->n - 1] : NULL;
  if (!b || b->type != B_TABLE || !b->ncols) return;
  char **grown = realloc(b->cells, (size_t)(b->nrows + 2) * b->ncols * sizeof *grown);
  if (!grown) {
    d->oom = 1;
    return;
  }
  b->cells = grown;
  b->nrows++;
  for (int c = 0; c < b->ncols; c++) b->cells[b->nrows * b->ncols + c] = dup(d, cells[c]);
}

void nnb_doc_figure(nnb_doc *d, const char *alt, const char *caption, const char *png,
                    const char *svg, const char *svg_file) {
  block *b = add(d, B_FIGURE);
  if (!b) return;
  b->alt = dup(d, alt);
  b->text = dup(d, caption);
  b->png = dup(d, png);
  b->svg = dup(d, svg);
  b->svg_file = dup(d, svg_file);
}

/* ---- Markdown ---------------------------------------------------------- */

/* Text from the results (names, warnings, cells): no line break, and every
 * character that could open an HTML tag or a link, start code or emphasis,
 * end a table cell or make a heading escaped, so it reads as written. */
static void md_text(FILE *f, const char *s) {
  for (const char *c = s; *c; c++) {
    if (*c == '\n' || *c == '\r') {
      fputc(' ', f);
      continue;
    }
    if (strchr("\\`*[]<>|&", *c) || (c == s && *c == '#')) fputc('\\', f);
    fputc(*c, f);
  }
}

/* A fenced block around text: the fence is longer than any run of
 * backquotes inside, so the text cannot close it. */
static void md_code(FILE *f, const char *s) {
  int run = 0, longest = 0;
  for (const char *c = s; *c; c++) {
    run = *c == '`' ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  int fence = longest < 3 ? 3 : longest + 1;
  for (int i = 0; i < fence; i++) fputc('`', f);
  fprintf(f, "\n%s\n", s);
  for (int i = 0; i < fence; i++) fputc('`', f);
  fputc('\n', f);
}

static void md_table(FILE *f, const block *b) {
  for (int r = 0; r <= b->nrows; r++) {
    for (int c = 0; c < b->ncols; c++) {
      fputs(c ? " | " : "| ", f);
      md_text(f, b->cells[r * b->ncols + c]);
    }
    fputs(" |\n", f);
    if (r == 0)
      for (int c = 0; c < b->ncols; c++)
        fputs(c == b->ncols - 1 ? (b->align[c] == 'r' ? "|---:|\n" : "|---|\n")
                                : (b->align[c] == 'r' ? "|---:" : "|---"),
              f);
  }
}

char *nnb_doc_markdown(const nnb_doc *d) {
  if (d->oom) return NULL;
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f) return NULL;
  fputs("# ", f);
  md_text(f, d->title);
  fputc('\n', f);
  for (int i = 0; i < d->n; i++) {
    const block *b = &d->b[i];
    int list_start = b->type == B_ITEM && (i == 0 || d->b[i - 1].type != B_ITEM);
    if (b->type != B_ITEM || list_start) fputc('\n', f);
    switch (b->type) {
    case B_HEADING:
      fprintf(f, "%.*s ", b->level, "####");
      md_text(f, b->text);
      fputc('\n', f);
      break;
    case B_TEXT:
      md_text(f, b->text);
      fputc('\n', f);
      break;
    case B_ITEM:
      fputs("- ", f);
      md_text(f, b->text);
      fputc('\n', f);
      break;
    case B_CODE: md_code(f, b->text); break;
    case B_TABLE: md_table(f, b); break;
    case B_FIGURE:
      fprintf(f, "![%s](%s)\n\n%s ([SVG](%s))\n", b->alt, b->png, b->text, b->svg);
      break;
    }
  }
  fclose(f);
  return out;
}

/* ---- HTML ------------------------------------------------------------- */

static void html_text(FILE *f, const char *s) {
  for (; *s; s++) switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(*s, f);
    }
}

static char *read_text(const char *path, nnb_error *e) {
  FILE *f = fopen(path, "rb");
  if (!f) return nnb_fail(e, NNB_ERR_IO, "cannot read %s: %s", path, strerror(errno)), NULL;
  char *text = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&text, &len);
  char buf[65536];
  for (size_t n; m && (n = fread(buf, 1, sizeof buf, f)) > 0;) fwrite(buf, 1, n, m);
  fclose(f);
  if (m) fclose(m);
  if (!text) nnb_fail(e, NNB_ERR_NOMEM, "out of memory reading %s", path);
  return text;
}

/* Inlines an SVG from its <svg> element on, with its ids prefixed so the
 * figures of one page do not share ids. */
static nnb_status html_svg(FILE *f, const char *path, int fig, nnb_error *e) {
  char *text = read_text(path, e);
  if (!text) return NNB_ERR_IO;
  const char *s = strstr(text, "<svg");
  if (!s || !strstr(s, "</svg>")) {
    free(text);
    return nnb_fail(e, NNB_ERR_FORMAT, "%s: not an SVG file (no <svg> element)", path);
  }
  static const char *const refs[] = {" id='", " id=\"", "href='#", "href=\"#", "url(#"};
  while (*s) {
    size_t i = 0, n = 0;
    for (; i < sizeof refs / sizeof *refs; i++)
      if (!strncmp(s, refs[i], n = strlen(refs[i]))) break;
    if (i == sizeof refs / sizeof *refs) {
      fputc(*s++, f);
      continue;
    }
    fprintf(f, "%.*sfig%d-", (int)n, s, fig);
    s += n;
  }
  free(text);
  return NNB_OK;
}

static const char *const css =
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;"
    "color:#222;line-height:1.45}\n"
    "table{border-collapse:collapse;margin:1rem 0;font-size:0.9rem}\n"
    "th,td{border:1px solid #ccc;padding:0.25rem 0.5rem;vertical-align:top}\n"
    "th{background:#f0f0f0}tr:nth-child(even) td{background:#fafafa}\n"
    "td.r{text-align:right;font-variant-numeric:tabular-nums}\n"
    "pre{background:#f5f5f5;padding:0.5rem;overflow-x:auto}\n"
    "figure{margin:1.5rem 0}figure svg{width:100%;height:auto}\n"
    "figcaption{font-size:0.9rem;color:#444}\n";

static void html_table(FILE *f, const block *b) {
  fputs("<table>\n<tr>", f);
  for (int c = 0; c < b->ncols; c++) {
    fputs("<th>", f);
    html_text(f, b->cells[c]);
    fputs("</th>", f);
  }
  fputs("</tr>\n", f);
  for (int r = 1; r <= b->nrows; r++) {
    fputs("<tr>", f);
    for (int c = 0; c < b->ncols; c++) {
      fputs(b->align[c] == 'r' ? "<td class=\"r\">" : "<td>", f);
      html_text(f, b->cells[r * b->ncols + c]);
      fputs("</td>", f);
    }
    fputs("</tr>\n", f);
  }
  fputs("</table>\n", f);
}

char *nnb_doc_html(const nnb_doc *d, nnb_error *e) {
  if (d->oom) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory building the report"), NULL;
  char *out = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&out, &len);
  if (!f) return nnb_fail(e, NNB_ERR_NOMEM, "out of memory"), NULL;
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", f);
  html_text(f, d->title);
  fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>", css);
  html_text(f, d->title);
  fputs("</h1>\n", f);
  nnb_status st = NNB_OK;
  for (int i = 0; i < d->n && st == NNB_OK; i++) {
    const block *b = &d->b[i];
    switch (b->type) {
    case B_HEADING:
      fprintf(f, "<h%d>", b->level);
      html_text(f, b->text);
      fprintf(f, "</h%d>\n", b->level);
      break;
    case B_TEXT:
      fputs("<p>", f);
      html_text(f, b->text);
      fputs("</p>\n", f);
      break;
    case B_ITEM:
      if (i == 0 || d->b[i - 1].type != B_ITEM) fputs("<ul>\n", f);
      fputs("<li>", f);
      html_text(f, b->text);
      fputs("</li>\n", f);
      if (i + 1 == d->n || d->b[i + 1].type != B_ITEM) fputs("</ul>\n", f);
      break;
    case B_CODE:
      fputs("<pre><code>", f);
      html_text(f, b->text);
      fputs("</code></pre>\n", f);
      break;
    case B_TABLE: html_table(f, b); break;
    case B_FIGURE:
      fputs("<figure role=\"img\" aria-label=\"", f);
      html_text(f, b->alt);
      fputs("\">\n", f);
      st = html_svg(f, b->svg_file, i, e);
      fputs("\n<figcaption>", f);
      html_text(f, b->text);
      fputs(" (<a href=\"", f);
      html_text(f, b->png);
      fputs("\">PNG</a>)</figcaption>\n</figure>\n", f);
      break;
    }
  }
  fputs("</body>\n</html>\n", f);
  fclose(f);
  if (st != NNB_OK) {
    free(out);
    return NULL;
  }
  return out;
}
