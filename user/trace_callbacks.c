/* trace_callbacks: see trace_callbacks.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "callbacks.skel.h"
#include "escape.h"
#include "trace_callbacks.h"

static int place(struct nt_trace_cb *t, const struct nt_target *target, int bi)
{
	struct nt_targets one = { .t = (struct nt_target *)target, .n = 1 };
	struct nt_probe_spec specs[2 * NT_CB_ROLES];
	uint64_t cookies[2 * NT_CB_ROLES];
	int roles[2 * NT_CB_ROLES], res0 = t->probes.nres;
	int ns = nt_cbs_specs(&t->cbs, bi, t->skel->progs.cb_enter, t->skel->progs.cb_return,
			      specs, cookies, roles);

	nt_probes_place_cookies(&t->probes, specs, cookies, ns, &one);
	for (int i = res0; i < t->probes.nres && i - res0 < ns; i++)
		if (!t->probes.res[i].err && roles[i - res0] == NT_CB_ROLE_ASYNCWRAP)
			t->attached = true;
	return 0;
}

int nt_trace_cb_start(struct nt_trace_cb *t, const struct nt_targets *targets,
		      struct bpf_map *traced_pids, struct bpf_map *events, bool verbose)
{
	int err;

	t->skel = callbacks_bpf__open();
	if (!t->skel) {
		fprintf(stderr, "nodetap trace: --callbacks: opening the BPF object: %s\n",
			strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	t->skel->rodata->filter_pids = true;
	t->skel->rodata->trace_events = true;
	/* No stacks and no per-kind counters: only the records. */
	bpf_map__set_max_entries(t->skel->maps.stacks, 1);
	bpf_map__set_max_entries(t->skel->maps.stack_seen, 1);
	bpf_map__set_max_entries(t->skel->maps.cb_stats, 1);
	/* trace's process filter: the processes it traces, their children,
	 * and (without -p) node processes as its probes find them. */
	if ((err = bpf_map__reuse_fd(t->skel->maps.traced_pids, bpf_map__fd(traced_pids)))) {
		fprintf(stderr, "nodetap trace: --callbacks: sharing the process filter: %s\n",
			strerror(-err));
		return NT_EXIT_RUNTIME;
	}
	/* trace's ring buffer: one stream in the order the records were
	 * made, so that a lookup or connect always comes before its callback
	 * (node reuses a wrap's address for the next request at once: two
	 * buffers read one after the other, 0.1 s apart, mixed them up). */
	bpf_map__set_max_entries(t->skel->maps.events, bpf_map__max_entries(events));
	if ((err = bpf_map__reuse_fd(t->skel->maps.events, bpf_map__fd(events)))) {
		fprintf(stderr, "nodetap trace: --callbacks: sharing the ring buffer: %s\n",
			strerror(-err));
		return NT_EXIT_RUNTIME;
	}
	if ((err = callbacks_bpf__load(t->skel))) {
		fprintf(stderr, "nodetap trace: --callbacks: loading the BPF programs failed: %s "
			"(NODETAP_LIBBPF_DEBUG=1 shows the verifier's log)\n", strerror(-err));
		return NT_EXIT_RUNTIME;
	}
	int *tbin = calloc((size_t)(targets->n ? targets->n : 1), sizeof(int));

	if (!tbin) {
		fprintf(stderr, "nodetap trace: out of memory\n");
		return NT_EXIT_RUNTIME;
	}
	for (int i = 0; i < targets->n; i++)
		tbin[i] = nt_cbs_bin_of(&t->cbs, &targets->t[i]);
	if ((err = nt_cbs_fill_maps(&t->cbs, bpf_map__fd(t->skel->maps.bins),
				    bpf_map__fd(t->skel->maps.kind_of)))) {
		fprintf(stderr, "nodetap trace: --callbacks: filling the BPF maps: %s\n", strerror(-err));
		free(tbin);
		return NT_EXIT_RUNTIME;
	}
	t->exit_link = bpf_program__attach(t->skel->progs.cb_exit);
	if (!t->exit_link) {
		fprintf(stderr, "nodetap trace: --callbacks: attaching raw tracepoint "
			"sched_process_exit: %s\n", strerror(errno));
		free(tbin);
		return NT_EXIT_RUNTIME;
	}
	for (int i = 0; i < targets->n; i++) {
		if (tbin[i] < 0) {
			fprintf(stderr, "nodetap trace: --callbacks: ");
			nt_fputs_escaped(stderr, targets->t[i].path, 4096);
			fprintf(stderr, ": no callbacks (more than %d node binaries, or out of memory)\n",
				NT_CB_MAX_BINARIES);
			continue;
		}
		place(t, &targets->t[i], tbin[i]);
		if (!t->cbs.bins[tbin[i]].aw.provider_off && t->cbs.bins[tbin[i]].opened &&
		    t->cbs.bins[tbin[i]].aw.fn[NT_AW_MAKECALLBACK_FN].found) {
			fprintf(stderr, "nodetap trace: --callbacks: ");
			nt_fputs_escaped(stderr, targets->t[i].path, 4096);
			fprintf(stderr, ": provider type not found (%s): callbacks are named \"?\" "
				"and not linked to their connect\n", t->cbs.bins[tbin[i]].aw.why);
		}
	}
	free(tbin);
	nt_probes_report(&t->probes, "trace", false, verbose);
	if (!t->attached)
		fprintf(stderr, "nodetap trace: --callbacks: no probe on node::AsyncWrap::MakeCallback "
			"could be placed: %s\n", targets->n ? "see the reasons above" :
			"no node binary found (name one with --binary, or -p)");
	return 0;
}

const char *nt_trace_cb_kind(const struct nt_trace_cb *t, unsigned int kind)
{
	return nt_cbs_kind_name(&t->cbs, kind);
}

const unsigned long long *nt_trace_cb_losses(const struct nt_trace_cb *t)
{
	return t->skel->bss->nt_losses;
}

void nt_trace_cb_stop(struct nt_trace_cb *t)
{
	nt_probes_destroy(&t->probes);
	bpf_link__destroy(t->exit_link);
	t->exit_link = NULL;
	callbacks_bpf__destroy(t->skel);
	t->skel = NULL;
	nt_cbs_free(&t->cbs);
}
