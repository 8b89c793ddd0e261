/* heatmap_events: bounded per-event records for --html (heatmap_events.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "heatmap_events.h"
#include "nodetap.h"
#include "stackfmt.h"

#define SLOTS (2 * NT_HME_MAX_STACKS)   /* a power of two, half full at most */

int nt_hme_init(struct nt_hm_events *e, size_t max)
{
	memset(e, 0, sizeof(*e));
	e->max = max;
	e->labels = calloc(NT_HME_MAX_LABELS, sizeof(*e->labels));
	e->lstats = calloc(NT_HME_MAX_LABELS, sizeof(*e->lstats));
	e->stacks.unit = "events";
	if (!e->labels || !e->lstats) {
		nt_hme_free(e);
		return -ENOMEM;
	}
	return 0;
}

void nt_hme_free(struct nt_hm_events *e)
{
	for (unsigned i = 0; i < e->nlabels; i++)
		free(e->labels[i]);
	free(e->labels);
	free(e->lstats);
	free(e->ev);
	nt_profile_free(&e->stacks);
	free(e->stack_ns);
	free(e->slot_key);
	free(e->slot_val);
	for (size_t i = 0; e->raw && i < NT_HME_MAX_STACKS; i++)
		free(e->raw[i].ips);
	free(e->raw);
	memset(e, 0, sizeof(*e));
}

/* The index of TEXT (escaped already), added if new; the last slot is
 * shared by every label beyond the bound. Returns -1 without memory. */
static long intern(struct nt_hm_events *e, const char *text)
{
	if (e->nlabels && !strcmp(e->labels[e->last], text))
		return e->last;
	for (unsigned i = 0; i < e->nlabels; i++)
		if (!strcmp(e->labels[i], text))
			return e->last = i;
	if (e->nlabels + 1 >= NT_HME_MAX_LABELS)
		text = "(more labels than nodetap keeps)";
	if (e->nlabels >= NT_HME_MAX_LABELS)
		return NT_HME_MAX_LABELS - 1;
	e->labels[e->nlabels] = strdup(text);
	if (!e->labels[e->nlabels])
		return -1;
	return e->last = e->nlabels++;
}

static void keep_raw(struct nt_hm_events *e, size_t idx, const struct nt_hme_stack *st);

/* The index of ST's stack in e->stacks, named and added when new; or
 * NT_HME_NO_STACK / NT_HME_STACK_NOT_KEPT. */
/* The hash key of ST for process PID, never 0 (an empty slot). A stack id
 * is unique in its map; frames carried by the event are keyed by a 64-bit
 * FNV-1a hash of them (two stacks of one process sharing one is a chance of
 * about n^2 / 2^64: at 4096 stacks, 1 in 10^12). */
static uint64_t stack_key(uint32_t pid, const struct nt_hme_stack *st)
{
	uint64_t h = 14695981039346656037ULL;

	if (st->nips <= 0)
		return ((uint64_t)pid << 32 | (uint32_t)st->stack_id) + 1;
	h = (h ^ pid) * 1099511628211ULL;
	for (int i = 0; i < st->nips; i++)
		h = (h ^ st->ips[i]) * 1099511628211ULL;
	return h | 1ULL << 63; /* apart from the stack-id keys, and never 0 */
}

static int32_t stack_of(struct nt_hm_events *e, uint32_t pid, const struct nt_hme_stack *st)
{
	uint64_t key = stack_key(pid, st);
	unsigned h = (unsigned)((key * 0x9e3779b97f4a7c15ULL) >> 40) & (SLOTS - 1);
	struct nt_pcount pc = { .pid = (pid_t)pid, .user_stack = st->stack_id, .kernel_stack = -1,
				.comm = st->comm ? st->comm : "?", .count = 0 };
	long idx;

	if (st->stack_id < 0 && st->nips <= 0)
		return NT_HME_NO_STACK;
	if (!e->slot_key) {
		e->slot_key = calloc(SLOTS, sizeof(*e->slot_key));
		e->slot_val = calloc(SLOTS, sizeof(*e->slot_val));
		e->stack_ns = calloc(NT_HME_MAX_STACKS, sizeof(*e->stack_ns));
		if (!e->slot_key || !e->slot_val || !e->stack_ns)
			return NT_HME_STACK_NOT_KEPT;
	}
	for (; e->slot_key[h]; h = (h + 1) & (SLOTS - 1))
		if (e->slot_key[h] == key)
			return (int32_t)e->slot_val[h];
	if (e->stacks.nstacks >= NT_HME_MAX_STACKS)
		return NT_HME_STACK_NOT_KEPT;
	/* Named now: the process may be gone by the time the report is
	 * written, and stack ids stay valid only while nothing reuses them. */
	idx = st->nips > 0 ? nt_profile_add_ips(&e->stacks, st->sym, &pc, st->ips, st->nips)
			   : nt_profile_add(&e->stacks, st->sym, st->fd, &pc);
	if (idx < 0)
		return NT_HME_STACK_NOT_KEPT;
	e->slot_key[h] = key;
	e->slot_val[h] = (uint32_t)idx;
	keep_raw(e, (size_t)idx, st);
	return (int32_t)idx;
}

static bool has_jit(const struct nt_pstack *s)
{
	for (int k = 0; k < s->nframes; k++)
		if (s->frames[k].kind == NT_PF_JIT)
			return true;
	return false;
}

/* Stack IDX has JIT frames without a name: keep its raw frames to name
 * them again later (best effort: without memory it keeps its [jit]). */
static void keep_raw(struct nt_hm_events *e, size_t idx, const struct nt_hme_stack *st)
{
	unsigned long long buf[NT_MAX_STACK_DEPTH];
	const unsigned long long *ips = st->ips;
	int n = st->nips;

	if (!has_jit(&e->stacks.stacks[idx]))
		return;
	if (n <= 0) {
		n = nt_stack_read(st->fd, st->stack_id, buf);
		ips = buf;
	}
	if (n > NT_MAX_STACK_DEPTH)
		n = NT_MAX_STACK_DEPTH;
	if (!e->raw && !(e->raw = calloc(NT_HME_MAX_STACKS, sizeof(*e->raw))))
		return;
	e->raw[idx].ips = malloc((size_t)(n ? n : 1) * sizeof(*ips));
	if (!e->raw[idx].ips)
		return;
	memcpy(e->raw[idx].ips, ips, (size_t)n * sizeof(*ips));
	e->raw[idx].n = n;
}

void nt_hme_rename_jit(struct nt_hm_events *e, struct nt_symbolizer *sym)
{
	for (size_t i = 0; e->raw && sym && i < e->stacks.nstacks; i++) {
		struct nt_hme_raw *r = &e->raw[i];

		if (!r->ips || nt_profile_rename(&e->stacks, i, sym, r->ips, r->n))
			continue;
		if (!has_jit(&e->stacks.stacks[i])) {
			free(r->ips);
			r->ips = NULL;
		}
	}
}

void nt_hme_add(struct nt_hm_events *e, uint64_t end_ns, uint64_t latency_ns, uint32_t pid,
		uint32_t tid, const char *label, size_t label_len, const char *status,
		const struct nt_hme_stack *st)
{
	char esc[1100];
	int32_t stack = NT_HME_NO_STACK;
	long l, s;

	if (!e->labels)
		return;
	nt_escape(label, label_len, esc, sizeof(esc));
	l = intern(e, esc);
	s = intern(e, status);
	if (l >= 0) {
		struct nt_hm_lstat *ls = &e->lstats[l];

		ls->n++;
		ls->total_ns += latency_ns;
		if (latency_ns > ls->max_ns)
			ls->max_ns = latency_ns;
	}
	if (st)
		stack = stack_of(e, pid, st);
	if (stack >= 0) {
		e->stacks.stacks[stack].count++;
		e->stacks.total++;
		e->stack_ns[stack] += latency_ns;
		e->with_stack++;
	} else if (stack == NT_HME_STACK_NOT_KEPT) {
		e->stacks_not_kept++;
	} else {
		e->no_stack++;
	}
	if (e->n >= e->max || l < 0 || s < 0) {
		e->not_kept++;
		return;
	}
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 1024;
		struct nt_hm_ev *p;

		if (cap > e->max)
			cap = e->max;
		p = realloc(e->ev, cap * sizeof(*p));
		if (!p) {
			e->not_kept++;
			return;
		}
		e->ev = p;
		e->cap = cap;
	}
	e->ev[e->n++] = (struct nt_hm_ev){ end_ns, latency_ns, pid, tid, (uint32_t)l, (uint32_t)s,
					   stack };
}
