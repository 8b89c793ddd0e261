/* heatmap_events: the events behind a heat map, kept for the HTML report
 * (--html) so that a click on a cell can list them, with their stacks.
 *
 * Bounded: at most MAX events (40 bytes each), 4096 distinct labels
 * (hostnames, destinations, kinds: escaped once when first seen) and
 * NT_HME_MAX_STACKS distinct stacks (named once when first seen: frames
 * from the symbolizer, JavaScript from the perf map). Events beyond MAX are
 * counted (not_kept) and still count in the per-label statistics and the
 * stacks' counts (the top tables and the flame graph cover every event);
 * stacks beyond the bound are counted (stacks_not_kept). */
#ifndef NODETAP_HEATMAP_EVENTS_H
#define NODETAP_HEATMAP_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include "stackprof.h"
#include "symbolize.h"

#define NT_HME_DEFAULT_MAX 100000
#define NT_HME_MAX_LABELS 4096
#define NT_HME_MAX_STACKS 4096

/* nt_hm_ev.stack when the event has none of its own. */
#define NT_HME_NO_STACK (-1)        /* not taken (or lost in the kernel) */
#define NT_HME_STACK_NOT_KEPT (-2)  /* beyond NT_HME_MAX_STACKS */

struct nt_hm_ev {
	uint64_t end_ns, latency_ns;
	uint32_t pid, tid;
	uint32_t label, status;   /* indexes into labels */
	int32_t stack;            /* index into stacks.stacks, or NT_HME_* < 0 */
};

/* Per label, over every event (kept or not). */
struct nt_hm_lstat {
	uint64_t n, total_ns, max_ns;
};

struct nt_hm_events {
	struct nt_hm_ev *ev;
	size_t n, cap, max;
	uint64_t not_kept;        /* events beyond max (or without memory) */
	char **labels;            /* escaped text (escape.h) */
	struct nt_hm_lstat *lstats;
	unsigned nlabels;
	unsigned last;            /* the label found last: most events repeat it */
	/* Stacks: counts are events (every event with that stack), unit
	 * "events"; stack_ns sums their latencies. */
	struct nt_profile stacks;
	uint64_t *stack_ns;
	uint64_t *slot_key;       /* open hash (pid, stack id) + 1 -> slot_val */
	uint32_t *slot_val;
	uint64_t with_stack;      /* events with a stack kept */
	uint64_t no_stack;        /* events without one (NT_HME_NO_STACK) */
	uint64_t stacks_not_kept; /* events whose stack was beyond the bound */
	/* Per stack with JIT frames that had no name yet: its raw frames,
	 * to name again before the page is written (nt_hme_rename_jit). */
	struct nt_hme_raw { unsigned long long *ips; int n; } *raw;
};

/* Where an event's stack is: the user stack STACK_ID of a BPF stack map
 * (FD), or the frames IPS the event carried itself (NIPS > 0, innermost
 * first), named by SYM; COMM is the process's name (raw, at most 16 bytes),
 * the flame graph's root. */
struct nt_hme_stack {
	struct nt_symbolizer *sym;
	int fd;
	int stack_id;             /* < 0: none (unless IPS) */
	const char *comm;
	const unsigned long long *ips;
	int nips;
};

int nt_hme_init(struct nt_hm_events *e, size_t max);
void nt_hme_free(struct nt_hm_events *e);
/* Name again the frames of stacks that had JIT code without a name: V8
 * writes its perf map through a buffer, so a function compiled just before
 * its first event may have no line there yet when the stack is first seen.
 * Called before the page is written. */
void nt_hme_rename_jit(struct nt_hm_events *e, struct nt_symbolizer *sym);
/* Keep one event; LABEL (at most LABEL_LEN bytes, from the traced process)
 * and STATUS (our own text) are interned. ST: its stack, or NULL. */
void nt_hme_add(struct nt_hm_events *e, uint64_t end_ns, uint64_t latency_ns, uint32_t pid,
		uint32_t tid, const char *label, size_t label_len, const char *status,
		const struct nt_hme_stack *st);

#endif
