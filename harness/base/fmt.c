#include "fmt.h"

#include <stdarg.h>
#include <stdio.h>

nnb_status nnb_format(char *buf, size_t len, nnb_error *e, const char *what, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < len) return NNB_OK;
  char start[64] = "";
  va_start(ap, fmt);
  vsnprintf(start, sizeof start, fmt, ap); /* what it began with, for the message */
  va_end(ap);
  if (len) buf[0] = '\0';
  return nnb_fail(e, NNB_ERR_INVALID, "%s is longer than %zu characters: '%s...'", what,
                  len ? len - 1 : 0, start);
}
