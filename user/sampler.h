/* sampler: a BPF perf_event program on every CPU's software CPU clock (this
 * machine has no hardware PMU), at a given period. */
#ifndef NODETAP_SAMPLER_H
#define NODETAP_SAMPLER_H

#include <stdint.h>
#include <bpf/libbpf.h>

struct nt_samplers {
	struct bpf_link **links;   /* one per online CPU */
	int n;
};

/* Open a PERF_COUNT_SW_CPU_CLOCK event on each online CPU with PERIOD_NS
 * and attach PROG to it. Returns 0, or NT_EXIT_RUNTIME after saying on
 * stderr ("nodetap CMD: ...") why no CPU could be sampled. A CPU that is
 * offline is skipped. */
int nt_samplers_open(const char *cmd, struct bpf_program *prog, uint64_t period_ns,
		     struct nt_samplers *out);
void nt_samplers_close(struct nt_samplers *s);

#endif
