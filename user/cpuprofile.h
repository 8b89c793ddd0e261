/* cpuprofile: a profile as a Chrome DevTools .cpuprofile (the format of
 * node --cpu-prof and of the Performance panel's "Load profile"; speedscope
 * reads it too): the call tree as "nodes" (id, callFrame, hitCount,
 * children), every sample as the id of its node in "samples", the time
 * between samples in "timeDeltas", startTime and endTime, all times in
 * microseconds of CLOCK_MONOTONIC. */
#ifndef NODETAP_CPUPROFILE_H
#define NODETAP_CPUPROFILE_H

#include <stdio.h>
#include "stackprof.h"

/* Write P (with its samples; a profile without them has no timeline and
 * gets an empty one) to F. Returns 0 or -errno. */
int nt_cpuprofile_write(FILE *f, const struct nt_profile *p);

#endif
