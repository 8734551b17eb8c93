// SPDX-License-Identifier: GPL-2.0
/* The kddm tracepoints are instantiated here. */
#define CREATE_TRACE_POINTS
#include "trace.h"
