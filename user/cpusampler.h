/* cpusampler: a BPF perf_event program on every CPU's software CPU clock
 * (this VM has no hardware PMU), as `nodetap loop` and `nodetap monitor`
 * sample event loops. */
#ifndef NODETAP_CPUSAMPLER_H
#define NODETAP_CPUSAMPLER_H

#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>

struct nt_cpu_samplers {
	struct bpf_link **links;   /* one per online CPU */
	int n;
};

/* Open a PERF_COUNT_SW_CPU_CLOCK event with PERIOD_NS on every CPU (idle
 * excluded) and attach PROG to each. Offline CPUs are skipped. Returns 0 if
 * at least one CPU is sampled, else -errno with WHY set. */
int nt_cpu_samplers_open(struct nt_cpu_samplers *s, struct bpf_program *prog, uint64_t period_ns,
			 char *why, size_t whylen);
void nt_cpu_samplers_close(struct nt_cpu_samplers *s);

#endif
