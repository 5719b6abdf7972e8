/* Running gnuplot: finding the program and the templates, writing a plot's
 * data file and driver script, and drawing it into PNG and SVG files. */
#ifndef NNB_GNUPLOT_H
#define NNB_GNUPLOT_H

#include <stdio.h>

#include <nnbench/status.h>

typedef struct nnb_gnuplot {
  char program[1024];   /* $NNBENCH_GNUPLOT, or "gnuplot" looked up on PATH */
  char templates[1024]; /* the folder of the templates (nnb_plot_templates_dir) */
} nnb_gnuplot;

/* Finds gnuplot (5.2 or newer: the templates use its string functions) and
 * the templates. The error names the program, the variable that overrides
 * it and the script that installs it. */
nnb_status nnb_gnuplot_open(nnb_gnuplot *g, nnb_error *e);

/* Writes plots_dir/data/NAME.dat (data) and plots_dir/data/NAME.gp (a driver
 * that sets the variables `vars`, then loads templates/common.gp and
 * templates/NAME.gp once per format), runs gnuplot on it, and renames the
 * outputs into plots_dir/NAME.png and NAME.svg. plots_dir must be absolute.
 * Fails with gnuplot's stderr when gnuplot does. */
nnb_status nnb_gnuplot_draw(const nnb_gnuplot *g, const char *plots_dir, const char *name,
                            const char *vars, const char *data, nnb_error *e);

/* Appends s to f as a gnuplot string expression that expands nothing: a
 * single-quoted string ('' for a quote), control characters joined on as
 * "\ooo" escapes. */
void nnb_gnuplot_quote(FILE *f, const char *s);

#endif
