/* chrometrace: a profile's samples as Chrome trace event JSON (the
 * "JSON Object Format" of the Trace Event Format, read by chrome://tracing
 * and catapult's trace viewer): one "P" (sample) event per sample at its
 * time (microseconds of CLOCK_MONOTONIC, the clock of every nodetap
 * timestamp, so it lines up with other nodetap records), on its process
 * and thread, pointing with "sf" at its stack in "stackFrames"; process and
 * thread names as "M" metadata events. */
#ifndef NODETAP_CHROMETRACE_H
#define NODETAP_CHROMETRACE_H

#include <stdio.h>
#include "stackprof.h"

/* Write the samples of P to F. Returns 0 or -errno. */
int nt_chrometrace_write(FILE *f, const struct nt_profile *p);

#endif
