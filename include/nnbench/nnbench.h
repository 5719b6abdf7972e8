/* Umbrella header for programs that embed nnbench. */
#ifndef NNBENCH_H
#define NNBENCH_H

#include "backend.h"
#include "graph.h"
#include "runtime.h"
#include "status.h"
#include "tensor.h"

#define NNB_VERSION_MAJOR 0
#define NNB_VERSION_MINOR 1
#define NNB_VERSION_PATCH 0
#define NNB_VERSION_STRING "0.1.0"

#endif
