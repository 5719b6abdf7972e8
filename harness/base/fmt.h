/* Formatting into a fixed-size buffer without cutting: text that does not
 * fit is an error naming the limit, never a shortened path or spec. */
#ifndef NNB_FMT_H
#define NNB_FMT_H

#include <stddef.h>

#include <nnbench/status.h>

/* snprintf into buf; when the text needs len bytes or more, buf is left
 * empty and e says "<what> is longer than <len-1> characters: '<start>...'"
 * (NNB_ERR_INVALID). */
nnb_status nnb_format(char *buf, size_t len, nnb_error *e, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
