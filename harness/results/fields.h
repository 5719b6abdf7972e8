/* The fields of a results record, in one table that every flat view reads:
 * results.csv (its columns, in table order), the console table after a run,
 * and the report's tables. A field added here reaches all three. */
#ifndef NNB_FIELDS_H
#define NNB_FIELDS_H

#include <cjson/cJSON.h>
#include <stddef.h>

typedef enum nnb_field_type {
  NNB_FIELD_TEXT,
  NNB_FIELD_INT,
  NNB_FIELD_NUM,
  NNB_FIELD_BOOL
} nnb_field_type;

/* What a number measures, so that each view can show it in its own unit. */
typedef enum nnb_field_unit {
  NNB_UNIT_NONE,
  NNB_UNIT_SECONDS,
  NNB_UNIT_FRACTION, /* 0.05 is 5% */
  NNB_UNIT_BYTES,
  NNB_UNIT_THREADS, /* 0 is the backend's default */
  NNB_UNIT_ERROR    /* a small difference, shown to 3 significant digits */
} nnb_field_unit;

typedef struct nnb_field {
  const char *name; /* results.csv's column and the console's heading */
  const char *path; /* dotted path in the record ("summary.median_s"); NULL when derived */
  nnb_field_type type;
  nnb_field_unit unit;
  const char *heading; /* the report's heading */
  int in_csv;          /* a column of results.csv */
  /* When path is NULL, the field computed from others: a number returned,
   * or for a text field the text written into buf[len] (NaN returned). */
  double (*derive)(const cJSON *rec, char *buf, size_t len);
} nnb_field;

int nnb_field_count(void);
const nnb_field *nnb_field_at(int i);
/* The field called name; NULL when there is none. */
const nnb_field *nnb_field_named(const char *name);

/* The field's number in rec (derived or read), NaN when absent. */
double nnb_field_num(const nnb_field *f, const cJSON *rec);
/* The field as plain text, "" when absent: strings as they are (CSV-quoted
 * when csv is set), booleans as true/false, integers whole, other numbers
 * to 6 significant digits. */
void nnb_field_text(const nnb_field *f, const cJSON *rec, int csv, char *buf, size_t len);

/* The contender a case measured: its backend, with its options when it has
 * any ("onednn[layout=plain]"). The field "contender" shows it. */
void nnb_case_contender(const cJSON *rec, char *buf, size_t len);

#endif
