/* The one table of result fields: results.csv's columns come from it, and a
 * field reads the same value for every view. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fields.h"
#include "results.h"

static const char *const case_json =
    "{\"model\":\"mlp\",\"backend\":\"reference\",\"threads\":0,\"batch\":4,"
    "\"reason\":\"a, \\\"quoted\\\" reason\",\"noisy\":true,"
    "\"summary\":{\"n\":12,\"median_s\":0.00125},"
    "\"memory\":{\"persistent_bytes\":1048576,\"arena_bytes\":2097152,"
    "\"backend_peak_bytes\":4194304}}";

Test(fields, names_are_unique_and_every_field_has_a_heading) {
  int n = nnb_field_count();
  cr_assert_gt(n, 30);
  for (int i = 0; i < n; i++) {
    const nnb_field *f = nnb_field_at(i);
    cr_expect(f->heading && *f->heading, "%s has a heading", f->name);
    cr_expect(f->path || f->derive, "%s is read or derived", f->name);
    cr_expect_eq(nnb_field_named(f->name), f, "%s is found by name", f->name);
  }
  cr_expect_null(nnb_field_at(n));
  cr_expect_null(nnb_field_named("no_such_field"));
}

Test(fields, text_and_numbers_read_from_the_record) {
  cJSON *rec = cJSON_Parse(case_json);
  cr_assert(rec);
  char buf[256];
  nnb_field_text(nnb_field_named("reason"), rec, 1, buf, sizeof buf);
  cr_expect_str_eq(buf, "\"a, \"\"quoted\"\" reason\"");
  nnb_field_text(nnb_field_named("reason"), rec, 0, buf, sizeof buf);
  cr_expect_str_eq(buf, "a, \"quoted\" reason");
  nnb_field_text(nnb_field_named("iterations"), rec, 1, buf, sizeof buf);
  cr_expect_str_eq(buf, "12");
  nnb_field_text(nnb_field_named("median_s"), rec, 1, buf, sizeof buf);
  cr_expect_str_eq(buf, "0.00125");
  nnb_field_text(nnb_field_named("noisy"), rec, 1, buf, sizeof buf);
  cr_expect_str_eq(buf, "true");
  nnb_field_text(nnb_field_named("gflops"), rec, 1, buf, sizeof buf);
  cr_expect_str_eq(buf, "", "an absent figure is an empty cell");
  cr_expect_float_eq(nnb_field_num(nnb_field_named("planned_bytes"), rec), 3145728.0, 1e-9);
  cr_expect_float_eq(nnb_field_num(nnb_field_named("beyond_plan_bytes"), rec), 1048576.0, 1e-9);
  cJSON_Delete(rec);
}

Test(fields, results_csv_has_the_csv_fields_in_table_order) {
  char dir[] = "/tmp/nnb-fields-XXXXXX", path[64], header[2048] = "", expect[2048] = "";
  cr_assert(mkdtemp(dir));
  cJSON *doc = cJSON_CreateObject(), *cases = cJSON_AddArrayToObject(doc, "cases");
  cJSON_AddItemToArray(cases, cJSON_Parse(case_json));
  nnb_error e;
  cr_assert_eq(nnb_results_write(dir, doc, &e), NNB_OK, "%s", e.msg);
  snprintf(path, sizeof path, "%s/results.csv", dir);
  FILE *f = fopen(path, "r");
  cr_assert(f && fgets(header, sizeof header, f));
  fclose(f);
  for (int i = 0; i < nnb_field_count(); i++)
    if (nnb_field_at(i)->in_csv)
      snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "%s%s", *expect ? "," : "",
               nnb_field_at(i)->name);
  strcat(expect, "\n");
  cr_expect_str_eq(header, expect);
  cr_expect(strstr(expect, "group,model,spec,backend,options,mode,batch,threads,status,reason,"),
            "the CSV starts with the case's identity: %s", expect);
  remove(path);
  snprintf(path, sizeof path, "%s/results.json", dir);
  remove(path);
  rmdir(dir);
  cJSON_Delete(doc);
}
