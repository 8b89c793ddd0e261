/* Constants and records shared by the BPF programs and the loader. Kept free
 * of libc and kernel headers so that both sides can include it. */
#ifndef NODETAP_H
#define NODETAP_H

#define NT_COMM_LEN 16
/* DNS names are at most 253 bytes; the traced process may pass longer
 * strings, which are cut at NT_HOST_LEN - 1 and flagged, never dropped. */
#define NT_HOST_LEN 256
/* log2 histogram slots: slot i counts values v with 2^(i-1) <= v < 2^i
 * (slot 0 counts v == 0), in microseconds: 2^39 us is 6 days. */
#define NT_HIST_SLOTS 40
#define NT_MAX_STACK_DEPTH 127

/* Everything that can be lost, counted in a BPF array that the loader
 * reports with every report. Indexes are stable: they name JSON fields. */
enum nt_loss {
	NT_LOSS_RINGBUF = 0,   /* ring buffer full: an event was dropped */
	NT_LOSS_AGG_FULL,      /* aggregation map full: a record not counted */
	NT_LOSS_INFLIGHT_FULL, /* in-flight map full: a latency not measured */
	NT_LOSS_STACK,         /* bpf_get_stackid failed: a stack not taken */
	NT_LOSS_UNMATCHED,     /* a completion without its start (started
	                          before nodetap attached, or its start lost) */
	NT_LOSS_TRUNCATED,     /* a string cut at its buffer size (kept) */
	NT_LOSS_MAX,
};

/* Ring buffer record types; every record starts with a u32 type. */
enum nt_event_type {
	NT_EV_DNS = 1,      /* one completed lookup (--events) */
	NT_EV_NEW_STACK,    /* first sight of (pid, stack id): name it while the
	                       process is alive */
	NT_EV_CONNECT,      /* one outbound connect, established or failed */
	NT_EV_CALLBACK,     /* one callback slower than --min-ms (callbacks) */
	NT_EV_LOOKUP,       /* one dns.lookup (connect's trace mode) */
	NT_EV_TCP_STATE,    /* a TCP state change (connect's trace mode) */
	NT_EV_CB_TRACE,     /* one callback into JavaScript (trace --callbacks) */
};

struct nt_new_stack_event {
	unsigned int type;
	unsigned int pid;
	int stack_id;
	unsigned int pad;
};

#endif
