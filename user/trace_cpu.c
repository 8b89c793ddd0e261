/* trace_cpu: see trace_cpu.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "chrometrace.h"
#include "common.h"
#include "profile.h"
#include "profile.skel.h"
#include "trace_cpu.h"

#define STACK_ENTRIES 16384   /* distinct stacks (user and kernel), as profile's */

int nt_trace_cpu_start(struct nt_trace_cpu *t, const struct nt_opts *o, unsigned hz,
		       struct bpf_map *traced_pids, struct bpf_map *events)
{
	int err;

	t->hz = hz;
	t->sym = nt_symbolizer_for(o);
	t->skel = profile_bpf__open();
	if (!t->sym || !t->skel) {
		fprintf(stderr, "nodetap trace: -F: opening the BPF object: %s\n", strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	t->skel->rodata->filter_pids = true;
	t->skel->rodata->emit_samples = true;
	bpf_map__set_max_entries(t->skel->maps.stacks, STACK_ENTRIES);
	bpf_map__set_max_entries(t->skel->maps.offcpu_stacks, 1);
	bpf_map__set_max_entries(t->skel->maps.offcpu_start, 1);
	bpf_program__set_autoload(t->skel->progs.profile_offcpu, false);
	/* trace's processes, and trace's one ordered stream of records. */
	bpf_map__set_max_entries(t->skel->maps.events, bpf_map__max_entries(events));
	if ((err = bpf_map__reuse_fd(t->skel->maps.traced_pids, bpf_map__fd(traced_pids))) ||
	    (err = bpf_map__reuse_fd(t->skel->maps.events, bpf_map__fd(events)))) {
		fprintf(stderr, "nodetap trace: -F: sharing trace's maps: %s\n", strerror(-err));
		return NT_EXIT_RUNTIME;
	}
	if ((err = profile_bpf__load(t->skel))) {
		fprintf(stderr, "nodetap trace: -F: loading the BPF programs failed: %s "
			"(NODETAP_LIBBPF_DEBUG=1 shows the verifier's log)\n", strerror(-err));
		return NT_EXIT_RUNTIME;
	}
	t->keep.sym = t->sym;
	t->keep.stacks_fd = bpf_map__fd(t->skel->maps.stacks);
	return nt_samplers_open("trace", t->skel->progs.profile_sample, 1000000000ULL / hz,
				&t->samplers);
}

bool nt_trace_cpu_record(struct nt_trace_cpu *t, const void *data, size_t len)
{
	return nt_sk_record(&t->keep, data, len);
}

int nt_trace_cpu_write(struct nt_trace_cpu *t, struct nt_ctrace *ct, uint64_t start_ns,
		       uint64_t end_ns)
{
	struct nt_profile p = { .start_ns = start_ns, .end_ns = end_ns, .freq_hz = t->hz };
	struct nt_ptree tree;
	int err;

	if ((err = nt_sk_add_samples(&t->keep, &p)) || (err = nt_ptree_build(&p, &tree))) {
		nt_profile_free(&p);
		return err;
	}
	nt_chrometrace_samples(ct, &p, &tree);
	nt_chrometrace_frames(ct, &tree);
	t->written = p.nsamples;
	nt_ptree_free(&tree);
	nt_profile_free(&p);
	return 0;
}

const unsigned long long *nt_trace_cpu_losses(const struct nt_trace_cpu *t)
{
	return t->skel->bss->nt_losses;
}

void nt_trace_cpu_stop(struct nt_trace_cpu *t)
{
	nt_samplers_close(&t->samplers);
	profile_bpf__destroy(t->skel);
	t->skel = NULL;
	nt_sk_free(&t->keep);
	nt_symbolizer_free(t->sym);
	t->sym = NULL;
}
