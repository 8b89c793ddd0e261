/* nodetap callbacks: every callback node makes into JavaScript, counted and
 * timed per process and kind of async resource (TCPWRAP, FSREQCALLBACK,
 * TIMERWRAP, ...); with --min-ms each slower one with the JavaScript that ran
 * in it. Costly (probe hits on the hottest path of node): for
 * investigations, with its cost said up front and --max-overhead to bound
 * it. docs/callbacks.md. */
#include <errno.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "asyncwrap.h"
#include "callbacks.h"
#include "cbsetup.h"
#include "callbacks.skel.h"
#include "cmdsetup.h"
#include "common.h"
#include "escape.h"
#include "heatmap_out.h"
#include "hist.h"
#include "json.h"
#include "mapsnap.h"
#include "probes.h"
#include "retarget.h"
#include "session.h"
#include "stackfmt.h"
#include "subcommands.h"
#include "symbolize.h"
#include "targets.h"

/* What one probe hit costs, for the estimate printed after the first
 * second. bench/callbacks_cost.sh on the project's 2-core VM (CPU time of a
 * node process, untraced vs nodetap callbacks, side by side, medians of 7
 * rounds, two runs): 2.3 and 3.5 us a hit in a TCP ping-pong, 1.8 and 2.6 us
 * in a tight setImmediate loop; the design notes' A/B on an HTTP server says
 * about 3 us. The machine's speed drifts by 10-20% between runs. */
#define HIT_COST_NS 3000
#define HIT_COST_SOURCE "bench/callbacks_cost.sh: 2.3-3.5 us a hit in a node TCP ping-pong on the project's VM"

#define COST_WINDOW_NS 1000000000ULL  /* the first interval: measured, then said */
#define MAX_KIND_ARGS 64

/* Kinds by native caller, for binaries whose provider_type_ offset cannot be
 * proven: the function that called MakeCallback names the kind where it
 * belongs to one kind only. Matched against the demangled name. */
static const struct {
	const char *caller;
	const char *kind;
} caller_kinds[] = {
	{ "node::fs::FSReqCallback::", "FSREQCALLBACK" },
	{ "ConnectionWrap<node::TCPWrap, uv_tcp_s>::OnConnection", "TCPSERVERWRAP" },
	{ "ConnectionWrap<node::TCPWrap, uv_tcp_s>::AfterConnect", "TCPCONNECTWRAP" },
	{ "ConnectionWrap<node::PipeWrap, uv_pipe_s>::OnConnection", "PIPESERVERWRAP" },
	{ "ConnectionWrap<node::PipeWrap, uv_pipe_s>::AfterConnect", "PIPECONNECTWRAP" },
	{ "AfterGetAddrInfo", "GETADDRINFOREQWRAP" },
	{ "AfterGetNameInfo", "GETNAMEINFOREQWRAP" },
};

/* A report row: the counters of one (pid, kind[, caller]). */
struct krow {
	unsigned int pid;
	char kind[64];
	char caller[256];       /* kinds by caller: the native function, else "" */
	struct nt_cb_val v;
};

struct cb_ctx {
	struct nt_opts o;
	char *kind_args[MAX_KIND_ARGS];
	int nkind_args;
	unsigned int min_ms;
	double max_overhead;    /* percent of one CPU; 0: no limit */
	bool kind_on[NT_CB_MAX_KINDS];
	bool user_filter;       /* --kind applies in user space (kinds by caller) */
	struct nt_cbs cbs;      /* binaries, kinds (by_caller: NODETAP_CB_BY_CALLER=1) */
	struct callbacks_bpf *skel;
	struct nt_symbolizer *sym;
	struct nt_session session;
	struct nt_probes probes;
	int *link_role;         /* per probes.links entry: the role of its probe */
	bool *link_ret;         /* ... and whether it is a return probe */
	bool role_attached[NT_CB_ROLES];
	char detached[256];     /* what --max-overhead detached, for the reports */
	struct bpf_link **samplers;
	int nsamplers;
	struct nt_snap prev;
	uint64_t last_report_ns, t0, last_check_ns;
	unsigned long long last_hits[NT_CB_ROLES];
	bool cost_said;
	int ncpus;
	struct nt_hm_out hm;    /* --heatmap, --html: the duration of every callback */
};

static const char *kind_name(const struct cb_ctx *c, unsigned int id)
{
	return nt_cbs_kind_name(&c->cbs, id);
}

/* ---- probe hits and what they cost -------------------------------------- */

static void read_hits(struct cb_ctx *c, unsigned long long *out)
{
	unsigned long long *vals = calloc((size_t)c->ncpus, sizeof(*vals));
	int fd = bpf_map__fd(c->skel->maps.hits);

	for (__u32 r = 0; r < NT_CB_ROLES; r++) {
		out[r] = 0;
		if (vals && !bpf_map_lookup_elem(fd, &r, vals))
			for (int i = 0; i < c->ncpus; i++)
				out[r] += vals[i];
	}
	free(vals);
}

static double overhead_pct(double hits_per_sec)
{
	return hits_per_sec * HIT_COST_NS / 1e9 * 100.0;
}

/* The "callbacks_cost" record: HITS[role] over the last WINDOW_NS. */
static void json_cost(struct cb_ctx *c, const char *when, uint64_t window_ns,
		      const unsigned long long *hits)
{
	unsigned long long total = 0;
	double rate;
	struct nt_json j;

	for (int r = 0; r < NT_CB_ROLES; r++)
		total += hits[r];
	rate = window_ns ? (double)total * 1e9 / (double)window_ns : 0;
	nt_json_begin(&j, stdout, "callbacks_cost");
	nt_json_u64(&j, "time_ns", nt_now_ns());
	nt_json_str(&j, "when", when);
	nt_json_u64(&j, "window_ns", window_ns);
	nt_json_u64(&j, "hits", total);
	nt_json_double(&j, "hits_per_sec", rate);
	nt_json_u64(&j, "hit_cost_ns", HIT_COST_NS);
	nt_json_str(&j, "hit_cost_source", HIT_COST_SOURCE);
	nt_json_double(&j, "overhead_pct", overhead_pct(rate));
	if (c->max_overhead > 0)
		nt_json_double(&j, "max_overhead_pct", c->max_overhead);
	nt_json_obj(&j, "hits_by_function");
	for (int r = 0; r < NT_CB_ROLES; r++)
		nt_json_u64(&j, nt_cbs_role_func[r], hits[r]);
	nt_json_obj_end(&j);
	nt_json_end(&j);
	fflush(stdout);
}

/* Detach every probe of ROLE: entries first, so that calls in flight still
 * find their frames when they return. The BPF side stops recording entries
 * of the role at once (the kernel takes a while to take a probe out). */
static void detach_role(struct cb_ctx *c, int role)
{
	c->skel->bss->role_off[role] = 1;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < c->probes.nlinks; i++)
			if (c->link_role[i] == role && c->link_ret[i] == (pass == 1) && c->probes.links[i]) {
				bpf_link__destroy(c->probes.links[i]);
				c->probes.links[i] = NULL;
			}
	c->role_attached[role] = false;
}

/* --max-overhead: RATE[role] hits/s over the last window. Detach the
 * hottest roles until the estimate is within the limit. */
static void enforce_limit(struct cb_ctx *c, const double *rate)
{
	double total = 0, before;
	char what[256] = "";
	bool any = false, left = false;

	for (int r = 0; r < NT_CB_ROLES; r++)
		if (c->role_attached[r])
			total += rate[r];
	if (overhead_pct(total) <= c->max_overhead)
		return;
	before = total;

	while (overhead_pct(total) > c->max_overhead) {
		int hot = -1;

		for (int r = 0; r < NT_CB_ROLES; r++)
			if (c->role_attached[r] && (hot < 0 || rate[r] > rate[hot]))
				hot = r;
		if (hot < 0)
			break;
		detach_role(c, hot);
		total -= rate[hot];
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%s%s (%.0f hits/s)",
			 any ? ", " : "", nt_cbs_role_func[hot], rate[hot]);
		any = true;
	}
	for (int r = 0; r < NT_CB_ROLES; r++)
		left |= c->role_attached[r];
	snprintf(c->detached + strlen(c->detached), sizeof(c->detached) - strlen(c->detached),
		 "%s%s", c->detached[0] ? ", " : "", what);
	if (c->o.json) {
		unsigned long long hits[NT_CB_ROLES], all = 0;
		struct nt_json j;

		/* Counted once the detach is done: a probe goes only when the
		 * kernel has taken its breakpoints out of every process, which
		 * takes a while (tens of ms); hits go on meanwhile. */
		read_hits(c, hits);
		for (int r = 0; r < NT_CB_ROLES; r++)
			all += hits[r];
		nt_json_begin(&j, stdout, "callbacks_detached");
		nt_json_u64(&j, "time_ns", nt_now_ns());
		nt_json_u64(&j, "hits", all);
		nt_json_double(&j, "hits_per_sec", before);
		nt_json_double(&j, "overhead_pct", overhead_pct(before));
		nt_json_double(&j, "max_overhead_pct", c->max_overhead);
		nt_json_str(&j, "detached", what);
		nt_json_double(&j, "remaining_overhead_pct", overhead_pct(total < 0 ? 0 : total));
		nt_json_end(&j);
		fflush(stdout);
	} else {
		fprintf(stderr, "nodetap callbacks: --max-overhead %g%%: %.0f probe hits/s would cost "
			"about %.1f%% of a CPU: detached %s; %s\n", c->max_overhead, before,
			overhead_pct(before), what,
			left ? "the other probes stay" : "no probe is left");
	}
	if (!left && !c->o.command) {
		/* Nothing left to measure: end the run as Ctrl-C would, with
		 * the final report of what was measured. */
		raise(SIGTERM);
	}
}

/* The session's clock: after the first second say what the probes cost; with
 * --max-overhead, check every second. */
static void tick(void *arg)
{
	struct cb_ctx *c = arg;
	uint64_t now = nt_now_ns();
	unsigned long long hits[NT_CB_ROLES];
	double rate[NT_CB_ROLES], total = 0;
	uint64_t window;

	nt_hm_out_tick(&c->hm);
	if (!c->cost_said && now - c->t0 < COST_WINDOW_NS)
		return;
	if (c->cost_said && (!c->max_overhead || now - c->last_check_ns < COST_WINDOW_NS))
		return;
	window = now - c->last_check_ns;
	read_hits(c, hits);
	for (int r = 0; r < NT_CB_ROLES; r++) {
		rate[r] = (double)(hits[r] - c->last_hits[r]) * 1e9 / (double)window;
		if (c->role_attached[r])
			total += rate[r];
	}
	if (!c->cost_said) {
		c->cost_said = true;
		if (c->o.json)
			json_cost(c, "first_interval", window, hits);
		else
			fprintf(stderr, "nodetap callbacks: cost: %.0f probe hits/s in the first %.1f s "
				"x %.1f us a hit (%s) = about %.1f%% of one CPU, taken from the threads "
				"that run the callbacks%s\n", total, (double)window / 1e9,
				HIT_COST_NS / 1e3, HIT_COST_SOURCE, overhead_pct(total),
				c->max_overhead ? "" : "; --max-overhead PCT bounds it");
	}
	if (c->max_overhead)
		enforce_limit(c, rate);
	memcpy(c->last_hits, hits, sizeof(hits));
	c->last_check_ns = now;
}

/* ---- the report ------------------------------------------------------------ */

static void val_sub(void *dv, const void *sv)
{
	struct nt_cb_val *d = dv;
	const struct nt_cb_val *s = sv;

	d->count -= s->count;
	d->total_ns -= s->total_ns;
	for (int i = 0; i < NT_HIST_SLOTS; i++)
		d->hist[i] -= s->hist[i];
}

static void val_add(struct nt_cb_val *d, const struct nt_cb_val *s)
{
	d->count += s->count;
	d->total_ns += s->total_ns;
	if (s->max_ns > d->max_ns)
		d->max_ns = s->max_ns;
	for (int i = 0; i < NT_HIST_SLOTS; i++)
		d->hist[i] += s->hist[i];
	if (!d->comm[0])
		memcpy(d->comm, s->comm, sizeof(d->comm));
}

/* Kinds by caller: name the native function that made the callback (the
 * return address at entry, or the one above it when that is a
 * MakeCallback(Local<Name>) overload), and its kind where it has one. */
static void classify_caller(struct cb_ctx *c, pid_t pid, uint64_t r1, uint64_t r2,
			    char *kind, size_t klen, char *caller, size_t clen)
{
	struct nt_frame f;

	nt_symbolize_user(c->sym, pid, r1, &f);
	if (f.name && strstr(f.name, "::MakeCallback(") && r2)
		nt_symbolize_user(c->sym, pid, r2, &f);
	snprintf(caller, clen, "%s", f.name ? f.name : "[unknown]");
	snprintf(kind, klen, "?");
	for (size_t i = 0; i < sizeof(caller_kinds) / sizeof(caller_kinds[0]); i++)
		if (strstr(caller, caller_kinds[i].caller)) {
			snprintf(kind, klen, "%s", caller_kinds[i].kind);
			break;
		}
}

static bool kind_wanted(const struct cb_ctx *c, const char *kind)
{
	if (!c->nkind_args)
		return true;
	for (int i = 0; i < c->nkind_args; i++)
		if (!strcmp(c->kind_args[i], kind))
			return true;
	return false;
}

static int krow_cmp_key(const void *pa, const void *pb)
{
	const struct krow *a = pa, *b = pb;
	int r;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if ((r = strcmp(a->kind, b->kind)))
		return r;
	return strcmp(a->caller, b->caller);
}

/* Within a process, the kinds that took the most time first. */
static int krow_cmp_show(const void *pa, const void *pb)
{
	const struct krow *a = pa, *b = pb;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	if (a->v.total_ns != b->v.total_ns)
		return a->v.total_ns < b->v.total_ns ? 1 : -1;
	return krow_cmp_key(pa, pb);
}

/* The snapshot as named rows, merged by (pid, kind, caller). */
static int build_rows(struct cb_ctx *c, const struct nt_snap *snap, struct krow **out)
{
	struct krow *rows = calloc(snap->n ? snap->n : 1, sizeof(*rows));
	int n = 0, m = 0;

	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < snap->n; i++) {
		struct nt_cb_key k;
		struct nt_cb_val v;
		struct krow *r = &rows[n];

		memcpy(&k, nt_snap_key(snap, i), sizeof(k));
		memcpy(&v, nt_snap_val(snap, i), sizeof(v));
		if (!v.count)
			continue;
		r->pid = k.pid;
		if (k.kind == NT_CB_KIND_CALLER)
			classify_caller(c, (pid_t)k.pid, k.caller, k.caller2, r->kind, sizeof(r->kind),
					r->caller, sizeof(r->caller));
		else
			snprintf(r->kind, sizeof(r->kind), "%s", kind_name(c, k.kind));
		if (c->user_filter && !kind_wanted(c, r->kind))
			continue;
		r->v = v;
		n++;
	}
	qsort(rows, (size_t)n, sizeof(*rows), krow_cmp_key);
	for (int i = 0; i < n; i++) {
		if (m && !krow_cmp_key(&rows[m - 1], &rows[i]))
			val_add(&rows[m - 1].v, &rows[i].v);
		else
			rows[m++] = rows[i];
	}
	qsort(rows, (size_t)m, sizeof(*rows), krow_cmp_show);
	*out = rows;
	return m;
}

static void report_text(struct cb_ctx *c, struct krow *rows, int n, bool interval)
{
	unsigned long long total = 0;
	int nprocs = 0;

	for (int i = 0; i < n; i++) {
		total += rows[i].v.count;
		if (!i || rows[i].pid != rows[i - 1].pid)
			nprocs++;
	}
	printf("\nCallbacks into JavaScript over %.1f s: %llu callback%s in %d process%s\n",
	       (double)(nt_now_ns() - c->last_report_ns) / 1e9, total, total == 1 ? "" : "s",
	       nprocs, nprocs == 1 ? "" : "es");
	if (c->detached[0])
		printf("(--max-overhead detached %s: what they saw since is not counted)\n", c->detached);
	if (!n)
		return;
	printf("%-8s %-15s %-22s %9s %11s %10s %10s %10s\n", "PID", "COMM", "KIND", "COUNT",
	       "TOTAL ms", "AVG us", "P99<= us", interval ? "" : "MAX us");
	for (int i = 0; i < n; i++) {
		const struct nt_cb_val *v = &rows[i].v;
		char comm[NT_COMM_LEN * 4 + 1];

		nt_escape(v->comm, NT_COMM_LEN, comm, sizeof(comm));
		printf("%-8u %-15s %-22s %9llu %11.2f %10.1f %10llu", rows[i].pid, comm, rows[i].kind,
		       v->count, (double)v->total_ns / 1e6,
		       (double)v->total_ns / (double)v->count / 1e3,
		       (unsigned long long)nt_hist_percentile(v->hist, NT_HIST_SLOTS, 99));
		if (!interval)
			printf(" %10.1f", (double)v->max_ns / 1e3);
		printf("\n");
		if (rows[i].caller[0]) {
			printf("%-8s   called from ", "");
			nt_fputs_escaped(stdout, rows[i].caller, sizeof(rows[i].caller));
			printf("\n");
		}
	}
	for (int i = 0; i < n; i++) {
		printf("\n  %s (pid %u)%s", rows[i].kind, rows[i].pid, rows[i].caller[0] ? " from " : "");
		nt_fputs_escaped(stdout, rows[i].caller, sizeof(rows[i].caller));
		printf("\n");
		nt_hist_print(stdout, rows[i].v.hist, NT_HIST_SLOTS, "usecs", "    ");
	}
}

static void report_json(struct cb_ctx *c, struct krow *rows, int n, bool interval)
{
	uint64_t now = nt_now_ns();

	for (int i = 0; i < n; i++) {
		const struct nt_cb_val *v = &rows[i].v;
		struct nt_json j;

		nt_json_begin(&j, stdout, "callbacks_summary");
		nt_json_u64(&j, "time_ns", now);
		nt_json_u64(&j, "interval_ns", now - c->last_report_ns);
		nt_json_u64(&j, "pid", rows[i].pid);
		nt_json_strn(&j, "comm", v->comm, NT_COMM_LEN);
		nt_json_str(&j, "kind", rows[i].kind);
		nt_json_str(&j, "classified_by", rows[i].caller[0] ? "caller" : "provider");
		if (rows[i].caller[0])
			nt_json_str(&j, "caller", rows[i].caller);
		nt_json_u64(&j, "count", v->count);
		nt_json_u64(&j, "total_ns", v->total_ns);
		nt_json_u64(&j, "avg_ns", v->total_ns / v->count);
		if (!interval)
			nt_json_u64(&j, "max_ns", v->max_ns);
		nt_hist_json(&j, "latency_hist", v->hist, NT_HIST_SLOTS, "us");
		nt_json_end(&j);
	}
}

static int report(void *arg, bool final)
{
	struct cb_ctx *c = arg;
	bool interval = c->o.interval > 0;
	unsigned long long hits[NT_CB_ROLES], total = 0, all = 0;
	struct nt_snap snap;
	struct krow *rows = NULL;
	int n;

	if (nt_read_counters(&c->o, c->skel->maps.cb_stats, sizeof(struct nt_cb_key),
			     sizeof(struct nt_cb_val), &snap, &c->prev, val_sub))
		return NT_EXIT_RUNTIME;
	n = build_rows(c, &snap, &rows);
	if (n < 0) {
		nt_snap_free(&snap);
		return NT_EXIT_RUNTIME;
	}
	if (c->o.json)
		report_json(c, rows, n, interval);
	else
		report_text(c, rows, n, interval);
	if (nt_hm_out_report(&c->hm, final)) {
		free(rows);
		nt_snap_free(&snap);
		return NT_EXIT_RUNTIME;
	}
	read_hits(c, hits);
	for (int r = 0; r < NT_CB_ROLES; r++)
		all += hits[r];
	if (c->o.json)
		json_cost(c, "report", nt_now_ns() - c->t0, hits);
	else
		printf("probe hits since start: %llu (%.0f/s, about %.1f%% of one CPU at %.1f us a hit)\n",
		       all, (double)all * 1e9 / (double)(nt_now_ns() - c->t0),
		       overhead_pct((double)all * 1e9 / (double)(nt_now_ns() - c->t0)),
		       HIT_COST_NS / 1e3);
	if (!c->o.json || final || interval)
		nt_report_losses(&c->o, c->skel->bss->nt_losses, c->sym);
	for (int i = 0; i < n; i++)
		total += rows[i].v.count;
	if (c->o.json)
		nt_json_report_end(c->last_report_ns, final, "callbacks", total);
	fflush(stdout);
	c->last_report_ns = nt_now_ns();
	free(rows);
	nt_snap_free(&snap);
	return 0;
}

/* ---- --min-ms events ------------------------------------------------------- */

/* Which of the stacks sampled while a callback ran stands for it: the
 * innermost JavaScript function most samples were in (a busy loop, not the
 * lazy compile at the end of the callback), and of those samples the
 * deepest stack (a sample taken inside libc, which keeps no frame pointers,
 * stops after two frames). Without JavaScript frames, the deepest. */
static int best_sample(struct cb_ctx *c, const struct nt_cb_event *e)
{
	int fd = bpf_map__fd(c->skel->maps.stacks), n = 0, best = -1;
	struct { int id, depth, votes; const char *js; } s[NT_CB_SAMPLES];
	__u64 ips[NT_MAX_STACK_DEPTH];

	for (unsigned int k = 0; k < NT_CB_SAMPLES && k < e->samples; k++) {
		/* From the most recent back. */
		int id = e->sampled_stacks[(e->samples - 1 - k) % NT_CB_SAMPLES], d = 0;

		if (id < 0 || bpf_map_lookup_elem(fd, &id, ips))
			continue;
		s[n].id = id;
		s[n].js = NULL;
		s[n].votes = 0;
		for (; d < NT_MAX_STACK_DEPTH && ips[d]; d++) {
			struct nt_frame f;

			if (s[n].js)
				continue;
			nt_symbolize_user(c->sym, (int)e->pid, ips[d], &f);
			if (f.kind == NT_FRAME_JS)
				s[n].js = f.name; /* the symbolizer's: valid until it is freed */
		}
		s[n++].depth = d;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			s[i].votes += s[i].js && s[j].js && !strcmp(s[i].js, s[j].js);
	for (int i = 0; i < n; i++)
		if (best < 0 || s[i].votes > s[best].votes ||
		    (s[i].votes == s[best].votes && s[i].depth > s[best].depth))
			best = i;
	return best < 0 ? -1 : s[best].id;
}

static void print_event(struct cb_ctx *c, const struct nt_cb_event *e, const char *kind,
			const char *caller, int sampled)
{
	int fd = bpf_map__fd(c->skel->maps.stacks);
	char comm[NT_COMM_LEN * 4 + 1];

	if (c->o.json) {
		struct nt_json j;

		nt_json_begin(&j, stdout, "callback");
		nt_json_u64(&j, "time_ns", e->start_ns + e->dur_ns);
		nt_json_u64(&j, "start_ns", e->start_ns);
		nt_json_u64(&j, "pid", e->pid);
		nt_json_u64(&j, "tid", e->tid);
		nt_json_strn(&j, "comm", e->comm, NT_COMM_LEN);
		nt_json_str(&j, "kind", kind);
		if (caller[0])
			nt_json_str(&j, "caller", caller);
		nt_json_u64(&j, "duration_ns", e->dur_ns);
		nt_json_u64(&j, "samples", e->samples);
		nt_json_obj(&j, "sampled");
		nt_stack_json(&j, c->sym, fd, (pid_t)e->pid, sampled);
		nt_json_obj_end(&j);
		nt_json_obj(&j, "called_from");
		nt_stack_json(&j, c->sym, fd, (pid_t)e->pid, e->caller_stack);
		nt_json_obj_end(&j);
		nt_json_end(&j);
		return;
	}
	nt_escape(e->comm, NT_COMM_LEN, comm, sizeof(comm));
	printf("%-10.6f %-7u %-7u %-15s %-22s %10.3f\n",
	       (double)(e->start_ns + e->dur_ns - c->session.start_ns) / 1e9, e->pid, e->tid, comm,
	       kind, (double)e->dur_ns / 1e6);
	if (sampled >= 0) {
		printf("    while it ran (%u sample%s; of the last %d, one in the JavaScript function "
		       "most were in):\n", e->samples, e->samples == 1 ? "" : "s", NT_CB_SAMPLES);
		nt_stack_print(stdout, c->sym, fd, (pid_t)e->pid, sampled, "      ");
	} else {
		printf("    while it ran: not sampled (off CPU the whole time, or too short)\n");
	}
	printf("    called from:\n");
	nt_stack_print(stdout, c->sym, fd, (pid_t)e->pid, e->caller_stack, "      ");
	fflush(stdout);
}

/* The samples a callback got, as its status in the HTML report: exact up
 * to 7, then by power of two ("8-15 samples"), so that statuses stay few
 * (they share the report's bound on distinct labels with the kinds). */
static void sample_status(unsigned int n, char *buf, size_t len)
{
	unsigned int lo = 8;

	if (n < 8) {
		snprintf(buf, len, "%u sample%s", n, n == 1 ? "" : "s");
		return;
	}
	while (lo <= n / 2)
		lo *= 2;
	snprintf(buf, len, "%u-%u samples", lo, 2 * lo - 1);
}

static int on_event(void *arg, void *data, size_t len)
{
	struct cb_ctx *c = arg;
	unsigned int type;

	if (len < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	if (nt_note_new_stack(c->sym, data, len))
		return 0;
	if (type == NT_EV_CALLBACK && len >= sizeof(struct nt_cb_event)) {
		const struct nt_cb_event *e = data;
		char kind[64], caller[256] = "", status[64];
		int sampled = -1;

		if (e->kind == NT_CB_KIND_CALLER)
			classify_caller(c, (pid_t)e->pid, e->caller, e->caller2, kind, sizeof(kind),
					caller, sizeof(caller));
		else
			snprintf(kind, sizeof(kind), "%s", kind_name(c, e->kind));
		if (c->user_filter && !kind_wanted(c, kind))
			return 0;
		if (e->samples)
			sampled = best_sample(c, e);
		/* Every callback for --heatmap/--html: its stack is the one
		 * sampled while it ran (the JavaScript it ran). */
		sample_status(e->samples, status, sizeof(status));
		nt_hm_out_add_stack(&c->hm, e->start_ns + e->dur_ns, e->dur_ns, e->pid, e->tid, kind,
				    strlen(kind), caller[0] ? caller : status, e->comm, sampled);
		if (c->min_ms && e->dur_ns >= (uint64_t)c->min_ms * 1000000ULL)
			print_event(c, e, kind, caller, sampled);
	}
	return 0;
}

/* ---- setup ------------------------------------------------------------------- */

/* What nodetap found in binary B. Said for every node binary, also those
 * nodetap found by itself: how kinds are named matters to the reader. */
static void say_bin(struct cb_ctx *c, const struct nt_cbs_bin *b)
{
	const struct nt_aw_info *a = &b->aw;

	if (!b->opened || !a->fn[NT_AW_MAKECALLBACK_FN].found)
		return; /* not node: the probe report says so */
	if (c->o.json) {
		struct nt_json j;

		nt_json_begin(&j, stdout, "callbacks_binary");
		nt_json_str(&j, "file", b->path);
		nt_json_str(&j, "classified_by", a->provider_off ? "provider" : "caller");
		if (a->provider_off) {
			nt_json_u64(&j, "provider_type_offset", (uint64_t)a->provider_off);
			nt_json_arr(&j, "providers");
			for (int i = 0; i < a->nnames; i++)
				nt_json_str(&j, NULL, a->names[i]);
			nt_json_arr_end(&j);
		} else {
			nt_json_str(&j, "reason", a->why);
		}
		nt_json_u64(&j, "name_overloads", (uint64_t)a->name_overloads);
		nt_json_u64(&j, "name_overloads_not_entering", (uint64_t)a->name_unreached);
		nt_json_end(&j);
		return;
	}
	if (!a->provider_off) {
		fprintf(stderr, "nodetap callbacks: ");
		nt_fputs_escaped(stderr, b->path, 4096);
		fprintf(stderr, ": kinds by native caller, not by provider type: %s%s\n", a->why,
			c->nkind_args ? " (--kind is applied in user space for it)" : "");
	} else if (c->o.verbose) {
		fprintf(stderr, "nodetap callbacks: ");
		nt_fputs_escaped(stderr, b->path, 4096);
		fprintf(stderr, ": AsyncWrap::provider_type_ at +0x%x (MemoryInfoName and "
			"EmitTraceEventBefore agree), %d provider names from node::provider_names\n",
			(unsigned)a->provider_off, a->nnames);
	}
	if (a->name_unreached)
		fprintf(stderr, "nodetap callbacks: warning: %d of the %d AsyncWrap::MakeCallback"
			"(Local<Name>) overloads in %s do not enter the Local<Function> one: "
			"callbacks through them are not counted\n", a->name_unreached,
			a->name_overloads, b->path);
}

/* Place the probes on target T (binary B at index BI). */
static int place(struct cb_ctx *c, const struct nt_target *t, int bi)
{
	struct nt_targets one = { .t = (struct nt_target *)t, .n = 1 };
	struct nt_probe_spec specs[2 * NT_CB_ROLES];
	uint64_t cookies[2 * NT_CB_ROLES];
	int roles[2 * NT_CB_ROLES], res0 = c->probes.nres, link0 = c->probes.nlinks;
	int ns = nt_cbs_specs(&c->cbs, bi, c->skel->progs.cb_enter, c->skel->progs.cb_return,
			      specs, cookies, roles);

	nt_probes_place_cookies(&c->probes, specs, cookies, ns, &one);
	/* One result per spec, in order; a link per result that was placed. */
	int *lr = realloc(c->link_role, (size_t)(c->probes.nlinks ? c->probes.nlinks : 1) * sizeof(int));
	bool *lt = realloc(c->link_ret, (size_t)(c->probes.nlinks ? c->probes.nlinks : 1) * sizeof(bool));

	if (lr)
		c->link_role = lr;
	if (lt)
		c->link_ret = lt;
	if (!lr || !lt)
		return -ENOMEM;
	for (int i = res0, l = link0; i < c->probes.nres && i - res0 < ns; i++) {
		if (c->probes.res[i].err)
			continue;
		c->link_role[l] = roles[i - res0];
		c->link_ret[l] = specs[i - res0].retprobe;
		c->role_attached[roles[i - res0]] = true;
		l++;
	}
	return 0;
}

/* Fill the maps the probes read: per binary facts and provider kinds. */
static int fill_maps(struct cb_ctx *c);

/* retarget's hook: a -p process exec'd another executable (TS->t[0]). Its
 * probes carry the index of its binary's facts in their cookies, so the new
 * binary is analysed (once), its facts and kinds go into the maps, and its
 * probes are placed with its own cookies. */
static void place_again(void *ctx, const struct nt_targets *ts, int *placed, int *failed)
{
	struct cb_ctx *c = ctx;
	int nbins = c->cbs.nbins, res0 = c->probes.nres, placed0 = c->probes.placed;
	int failed0 = c->probes.failed, err;
	int bi = nt_cbs_bin_of(&c->cbs, &ts->t[0]);

	*placed = *failed = 0;
	if (bi < 0) {
		fprintf(stderr, "nodetap callbacks: ");
		nt_fputs_escaped(stderr, ts->t[0].path, 4096);
		fprintf(stderr, ": not traced: more than %d node binaries, or out of memory\n",
			NT_CB_MAX_BINARIES);
		return;
	}
	if (c->cbs.nbins > nbins) {
		say_bin(c, &c->cbs.bins[bi]);
		if ((err = fill_maps(c))) {
			fprintf(stderr, "nodetap callbacks: filling the BPF maps for ");
			nt_fputs_escaped(stderr, ts->t[0].path, 4096);
			fprintf(stderr, ": %s: its probes are not placed\n", strerror(-err));
			return;
		}
	}
	if (place(c, &ts->t[0], bi)) {
		fprintf(stderr, "nodetap callbacks: out of memory placing probes again\n");
		return;
	}
	/* Report this placing's results only. */
	struct nt_probes fresh = {
		.res = c->probes.res + res0,
		.nres = c->probes.nres - res0,
		.placed = c->probes.placed - placed0,
		.failed = c->probes.failed - failed0,
	};

	nt_probes_report(&fresh, "callbacks", c->o.json, c->o.verbose);
	*placed = fresh.placed;
	*failed = fresh.failed;
}

static int fill_maps(struct cb_ctx *c)
{
	int bins_fd = bpf_map__fd(c->skel->maps.bins), kind_fd = bpf_map__fd(c->skel->maps.kind_of);
	int on_fd = bpf_map__fd(c->skel->maps.kind_enabled);

	int err = nt_cbs_fill_maps(&c->cbs, bins_fd, kind_fd);

	if (err)
		return err;
	for (__u32 k = 0; k < NT_CB_MAX_KINDS; k++) {
		__u8 on = c->kind_on[k];

		if (on && bpf_map_update_elem(on_fd, &k, &on, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* --kind names: each must be a kind some traced binary has (or one of the
 * fixed ones). Sets kind_on. Returns 0 or NT_EXIT_USAGE. */
static int resolve_kinds(struct cb_ctx *c)
{
	/* The provider names of every binary, so that ids exist for them. */
	for (int i = 0; i < c->cbs.nbins; i++)
		for (int p = 0; p < c->cbs.bins[i].aw.nnames; p++)
			nt_cbs_intern_kind(&c->cbs, c->cbs.bins[i].aw.names[p]);
	for (int i = 0; i < c->nkind_args; i++) {
		int id = nt_cbs_kind_id(&c->cbs, c->kind_args[i]);
		bool by_caller = false;

		for (int b = 0; b < c->cbs.nbins; b++)
			by_caller |= c->cbs.bins[b].opened && c->cbs.bins[b].aw.fn[NT_AW_MAKECALLBACK_FN].found &&
				     !c->cbs.bins[b].aw.provider_off;
		if (id < 0 && !by_caller)
			return nt_usage_error("callbacks", "--kind '%s': no such kind in the node "
					      "binaries traced (node's provider names, e.g. TCPWRAP, "
					      "FSREQCALLBACK; or TIMERWRAP, IMMEDIATE, OTHER)",
					      c->kind_args[i]);
		if (by_caller)
			c->user_filter = true;
		if (id >= 0)
			c->kind_on[id] = true;
	}
	return 0;
}

static int attach_samplers(struct cb_ctx *c)
{
	/* A few samples in a callback of min-ms, at most 997 Hz. */
	unsigned long freq = 4000 / (c->min_ms ? c->min_ms : 1);
	int ncpu = libbpf_num_possible_cpus();

	if (nt_hm_out_wants_stacks(&c->hm))
		freq = 997; /* --html: callbacks of a few ms get samples too */

	if (freq < 49)
		freq = 49;
	if (freq > 997)
		freq = 997;
	c->samplers = calloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*c->samplers));
	if (!c->samplers)
		return -ENOMEM;
	for (int cpu = 0; cpu < ncpu; cpu++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.size = sizeof(attr),
			.freq = 1,
			.sample_freq = freq,
		};
		int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
		struct bpf_link *l;

		if (fd < 0) {
			if (errno == ENODEV)
				continue; /* an offline CPU */
			return -errno;
		}
		l = bpf_program__attach_perf_event(c->skel->progs.cb_sample, fd);
		if (!l) {
			int e = -errno;

			close(fd);
			return e;
		}
		c->samplers[c->nsamplers++] = l;
	}
	return 0;
}

#define OPT_KIND 3000
#define OPT_MIN_MS 3001
#define OPT_MAX_OVERHEAD 3002

/* PCT: a number in (0, 100], digits with an optional fraction. */
static int parse_pct(const char *s, double *out)
{
	char *end;
	double v;

	if (!*s || strspn(s, "0123456789.") != strlen(s) || strchr(s, '.') != strrchr(s, '.') ||
	    *s == '.')
		return -1;
	v = strtod(s, &end);
	if (*end || !(v > 0) || v > 100)
		return -1;
	*out = v;
	return 0;
}

static int handle_opt(int key, const char *arg, void *ctx)
{
	struct cb_ctx *c = ctx;
	uint64_t v;

	if (nt_hm_out_is_opt(key))
		return nt_hm_out_opt(&c->hm, "callbacks", key, arg);
	switch (key) {
	case OPT_KIND: {
		char *copy = strdup(arg), *save = NULL, *tok;

		if (!copy)
			return NT_EXIT_RUNTIME;
		if (!*arg || arg[strlen(arg) - 1] == ',' || *arg == ',' || strstr(arg, ",,")) {
			free(copy);
			return nt_usage_error("callbacks", "--kind '%s': a comma list of kinds, "
					      "e.g. TCPWRAP,FSREQCALLBACK", arg);
		}
		for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			for (char *p = tok; *p; p++)
				if (*p >= 'a' && *p <= 'z')
					*p = (char)(*p - 'a' + 'A');
			if (!nt_aw_valid_name(tok) || c->nkind_args >= MAX_KIND_ARGS) {
				int rc = nt_usage_error("callbacks", "--kind '%s': not a kind name "
							"(letters, digits and _, at most %d of them)",
							tok, MAX_KIND_ARGS);
				free(copy);
				return rc;
			}
			if (!(c->kind_args[c->nkind_args++] = strdup(tok))) {
				free(copy);
				return NT_EXIT_RUNTIME;
			}
		}
		free(copy);
		return 0;
	}
	case OPT_MIN_MS:
		if (nt_parse_uint(arg, 1, 86400000, &v))
			return nt_usage_error("callbacks", "--min-ms '%s': not a number of milliseconds "
					      "(1 to 86400000)", arg);
		c->min_ms = (unsigned int)v;
		return 0;
	case OPT_MAX_OVERHEAD:
		if (parse_pct(arg, &c->max_overhead))
			return nt_usage_error("callbacks", "--max-overhead '%s': not a percentage "
					      "(more than 0, at most 100, e.g. 5 or 2.5)", arg);
		return 0;
	default:
		return NT_EXIT_USAGE;
	}
}

static const struct option cb_opts[] = {
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "min-ms", required_argument, NULL, OPT_MIN_MS },
	{ "max-overhead", required_argument, NULL, OPT_MAX_OVERHEAD },
	NT_HM_LONG_OPTS,
	{ NULL, 0, NULL, 0 },
};

static const char cb_help[] =
"Every callback node makes into JavaScript (I/O completions, incoming connections,\n"
"timers, immediates), counted and timed per process and kind of async resource,\n"
"named as node names them: TCPWRAP, TCPSERVERWRAP, FSREQCALLBACK, GETADDRINFOREQWRAP,\n"
"..., plus TIMERWRAP (the timers list), IMMEDIATE (setImmediate) and OTHER.\n"
"\n"
"COSTLY: a probe hit costs microseconds, and this probes node's hottest path (two\n"
"hits per callback). For investigations, not for always-on use. After the first\n"
"second nodetap says what it costs; --max-overhead bounds it.\n"
"\n"
"Examples:\n"
"  nodetap callbacks -p 1234 -d 10     10 s of pid 1234's callbacks, by kind\n"
"  nodetap callbacks --kind TCPWRAP,FSREQCALLBACK -p 1234 5\n"
"                                      only those kinds (filtered in the kernel)\n"
"  nodetap callbacks --min-ms 50 -- node --perf-basic-prof \\\n"
"        --interpreted-frames-native-stack app.js\n"
"                                      each callback of 50 ms or more, with the\n"
"                                      JavaScript that ran in it\n"
"  nodetap callbacks --max-overhead 2 -p 1234\n"
"                                      detach if the probes would take over 2% of a CPU\n"
"  nodetap callbacks --html cb.html -- node --perf-basic-prof \\\n"
"        --interpreted-frames-native-stack app.js\n"
"                                      callback durations over time as a heat map, and\n"
"                                      the JavaScript each one ran (docs/heatmap.md)\n"
"\n"
"Reading the report: one line per (process, kind) with the count, the total time\n"
"spent in those callbacks, the average and the 99th percentile (upper bound of its\n"
"log2 bucket) in microseconds, then a histogram per kind. A callback's time runs\n"
"from node's call into JavaScript to its return: the JavaScript callback, the\n"
"process.nextTick queue and the promise jobs that run after it. Callbacks nested\n"
"in another are counted in both.\n"
"\n"
"Options of callbacks:\n"
"      --kind KIND[,KIND]   count only these kinds (in the kernel)\n"
"      --min-ms N           print each callback of N ms or more, with its stacks\n"
"      --max-overhead PCT   detach the hottest probes when their hits would cost more\n"
"                           than PCT percent of one CPU (checked every second)\n"
NT_HM_HELP
"                           (callbacks: every callback becomes an event, and --html\n"
"                           samples the JavaScript of callbacks at 997 Hz a CPU)\n";

int cmd_callbacks(int argc, char **argv)
{
	struct cb_ctx *c = calloc(1, sizeof(*c));
	struct nt_cmd_spec spec = {
		.name = "callbacks",
		.summary = "Count and time node's callbacks into JavaScript, per kind of async "
			   "resource (costly: for investigations).",
		.help = cb_help,
		.extra = cb_opts,
		.extra_short = "",
		.handle = handle_opt,
		.ctx = c,
	};
	struct nt_targets targets = { 0 };
	struct nt_retarget retarget = { 0 };
	struct bpf_link *fork_link = NULL, *exit_link = NULL;
	const char *env = getenv("NODETAP_CB_BY_CALLER");
	int rc;

	if (!c)
		return NT_EXIT_RUNTIME;
	c->cbs.by_caller = env && !strcmp(env, "1");
	rc = nt_parse_options(argc, argv, &spec, &c->o);
	if (rc) {
		rc = rc < 0 ? NT_EXIT_OK : rc;
		goto out;
	}
	if ((rc = nt_hm_out_check(&c->hm, &c->o)))
		goto out;
	if ((rc = nt_bpf_setup(&c->o)))
		goto out;
	if ((rc = nt_targets_find(&c->o, &targets)))
		goto out;
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus < 1) {
		fprintf(stderr, "nodetap callbacks: cannot count the CPUs\n");
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	/* Read each binary's facts before anything is loaded. */
	int *tbin = calloc((size_t)(targets.n ? targets.n : 1), sizeof(int));

	if (!tbin) {
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	for (int i = 0; i < targets.n; i++)
		tbin[i] = nt_cbs_bin_of(&c->cbs, &targets.t[i]);
	if ((rc = resolve_kinds(c))) {
		free(tbin);
		goto out;
	}
	nt_session_init(&c->session, &c->o);
	c->last_report_ns = nt_now_ns();
	c->sym = nt_symbolizer_for(&c->o);
	c->skel = callbacks_bpf__open();
	if (!c->sym || !c->skel) {
		fprintf(stderr, "nodetap callbacks: opening the BPF object: %s\n", strerror(errno));
		rc = NT_EXIT_RUNTIME;
		free(tbin);
		goto out;
	}
	c->skel->rodata->filter_pids = c->o.npids > 0 || c->o.command;
	c->skel->rodata->follow_children = c->o.command != NULL;
	c->skel->rodata->filter_kinds = c->nkind_args > 0;
	c->skel->rodata->min_ns = (__u64)c->min_ms * 1000000ULL;
	c->skel->rodata->emit_all = nt_hm_out_on(&c->hm);
	/* --html: the JavaScript of every callback the sampler catches;
	 * --min-ms alone: of those running for half of it. */
	c->skel->rodata->sample_after_ns = nt_hm_out_wants_stacks(&c->hm) ? 0 :
					   (__u64)c->min_ms * 500000ULL;
	if (!c->min_ms && !nt_hm_out_wants_stacks(&c->hm)) {
		bpf_map__set_max_entries(c->skel->maps.stacks, 1);
		bpf_map__set_max_entries(c->skel->maps.stack_seen, 1);
	}
	if ((rc = nt_test_map_sizes(&c->o, c->skel->obj)) ||
	    (rc = nt_load_skeleton(&c->o, c->skel->skeleton))) {
		free(tbin);
		goto out;
	}
	if ((rc = fill_maps(c))) {
		fprintf(stderr, "nodetap callbacks: filling the BPF maps: %s\n", strerror(-rc));
		rc = NT_EXIT_RUNTIME;
		free(tbin);
		goto out;
	}
	if ((rc = nt_setup_filter(&c->session, &c->o, c->skel->maps.traced_pids,
				  c->skel->progs.nt_fork, &fork_link))) {
		free(tbin);
		goto out;
	}
	exit_link = bpf_program__attach(c->skel->progs.cb_exit);
	if (!exit_link) {
		fprintf(stderr, "nodetap callbacks: attaching raw tracepoint sched_process_exit: %s\n",
			strerror(errno));
		rc = NT_EXIT_RUNTIME;
		free(tbin);
		goto out;
	}
	for (int i = 0; i < c->cbs.nbins; i++)
		say_bin(c, &c->cbs.bins[i]);
	for (int i = 0; i < targets.n; i++) {
		if (tbin[i] < 0) {
			fprintf(stderr, "nodetap callbacks: ");
			nt_fputs_escaped(stderr, targets.t[i].path, 4096);
			fprintf(stderr, ": not traced: more than %d node binaries\n", NT_CB_MAX_BINARIES);
			continue;
		}
		if (place(c, &targets.t[i], tbin[i])) {
			rc = NT_EXIT_RUNTIME;
			free(tbin);
			goto out;
		}
	}
	free(tbin);
	nt_probes_report(&c->probes, "callbacks", c->o.json, c->o.verbose);
	if (!c->role_attached[NT_CB_ROLE_ASYNCWRAP]) {
		fprintf(stderr, "nodetap callbacks: no probe could be placed on "
			"node::AsyncWrap::MakeCallback: %s\n",
			targets.n ? "see the reasons above (-v also lists the binaries nodetap found by itself)" :
			"no node binary found (is node running? name one with --binary or -p)");
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	if ((c->min_ms || nt_hm_out_wants_stacks(&c->hm)) && (rc = attach_samplers(c))) {
		fprintf(stderr, "nodetap callbacks: %s: attaching the on-CPU sampler: %s "
			"(callbacks are still reported, without their JavaScript)\n",
			c->min_ms ? "--min-ms" : "--html", strerror(-rc));
		rc = 0;
	}
	if ((rc = nt_session_open_events(&c->session, c->skel->maps.events, on_event, c)))
		goto out;
	if (nt_hm_out_on(&c->hm)) {
		nt_hm_out_stacks(&c->hm, c->sym, bpf_map__fd(c->skel->maps.stacks),
				 "not sampled: shorter than the sampler's period (about 1 ms), "
				 "or off CPU");
		if ((rc = nt_hm_out_start(&c->hm, "callback duration", nt_now_ns(),
					  c->skel->bss->nt_losses)))
			goto out;
	}
	if (!c->o.json)
		fprintf(stderr, "nodetap callbacks: tracing callbacks into JavaScript in %s; %s\n",
			c->o.command ? "COMMAND and its children" :
			c->o.npids ? "the given processes" : "every node process",
			c->o.duration ? "until -d ends" : c->o.command ? "until it exits" :
			"Ctrl-C to stop");
	if (c->min_ms && !c->o.json)
		printf("%-10s %-7s %-7s %-15s %-22s %10s\n", "TIME(s)", "PID", "TID", "COMM", "KIND",
		       "DUR(ms)");
	c->session.tick = tick;
	c->session.tick_ctx = c;
	/* A -p process that execs another program gets its probes again. */
	if (nt_retarget_start_placing(&retarget, &c->session, &c->o, place_again, c)) {
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	c->t0 = c->last_check_ns = nt_now_ns();
	if (c->o.command && (rc = nt_session_release_command(&c->session)))
		goto out;
	rc = nt_session_run(&c->session, report, c);
out:
	nt_session_cleanup(&c->session);
	nt_retarget_free(&retarget);
	ring_buffer__free(c->session.rb);
	for (int i = 0; i < c->nsamplers; i++)
		bpf_link__destroy(c->samplers[i]);
	free(c->samplers);
	nt_probes_destroy(&c->probes);
	free(c->link_role);
	free(c->link_ret);
	bpf_link__destroy(exit_link);
	bpf_link__destroy(fork_link);
	callbacks_bpf__destroy(c->skel);
	nt_symbolizer_free(c->sym);
	nt_targets_free(&targets);
	nt_snap_free(&c->prev);
	nt_cbs_free(&c->cbs);
	for (int i = 0; i < c->nkind_args; i++)
		free(c->kind_args[i]);
	nt_hm_out_free(&c->hm);
	free(c);
	return rc;
}
