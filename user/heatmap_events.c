/* heatmap_events: bounded per-event records for --html (heatmap_events.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "escape.h"
#include "heatmap_events.h"

int nt_hme_init(struct nt_hm_events *e, size_t max)
{
	memset(e, 0, sizeof(*e));
	e->max = max;
	e->labels = calloc(NT_HME_MAX_LABELS, sizeof(*e->labels));
	return e->labels ? 0 : -ENOMEM;
}

void nt_hme_free(struct nt_hm_events *e)
{
	for (unsigned i = 0; i < e->nlabels; i++)
		free(e->labels[i]);
	free(e->labels);
	free(e->ev);
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

void nt_hme_add(struct nt_hm_events *e, uint64_t end_ns, uint64_t latency_ns, uint32_t pid,
		uint32_t tid, const char *label, size_t label_len, const char *status)
{
	char esc[1100];
	long l, s;

	if (!e->labels || e->n >= e->max) {
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
	nt_escape(label, label_len, esc, sizeof(esc));
	l = intern(e, esc);
	s = intern(e, status);
	if (l < 0 || s < 0) {
		e->not_kept++;
		return;
	}
	e->ev[e->n++] = (struct nt_hm_ev){ end_ns, latency_ns, pid, tid, (uint32_t)l, (uint32_t)s };
}
