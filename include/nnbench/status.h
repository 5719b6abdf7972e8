/* Status codes and the error buffer every nnbench function fills. */
#ifndef NNBENCH_STATUS_H
#define NNBENCH_STATUS_H

#include <stdarg.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum nnb_status {
  NNB_OK = 0,
  NNB_ERR_INVALID,     /* bad argument or bad input data */
  NNB_ERR_SHAPE,       /* shapes do not fit an op */
  NNB_ERR_UNSUPPORTED, /* a backend cannot run an op */
  NNB_ERR_IO,          /* a file could not be read or written */
  NNB_ERR_FORMAT,      /* a file is malformed */
  NNB_ERR_NOMEM,       /* host or device memory exhausted */
  NNB_ERR_BACKEND,     /* a backend library failed */
  NNB_ERR_UNAVAILABLE  /* a plugin or device is not present */
} nnb_status;

/* A message a person can act on: what failed, where, and what was expected. */
typedef struct nnb_error {
  char msg[1024];
} nnb_error;

/* Fills `e` (which may be NULL) and returns `s`, so callers can write
 * `return nnb_fail(e, NNB_ERR_INVALID, "...", ...);`. Header-inline so that
 * plugins, which link nothing of nnbench, can use it too. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline nnb_status
nnb_fail(nnb_error *e, nnb_status s, const char *fmt, ...) {
  if (e) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
  }
  return s;
}

static inline const char *nnb_status_name(nnb_status s) {
  switch (s) {
  case NNB_OK: return "ok";
  case NNB_ERR_INVALID: return "invalid argument";
  case NNB_ERR_SHAPE: return "shape mismatch";
  case NNB_ERR_UNSUPPORTED: return "unsupported";
  case NNB_ERR_IO: return "i/o error";
  case NNB_ERR_FORMAT: return "format error";
  case NNB_ERR_NOMEM: return "out of memory";
  case NNB_ERR_BACKEND: return "backend error";
  case NNB_ERR_UNAVAILABLE: return "unavailable";
  }
  return "unknown status";
}

#ifdef __cplusplus
}
#endif
#endif
