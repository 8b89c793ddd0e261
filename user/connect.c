/* nodetap connect: outbound TCP connects of node processes (who connects
 * where, how fast, which failed and why, and which code asked for it), and
 * the connections they accept. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "cmdsetup.h"
#include "common.h"
#include "connect.h"
#include "connect.skel.h"
#include "escape.h"
#include "heatmap_out.h"
#include "hist.h"
#include "json.h"
#include "listeners.h"
#include "mapsnap.h"
#include "probes.h"
#include "retarget.h"
#include "session.h"
#include "stackfmt.h"
#include "subcommands.h"
#include "symbolize.h"
#include "targets.h"
#include "uvlocate.h"

static const char *const outcome_names[CONN_OUTCOMES] = {
	[CONN_ESTABLISHED] = "established",
	[CONN_REFUSED] = "refused",
	[CONN_TIMED_OUT] = "timed_out",
	[CONN_CLOSED] = "closed",
	[CONN_OTHER] = "other",
};

/* One entry of connect_stats, laid out as a mapsnap row. */
struct crow {
	struct connect_key key;
	struct connect_val val;
};
_Static_assert(offsetof(struct crow, val) == sizeof(struct connect_key) &&
	       sizeof(struct crow) == sizeof(struct connect_key) + sizeof(struct connect_val),
	       "struct crow must match mapsnap's key-then-value rows");

struct arow {
	struct accept_key key;
	struct accept_val val;
};
_Static_assert(offsetof(struct arow, val) == sizeof(struct accept_key) &&
	       sizeof(struct arow) == sizeof(struct accept_key) + sizeof(struct accept_val),
	       "struct arow must match mapsnap's key-then-value rows");

/* The connects of one (pid, destination): the rows of its stacks summed. */
struct dest {
	struct crow *first;
	int nrows;
	struct connect_val sum;
	unsigned long long attempts;
};

struct connect_ctx {
	struct nt_opts o;
	bool all;                 /* --all: every process, not only node's */
	unsigned short ports[NT_MAX_PORTS];
	int nports;
	unsigned short family;    /* -4 / -6 */
	struct connect_bpf *skel;
	struct nt_symbolizer *sym;
	struct nt_session session;
	struct nt_snap prev_conn, prev_acc;
	uint64_t last_report_ns;
	struct nt_hm_out hm;      /* --heatmap */
};

/* "127.0.0.1" or "::1". */
static const char *addr_str(const struct nt_addr *a, char *buf, size_t len)
{
	if (!inet_ntop(a->family == NT_AF_INET6 ? AF_INET6 : AF_INET, a->addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static unsigned long long attempts_of(const struct connect_val *v)
{
	unsigned long long n = 0;

	for (int i = 0; i < CONN_OUTCOMES; i++)
		n += v->outcomes[i];
	return n;
}

static void cval_add(struct connect_val *d, const struct connect_val *s)
{
	for (int i = 0; i < CONN_OUTCOMES; i++)
		d->outcomes[i] += s->outcomes[i];
	d->total_ns += s->total_ns;
	if (s->max_ns > d->max_ns)
		d->max_ns = s->max_ns;
	for (int i = 0; i < NT_HIST_SLOTS; i++)
		d->hist[i] += s->hist[i];
	d->via_node += s->via_node;
	if (s->outcomes[CONN_OTHER])
		d->last_other_err = s->last_other_err;
	if (!d->comm[0])
		memcpy(d->comm, s->comm, sizeof(d->comm));
	if (!d->host[0])
		memcpy(d->host, s->host, sizeof(d->host));
}

/* Interval reports: cumulative kernel counters minus the last report's. Max
 * cannot be split per interval: interval reports leave it out. */
static void cval_sub(void *dv, const void *sv)
{
	struct connect_val *d = dv;
	const struct connect_val *s = sv;

	for (int i = 0; i < CONN_OUTCOMES; i++)
		d->outcomes[i] -= s->outcomes[i];
	d->total_ns -= s->total_ns;
	for (int i = 0; i < NT_HIST_SLOTS; i++)
		d->hist[i] -= s->hist[i];
	d->via_node -= s->via_node;
}

static void aval_sub(void *dv, const void *sv)
{
	((struct accept_val *)dv)->count -= ((const struct accept_val *)sv)->count;
}

/* Rows in (pid, destination, stacks) order: a destination's rows adjacent. */
static int crow_cmp(const void *pa, const void *pb)
{
	const struct connect_key *a = &((const struct crow *)pa)->key;
	const struct connect_key *b = &((const struct crow *)pb)->key;
	int c;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	c = memcmp(&a->dst, &b->dst, sizeof(a->dst));
	if (c)
		return c;
	if (a->origin_stack != b->origin_stack)
		return a->origin_stack < b->origin_stack ? -1 : 1;
	return a->connect_stack < b->connect_stack ? -1 : a->connect_stack > b->connect_stack;
}

static int dest_cmp(const void *pa, const void *pb)
{
	const struct dest *a = pa, *b = pb;

	if (a->attempts != b->attempts)
		return a->attempts < b->attempts ? 1 : -1;
	return crow_cmp(a->first, b->first);
}

static int group_dests(struct crow *rows, int n, struct dest **out)
{
	struct dest *d = calloc((size_t)(n ? n : 1), sizeof(*d));
	int nd = 0;

	if (!d)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (!nd || d[nd - 1].first->key.pid != rows[i].key.pid ||
		    memcmp(&d[nd - 1].first->key.dst, &rows[i].key.dst, sizeof(rows[i].key.dst)))
			d[nd++].first = &rows[i];
		d[nd - 1].nrows++;
		cval_add(&d[nd - 1].sum, &rows[i].val);
	}
	for (int i = 0; i < nd; i++)
		d[i].attempts = attempts_of(&d[i].sum);
	*out = d;
	return nd;
}

static void print_dest_text(struct connect_ctx *c, const struct dest *d, bool interval)
{
	const struct connect_val *v = &d->sum;
	char addr[INET6_ADDRSTRLEN], host[NT_HOST_LEN * 4 + 1];
	int fd = bpf_map__fd(c->skel->maps.stacks);

	addr_str(&d->first->key.dst, addr, sizeof(addr));
	nt_escape(v->host, NT_HOST_LEN, host, sizeof(host));
	printf("\n  %s port %u%s%s%s (pid %u)\n", addr, d->first->key.dst.port,
	       host[0] ? " (" : "", host, host[0] ? ")" : "", d->first->key.pid);
	printf("    %llu connect%s: %llu established", d->attempts, d->attempts == 1 ? "" : "s",
	       v->outcomes[CONN_ESTABLISHED]);
	for (int i = CONN_REFUSED; i < CONN_OUTCOMES; i++)
		if (v->outcomes[i])
			printf(", %llu %s", v->outcomes[i], outcome_names[i]);
	if (v->outcomes[CONN_OTHER])
		printf(" (last errno %d: %s)", v->last_other_err, strerror(v->last_other_err));
	printf("\n");
	if (v->outcomes[CONN_ESTABLISHED]) {
		printf("    connect latency");
		if (!interval)
			printf(", max %.3f ms", (double)v->max_ns / 1e6);
		printf(":\n");
		nt_hist_print(stdout, v->hist, NT_HIST_SLOTS, "usecs", "    ");
	}
	if (!c->o.stacks)
		return;
	for (const struct crow *r = d->first; r < d->first + d->nrows; r++) {
		unsigned long long n = attempts_of(&r->val);

		if (!n)
			continue;
		printf("    %llu connect%s; origin (the dns.lookup that resolved it):\n", n,
		       n == 1 ? "" : "s");
		if (r->key.origin_stack >= 0)
			nt_stack_print(stdout, c->sym, fd, (pid_t)r->key.pid, r->key.origin_stack, "      ");
		else
			printf("      [none: an address without a lookup, or resolved before nodetap started]\n");
		printf("    connect() called from:\n");
		nt_stack_print(stdout, c->sym, fd, (pid_t)r->key.pid, r->key.connect_stack, "      ");
	}
}

static void report_text(struct connect_ctx *c, struct dest *d, int nd, struct arow *acc,
			int nacc, bool interval)
{
	unsigned long long total = 0, ok = 0, accepted = 0;

	for (int i = 0; i < nd; i++) {
		total += d[i].attempts;
		ok += d[i].sum.outcomes[CONN_ESTABLISHED];
	}
	for (int i = 0; i < nacc; i++)
		accepted += acc[i].val.count;
	printf("\nTCP connects over %.1f s: %llu connect%s, %llu established, %llu failed; "
	       "%llu accepted\n", (double)(nt_now_ns() - c->last_report_ns) / 1e9, total,
	       total == 1 ? "" : "s", ok, total - ok, accepted);
	if (nd) {
		printf("%-8s %-15s %-39s %5s %-24s %6s %6s %6s %s\n", "PID", "COMM", "DESTINATION", "PORT",
		       "HOST", "COUNT", "FAILED", "AVG ms", "P99<= ms");
		for (int i = 0; i < nd; i++) {
			const struct connect_val *v = &d[i].sum;
			char addr[INET6_ADDRSTRLEN], host[40], comm[NT_COMM_LEN * 4 + 1];
			unsigned long long est = v->outcomes[CONN_ESTABLISHED];

			if (!d[i].attempts)
				continue;
			if (nt_escape(v->host, NT_HOST_LEN, host, 22) >= 22)
				strcat(host, "...");
			nt_escape(v->comm, NT_COMM_LEN, comm, sizeof(comm));
			printf("%-8u %-15s %-39s %5u %-24s %6llu %6llu %6.2f %.2f\n", d[i].first->key.pid,
			       comm, addr_str(&d[i].first->key.dst, addr, sizeof(addr)),
			       d[i].first->key.dst.port, host[0] ? host : "-", d[i].attempts,
			       d[i].attempts - est, est ? (double)v->total_ns / (double)est / 1e6 : 0.0,
			       (double)nt_hist_percentile(v->hist, NT_HIST_SLOTS, 99) / 1e3);
		}
		for (int i = 0; i < nd; i++)
			if (d[i].attempts)
				print_dest_text(c, &d[i], interval);
	}
	if (nacc) {
		printf("\n%-8s %-15s %-39s %5s %-39s %s\n", "PID", "COMM", "ACCEPTED ON", "PORT",
		       "FROM", "COUNT");
		for (int i = 0; i < nacc; i++) {
			char l[INET6_ADDRSTRLEN], r[INET6_ADDRSTRLEN], comm[NT_COMM_LEN * 4 + 1];

			if (!acc[i].val.count)
				continue;
			nt_escape(acc[i].val.comm, NT_COMM_LEN, comm, sizeof(comm));
			printf("%-8u %-15s %-39s %5u %-39s %llu\n", acc[i].key.pid, comm,
			       addr_str(&acc[i].key.local, l, sizeof(l)), acc[i].key.local.port,
			       addr_str(&acc[i].key.remote, r, sizeof(r)), acc[i].val.count);
		}
	}
}

static void json_addr(struct nt_json *j, const char *key, const struct nt_addr *a)
{
	char buf[INET6_ADDRSTRLEN];

	nt_json_str(j, key, addr_str(a, buf, sizeof(buf)));
}

static void json_stack(struct nt_json *j, struct connect_ctx *c, const char *key, pid_t pid,
		       int stack_id)
{
	nt_json_obj(j, key);
	nt_stack_json(j, c->sym, bpf_map__fd(c->skel->maps.stacks), pid, stack_id);
	nt_json_obj_end(j);
}

static void report_json(struct connect_ctx *c, struct dest *d, int nd, struct arow *acc,
			int nacc, bool interval)
{
	uint64_t now = nt_now_ns();

	for (int i = 0; i < nd; i++) {
		const struct connect_val *v = &d[i].sum;
		const struct connect_key *k = &d[i].first->key;
		unsigned long long est = v->outcomes[CONN_ESTABLISHED];
		struct nt_json j;

		if (!d[i].attempts)
			continue;
		nt_json_begin(&j, stdout, "connect_summary");
		nt_json_u64(&j, "time_ns", now);
		nt_json_u64(&j, "interval_ns", now - c->last_report_ns);
		nt_json_u64(&j, "pid", k->pid);
		nt_json_strn(&j, "comm", v->comm, NT_COMM_LEN);
		nt_json_u64(&j, "family", k->dst.family == NT_AF_INET6 ? 6 : 4);
		json_addr(&j, "dst_addr", &k->dst);
		nt_json_u64(&j, "dst_port", k->dst.port);
		nt_json_strn(&j, "host", v->host, NT_HOST_LEN);
		nt_json_u64(&j, "attempts", d[i].attempts);
		for (int o = 0; o < CONN_OUTCOMES; o++)
			nt_json_u64(&j, outcome_names[o], v->outcomes[o]);
		if (v->outcomes[CONN_OTHER])
			nt_json_i64(&j, "last_other_errno", v->last_other_err);
		nt_json_u64(&j, "via_node", v->via_node);
		nt_json_u64(&j, "total_ns", v->total_ns);
		nt_json_u64(&j, "avg_ns", est ? v->total_ns / est : 0);
		if (!interval)
			nt_json_u64(&j, "max_ns", v->max_ns);
		nt_hist_json(&j, "latency_hist", v->hist, NT_HIST_SLOTS, "us");
		if (c->o.stacks) {
			nt_json_arr(&j, "stacks");
			for (const struct crow *r = d[i].first; r < d[i].first + d[i].nrows; r++) {
				unsigned long long n = attempts_of(&r->val);

				if (!n)
					continue;
				nt_json_obj(&j, NULL);
				nt_json_u64(&j, "count", n);
				json_stack(&j, c, "origin", (pid_t)r->key.pid, r->key.origin_stack);
				json_stack(&j, c, "connect", (pid_t)r->key.pid, r->key.connect_stack);
				nt_json_obj_end(&j);
			}
			nt_json_arr_end(&j);
		}
		nt_json_end(&j);
	}
	for (int i = 0; i < nacc; i++) {
		struct nt_json j;

		if (!acc[i].val.count)
			continue;
		nt_json_begin(&j, stdout, "accept_summary");
		nt_json_u64(&j, "time_ns", now);
		nt_json_u64(&j, "interval_ns", now - c->last_report_ns);
		nt_json_u64(&j, "pid", acc[i].key.pid);
		nt_json_strn(&j, "comm", acc[i].val.comm, NT_COMM_LEN);
		nt_json_u64(&j, "family", acc[i].key.local.family == NT_AF_INET6 ? 6 : 4);
		json_addr(&j, "local_addr", &acc[i].key.local);
		nt_json_u64(&j, "local_port", acc[i].key.local.port);
		json_addr(&j, "remote_addr", &acc[i].key.remote);
		nt_json_u64(&j, "count", acc[i].val.count);
		nt_json_end(&j);
	}
}

static int report(void *arg, bool final)
{
	struct connect_ctx *c = arg;
	bool interval = c->o.interval > 0;
	struct nt_snap cs, as;
	struct dest *d = NULL;
	int nd;

	if (nt_hm_out_report(&c->hm, final))
		return NT_EXIT_RUNTIME;
	if (nt_read_counters(&c->o, c->skel->maps.connect_stats, sizeof(struct connect_key),
			     sizeof(struct connect_val), &cs, &c->prev_conn, cval_sub))
		return NT_EXIT_RUNTIME;
	if (nt_read_counters(&c->o, c->skel->maps.accept_stats, sizeof(struct accept_key),
			     sizeof(struct accept_val), &as, &c->prev_acc, aval_sub)) {
		nt_snap_free(&cs);
		return NT_EXIT_RUNTIME;
	}
	qsort(cs.rows, cs.n, sizeof(struct crow), crow_cmp);
	nd = group_dests((struct crow *)cs.rows, (int)cs.n, &d);
	if (nd < 0) {
		nt_snap_free(&cs);
		nt_snap_free(&as);
		return NT_EXIT_RUNTIME;
	}
	qsort(d, (size_t)nd, sizeof(*d), dest_cmp);
	if (c->o.json)
		report_json(c, d, nd, (struct arow *)as.rows, (int)as.n, interval);
	else
		report_text(c, d, nd, (struct arow *)as.rows, (int)as.n, interval);
	nt_report_losses(&c->o, c->skel->bss->nt_losses, c->sym);
	if (c->o.json) {
		unsigned long long total = 0;

		for (int i = 0; i < nd; i++)
			total += d[i].attempts;
		nt_json_report_end(c->last_report_ns, final, "connects", total);
	}
	fflush(stdout);
	c->last_report_ns = nt_now_ns();
	free(d);
	nt_snap_free(&cs);
	nt_snap_free(&as);
	return 0;
}

static void print_event(struct connect_ctx *c, const struct connect_event *e)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], comm[NT_COMM_LEN * 4 + 1];
	int fd = bpf_map__fd(c->skel->maps.stacks);

	addr_str(&e->src, src, sizeof(src));
	addr_str(&e->dst, dst, sizeof(dst));
	if (c->o.json) {
		struct nt_json j;

		nt_json_begin(&j, stdout, "connect");
		nt_json_u64(&j, "time_ns", e->start_ns + e->latency_ns);
		nt_json_u64(&j, "start_ns", e->start_ns);
		nt_json_u64(&j, "pid", e->pid);
		nt_json_u64(&j, "tid", e->tid);
		nt_json_strn(&j, "comm", e->comm, NT_COMM_LEN);
		nt_json_u64(&j, "family", e->dst.family == NT_AF_INET6 ? 6 : 4);
		nt_json_str(&j, "src_addr", src);
		nt_json_u64(&j, "src_port", e->src.port);
		nt_json_str(&j, "dst_addr", dst);
		nt_json_u64(&j, "dst_port", e->dst.port);
		nt_json_strn(&j, "host", e->host, NT_HOST_LEN);
		nt_json_str(&j, "outcome", e->outcome < CONN_OUTCOMES ? outcome_names[e->outcome] : "?");
		nt_json_i64(&j, "errno", e->err);
		nt_json_u64(&j, "latency_ns", e->latency_ns);
		nt_json_bool(&j, "via_node", e->via_node);
		if (c->o.stacks) {
			json_stack(&j, c, "origin", (pid_t)e->pid, e->origin_stack);
			json_stack(&j, c, "connect", (pid_t)e->pid, e->connect_stack);
		}
		nt_json_end(&j);
		return;
	}
	/* The process names itself (process.title): escape it. */
	nt_escape(e->comm, NT_COMM_LEN, comm, sizeof(comm));
	printf("%-10.6f %-7u %-15s %-12s %9.3f %s:%u -> %s:%u ",
	       (double)(e->start_ns + e->latency_ns - c->session.start_ns) / 1e9, e->pid, comm,
	       e->outcome < CONN_OUTCOMES ? outcome_names[e->outcome] : "?",
	       (double)e->latency_ns / 1e6, src, e->src.port, dst, e->dst.port);
	nt_fputs_escaped(stdout, e->host[0] ? e->host : "-", NT_HOST_LEN);
	printf("\n");
	if (c->o.stacks) {
		printf("    origin:\n");
		nt_stack_print(stdout, c->sym, fd, (pid_t)e->pid, e->origin_stack, "      ");
		printf("    connect:\n");
		nt_stack_print(stdout, c->sym, fd, (pid_t)e->pid, e->connect_stack, "      ");
	}
	fflush(stdout);
}

static int on_event(void *arg, void *data, size_t len)
{
	struct connect_ctx *c = arg;
	unsigned int type;

	if (len < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	if (nt_note_new_stack(c->sym, data, len))
		return 0;
	if (type == NT_EV_CONNECT && len >= sizeof(struct connect_event)) {
		const struct connect_event *e = data;

		char dst[NT_HOST_LEN + 96], ip[64];

		/* The label: "host (addr:port)", or the address alone. */
		addr_str(&e->dst, ip, sizeof(ip));
		if (e->host[0])
			snprintf(dst, sizeof(dst), "%.*s (%s:%u)", NT_HOST_LEN, e->host, ip, e->dst.port);
		else
			snprintf(dst, sizeof(dst), "%s:%u", ip, e->dst.port);
		/* Its stack: where the lookup that resolved the destination
		 * was made (the application's code: node connects from the
		 * lookup's callback, or from a nextTick for an address), else
		 * where connect() was called. */
		nt_hm_out_add_stack(&c->hm, e->start_ns + e->latency_ns, e->latency_ns, e->pid, e->tid,
				    dst, sizeof(dst),
				    e->outcome < CONN_OUTCOMES ? outcome_names[e->outcome] : "?", e->comm,
				    e->origin_stack >= 0 ? e->origin_stack : e->connect_stack);
		if (c->o.events)
			print_event(c, data);
	}
	return 0;
}

enum { OPT_ALL = 3000 };

static int handle_opt(int key, const char *arg, void *ctx)
{
	struct connect_ctx *c = ctx;
	uint64_t v[NT_MAX_PORTS];
	const char *bad;
	int n;

	if (nt_hm_out_is_opt(key))
		return nt_hm_out_opt(&c->hm, "connect", key, arg);
	switch (key) {
	case 'P':
		n = nt_parse_uint_list(arg, 1, 65535, v, NT_MAX_PORTS - c->nports, &bad);
		if (n < 0)
			return nt_usage_error("connect", "-P '%s': not a port (1 to 65535, at most %d)",
					      bad, NT_MAX_PORTS);
		for (int i = 0; i < n; i++)
			c->ports[c->nports++] = (unsigned short)v[i];
		return 0;
	case '4':
	case '6':
		if (c->family && c->family != (key == '4' ? NT_AF_INET : NT_AF_INET6))
			return nt_usage_error("connect", "-4 and -6 exclude each other");
		c->family = key == '4' ? NT_AF_INET : NT_AF_INET6;
		return 0;
	case OPT_ALL:
		c->all = true;
		return 0;
	}
	return NT_EXIT_USAGE;
}

static const struct option connect_opts[] = {
	{ "port", required_argument, NULL, 'P' },
	{ "ipv4", no_argument, NULL, '4' },
	{ "ipv6", no_argument, NULL, '6' },
	{ "all", no_argument, NULL, OPT_ALL },
	NT_HM_LONG_OPTS,
	{ NULL, 0, NULL, 0 },
};

static const char connect_help[] =
"Outbound TCP connects of node processes: where to, how fast, which failed and\n"
"why (refused, timed out, closed by the caller), and with --stacks the code that\n"
"asked for each: the stack at the dns.lookup that resolved the destination (its\n"
"origin) next to the stack at connect(). Connections accepted by their servers,\n"
"per local port and client address.\n"
"\n"
"Examples:\n"
"  nodetap connect -P 443                 who connects to port 443?\n"
"  nodetap connect --stacks -- node --perf-basic-prof --interpreted-frames-native-stack app.js\n"
"                                         which functions open the connections\n"
"  nodetap connect --events -p 1234       each connect of pid 1234 as it ends\n"
"  nodetap connect --heatmap - -p 1234    connect latency over time, live in the terminal\n"
"\n"
"Reading the report: one line per (process, destination) with the hostname the\n"
"process resolved to that address, the connects, how many failed, average and\n"
"99th percentile (upper bound of its log2 bucket) connect latency in ms; then per\n"
"destination the outcomes and a latency histogram in microseconds. Frames of the\n"
"application's own code are marked =>.\n"
"\n"
"Options of connect:\n"
"  -P, --port PORT[,PORT] only connects to these ports (filtered in the kernel)\n"
"  -4, --ipv4 / -6, --ipv6 only IPv4 / IPv6 (IPv4-mapped IPv6 counts as IPv4)\n"
"      --all              every process on the host, not only node's\n"
NT_HM_HELP;

/* Listening sockets of running processes, opened before the probes were. */
static void add_listener(unsigned short port, void *ctx)
{
	struct { int fd; struct { __u32 pid; char comm[NT_COMM_LEN]; } l; } *a = ctx;

	bpf_map_update_elem(a->fd, &port, &a->l, BPF_ANY);
}

static void seed_listeners(struct connect_ctx *c, const pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		struct { int fd; struct { __u32 pid; char comm[NT_COMM_LEN]; } l; } a = {
			.fd = bpf_map__fd(c->skel->maps.listeners), .l = { .pid = (__u32)pids[i] } };
		char path[64];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/comm", pids[i]);
		if ((f = fopen(path, "re"))) {
			if (fgets(a.l.comm, sizeof(a.l.comm), f))
				a.l.comm[strcspn(a.l.comm, "\n")] = 0;
			fclose(f);
		}
		nt_listening_ports(pids[i], add_listener, &a);
	}
}

/* Default filter: node processes. The ones running now go in the map; the
 * uprobes add those that start later, at their first lookup, connect or
 * listen. */
static int seed_node_pids(struct connect_ctx *c, const struct nt_targets *t)
{
	int fd = bpf_map__fd(c->skel->maps.traced_pids);
	__u8 one = 1;

	for (int i = 0; i < t->nnode_pids; i++) {
		__u32 pid = (__u32)t->node_pids[i];

		if (bpf_map_update_elem(fd, &pid, &one, BPF_ANY)) {
			fprintf(stderr, "nodetap connect: adding pid %u to the filter: %s\n", pid,
				strerror(errno));
			return NT_EXIT_RUNTIME;
		}
	}
	return 0;
}

int cmd_connect(int argc, char **argv)
{
	struct connect_ctx c = { 0 };
	struct nt_cmd_spec spec = {
		.name = "connect",
		.summary = "Who connects where, how fast, from which code: TCP connects of node processes.",
		.help = connect_help,
		.has_events = true,
		.has_stacks = true,
		.extra = connect_opts,
		.extra_short = "P:46",
		.handle = handle_opt,
		.ctx = &c,
	};
	struct nt_probes probes = { 0 };
	struct nt_retarget retarget = { 0 };
	struct nt_targets targets = { 0 };
	struct bpf_link *fork_link = NULL, *state_link = NULL;
	bool mark;
	int rc;

	rc = nt_parse_options(argc, argv, &spec, &c.o);
	if (rc)
		return rc < 0 ? NT_EXIT_OK : rc;
	if ((rc = nt_hm_out_check(&c.hm, &c.o)))
		return rc;
	if (c.all && (c.o.npids || c.o.command))
		return nt_usage_error("connect", "--all traces every process: it excludes -p and '-- COMMAND'");
	if ((rc = nt_bpf_setup(&c.o)))
		return rc;
	if ((rc = nt_targets_find(&c.o, &targets)))
		return rc;
	mark = !c.all && !c.o.npids && !c.o.command;
	nt_session_init(&c.session, &c.o);
	c.last_report_ns = nt_now_ns();
	c.sym = nt_symbolizer_for(&c.o);
	c.skel = connect_bpf__open();
	if (!c.sym || !c.skel) {
		fprintf(stderr, "nodetap connect: opening the BPF object: %s\n", strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	c.skel->rodata->filter_pids = !c.all;
	c.skel->rodata->follow_children = c.o.command != NULL || mark;
	c.skel->rodata->mark_node_pids = mark;
	/* --html lists every event with its stack: take them as --stacks does. */
	c.skel->rodata->capture_stacks = c.o.stacks || nt_hm_out_wants_stacks(&c.hm);
	c.skel->rodata->emit_events = c.o.events || nt_hm_out_on(&c.hm);
	c.skel->rodata->filter_ports = c.nports > 0;
	c.skel->rodata->only_family = c.family;
	if (!c.o.stacks && !nt_hm_out_wants_stacks(&c.hm)) {
		bpf_map__set_max_entries(c.skel->maps.stacks, 1);
		bpf_map__set_max_entries(c.skel->maps.stack_seen, 1);
	}
	if ((rc = nt_test_map_sizes(&c.o, c.skel->obj)) ||
	    (rc = nt_load_skeleton(&c.o, c.skel->skeleton)))
		goto out;
	for (int i = 0; i < c.nports; i++) {
		__u8 one = 1;

		bpf_map_update_elem(bpf_map__fd(c.skel->maps.ports), &c.ports[i], &one, BPF_ANY);
	}
	if (mark && (rc = seed_node_pids(&c, &targets)))
		goto out;
	seed_listeners(&c, mark ? targets.node_pids : c.o.pids, mark ? targets.nnode_pids : c.o.npids);
	if (mark) {
		/* Children of node processes are traced too (cluster, workers
		 * in child processes). */
		if ((rc = nt_follow_forks(&c.o, c.skel->progs.nt_fork, &fork_link)))
			goto out;
	} else if ((rc = nt_setup_filter(&c.session, &c.o, c.skel->maps.traced_pids,
					 c.skel->progs.nt_fork, &fork_link))) {
		goto out;
	}
	state_link = bpf_program__attach(c.skel->progs.conn_state_change);
	if (!state_link) {
		fprintf(stderr, "nodetap connect: attaching raw tracepoint inet_sock_set_state: %s "
			"(this kernel has no such tracepoint?)\n", strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}

	/* The node side is what names the origin and the host; without it the
	 * kernel side still counts every connect. The lookup's own stack only
	 * with --stacks; uv_listen only to find node servers that start later. */
	struct nt_probe_spec chosen[5];
	int nchosen = 0;

	chosen[nchosen++] = (struct nt_probe_spec){ "uv__getaddrinfo_done", c.skel->progs.origin_done,
						    false, true, nt_uv_locate_gai_done };
	chosen[nchosen++] = (struct nt_probe_spec){ "uv__getaddrinfo_done",
						    c.skel->progs.origin_done_return, true, true,
						    nt_uv_locate_gai_done };
	chosen[nchosen++] = (struct nt_probe_spec){
		"node::TCPWrap::Connect(v8::FunctionCallbackInfo<v8::Value> const&",
		c.skel->progs.node_connect, false, false, NULL };
	if (c.o.stacks || nt_hm_out_wants_stacks(&c.hm))
		chosen[nchosen++] = (struct nt_probe_spec){ "uv_getaddrinfo", c.skel->progs.origin_start,
							    false, true, NULL };
	if (mark)
		chosen[nchosen++] = (struct nt_probe_spec){ "uv_listen", c.skel->progs.node_listen,
							    false, true, NULL };
	if (targets.n)
		nt_probes_place(&probes, chosen, nchosen, &targets);
	nt_probes_report(&probes, "connect", c.o.json, c.o.verbose);
	if (!probes.placed && !c.o.json)
		fprintf(stderr, "nodetap connect: no node probe placed: connects are counted, but "
			"without hostnames or origins\n");
	if ((rc = nt_session_open_events(&c.session, c.skel->maps.events, on_event, &c)))
		goto out;
	if (nt_hm_out_on(&c.hm)) {
		nt_hm_out_stacks(&c.hm, c.sym, bpf_map__fd(c.skel->maps.stacks),
				 "the stack was not taken: see the losses");
		if ((rc = nt_hm_out_start(&c.hm, "connect latency", nt_now_ns(),
					  c.skel->bss->nt_losses)))
			goto out;
		c.session.tick = nt_hm_out_tick;
		c.session.tick_ctx = &c.hm;
	}
	/* A -p process that execs another program gets its probes again. */
	if (nt_retarget_start(&retarget, &c.session, &c.o, chosen, nchosen)) {
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	if (!c.o.json)
		fprintf(stderr, "nodetap connect: tracing TCP connects of %s; %s\n",
			c.all ? "every process" : c.o.command ? "COMMAND and its children" :
			c.o.npids ? "the given processes" : "node processes",
			c.o.duration ? "until -d ends" : c.o.command ? "until it exits" : "Ctrl-C to stop");
	if (c.o.events && !c.o.json)
		printf("%-10s %-7s %-15s %-12s %9s %s\n", "TIME(s)", "PID", "COMM", "OUTCOME",
		       "LAT(ms)", "SOURCE -> DESTINATION HOST");
	if (c.o.command && (rc = nt_session_release_command(&c.session)))
		goto out;
	rc = nt_session_run(&c.session, report, &c);
out:
	nt_session_cleanup(&c.session);
	ring_buffer__free(c.session.rb);
	nt_probes_destroy(&probes);
	nt_retarget_free(&retarget);
	bpf_link__destroy(state_link);
	bpf_link__destroy(fork_link);
	connect_bpf__destroy(c.skel);
	nt_symbolizer_free(c.sym);
	nt_targets_free(&targets);
	nt_snap_free(&c.prev_conn);
	nt_snap_free(&c.prev_acc);
	nt_hm_out_free(&c.hm);
	return rc;
}
