/* The cases of a results document as plots see them: each ok case with its
 * series (the backend with its options, and its thread count when a run has
 * several), its
 * model configuration (spec), mode and batch. Shared by the plot writers. */
#ifndef NNB_PLOT_DATA_H
#define NNB_PLOT_DATA_H

#include <cjson/cJSON.h>
#include <stdio.h>

#include <nnbench/status.h>

typedef struct nnb_pl_series {
  char backend[64]; /* the palette's key */
  char options[96]; /* the backend's options, part of the series' identity */
  int threads;
  char label[96]; /* the legend's text */
  int rank;       /* the backend's place in the document's backends[] */
} nnb_pl_series;

typedef struct nnb_pl_case {
  const cJSON *rec;
  int series, spec, train, batch;
} nnb_pl_case;

typedef struct nnb_pl {
  nnb_pl_case *cases;
  int ncases;
  nnb_pl_series *series; /* in the order of the document's backends[] */
  int nseries;
  const char **spec_key;  /* "spec" of the cases, in order of appearance */
  char (*spec_label)[96]; /* the model's name, or the spec when a model has several */
  int nspecs;
} nnb_pl;

/* Collects the ok cases (status "ok" with a summary) of doc. */
nnb_status nnb_pl_collect(const cJSON *doc, nnb_pl *p, nnb_error *e);
void nnb_pl_free(nnb_pl *p);

/* The first case of (series, spec, train, batch), or NULL. */
const nnb_pl_case *nnb_pl_find(const nnb_pl *p, int series, int spec, int train, int batch);
/* The largest batch of (spec, train) on any series, 0 when none. */
int nnb_pl_max_batch(const nnb_pl *p, int spec, int train);

/* Index of the series (backend, options, threads) in s[0..*n), added when new (s
 * must have room for one more). */
int nnb_pl_series_index(nnb_pl_series *s, int *n, const char *backend, const char *options,
                        int threads);
/* Writes the driver variables series_backend, series_label and series_hash
 * (one word per series; the hash picks a fallback colour for a backend the
 * palette does not name, the same in every plot and every run). */
void nnb_pl_series_vars(FILE *f, const nnb_pl_series *s, int n);

/* Appends s to f as a double-quoted gnuplot data word; a newline in s
 * breaks the label there. */
void nnb_pl_data_word(FILE *f, const char *s);

/* The driver variables of panel n (1-based): panel_title_n, and for plots
 * with one data block per series, panel_first_n (the index of the panel's
 * first block) and panel_series_n (the series numbers, 1-based, of its
 * blocks); first < 0 leaves those two out. */
void nnb_pl_panel_vars(FILE *v, int n, const char *title, int first, const char *series);

/* An empty list of series numbers with room for all of p's series
 * (malloc'd, NULL when out of memory), and one that appends series k as its
 * 1-based number. */
char *nnb_pl_series_list(const nnb_pl *p);
void nnb_pl_series_list_add(char *list, int k);

/* A plot's writer: puts the driver's variables in v and the figures in d,
 * and returns 1; or returns 0 with why filled when the results hold nothing
 * for that plot. */
typedef int nnb_pl_writer(const nnb_pl *p, const cJSON *doc, FILE *v, FILE *d, char *why,
                          size_t len);
nnb_pl_writer nnb_pl_throughput, nnb_pl_scaling, nnb_pl_latency, nnb_pl_roofline; /* plot_perf.c */
nnb_pl_writer nnb_pl_memory, nnb_pl_loss;                                         /* plot_mem.c */
nnb_pl_writer nnb_pl_vs_peer;                                                     /* plot_peer.c */
nnb_pl_writer nnb_pl_ranks;                                                       /* plot_ranks.c */

#endif
