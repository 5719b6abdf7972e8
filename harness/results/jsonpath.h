/* Reading values out of a parsed results document: a missing key or a value
 * of the wrong type reads as "" or NaN, so printers can show a gap instead of
 * failing on a record from an older or partial run. */
#ifndef NNB_JSONPATH_H
#define NNB_JSONPATH_H

#include <cjson/cJSON.h>

/* The item at a dotted path ("memory.by_role_bytes.parameter"), or NULL. */
cJSON *nnb_json_at(const cJSON *o, const char *path);
/* The string at path, or "" when absent or not a string. */
const char *nnb_json_str(const cJSON *o, const char *path);
/* The number at path, or NaN when absent or not a number. */
double nnb_json_num(const cJSON *o, const char *path);

#endif
