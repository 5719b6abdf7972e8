/* The scaling of data-parallel training over MPI ranks (bench --ranks):
 * efficiency against ranks, strong and weak. */
#include <ctype.h>
#include <string.h>

#include "jsonpath.h"
#include "plot_data.h"

int nnb_pl_ranks(const nnb_pl *p, const cJSON *doc, FILE *v, FILE *d, char *why, size_t len) {
  (void)p;
  const cJSON *dist = cJSON_GetObjectItemCaseSensitive(doc, "distributed");
  const cJSON *runs = cJSON_GetObjectItemCaseSensitive(dist, "runs"), *row;
  const char *const kinds[] = {"strong", "weak"};
  int max_ranks = 0, rows = 0;
  for (int k = 0; k < 2; k++) {
    fprintf(d, "# %s scaling: ranks, efficiency, allreduce share\n", kinds[k]);
    cJSON_ArrayForEach(row, runs) {
      const cJSON *scaling = cJSON_GetObjectItemCaseSensitive(row, "scaling");
      double ranks = nnb_json_num(row, "ranks"), eff = nnb_json_num(row, "efficiency");
      if (!cJSON_IsString(scaling) || strcmp(scaling->valuestring, kinds[k]) || !(ranks >= 1) ||
          !(eff >= 0) || ranks > 1e6)
        continue;
      fprintf(d, "%.0f %.6g %.6g\n", ranks, eff, nnb_json_num(row, "allreduce_share"));
      if (ranks > max_ranks) max_ranks = (int)ranks;
      rows++;
    }
    fprintf(d, "\n\n");
  }
  if (max_ranks < 2) {
    snprintf(why, len, "no data-parallel training on two ranks or more (bench --ranks)");
    return 0;
  }
  char title[400];
  const cJSON *mpi = cJSON_GetObjectItemCaseSensitive(doc, "mpi");
  const char *model = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dist, "model"));
  const char *backend = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(dist, "backend"));
  snprintf(title, sizeof title, "%s on %s, batch %.0f, %.0f host(s)", model ? model : "?",
           backend ? backend : "?", nnb_json_num(dist, "batch"),
           (double)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(mpi, "hosts")));
  for (char *c = title; *c; c++)
    if (*c == '\'' || *c == '"') *c = ' '; /* inside a gnuplot string */
  char name[64];
  snprintf(name, sizeof name, "%s", backend ? backend : "?");
  for (char *c = name; *c; c++)
    if (!isalnum((unsigned char)*c)) *c = '_'; /* a gnuplot variable's name: color_NAME */
  fprintf(v, "max_ranks = %d\nrows = %d\nranks_title = '%s'\nranks_backend = '%s'\n", max_ranks,
          rows, title, name);
  return 1;
}
