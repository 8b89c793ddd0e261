/* sampler: see sampler.h. */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "options.h"
#include "sampler.h"

int nt_samplers_open(const char *cmd, struct bpf_program *prog, uint64_t period_ns,
		     struct nt_samplers *out)
{
	int ncpu = libbpf_num_possible_cpus();
	int err = 0;

	out->links = NULL;
	out->n = 0;
	if (ncpu <= 0) {
		fprintf(stderr, "nodetap %s: cannot count the CPUs: %s\n", cmd, strerror(-ncpu));
		return NT_EXIT_RUNTIME;
	}
	out->links = calloc((size_t)ncpu, sizeof(*out->links));
	if (!out->links) {
		fprintf(stderr, "nodetap %s: out of memory for %d samplers\n", cmd, ncpu);
		return NT_EXIT_RUNTIME;
	}
	for (int cpu = 0; cpu < ncpu; cpu++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.size = sizeof(attr),
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.sample_period = period_ns,
			.exclude_idle = 1,
		};
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

		if (fd < 0) {
			if (errno != ENODEV) /* ENODEV: an offline CPU */
				err = errno;
			continue;
		}
		/* The link owns fd from here: destroying it closes it. */
		out->links[out->n] = bpf_program__attach_perf_event(prog, fd);
		if (!out->links[out->n]) {
			err = errno;
			close(fd);
			continue;
		}
		out->n++;
	}
	if (!out->n) {
		fprintf(stderr, "nodetap %s: cannot sample the CPUs: perf_event_open(cpu-clock) or "
			"attaching to it: %s\n", cmd, strerror(err ? err : ENODEV));
		return NT_EXIT_RUNTIME;
	}
	return 0;
}

void nt_samplers_close(struct nt_samplers *s)
{
	for (int i = 0; i < s->n; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	s->links = NULL;
	s->n = 0;
}
