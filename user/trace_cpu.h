/* trace_cpu: `nodetap trace -F HZ`, CPU samples on the timeline.
 * bpf/profile.bpf.c (the sampler of `nodetap profile`, on every CPU's
 * clock, sampler.h) with emit_samples, filtered by trace's process filter
 * and writing into trace's ring buffer (both maps shared), its samples and
 * stacks kept and named as `profile` does (samplekeep.h), and written at
 * the end through chrometrace.h: "P" events on the same clock, processes
 * and threads as the rest of the trace, pointing into "stackFrames". */
#ifndef NODETAP_TRACE_CPU_H
#define NODETAP_TRACE_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "chrome_trace.h"
#include "options.h"
#include "sampler.h"
#include "samplekeep.h"

struct profile_bpf;

struct nt_trace_cpu {
	struct profile_bpf *skel;
	struct nt_samplers samplers;
	struct nt_symbolizer *sym;
	struct nt_samplekeep keep;
	unsigned hz;
	uint64_t written;         /* samples written */
};

/* Load and start sampling at HZ, filtered by TRACED_PIDS and writing into
 * EVENTS (trace's maps, loaded already). Returns 0 or an exit code after
 * saying why. */
int nt_trace_cpu_start(struct nt_trace_cpu *t, const struct nt_opts *o, unsigned hz,
		       struct bpf_map *traced_pids, struct bpf_map *events);
/* A record of trace's ring buffer: true when it was a sample or a new stack
 * of the sampler's. */
bool nt_trace_cpu_record(struct nt_trace_cpu *t, const void *data, size_t len);
/* After the last other event: the samples, then the stack frames (which
 * close the document's event list). Returns 0 or -ENOMEM. */
int nt_trace_cpu_write(struct nt_trace_cpu *t, struct nt_ctrace *ct, uint64_t start_ns,
		       uint64_t end_ns);
/* What the BPF side lost, by enum nt_loss, plus samples not kept. */
const unsigned long long *nt_trace_cpu_losses(const struct nt_trace_cpu *t);
void nt_trace_cpu_stop(struct nt_trace_cpu *t);

#endif
