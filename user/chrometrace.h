/* chrometrace: a profile's samples as Chrome trace event JSON (the
 * "JSON Object Format" of the Trace Event Format, read by chrome://tracing
 * and catapult's trace viewer): one "P" (sample) event per sample at its
 * time (microseconds of CLOCK_MONOTONIC, the clock of every nodetap
 * timestamp, so it lines up with other nodetap records), on its process
 * and thread, pointing with "sf" at its stack in "stackFrames"; process and
 * thread names as "M" metadata events. Written through chrome_trace.h,
 * the one writer of the format (nodetap trace uses it too). */
#ifndef NODETAP_CHROMETRACE_H
#define NODETAP_CHROMETRACE_H

#include <stdint.h>
#include <stdio.h>
#include "chrome_trace.h"
#include "stackprof.h"

/* Write the samples of P to F; LOST: samples taken but not in P (said in
 * otherData.lost_events). Returns 0 or -errno. */
int nt_chrometrace_write(FILE *f, const struct nt_profile *p, uint64_t lost);

/* The same on a writer CT that holds other events too (nodetap trace -F):
 * the samples of P as "P" events pointing at the nodes of T (P's call
 * tree, nt_ptree_build), then, after the last event of the document, the
 * "stackFrames" they point at. */
void nt_chrometrace_samples(struct nt_ctrace *ct, const struct nt_profile *p,
			    const struct nt_ptree *t);
void nt_chrometrace_frames(struct nt_ctrace *ct, const struct nt_ptree *t);

#endif
