/* heatmap_events: the events behind a heat map, kept for the HTML report
 * (--html) so that a click on a cell can list them. Bounded: at most MAX
 * events (32 bytes each) and 4096 distinct labels (hostnames, destinations,
 * escaped once when first seen); events beyond are counted, not kept. */
#ifndef NODETAP_HEATMAP_EVENTS_H
#define NODETAP_HEATMAP_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define NT_HME_DEFAULT_MAX 100000
#define NT_HME_MAX_LABELS 4096

struct nt_hm_ev {
	uint64_t end_ns, latency_ns;
	uint32_t pid, tid;
	uint32_t label, status;   /* indexes into labels */
};

struct nt_hm_events {
	struct nt_hm_ev *ev;
	size_t n, cap, max;
	uint64_t not_kept;        /* events beyond max (or without memory) */
	char **labels;            /* escaped text (escape.h) */
	unsigned nlabels;
	unsigned last;            /* the label found last: most events repeat it */
};

int nt_hme_init(struct nt_hm_events *e, size_t max);
void nt_hme_free(struct nt_hm_events *e);
/* Keep one event; LABEL (at most LABEL_LEN bytes, from the traced process)
 * and STATUS (our own text) are interned. */
void nt_hme_add(struct nt_hm_events *e, uint64_t end_ns, uint64_t latency_ns, uint32_t pid,
		uint32_t tid, const char *label, size_t label_len, const char *status);

#endif
