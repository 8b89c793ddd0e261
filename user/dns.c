/* nodetap dns: DNS lookups (dns.lookup, i.e. uv_getaddrinfo) of node
 * processes: count, errors by status, latency histogram, per process and
 * hostname, optionally per caller stack; or each lookup as it completes. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "cmdsetup.h"
#include "common.h"
#include "dns.h"
#include "dns.skel.h"
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
#include "uvlocate.h"

enum sort_key { SORT_COUNT, SORT_TOTAL, SORT_ERRORS, SORT_HOST };

/* One entry of dns_stats, laid out as a mapsnap row. */
struct row {
	struct dns_key key;
	struct dns_val val;
};
_Static_assert(offsetof(struct row, val) == sizeof(struct dns_key) &&
	       sizeof(struct row) == sizeof(struct dns_key) + sizeof(struct dns_val),
	       "struct row must match mapsnap's key-then-value rows");

/* All lookups of one (pid, host): the rows of its stacks summed. */
struct group {
	struct row *first;   /* rows of the group are contiguous after sorting */
	int nrows;
	struct dns_val sum;
};

struct dns_ctx {
	struct nt_opts o;
	enum sort_key sort;
	struct dns_bpf *skel;
	struct nt_symbolizer *sym;
	struct nt_session session;
	struct nt_snap prev;    /* interval mode: the snapshot last reported */
	uint64_t last_report_ns;
	struct nt_hm_out hm;    /* --heatmap */
};

static const char *const eai_names[NT_DNS_EAI_SLOTS] = {
	"EAI_ADDRFAMILY", "EAI_AGAIN", "EAI_BADFLAGS", "EAI_CANCELED", "EAI_FAIL",
	"EAI_FAMILY", "EAI_MEMORY", "EAI_NODATA", "EAI_NONAME", "EAI_OVERFLOW",
	"EAI_SERVICE", "EAI_SOCKTYPE", "EAI_3012", "EAI_BADHINTS", "EAI_PROTOCOL",
	"EAI_3015",
};

/* "ok", "EAI_NONAME", or "error -N" for statuses outside UV_EAI_*. */
static const char *status_name(int status, char *buf, size_t len)
{
	int slot = UV_EAI_BASE_ - status;

	if (!status)
		return "ok";
	if (slot >= 0 && slot < NT_DNS_EAI_SLOTS)
		return eai_names[slot];
	if (status == -22)
		return "EINVAL"; /* refused by uv_getaddrinfo: a bad or too long name */
	if (status == -12)
		return "ENOMEM";
	snprintf(buf, len, "error %d", status);
	return buf;
}

/* Rows in (pid, host, stack) order: the rows of one (pid, host) are then
 * adjacent, and one order serves grouping and the interval lookups. */
static int row_cmp(const void *pa, const void *pb)
{
	const struct dns_key *a = &((const struct row *)pa)->key;
	const struct dns_key *b = &((const struct row *)pb)->key;
	int c;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	c = strncmp(a->host, b->host, NT_HOST_LEN);
	if (c)
		return c;
	return a->stack_id < b->stack_id ? -1 : a->stack_id > b->stack_id;
}

static void val_add(struct dns_val *d, const struct dns_val *s)
{
	d->count += s->count;
	d->errors += s->errors;
	d->total_ns += s->total_ns;
	if (s->max_ns > d->max_ns)
		d->max_ns = s->max_ns;
	for (int i = 0; i < NT_HIST_SLOTS; i++)
		d->hist[i] += s->hist[i];
	for (int i = 0; i < NT_DNS_EAI_SLOTS; i++)
		d->eai[i] += s->eai[i];
	d->other_errors += s->other_errors;
	if (s->other_errors)
		d->last_other_status = s->last_other_status;
	if (!d->comm[0])
		memcpy(d->comm, s->comm, sizeof(d->comm));
}

/* Counters are cumulative in the kernel; an interval report shows the
 * difference from the last one. Max cannot be differenced: interval reports
 * leave it out. */
static void val_sub(void *dv, const void *sv)
{
	struct dns_val *d = dv;
	const struct dns_val *s = sv;

	d->count -= s->count;
	d->errors -= s->errors;
	d->total_ns -= s->total_ns;
	for (int i = 0; i < NT_HIST_SLOTS; i++)
		d->hist[i] -= s->hist[i];
	for (int i = 0; i < NT_DNS_EAI_SLOTS; i++)
		d->eai[i] -= s->eai[i];
	d->other_errors -= s->other_errors;
}

static int group_cmp_key;

static int group_cmp(const void *pa, const void *pb)
{
	const struct group *a = pa, *b = pb;

	switch (group_cmp_key) {
	case SORT_TOTAL:
		if (a->sum.total_ns != b->sum.total_ns)
			return a->sum.total_ns < b->sum.total_ns ? 1 : -1;
		break;
	case SORT_ERRORS:
		if (a->sum.errors != b->sum.errors)
			return a->sum.errors < b->sum.errors ? 1 : -1;
		break;
	case SORT_HOST:
		return strcmp(a->first->key.host, b->first->key.host);
	default:
		break;
	}
	if (a->sum.count != b->sum.count)
		return a->sum.count < b->sum.count ? 1 : -1;
	return strcmp(a->first->key.host, b->first->key.host);
}

/* Same (pid, host), ignoring the stack. */
static bool same_group(const struct row *a, const struct row *b)
{
	return a->key.pid == b->key.pid && !strncmp(a->key.host, b->key.host, NT_HOST_LEN);
}

/* ROWS sorted by row_cmp: each group is a run of adjacent rows. */
static int group_rows(struct row *rows, int n, struct group **out)
{
	struct group *g = calloc((size_t)(n ? n : 1), sizeof(*g));
	int ng = 0;

	if (!g)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		if (!ng || !same_group(g[ng - 1].first, &rows[i]))
			g[ng++].first = &rows[i];
		g[ng - 1].nrows++;
		val_add(&g[ng - 1].sum, &rows[i].val);
	}
	*out = g;
	return ng;
}

static void print_errors_text(const struct dns_val *v)
{
	char buf[32];
	bool first = true;

	if (!v->errors)
		return;
	printf("    errors:");
	for (int i = 0; i < NT_DNS_EAI_SLOTS; i++) {
		if (!v->eai[i])
			continue;
		printf("%s %s x%llu", first ? "" : ",", eai_names[i], (unsigned long long)v->eai[i]);
		first = false;
	}
	if (v->other_errors)
		printf("%s %s x%llu", first ? "" : ",",
		       status_name(v->last_other_status, buf, sizeof(buf)),
		       (unsigned long long)v->other_errors);
	printf("\n");
}

static void print_errors_json(struct nt_json *j, const struct dns_val *v)
{
	char buf[32];

	nt_json_obj(j, "errors_by_status");
	for (int i = 0; i < NT_DNS_EAI_SLOTS; i++)
		if (v->eai[i])
			nt_json_u64(j, eai_names[i], v->eai[i]);
	if (v->other_errors)
		nt_json_u64(j, status_name(v->last_other_status, buf, sizeof(buf)), v->other_errors);
	nt_json_obj_end(j);
}

/* Each stack of a group with its count. */
static void print_group_stacks(struct dns_ctx *c, const struct group *g)
{
	int fd = bpf_map__fd(c->skel->maps.stacks);

	for (const struct row *r = g->first; r < g->first + g->nrows; r++) {
		if (!r->val.count)
			continue;
		printf("    %llu lookup%s from:\n", (unsigned long long)r->val.count,
		       r->val.count == 1 ? "" : "s");
		nt_stack_print(stdout, c->sym, fd, (pid_t)r->key.pid, r->key.stack_id, "      ");
	}
}

static void report_text(struct dns_ctx *c, struct group *g, int ng, bool interval)
{
	uint64_t lookups = 0, errors = 0;
	char when[64];

	for (int i = 0; i < ng; i++) {
		lookups += g[i].sum.count;
		errors += g[i].sum.errors;
	}
	snprintf(when, sizeof(when), "%.1f s", (double)(nt_now_ns() - c->last_report_ns) / 1e9);
	printf("\nDNS lookups over %s: %llu lookup%s, %llu error%s, %d host/process pair%s\n", when,
	       (unsigned long long)lookups, lookups == 1 ? "" : "s",
	       (unsigned long long)errors, errors == 1 ? "" : "s", ng, ng == 1 ? "" : "s");
	if (!ng) {
		return;
	}
	printf("%-8s %-15s %-32s %7s %6s %9s %9s %9s\n", "PID", "COMM", "HOST", "COUNT", "ERRORS",
	       "AVG ms", "P99<= ms", interval ? "" : "MAX ms");
	for (int i = 0; i < ng; i++) {
		const struct dns_val *v = &g[i].sum;
		char host[NT_HOST_LEN * 4 + 1], comm[NT_COMM_LEN * 4 + 1];

		/* The column holds 32: a longer name ends in "..." here and is
		 * shown whole above its histogram below. */
		if (nt_escape(g[i].first->key.host, NT_HOST_LEN, host, 30) >= 30)
			strcat(host, "...");
		nt_escape(v->comm, NT_COMM_LEN, comm, sizeof(comm));
		printf("%-8u %-15s %-32s %7llu %6llu %9.2f %9.2f", g[i].first->key.pid, comm,
		       host[0] ? host : "(none)", (unsigned long long)v->count,
		       (unsigned long long)v->errors,
		       v->count ? (double)v->total_ns / (double)v->count / 1e6 : 0.0,
		       (double)nt_hist_percentile(v->hist, NT_HIST_SLOTS, 99) / 1e3);
		if (!interval)
			printf(" %9.2f", (double)v->max_ns / 1e6);
		printf("\n");
	}
	for (int i = 0; i < ng; i++) {
		const struct dns_val *v = &g[i].sum;
		char host[NT_HOST_LEN * 4 + 1];

		if (!v->count)
			continue;
		nt_escape(g[i].first->key.host, NT_HOST_LEN, host, sizeof(host));
		printf("\n  %s (pid %u)\n", host[0] ? host : "(none)", g[i].first->key.pid);
		nt_hist_print(stdout, v->hist, NT_HIST_SLOTS, "usecs", "    ");
		print_errors_text(v);
		if (c->o.stacks)
			print_group_stacks(c, &g[i]);
	}
}

static void report_json(struct dns_ctx *c, struct group *g, int ng, bool interval)
{
	int fd = bpf_map__fd(c->skel->maps.stacks);
	uint64_t now = nt_now_ns();

	for (int i = 0; i < ng; i++) {
		const struct dns_val *v = &g[i].sum;
		struct nt_json j;

		if (!v->count)
			continue;
		nt_json_begin(&j, stdout, "dns_summary");
		nt_json_u64(&j, "time_ns", now);
		nt_json_u64(&j, "interval_ns", now - c->last_report_ns);
		nt_json_u64(&j, "pid", g[i].first->key.pid);
		nt_json_strn(&j, "comm", v->comm, NT_COMM_LEN);
		nt_json_strn(&j, "host", g[i].first->key.host, NT_HOST_LEN);
		nt_json_u64(&j, "count", v->count);
		nt_json_u64(&j, "errors", v->errors);
		print_errors_json(&j, v);
		nt_json_u64(&j, "total_ns", v->total_ns);
		nt_json_u64(&j, "avg_ns", v->count ? v->total_ns / v->count : 0);
		if (!interval)
			nt_json_u64(&j, "max_ns", v->max_ns);
		nt_hist_json(&j, "latency_hist", v->hist, NT_HIST_SLOTS, "us");
		if (c->o.stacks) {
			nt_json_arr(&j, "stacks");
			for (const struct row *r = g[i].first; r < g[i].first + g[i].nrows; r++) {
				if (!r->val.count)
					continue;
				nt_json_obj(&j, NULL);
				nt_json_u64(&j, "count", r->val.count);
				nt_stack_json(&j, c->sym, fd, (pid_t)r->key.pid, r->key.stack_id);
				nt_json_obj_end(&j);
			}
			nt_json_arr_end(&j);
		}
		nt_json_end(&j);
	}
}

static int report(void *arg, bool final)
{
	struct dns_ctx *c = arg;
	bool interval = c->o.interval > 0;
	struct nt_snap snap;
	struct row *rows;
	struct group *g = NULL;
	int n, ng;

	if (nt_hm_out_report(&c->hm, final))
		return NT_EXIT_RUNTIME;
	if (nt_read_counters(&c->o, c->skel->maps.dns_stats, sizeof(struct dns_key),
			     sizeof(struct dns_val), &snap, &c->prev, val_sub))
		return NT_EXIT_RUNTIME;
	rows = (struct row *)snap.rows;
	n = (int)snap.n;
	qsort(rows, (size_t)n, sizeof(*rows), row_cmp);
	ng = group_rows(rows, n, &g);
	if (ng < 0) {
		nt_snap_free(&snap);
		return NT_EXIT_RUNTIME;
	}
	group_cmp_key = c->sort;
	qsort(g, (size_t)ng, sizeof(*g), group_cmp);
	if (c->o.json)
		report_json(c, g, ng, interval);
	else
		report_text(c, g, ng, interval);
	if (!c->o.json || final || interval)
		nt_report_losses(&c->o, c->skel->bss->nt_losses, c->sym);
	if (c->o.json) {
		unsigned long long total = 0;

		for (int i = 0; i < ng; i++)
			total += g[i].sum.count;
		nt_json_report_end(c->last_report_ns, final, "lookups", total);
	}
	fflush(stdout);
	c->last_report_ns = nt_now_ns();
	free(g);
	nt_snap_free(&snap);
	return 0;
}

static void print_event(struct dns_ctx *c, const struct dns_event *e)
{
	char status[32], comm[NT_COMM_LEN * 4 + 1];
	int fd = bpf_map__fd(c->skel->maps.stacks);

	if (c->o.json) {
		struct nt_json j;

		nt_json_begin(&j, stdout, "dns_lookup");
		nt_json_u64(&j, "time_ns", e->start_ns + e->latency_ns);
		nt_json_u64(&j, "start_ns", e->start_ns);
		nt_json_u64(&j, "pid", e->pid);
		nt_json_u64(&j, "tid", e->tid);
		nt_json_strn(&j, "comm", e->comm, NT_COMM_LEN);
		nt_json_strn(&j, "host", e->host, NT_HOST_LEN);
		nt_json_bool(&j, "host_truncated", e->flags & DNS_F_TRUNCATED);
		nt_json_bool(&j, "sync", e->flags & DNS_F_SYNC);
		nt_json_u64(&j, "latency_ns", e->latency_ns);
		nt_json_i64(&j, "status", e->status);
		nt_json_str(&j, "status_name", status_name(e->status, status, sizeof(status)));
		if (c->o.stacks)
			nt_stack_json(&j, c->sym, fd, (pid_t)e->pid, e->stack_id);
		nt_json_end(&j);
		return;
	}
	/* The process names itself (process.title): escape it. */
	nt_escape(e->comm, NT_COMM_LEN, comm, sizeof(comm));
	printf("%-10.6f %-7u %-7u %-15s %9.3f %-14s ",
	       (double)(e->start_ns + e->latency_ns - c->session.start_ns) / 1e9, e->pid, e->tid,
	       comm, (double)e->latency_ns / 1e6, status_name(e->status, status, sizeof(status)));
	nt_fputs_escaped(stdout, e->host, NT_HOST_LEN);
	printf("%s\n", e->flags & DNS_F_TRUNCATED ? "..." : "");
	if (c->o.stacks)
		nt_stack_print(stdout, c->sym, fd, (pid_t)e->pid, e->stack_id, "    ");
	fflush(stdout);
}

static int on_event(void *arg, void *data, size_t len)
{
	struct dns_ctx *c = arg;
	unsigned int type;

	if (len < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	/* A new stack: note its process while it is alive, since naming the
	 * frames needs its maps, maybe after it has exited. */
	if (nt_note_new_stack(c->sym, data, len))
		return 0;
	if (type == NT_EV_DNS && len >= sizeof(struct dns_event)) {
		const struct dns_event *e = data;

		char st[32];

		nt_hm_out_add_stack(&c->hm, e->start_ns + e->latency_ns, e->latency_ns, e->pid, e->tid,
				    e->host, NT_HOST_LEN, status_name(e->status, st, sizeof(st)),
				    e->comm, e->stack_id);
		if (c->o.events)
			print_event(c, data);
	}
	return 0;
}

/* Were both ends of a lookup placed somewhere? Starts alone count nothing
 * (lookups are accounted at completion); completions alone match nothing. */
static bool both_ends_placed(const struct nt_probes *p)
{
	bool start = false, done = false;

	for (int i = 0; i < p->nres; i++) {
		if (p->res[i].err)
			continue;
		start |= !strcmp(p->res[i].func, "uv_getaddrinfo");
		done |= !strcmp(p->res[i].func, "uv__getaddrinfo_done");
	}
	return start && done;
}

#define OPT_SORT 2000

static int handle_opt(int key, const char *arg, void *ctx)
{
	struct dns_ctx *c = ctx;

	if (nt_hm_out_is_opt(key))
		return nt_hm_out_opt(&c->hm, "dns", key, arg);
	if (key != OPT_SORT)
		return NT_EXIT_USAGE;
	if (!strcmp(arg, "count"))
		c->sort = SORT_COUNT;
	else if (!strcmp(arg, "total"))
		c->sort = SORT_TOTAL;
	else if (!strcmp(arg, "errors"))
		c->sort = SORT_ERRORS;
	else if (!strcmp(arg, "host"))
		c->sort = SORT_HOST;
	else
		return nt_usage_error("dns", "--sort '%s': sort by count, total, errors or host", arg);
	return 0;
}

static const struct option dns_opts[] = {
	{ "sort", required_argument, NULL, OPT_SORT },
	NT_HM_LONG_OPTS,
	{ NULL, 0, NULL, 0 },
};

static const char dns_help[] =
"Every dns.lookup() (libuv's uv_getaddrinfo) a node process makes: how many, how\n"
"slow, which failed and why, per process and hostname. dns.resolve*() goes through\n"
"c-ares and is not counted here.\n"
"\n"
"Examples:\n"
"  nodetap dns                        all node processes, one report at Ctrl-C\n"
"  nodetap dns -p 1234 5              pid 1234, a report every 5 seconds\n"
"  nodetap dns --events -- node app.js\n"
"                                     run app.js, print each lookup as it completes\n"
"  nodetap dns --stacks -- node --perf-basic-prof --interpreted-frames-native-stack app.js\n"
"                                     which JavaScript functions make the lookups\n"
"  nodetap dns --heatmap dns.svg -- node app.js\n"
"                                     latency over time as a heat map (docs/heatmap.md)\n"
"\n"
"Reading the report: one line per (process, hostname) with the count, errors, the\n"
"average and the 99th percentile (upper bound of its log2 bucket) in ms, then a\n"
"histogram of latencies in microseconds per hostname. Latency runs from the call to\n"
"uv_getaddrinfo to the moment the result is handed back on the event loop, so it\n"
"includes time queued for a threadpool thread. Errors are libuv's EAI_* codes\n"
"(node reports EAI_NONAME as ENOTFOUND).\n"
"\n"
"Options of dns:\n"
"      --sort KEY           order hostnames by count (default), total, errors, host\n"
NT_HM_HELP;

int cmd_dns(int argc, char **argv)
{
	struct dns_ctx c = { .sort = SORT_COUNT };
	struct nt_cmd_spec spec = {
		.name = "dns",
		.summary = "Count and time DNS lookups (dns.lookup / uv_getaddrinfo) of node processes.",
		.help = dns_help,
		.has_events = true,
		.has_stacks = true,
		.extra = dns_opts,
		.extra_short = "",
		.handle = handle_opt,
		.ctx = &c,
	};
	struct nt_probes probes = { 0 };
	struct nt_targets targets = { 0 };
	struct nt_retarget retarget = { 0 };
	struct bpf_link *fork_link = NULL;
	int rc;

	rc = nt_parse_options(argc, argv, &spec, &c.o);
	if (rc)
		return rc < 0 ? NT_EXIT_OK : rc;
	if ((rc = nt_hm_out_check(&c.hm, &c.o)))
		return rc;
	if ((rc = nt_bpf_setup(&c.o)))
		return rc;
	if ((rc = nt_targets_find(&c.o, &targets)))
		return rc;
	nt_session_init(&c.session, &c.o);
	c.last_report_ns = nt_now_ns();
	c.sym = nt_symbolizer_for(&c.o);
	c.skel = dns_bpf__open();
	if (!c.sym || !c.skel) {
		fprintf(stderr, "nodetap dns: opening the BPF object: %s\n", strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	c.skel->rodata->filter_pids = c.o.npids > 0 || c.o.command;
	c.skel->rodata->follow_children = c.o.command != NULL;
	/* --html lists every event with its stack: take them as --stacks does. */
	c.skel->rodata->capture_stacks = c.o.stacks || nt_hm_out_wants_stacks(&c.hm);
	c.skel->rodata->emit_events = c.o.events || nt_hm_out_on(&c.hm);
	if (!c.o.stacks && !nt_hm_out_wants_stacks(&c.hm)) {
		/* Unused: keep them small. */
		bpf_map__set_max_entries(c.skel->maps.stacks, 1);
		bpf_map__set_max_entries(c.skel->maps.stack_seen, 1);
	}
	if ((rc = nt_test_map_sizes(&c.o, c.skel->obj)) ||
	    (rc = nt_load_skeleton(&c.o, c.skel->skeleton)))
		goto out;
	if ((rc = nt_setup_filter(&c.session, &c.o, c.skel->maps.traced_pids,
				  c.skel->progs.nt_fork, &fork_link)))
		goto out;

	const struct nt_probe_spec specs[] = {
		{ "uv_getaddrinfo", c.skel->progs.dns_start, false, true, NULL },
		{ "uv__getaddrinfo_done", c.skel->progs.dns_done, false, true, nt_uv_locate_gai_done },
		{ "uv_getaddrinfo", c.skel->progs.dns_return, true, true, NULL },
	};
	nt_probes_place(&probes, specs, 3, &targets);
	nt_probes_report(&probes, "dns", c.o.json, c.o.verbose);
	if (probes.placed == 0) {
		fprintf(stderr, "nodetap dns: no probe could be placed: %s\n",
			targets.n ? "see the reasons above (-v also lists the binaries nodetap found by itself)" :
			"no node binary found (is node running? name one with --binary or -p)");
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	if (!both_ends_placed(&probes)) {
		fprintf(stderr, "nodetap dns: cannot trace lookups: uv_getaddrinfo and "
			"uv__getaddrinfo_done must both be placed (see above)\n");
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	if ((rc = nt_session_open_events(&c.session, c.skel->maps.events, on_event, &c)))
		goto out;
	if (nt_hm_out_on(&c.hm)) {
		nt_hm_out_stacks(&c.hm, c.sym, bpf_map__fd(c.skel->maps.stacks),
				 "the stack was not taken: see the losses");
		if ((rc = nt_hm_out_start(&c.hm, "dns.lookup latency", nt_now_ns(),
					  c.skel->bss->nt_losses)))
			goto out;
		c.session.tick = nt_hm_out_tick;
		c.session.tick_ctx = &c.hm;
	}
	/* A -p process that execs another program gets its probes again. */
	if (nt_retarget_start(&retarget, &c.session, &c.o, specs, 3)) {
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	if (!c.o.json)
		fprintf(stderr, "nodetap dns: tracing DNS lookups in %s; %s\n",
			c.o.command ? "COMMAND and its children" :
			c.o.npids ? "the given processes" : "every node process",
			c.o.duration ? "until -d ends" : c.o.command ? "until it exits" :
			"Ctrl-C to stop");
	if (c.o.events && !c.o.json)
		printf("%-10s %-7s %-7s %-15s %9s %-14s %s\n", "TIME(s)", "PID", "TID", "COMM",
		       "LAT(ms)", "STATUS", "HOST");
	if (c.o.command && (rc = nt_session_release_command(&c.session)))
		goto out;
	rc = nt_session_run(&c.session, report, &c);
out:
	nt_session_cleanup(&c.session);
	ring_buffer__free(c.session.rb);
	nt_probes_destroy(&probes);
	nt_retarget_free(&retarget);
	bpf_link__destroy(fork_link);
	dns_bpf__destroy(c.skel);
	nt_symbolizer_free(c.sym);
	nt_targets_free(&targets);
	nt_snap_free(&c.prev);
	nt_hm_out_free(&c.hm);
	return rc;
}
