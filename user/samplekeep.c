/* samplekeep: see samplekeep.h. Moved out of profile.c so that `nodetap
 * trace -F` keeps and names samples the same way. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "profile.h"
#include "samplekeep.h"
#include "stackfmt.h"

/* Maps re-read (~0.1 ms for a node process) at most this often, however
 * many new stacks have a frame in no known mapping (garbage frames). */
#define REREAD_MIN_NS 10000000ULL
/* Naming new stacks as they come: at most 30 ms of every 100 ms. */
#define EAGER_WINDOW_NS 100000000ULL
#define EAGER_BUDGET_NS 30000000ULL

/* Name the frames of a new stack now, while the process is alive: that
 * opens its perf map and re-reads its mappings for JIT code newer than the
 * snapshot, which a process that has exited by the report (-- COMMAND) no
 * longer allows. The names are cached. */
static void name_now(struct nt_samplekeep *k, const struct nt_new_stack_event *ns)
{
	unsigned long long ips[NT_MAX_STACK_DEPTH];
	uint64_t t0 = nt_now_ns();
	bool reread = false;
	int n;

	/* Within a budget: on a host where many new processes keep coming
	 * (default mode), naming every new stack at once could take longer
	 * than the samples take to arrive, and the loader would never get
	 * back to its clock (-d, reports). Past it, stacks are named at the
	 * report, as for any process. */
	if (t0 - k->eager_window_ns >= EAGER_WINDOW_NS) {
		k->eager_window_ns = t0;
		k->eager_spent_ns = 0;
	}
	if (k->eager_spent_ns >= EAGER_BUDGET_NS)
		return;
	n = nt_stack_read(k->stacks_fd, ns->stack_id, ips);
	for (int i = 0; i < n; i++) {
		struct nt_frame fr;

		nt_symbolize_user(k->sym, (int)ns->pid, ips[i], &fr);
		/* In no mapping: the snapshot is older than that code (or than
		 * an exec); the symbolizer re-reads at most once a second, and
		 * a short COMMAND is gone by then. */
		if (fr.kind == NT_FRAME_UNKNOWN && !reread &&
		    nt_now_ns() - k->last_reread_ns >= REREAD_MIN_NS) {
			reread = true;
			k->last_reread_ns = nt_now_ns();
			nt_symbolizer_reread_maps(k->sym, (int)ns->pid);
			nt_symbolize_user(k->sym, (int)ns->pid, ips[i], &fr);
		}
	}
	k->eager_spent_ns += nt_now_ns() - t0;
}

bool nt_sk_record(struct nt_samplekeep *k, const void *data, size_t len)
{
	const struct profile_sample_event *ev = data;
	struct nt_sk_sample *r;

	if (nt_note_new_stack(k->sym, data, len)) {
		name_now(k, data);
		return true;
	}
	if (len < sizeof(*ev) || ev->type != PROFILE_EV_SAMPLE)
		return false;
	if (k->nraw == k->capraw) {
		size_t cap = k->capraw ? k->capraw * 2 : 4096;

		if (k->capraw >= NT_SK_MAX_KEPT || !(r = realloc(k->raw, cap * sizeof(*r)))) {
			k->dropped++;
			return true;
		}
		k->raw = r;
		k->capraw = cap;
	}
	r = &k->raw[k->nraw++];
	r->time_ns = ev->time_ns;
	r->pid = (pid_t)ev->pid;
	r->tid = (pid_t)ev->tid;
	r->cpu = (int)ev->cpu;
	r->user_stack = ev->user_stack;
	r->kernel_stack = ev->kernel_stack;
	memcpy(r->thread, ev->comm, sizeof(r->thread));
	return true;
}

static int raw_cmp(const void *pa, const void *pb)
{
	const struct nt_sk_sample *a = pa, *b = pb;

	return a->time_ns < b->time_ns ? -1 : a->time_ns > b->time_ns;
}

int nt_sk_add_samples(struct nt_samplekeep *k, struct nt_profile *p)
{
	qsort(k->raw, k->nraw, sizeof(*k->raw), raw_cmp);
	p->samples = calloc(k->nraw ? k->nraw : 1, sizeof(*p->samples));
	if (!p->samples)
		return -ENOMEM;
	for (size_t i = 0; i < k->nraw; i++) {
		const struct nt_sk_sample *r = &k->raw[i];
		long s = nt_profile_find(p, r->pid, r->user_stack, r->kernel_stack);

		if (s < 0) {
			struct nt_pcount pc = { .pid = r->pid, .user_stack = r->user_stack,
						.kernel_stack = r->kernel_stack, .comm = r->thread };

			s = nt_profile_add(p, k->sym, k->stacks_fd, &pc);
			if (s < 0)
				return -ENOMEM;
		}
		p->samples[p->nsamples++] = (struct nt_psample){
			.time_ns = r->time_ns, .pid = r->pid, .tid = r->tid, .cpu = r->cpu,
			.stack = (size_t)s,
		};
		memcpy(p->samples[p->nsamples - 1].thread, r->thread, sizeof(r->thread));
	}
	return 0;
}

void nt_sk_free(struct nt_samplekeep *k)
{
	free(k->raw);
	k->raw = NULL;
	k->nraw = k->capraw = 0;
}
