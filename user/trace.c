/* nodetap trace: one timeline of what node processes do on the network, as
 * Chrome trace event JSON that Perfetto and chrome://tracing open: each
 * dns.lookup and each TCP connect as a duration event on the thread that
 * made it, the TCP state changes of those sockets (and of connections the
 * processes accept) as instant events, and a flow arrow from a lookup to
 * the connect its callback made. Every timestamp is CLOCK_MONOTONIC.
 * With --callbacks (trace_callbacks.c) every callback into JavaScript too,
 * with arrows from a lookup or connect to its callback (trace_links.c);
 * with -F (trace_cpu.c) CPU samples and their stacks; with --loop
 * (loopwatch.h) the blockages of the event loops.
 *
 * The BPF side is connect's (bpf/connect.bpf.c) in its trace mode: it
 * already holds every hook this needs (uv_getaddrinfo and its completion for
 * the lookups and the origin of a connect, inet_sock_set_state for connects
 * and state changes), so one object and one ring buffer give one ordered
 * stream. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "chrome_trace.h"
#include "cmdsetup.h"
#include "common.h"
#include "connect.h"
#include "connect.skel.h"
#include "loopwatch.h"
#include "probes.h"
#include "session.h"
#include "subcommands.h"
#include "targets.h"
#include "trace_callbacks.h"
#include "trace_cpu.h"
#include "trace_links.h"
#include "uvlocate.h"

/* Lookups written, so that an arrow is drawn only to a lookup that is in
 * the file: a lookup lost on the way (ring buffer full) leaves its connect
 * without an arrow. */
#define LOOKUP_IDS 16384
#define TRACE_RINGBUF_BYTES (4 * 1024 * 1024)

struct written_lookup {
	uint64_t key;             /* lookup_key(); 0: an empty slot */
	uint64_t end_ns, dur_ns;
	uint32_t tid;
};

struct trace_ctx {
	struct nt_opts o;
	const char *out;          /* -o FILE, or "-" */
	char *tmp;                /* FILE.tmp.PID while writing */
	FILE *f;
	struct nt_ctrace ct;
	struct connect_bpf *skel;
	struct nt_session session;
	struct written_lookup written[LOOKUP_IDS];  /* by hash of lookup_key() */
	uint64_t lookups, connects, states, flows;
	bool finished;            /* the document is complete */
	bool callbacks;           /* --callbacks */
	struct nt_trace_cb cb;
	struct nt_tlinks links;   /* arrows to callbacks, either end waiting */
	uint64_t ncallbacks, cb_flows;
	unsigned cpu_hz;          /* -F HZ / --cpu: CPU samples; 0: none */
	struct nt_trace_cpu cpu;
	char other[512];          /* otherData's members of ours */
	uint64_t loop_ms;         /* --loop: blockages from this long; 0: none */
	struct nt_loopwatch *loop;
	uint64_t blockages;
};

/* What a source of an arrow to a callback is (struct nt_tl_end.what). */
enum { SRC_LOOKUP, SRC_CONNECT };

static const char *const tcp_states[] = {
	"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV",
};

static const char *tcp_state(unsigned s)
{
	return s < sizeof(tcp_states) / sizeof(tcp_states[0]) ? tcp_states[s] : "?";
}

static const char *const outcome_names[CONN_OUTCOMES] = {
	[CONN_ESTABLISHED] = "established",
	[CONN_REFUSED] = "refused",
	[CONN_TIMED_OUT] = "timed_out",
	[CONN_CLOSED] = "closed",
	[CONN_OTHER] = "other",
};

static uint64_t lookup_key(uint32_t pid, uint64_t start_ns)
{
	return ((uint64_t)pid << 48 ^ start_ns) | 1; /* never 0: 0 is an empty slot */
}

static struct written_lookup *slot(struct trace_ctx *c, uint64_t key)
{
	return &c->written[(key * 0x9E3779B97F4A7C15ULL) >> 50]; /* 14 bits */
}

/* A bounded table: the newest lookup takes the slot; a connect comes right
 * after its lookup, long before 16384 others. */
static void remember_lookup(struct trace_ctx *c, const struct lookup_event *e, uint64_t dur)
{
	uint64_t k = lookup_key(e->pid, e->start_ns);

	*slot(c, k) = (struct written_lookup){ k, e->end_ns, dur, e->tid };
}

static const struct written_lookup *lookup_written(struct trace_ctx *c, uint32_t pid,
						   uint64_t start_ns)
{
	uint64_t k = lookup_key(pid, start_ns);
	const struct written_lookup *w = slot(c, k);

	return w->key == k ? w : NULL;
}

/* "127.0.0.1:443" or "[::1]:443". */
static const char *endpoint(const struct nt_addr *a, char *buf, size_t len)
{
	char ip[64];

	if (!inet_ntop(a->family == NT_AF_INET6 ? AF_INET6 : AF_INET, a->addr, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, len, a->family == NT_AF_INET6 ? "[%s]:%u" : "%s:%u", ip, a->port);
	return buf;
}

/* A point inside [start, start + dur] a flow binds to: 1 us in, or the
 * middle of a shorter event. */
static uint64_t inside(uint64_t start, uint64_t dur)
{
	return start + (dur >= 2000 ? 1000 : dur / 2);
}

/* Hex text: a JSON number would lose a pointer's low bits. */
static void arg_hex(struct trace_ctx *c, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	nt_ct_arg_strn(&c->ct, key, buf, sizeof(buf));
}

/* A point inside [start, start + dur] near its end: where an arrow leaves
 * a slice (its completion runs the callback). */
static uint64_t inside_end(uint64_t start, uint64_t dur)
{
	return start + dur - (dur >= 2000 ? 1000 : dur / 2);
}

/* Both ends of an arrow from SRC to the callback CB, with a new id. */
static void write_cb_flow(struct trace_ctx *c, const struct nt_tl_end *src,
			  const struct nt_tl_end *cb)
{
	const char *name = src->what == SRC_LOOKUP ? "lookup -> callback" : "connect -> callback";

	c->flows++;
	c->cb_flows++;
	nt_ct_event(&c->ct, "s", name, "callback.flow", src->pid, src->tid, src->at_ns);
	nt_ct_field_u64(&c->ct, "id", c->flows);
	nt_ct_event_end(&c->ct);
	nt_ct_event(&c->ct, "f", name, "callback.flow", cb->pid, cb->tid, cb->at_ns);
	nt_ct_field_u64(&c->ct, "id", c->flows);
	nt_ct_field_str(&c->ct, "bp", "e");
	nt_ct_event_end(&c->ct);
}

/* A lookup or connect with node's AsyncWrap WRAP was written: link it to
 * its callback when that is on the timeline too. */
static void source_written(struct trace_ctx *c, int what, uint32_t pid, uint32_t tid,
			   uint64_t wrap, uint64_t start, uint64_t dur)
{
	struct nt_tl_end e = { .wrap = wrap, .start_ns = start, .at_ns = inside_end(start, dur),
			       .pid = pid, .tid = tid, .what = what }, cb;

	if (c->callbacks && nt_tl_source(&c->links, &e, &cb))
		write_cb_flow(c, &e, &cb);
}

static void on_lookup(struct trace_ctx *c, const struct lookup_event *e)
{
	uint64_t dur = e->end_ns > e->start_ns ? e->end_ns - e->start_ns : 0;
	char name[NT_HOST_LEN + 16];

	nt_ct_name_thread(&c->ct, e->pid, e->tid, e->comm, NT_COMM_LEN);
	/* The name holds the host as the process gave it; the writer escapes. */
	snprintf(name, sizeof(name), "dns.lookup %.*s", NT_HOST_LEN, e->host);
	nt_ct_event(&c->ct, "X", name, "dns", e->pid, e->tid, e->start_ns);
	nt_ct_dur(&c->ct, dur);
	nt_ct_arg_strn(&c->ct, "host", e->host, NT_HOST_LEN);
	nt_ct_arg_i64(&c->ct, "status", e->status);
	nt_ct_arg_u64(&c->ct, "lookup_id", e->start_ns);
	nt_ct_arg_u64(&c->ct, "callback_tid", e->done_tid);
	if (c->callbacks && e->wrap)
		arg_hex(c, "async_wrap", e->wrap);
	nt_ct_event_end(&c->ct);
	remember_lookup(c, e, dur);
	source_written(c, SRC_LOOKUP, e->pid, e->tid, e->wrap, e->start_ns, dur);
	c->lookups++;
}

static void on_connect(struct trace_ctx *c, const struct connect_event *e)
{
	char name[NT_HOST_LEN + 96], dst[80], src[80];
	size_t hlen = strnlen(e->host, NT_HOST_LEN);
	const struct written_lookup *l;

	nt_ct_name_thread(&c->ct, e->pid, e->tid, e->comm, NT_COMM_LEN);
	endpoint(&e->dst, dst, sizeof(dst));
	if (hlen)
		snprintf(name, sizeof(name), "connect %.*s (%s)", (int)hlen, e->host, dst);
	else
		snprintf(name, sizeof(name), "connect %s", dst);
	nt_ct_event(&c->ct, "X", name, "connect", e->pid, e->tid, e->start_ns);
	nt_ct_dur(&c->ct, e->latency_ns);
	nt_ct_arg_strn(&c->ct, "host", e->host, NT_HOST_LEN);
	nt_ct_arg_strn(&c->ct, "dst", dst, sizeof(dst));
	nt_ct_arg_u64(&c->ct, "port", e->dst.port);
	nt_ct_arg_strn(&c->ct, "src", endpoint(&e->src, src, sizeof(src)), sizeof(src));
	nt_ct_arg_strn(&c->ct, "outcome", e->outcome < CONN_OUTCOMES ? outcome_names[e->outcome] : "?", 16);
	if (e->err)
		nt_ct_arg_i64(&c->ct, "sk_err", e->err);
	if (e->origin_lookup_ns)
		nt_ct_arg_u64(&c->ct, "origin_lookup_id", e->origin_lookup_ns);
	if (e->wrap)
		arg_hex(c, "async_wrap", e->wrap);
	nt_ct_event_end(&c->ct);
	source_written(c, SRC_CONNECT, e->pid, e->tid, e->wrap, e->start_ns, e->latency_ns);
	if (e->origin_lookup_ns && (l = lookup_written(c, e->pid, e->origin_lookup_ns))) {
		/* One arrow per connect, both ends written together, so that
		 * every start has its end (a lookup without a connect has no
		 * arrow). It starts at the lookup's end, where its callback
		 * runs; the file's events need not be in time order. */
		c->flows++;
		nt_ct_event(&c->ct, "s", "lookup -> connect", "dns.flow", e->pid, l->tid,
			    l->end_ns - (l->dur_ns >= 2000 ? 1000 : l->dur_ns / 2));
		nt_ct_field_u64(&c->ct, "id", c->flows);
		nt_ct_event_end(&c->ct);
		nt_ct_event(&c->ct, "f", "lookup -> connect", "dns.flow", e->pid, e->tid,
			    inside(e->start_ns, e->latency_ns));
		nt_ct_field_u64(&c->ct, "id", c->flows);
		nt_ct_field_str(&c->ct, "bp", "e");
		nt_ct_event_end(&c->ct);
	}
	c->connects++;
}

static void on_state(struct trace_ctx *c, const struct tcp_state_event *e)
{
	char name[64], local[80], remote[80];

	nt_ct_name_thread(&c->ct, e->pid, e->tid, "", 0);
	snprintf(name, sizeof(name), "TCP %s", tcp_state(e->newstate));
	nt_ct_event(&c->ct, "i", name, "tcp", e->pid, e->tid, e->ts_ns);
	nt_ct_field_str(&c->ct, "s", "t");
	nt_ct_arg_strn(&c->ct, "from", tcp_state(e->oldstate), 16);
	nt_ct_arg_strn(&c->ct, "to", tcp_state(e->newstate), 16);
	nt_ct_arg_strn(&c->ct, "local", endpoint(&e->local, local, sizeof(local)), sizeof(local));
	nt_ct_arg_strn(&c->ct, "remote", endpoint(&e->remote, remote, sizeof(remote)), sizeof(remote));
	/* Hex text: a JSON number would lose the pointer's low bits. */
	snprintf(local, sizeof(local), "0x%llx", (unsigned long long)e->sk);
	nt_ct_arg_strn(&c->ct, "socket", local, sizeof(local));
	nt_ct_event_end(&c->ct);
	c->states++;
}

/* --callbacks: one callback into JavaScript, named by its kind. */
static void on_callback(struct trace_ctx *c, const struct nt_cb_trace_event *e)
{
	const char *kind = nt_trace_cb_kind(&c->cb, e->kind);
	struct nt_tl_end end = { .wrap = e->wrap, .start_ns = e->start_ns,
				 .at_ns = inside(e->start_ns, e->dur_ns), .pid = e->pid,
				 .tid = e->tid }, src;

	nt_ct_name_thread(&c->ct, e->pid, e->tid, "", 0);
	nt_ct_event(&c->ct, "X", kind, "callback", e->pid, e->tid, e->start_ns);
	nt_ct_dur(&c->ct, e->dur_ns);
	nt_ct_arg_strn(&c->ct, "kind", kind, 64);
	nt_ct_arg_strn(&c->ct, "via", nt_cbs_role_func[e->role < NT_CB_ROLES ? e->role : 0], 64);
	nt_ct_arg_u64(&c->ct, "depth", e->depth);
	if (e->wrap)
		arg_hex(c, "async_wrap", e->wrap);
	nt_ct_event_end(&c->ct);
	c->ncallbacks++;
	if (nt_tl_callback(&c->links, &end, &src))
		write_cb_flow(c, &src, &end);
}

static int on_event(void *arg, void *data, size_t len)
{
	struct trace_ctx *c = arg;
	unsigned int type;

	if (len < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	if (c->cpu_hz && nt_trace_cpu_record(&c->cpu, data, len))
		return 0;
	if (type == NT_EV_LOOKUP && len >= sizeof(struct lookup_event))
		on_lookup(c, data);
	else if (type == NT_EV_CONNECT && len >= sizeof(struct connect_event))
		on_connect(c, data);
	else if (type == NT_EV_TCP_STATE && len >= sizeof(struct tcp_state_event))
		on_state(c, data);
	else if (type == NT_EV_CB_TRACE && c->callbacks && len >= sizeof(struct nt_cb_trace_event))
		on_callback(c, data);
	return 0;
}

/* --loop: one blockage of an event loop, on the loop's thread. */
static void on_blockage(void *arg, const struct nt_loop_blockage *b)
{
	struct trace_ctx *c = arg;

	nt_ct_name_thread(&c->ct, b->pid, b->tid, b->comm, NT_COMM_LEN);
	nt_ct_event(&c->ct, "X", "loop blocked", "loop", b->pid, b->tid, b->start_ns);
	nt_ct_dur(&c->ct, b->end_ns > b->start_ns ? b->end_ns - b->start_ns : 0);
	nt_ct_arg_strn(&c->ct, "loop", b->main ? "main" : "worker", 8);
	nt_ct_arg_u64(&c->ct, "samples", b->samples);
	nt_ct_arg_u64(&c->ct, "waiting_for_cpu_ns", b->waiting_ns);
	if (b->hot_fn) {
		nt_ct_arg_strn(&c->ct, "hottest_js_function", b->hot_fn, 1024);
		nt_ct_arg_u64(&c->ct, "hottest_js_samples", b->hot_samples);
	}
	if (b->ongoing)
		nt_ct_arg_u64(&c->ct, "ongoing", 1);
	nt_ct_event_end(&c->ct);
	c->blockages++;
}

static void tick(void *arg)
{
	struct trace_ctx *c = arg;

	if (c->loop)
		nt_loopwatch_tick(c->loop);
}

/* What every BPF object of the trace lost, by enum nt_loss. */
static void sum_losses(struct trace_ctx *c, unsigned long long *losses)
{
	for (int i = 0; i < NT_LOSS_MAX; i++)
		losses[i] = c->skel->bss->nt_losses[i] +
			    (c->callbacks ? nt_trace_cb_losses(&c->cb)[i] : 0) +
			    (c->cpu_hz ? nt_trace_cpu_losses(&c->cpu)[i] : 0) +
			    (c->loop ? nt_loopwatch_losses(c->loop)[i] : 0);
}

/* otherData: what is on the timeline and what was lost, by kind. */
static void other_data(struct trace_ctx *c, const unsigned long long *losses,
		       unsigned long long not_kept)
{
	size_t n = 0;

	n += (size_t)snprintf(c->other + n, sizeof(c->other) - n,
			      ",\"callbacks\":%s,\"cpu_hz\":%u,\"loop_threshold_ms\":%llu,\"losses\":{",
			      c->callbacks ? "true" : "false", c->cpu_hz,
			      (unsigned long long)c->loop_ms);
	for (int i = 0; i < NT_LOSS_MAX && n < sizeof(c->other); i++)
		n += (size_t)snprintf(c->other + n, sizeof(c->other) - n, "\"%s\":%llu,",
				      nt_loss_name(i), losses[i]);
	if (n < sizeof(c->other))
		snprintf(c->other + n, sizeof(c->other) - n, "\"samples_not_kept\":%llu}", not_kept);
	c->ct.other_extra = c->other;
}

/* One report, at the end: close the document and say what it holds. */
static int report(void *arg, bool final)
{
	struct trace_ctx *c = arg;
	unsigned long long losses[NT_LOSS_MAX], not_kept = 0;
	bool any = false;

	if (!final)
		return 0;
	/* What the ring buffer still holds. */
	ring_buffer__consume(c->session.rb);
	if (c->loop)
		nt_loopwatch_finish(c->loop);
	sum_losses(c, losses);
	if (c->cpu_hz) {
		nt_samplers_close(&c->cpu.samplers);
		not_kept = c->cpu.keep.dropped;
		if (nt_trace_cpu_write(&c->cpu, &c->ct, c->session.start_ns, nt_now_ns())) {
			fprintf(stderr, "nodetap trace: -F: out of memory writing the samples\n");
			return NT_EXIT_RUNTIME;
		}
	}
	other_data(c, losses, not_kept);
	if (nt_ct_end(&c->ct, losses[NT_LOSS_RINGBUF] + not_kept)) {
		fprintf(stderr, "nodetap trace: writing %s: %s\n", c->out, strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	c->finished = true;
	fprintf(stderr, "nodetap trace: %llu lookups, %llu connects (%llu linked to their lookup), "
		"%llu TCP state changes", (unsigned long long)c->lookups,
		(unsigned long long)c->connects, (unsigned long long)(c->flows - c->cb_flows),
		(unsigned long long)c->states);
	if (c->callbacks)
		fprintf(stderr, ", %llu callbacks (%llu linked to their lookup or connect)",
			(unsigned long long)c->ncallbacks, (unsigned long long)c->cb_flows);
	if (c->cpu_hz)
		fprintf(stderr, ", %llu CPU samples", (unsigned long long)c->cpu.written);
	if (c->loop_ms)
		fprintf(stderr, ", %llu loop blockages", (unsigned long long)c->blockages);
	if (strcmp(c->out, "-"))
		fprintf(stderr, " in %s (open it in https://ui.perfetto.dev or chrome://tracing)", c->out);
	fprintf(stderr, "\nnodetap trace: lost since start:");
	for (int i = 0; i < NT_LOSS_MAX; i++) {
		if (!losses[i])
			continue;
		fprintf(stderr, "%s %llu %s", any ? "," : "", losses[i], nt_loss_name(i));
		any = true;
	}
	if (not_kept) {
		fprintf(stderr, "%s %llu samples not kept (more than %u)", any ? "," : "", not_kept,
			NT_SK_MAX_KEPT);
		any = true;
	}
	fprintf(stderr, "%s\n", any ? "" : " nothing");
	return 0;
}

#define OPT_OUTPUT 'o'
#define OPT_CALLBACKS 3000  /* above the shared options' ids (options.c) */
#define OPT_CPU 3001
#define OPT_LOOP 3002
#define OPT_LOOP_MS 3003
#define DEFAULT_LOOP_MS 100     /* as nodetap loop's --threshold */
#define MAX_LOOP_MS 3600000
#define LOOP_HZ 99              /* as nodetap loop's default -F */
#define OPT_FREQ 'F'
#define DEFAULT_HZ 99
#define MAX_HZ 1000

static int handle_opt(int key, const char *arg, void *ctx)
{
	struct trace_ctx *c = ctx;

	switch (key) {
	case OPT_OUTPUT:
		if (!*arg)
			return nt_usage_error("trace", "-o: give a file name (trace.json) or - for stdout");
		c->out = arg;
		return 0;
	case OPT_CALLBACKS:
		c->callbacks = true;
		return 0;
	case OPT_LOOP:
		if (!c->loop_ms)
			c->loop_ms = DEFAULT_LOOP_MS;
		return 0;
	case OPT_LOOP_MS: {
		uint64_t ms;

		if (nt_parse_uint(arg, 1, MAX_LOOP_MS, &ms))
			return nt_usage_error("trace", "--loop-ms '%s': not a number of milliseconds "
					      "(1 to %u)", arg, MAX_LOOP_MS);
		c->loop_ms = ms;
		return 0;
	}
	case OPT_CPU:
		if (!c->cpu_hz)
			c->cpu_hz = DEFAULT_HZ;
		return 0;
	case OPT_FREQ: {
		uint64_t hz;

		if (nt_parse_uint(arg, 1, MAX_HZ, &hz))
			return nt_usage_error("trace", "-F '%s': not a sampling frequency "
					      "(1 to %u Hz)", arg, MAX_HZ);
		c->cpu_hz = (unsigned)hz;
		return 0;
	}
	default:
		return NT_EXIT_USAGE;
	}
}

static const struct option trace_opts[] = {
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "callbacks", no_argument, NULL, OPT_CALLBACKS },
	{ "cpu", no_argument, NULL, OPT_CPU },
	{ "loop", no_argument, NULL, OPT_LOOP },
	{ "loop-ms", required_argument, NULL, OPT_LOOP_MS },
	{ "frequency", required_argument, NULL, OPT_FREQ },
	{ NULL, 0, NULL, 0 },
};

static const char trace_help[] =
"One timeline of the network work of node processes, as Chrome trace event JSON\n"
"for Perfetto (https://ui.perfetto.dev, Open trace file) or chrome://tracing: every\n"
"dns.lookup and every TCP connect as a slice on the thread that made it, the TCP\n"
"state changes of those connections and of accepted ones as instant marks, and an\n"
"arrow from each lookup to the connect its callback made. Timestamps are\n"
"CLOCK_MONOTONIC, as in every nodetap record. Details: docs/trace.md.\n"
"\n"
"Examples:\n"
"  nodetap trace -o trace.json -- node app.js      trace app.js until it exits\n"
"  nodetap trace -o trace.json -p 1234 -d 30       pid 1234 for 30 seconds\n"
"  nodetap trace -o - -d 5 | gzip > trace.json.gz  every node process, to stdout\n"
"\n"
"  nodetap trace -o t.json --callbacks -- node app.js\n"
"                                                  with every callback into JS, and\n"
"                                                  arrows from a connect to its callback\n"
"  nodetap trace -o t.json --loop -F 499 -- node --perf-basic-prof app.js\n"
"                                                  with loop blockages and CPU samples\n"
"                                                  (JS names from the perf map)\n"
"\n"
"Options of trace:\n"
"  -o, --output FILE        where the trace goes (required; - for stdout)\n"
"  --callbacks              every callback node makes into JavaScript\n"
"                           (AsyncWrap::MakeCallback and the timers), named by\n"
"                           its kind (TCPCONNECTWRAP, GETADDRINFOREQWRAP,\n"
"                           TIMERWRAP...), with arrows from a lookup and a connect\n"
"                           to the callback that handled it. COSTLY: two probe\n"
"                           hits (~3 us each) per callback, several per request;\n"
"                           for investigations, not always on\n"
"  --cpu                    CPU samples with their stacks (JavaScript functions\n"
"                           named as in nodetap profile), at 99 Hz\n"
"  -F, --frequency HZ       the same at HZ samples a second (1 to 1000)\n"
"  --loop                   event-loop blockages of 100 ms or more (those of\n"
"                           nodetap loop: a sampler, no probe in the process),\n"
"                           on the loop's thread, with the hottest JS function\n"
"  --loop-ms MS             the same from MS milliseconds\n";

static int place_probes(struct trace_ctx *c, struct nt_targets *targets, struct nt_probes *probes,
			bool mark)
{
	struct nt_probe_spec specs[6];
	int n = 0;

	specs[n++] = (struct nt_probe_spec){ "uv_getaddrinfo", c->skel->progs.origin_start, false, true, NULL };
	specs[n++] = (struct nt_probe_spec){ "uv__getaddrinfo_done", c->skel->progs.origin_done,
					    false, true, nt_uv_locate_gai_done };
	specs[n++] = (struct nt_probe_spec){ "uv__getaddrinfo_done", c->skel->progs.origin_done_return,
					    true, true, nt_uv_locate_gai_done };
	specs[n++] = (struct nt_probe_spec){ "node::TCPWrap::Connect(v8::FunctionCallbackInfo<v8::Value> const&",
					    c->skel->progs.node_connect, false, false, NULL };
	if (mark)
		specs[n++] = (struct nt_probe_spec){ "uv_listen", c->skel->progs.node_listen, false, true, NULL };
	/* --callbacks: the connect's ConnectWrap, for its arrow to the callback. */
	if (c->callbacks)
		specs[n++] = (struct nt_probe_spec){ "uv_tcp_connect", c->skel->progs.uv_connect_start,
						    false, true, NULL };
	if (targets->n)
		nt_probes_place(probes, specs, n, targets);
	nt_probes_report(probes, "trace", false, c->o.verbose);
	if (!probes->placed) {
		fprintf(stderr, "nodetap trace: no node probe placed: connects and TCP states are traced, "
			"but no lookups and no arrows\n");
	}
	return 0;
}

/* Without -p or COMMAND: the node processes running now, and (through the
 * uprobes and fork tracking) those that start later. */
static int seed_node_pids(struct trace_ctx *c, const struct nt_targets *t)
{
	int fd = bpf_map__fd(c->skel->maps.traced_pids);
	__u8 one = 1;

	for (int i = 0; i < t->nnode_pids; i++) {
		__u32 pid = (__u32)t->node_pids[i];

		if (bpf_map_update_elem(fd, &pid, &one, BPF_ANY)) {
			fprintf(stderr, "nodetap trace: adding pid %u to the filter: %s\n", pid,
				strerror(errno));
			return NT_EXIT_RUNTIME;
		}
	}
	return 0;
}

static int open_output(struct trace_ctx *c)
{
	if (!strcmp(c->out, "-")) {
		c->f = stdout;
	} else {
		if (asprintf(&c->tmp, "%s.tmp.%d", c->out, (int)getpid()) < 0) {
			c->tmp = NULL;
			fprintf(stderr, "nodetap trace: out of memory\n");
			return NT_EXIT_RUNTIME;
		}
		c->f = fopen(c->tmp, "w");
		if (!c->f) {
			fprintf(stderr, "nodetap trace: cannot write %s: %s\n", c->tmp, strerror(errno));
			return NT_EXIT_RUNTIME;
		}
	}
	if (nt_ct_begin(&c->ct, c->f)) {
		fprintf(stderr, "nodetap trace: out of memory\n");
		return NT_EXIT_RUNTIME;
	}
	return 0;
}

/* Put the finished file in place, or remove a partial one. RC is the exit
 * status so far (COMMAND's own, with --). */
static int close_output(struct trace_ctx *c, int rc)
{
	bool ok = c->finished;

	if (!c->f || c->f == stdout)
		return rc;
	if (fclose(c->f)) {
		fprintf(stderr, "nodetap trace: writing %s: %s\n", c->tmp, strerror(errno));
		ok = false;
		rc = rc ? rc : NT_EXIT_RUNTIME;
	}
	c->f = NULL;
	if (ok && rename(c->tmp, c->out)) {
		fprintf(stderr, "nodetap trace: renaming %s to %s: %s\n", c->tmp, c->out, strerror(errno));
		rc = rc ? rc : NT_EXIT_RUNTIME;
		ok = false;
	}
	if (!ok)
		unlink(c->tmp);
	return rc;
}

int cmd_trace(int argc, char **argv)
{
	struct trace_ctx *c = calloc(1, sizeof(*c));
	struct nt_cmd_spec spec = {
		.name = "trace",
		.summary = "One timeline as Chrome trace JSON (Perfetto): lookups, connects, TCP states, arrows.",
		.help = trace_help,
		.extra = trace_opts,
		.extra_short = "o:F:",
		.handle = handle_opt,
	};
	struct nt_probes probes = { 0 };
	struct nt_targets targets = { 0 };
	struct bpf_link *fork_link = NULL, *state_link = NULL;
	bool mark;
	int rc;

	if (!c) {
		fprintf(stderr, "nodetap trace: out of memory\n");
		return NT_EXIT_RUNTIME;
	}
	spec.ctx = c;
	rc = nt_parse_options(argc, argv, &spec, &c->o);
	if (rc) {
		free(c);
		return rc < 0 ? NT_EXIT_OK : rc;
	}
	if (!c->out)
		rc = nt_usage_error("trace", "-o FILE is required (the trace JSON; - for stdout)");
	else if (c->o.json)
		rc = nt_usage_error("trace", "--json: the trace is JSON already (Chrome trace events)");
	else if (c->o.interval)
		rc = nt_usage_error("trace", "an interval: trace writes one file when tracing ends");
	if (rc || (rc = nt_bpf_setup(&c->o)) || (rc = nt_targets_find(&c->o, &targets))) {
		free(c);
		return rc;
	}
	mark = !c->o.npids && !c->o.command;
	nt_session_init(&c->session, &c->o);
	c->skel = connect_bpf__open();
	if (!c->skel) {
		fprintf(stderr, "nodetap trace: opening the BPF object: %s\n", strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	c->skel->rodata->filter_pids = true;
	c->skel->rodata->follow_children = true;
	c->skel->rodata->mark_node_pids = mark;
	c->skel->rodata->emit_events = true;
	c->skel->rodata->trace_mode = true;
	bpf_map__set_max_entries(c->skel->maps.stacks, 1);
	bpf_map__set_max_entries(c->skel->maps.stack_seen, 1);
	/* Every event goes to user space here, not only the rare ones: a busy
	 * host's connections and state changes overran the default 256 KB
	 * between two reads (0.1 s). */
	bpf_map__set_max_entries(c->skel->maps.events, TRACE_RINGBUF_BYTES);
	if ((rc = nt_load_skeleton(&c->o, c->skel->skeleton)))
		goto out;
	if (mark) {
		if ((rc = seed_node_pids(c, &targets)))
			goto out;
		if ((rc = nt_follow_forks(&c->o, c->skel->progs.nt_fork, &fork_link)))
			goto out;
	} else if ((rc = nt_setup_filter(&c->session, &c->o, c->skel->maps.traced_pids,
					 c->skel->progs.nt_fork, &fork_link))) {
		goto out;
	}
	state_link = bpf_program__attach(c->skel->progs.conn_state_change);
	if (!state_link) {
		fprintf(stderr, "nodetap trace: attaching raw tracepoint inet_sock_set_state: %s\n",
			strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	place_probes(c, &targets, &probes, mark);
	if (c->callbacks && (rc = nt_trace_cb_start(&c->cb, &targets, c->skel->maps.traced_pids,
						    c->skel->maps.events, c->o.verbose)))
		goto out;
	if (c->cpu_hz && (rc = nt_trace_cpu_start(&c->cpu, &c->o, c->cpu_hz, c->skel->maps.traced_pids,
						  c->skel->maps.events)))
		goto out;
	if ((rc = open_output(c)))
		goto out;
	if ((rc = nt_session_open_events(&c->session, c->skel->maps.events, on_event, c)))
		goto out;

	fprintf(stderr, "nodetap trace: tracing %s into %s; %s\n",
		c->o.command ? "COMMAND and its children" : c->o.npids ? "the given processes" :
		"node processes", strcmp(c->out, "-") ? c->out : "stdout",
		c->o.duration ? "until -d ends" : c->o.command ? "until it exits" : "Ctrl-C to stop");
	if (c->loop_ms && (rc = nt_loopwatch_start(&c->loop, &c->o, c->loop_ms, LOOP_HZ,
						   c->skel->maps.traced_pids, c->session.rb,
						   on_blockage, c)))
		goto out;
	c->session.tick = tick;
	c->session.tick_ctx = c;
	if (c->o.command && (rc = nt_session_release_command(&c->session)))
		goto out;
	rc = nt_session_run(&c->session, report, c);
out:
	nt_session_cleanup(&c->session);
	ring_buffer__free(c->session.rb);
	nt_loopwatch_stop(c->loop);
	rc = close_output(c, rc);
	nt_ct_free(&c->ct);
	nt_probes_destroy(&probes);
	if (c->callbacks)
		nt_trace_cb_stop(&c->cb);
	if (c->cpu_hz)
		nt_trace_cpu_stop(&c->cpu);
	bpf_link__destroy(state_link);
	bpf_link__destroy(fork_link);
	connect_bpf__destroy(c->skel);
	nt_targets_free(&targets);
	free(c->tmp);
	free(c);
	return rc;
}
