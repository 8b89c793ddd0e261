#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cpusampler.h"

int nt_cpu_samplers_open(struct nt_cpu_samplers *s, struct bpf_program *prog, uint64_t period_ns,
			 char *why, size_t whylen)
{
	int ncpu = libbpf_num_possible_cpus();
	int err = 0;

	memset(s, 0, sizeof(*s));
	if (ncpu <= 0) {
		snprintf(why, whylen, "cannot count the CPUs: %s", strerror(-ncpu));
		return ncpu ? ncpu : -ENODEV;
	}
	s->links = calloc((size_t)ncpu, sizeof(*s->links));
	if (!s->links) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
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
		s->links[s->n] = bpf_program__attach_perf_event(prog, fd);
		if (!s->links[s->n]) {
			err = errno;
			close(fd);
			continue;
		}
		s->n++;
	}
	if (!s->n) {
		snprintf(why, whylen, "perf_event_open(cpu-clock) or attaching to it: %s",
			 strerror(err ? err : ENODEV));
		nt_cpu_samplers_close(s);
		return -(err ? err : ENODEV);
	}
	return 0;
}

void nt_cpu_samplers_close(struct nt_cpu_samplers *s)
{
	/* Destroying a perf_event link closes its event too. */
	for (int i = 0; i < s->n; i++)
		bpf_link__destroy(s->links[i]);
	free(s->links);
	memset(s, 0, sizeof(*s));
}
