/* trace_callbacks: `nodetap trace --callbacks`, the callbacks into
 * JavaScript on the timeline. bpf/callbacks.bpf.c in its trace mode (one
 * record per callback, with the AsyncWrap it ran for) on the probes and
 * per-binary facts of `nodetap callbacks` (cbsetup.h), filtered by the
 * process filter of trace's own BPF object (its map is shared), so that
 * both see the same processes, children and later node processes too,
 * and its records go into trace's ring buffer. */
#ifndef NODETAP_TRACE_CALLBACKS_H
#define NODETAP_TRACE_CALLBACKS_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "cbsetup.h"
#include "probes.h"
#include "targets.h"

struct callbacks_bpf;

struct nt_trace_cb {
	struct callbacks_bpf *skel;
	struct nt_cbs cbs;
	struct nt_probes probes;
	struct bpf_link *exit_link;
	bool attached;          /* a MakeCallback probe is placed somewhere */
};

/* Load and attach on TARGETS, filtered by TRACED_PIDS and writing into
 * EVENTS (trace's maps, loaded already: its records come in trace's ring
 * buffer, type NT_EV_CB_TRACE). Says on stderr what could not be placed.
 * Returns 0 or an exit code. */
int nt_trace_cb_start(struct nt_trace_cb *t, const struct nt_targets *targets,
		      struct bpf_map *traced_pids, struct bpf_map *events, bool verbose);
const char *nt_trace_cb_kind(const struct nt_trace_cb *t, unsigned int kind);
/* What the BPF side lost, by enum nt_loss (NT_LOSS_MAX entries). */
const unsigned long long *nt_trace_cb_losses(const struct nt_trace_cb *t);
void nt_trace_cb_stop(struct nt_trace_cb *t);

#endif
