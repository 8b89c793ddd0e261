/* loopwatch: the event-loop blockages `nodetap loop` finds, handed one by
 * one to another subcommand (nodetap trace --loop) that runs them in its own
 * session. The engine is loop.c's own, not a copy: the same search for the
 * loops of each process (again after an exec and on rescans), the same
 * grouping of the samples of one iteration into a blockage, the same
 * verdict (a thread that waited for a CPU is not blocked) and hottest
 * JavaScript function. Only the output differs: a callback per blockage
 * instead of loop's text and JSON. */
#ifndef NODETAP_LOOPWATCH_H
#define NODETAP_LOOPWATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "options.h"

/* One blockage, valid during the callback. Strings are raw bytes of the
 * traced side: escape them. */
struct nt_loop_blockage {
	uint32_t pid, tid;
	bool main;                /* the main loop, else a worker's */
	bool ongoing;             /* still going on when tracing ended */
	const char *comm;         /* the thread's name, NT_COMM_LEN bytes at most */
	uint64_t start_ns, end_ns;    /* CLOCK_MONOTONIC */
	uint64_t waiting_ns;      /* of it, waiting for a CPU */
	unsigned samples;         /* samples that saw it */
	const char *hot_fn;       /* the innermost JavaScript function most
	                             samples were in ("fn file:line"), or NULL */
	unsigned hot_samples;
};

typedef void (*nt_loop_blockage_fn)(void *arg, const struct nt_loop_blockage *b);

struct nt_loopwatch;

/* Find the loops of what O names (-p, COMMAND, or every node process) and
 * sample them at FREQ Hz, blockages from THRESHOLD_MS. Processes are
 * filtered by TRACED_PIDS (the caller's map, loaded, kept up to date by the
 * caller's fork tracking) with -p or COMMAND; the records come through RB
 * (the caller's ring buffer manager; the caller's session polls it), each
 * blockage to FN(ARG) as it ends. Returns 0 or an exit code after saying
 * why. */
int nt_loopwatch_start(struct nt_loopwatch **out, const struct nt_opts *o, uint64_t threshold_ms,
		       uint64_t freq, struct bpf_map *traced_pids, struct ring_buffer *rb,
		       nt_loop_blockage_fn fn, void *arg);
/* Call at every tick of the caller's session: open iterations are checked,
 * new loops found, gone ones closed. */
void nt_loopwatch_tick(struct nt_loopwatch *w);
/* At the end: iterations that ended are handed over, and the ones still
 * going on as they are so far (ongoing). */
void nt_loopwatch_finish(struct nt_loopwatch *w);
/* What its BPF side lost, by enum nt_loss. */
const unsigned long long *nt_loopwatch_losses(const struct nt_loopwatch *w);
void nt_loopwatch_stop(struct nt_loopwatch *w);

#endif
