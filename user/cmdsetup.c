#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cmdsetup.h"

int nt_load_skeleton(const struct nt_opts *o, struct bpf_object_skeleton *skel)
{
	int err = bpf_object__load_skeleton(skel);

	if (err) {
		fprintf(stderr, "nodetap %s: loading the BPF programs failed: %s "
			"(NODETAP_LIBBPF_DEBUG=1 shows the verifier's log)\n", o->cmd, strerror(-err));
		return NT_EXIT_RUNTIME;
	}
	return 0;
}

int nt_follow_forks(const struct nt_opts *o, struct bpf_program *fork_prog,
		    struct bpf_link **link)
{
	*link = bpf_program__attach(fork_prog);
	if (!*link) {
		fprintf(stderr, "nodetap %s: attaching raw tracepoint sched_process_fork: %s\n",
			o->cmd, strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	return 0;
}

int nt_session_open_events(struct nt_session *s, struct bpf_map *events,
			   ring_buffer_sample_fn fn, void *ctx)
{
	s->rb = ring_buffer__new(bpf_map__fd(events), fn, ctx, NULL);
	if (!s->rb) {
		fprintf(stderr, "nodetap %s: ring buffer: %s\n", s->o->cmd, strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	return 0;
}
