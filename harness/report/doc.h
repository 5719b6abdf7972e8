/* A small document model for reports: headings, paragraphs, bullet lists,
 * command lines, tables and figures, printed as Markdown or as a
 * self-contained HTML page. Both printers walk the same blocks, so the two
 * formats always hold the same content. */
#ifndef NNB_DOC_H
#define NNB_DOC_H

#include <nnbench/status.h>

typedef struct nnb_doc nnb_doc;

nnb_doc *nnb_doc_new(const char *title);
void nnb_doc_free(nnb_doc *d);

void nnb_doc_heading(nnb_doc *d, int level, const char *text); /* level 2 or 3 */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void nnb_doc_text(nnb_doc *d, const char *fmt, ...); /* a paragraph */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void nnb_doc_item(nnb_doc *d, const char *fmt, ...); /* consecutive items form one list */
void nnb_doc_code(nnb_doc *d, const char *text); /* a command line, verbatim */

/* Starts a table; align holds one letter per column: 'l' text, 'r' numbers. */
void nnb_doc_table(nnb_doc *d, int ncols, const char *const *head, const char *align);
/* Adds a row of ncols cells to the last table. */
void nnb_doc_row(nnb_doc *d, const char *const *cells);

/* A figure: alt names it, caption explains it; png and svg are links
 * relative to the document; svg_file is the SVG on disk, inlined into the
 * HTML page. */
void nnb_doc_figure(nnb_doc *d, const char *alt, const char *caption, const char *png,
                    const char *svg, const char *svg_file);

/* The document as text (malloc'd), or NULL when out of memory (or, for
 * HTML, when a figure's SVG cannot be read; e names it). */
char *nnb_doc_markdown(const nnb_doc *d);
char *nnb_doc_html(const nnb_doc *d, nnb_error *e);

#endif
