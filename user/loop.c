/* nodetap loop: event-loop lag of node processes, and what blocks their
 * loops, from a CPU-clock sampler that reads libuv's cached clock: no probe
 * on any path of the traced process (see bpf/loop.bpf.c).
 *
 * The engine that finds the loops and their blockages is loopwatch.c (its
 * state: loopwatch_int.h); this file is the subcommand: its options, and
 * its reports of what the engine found (summaries per loop, blockages in
 * text and JSON, at once with --events or at each report). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "cmdsetup.h"
#include "common.h"
#include "escape.h"
#include "hist.h"
#include "heatmap_out.h"
#include "json.h"
#include "loop.h"
#include "loop.skel.h"
#include "loopwatch_int.h"
#include "sampler.h"
#include "session.h"
#include "stackfmt.h"
#include "subcommands.h"
#include "symbolize.h"
#include "targets.h"
#include "uvloop.h"

#define DEFAULT_THRESHOLD_MS 100
#define MAX_THRESHOLD_MS 3600000U
#define DEFAULT_FREQ 99
#define MAX_FREQ 1000
#define TEXT_STACKS 3                /* stacks shown per blockage in text */

/* ---- output ---------------------------------------------------------------- */

static double rel_s(const struct loop_ctx *c, uint64_t ns)
{
	return ns > c->session.start_ns ? (double)(ns - c->session.start_ns) / 1e9 : 0.0;
}

static void print_frame(const struct nt_frame *fr, const char *indent)
{
	const char *mod;

	printf("%s%s", indent, nt_frame_is_app(fr) ? "=> " : "   ");
	nt_fputs_escaped(stdout, fr->name ? fr->name : "[unknown]", PATH_MAX);
	if (fr->kind == NT_FRAME_JS) {
		fputs(fr->js_optimized ? " [js*]\n" : " [js]\n", stdout);
		return;
	}
	mod = fr->module ? strrchr(fr->module, '/') : NULL;
	mod = mod ? mod + 1 : fr->module;
	if (fr->kind == NT_FRAME_NATIVE && mod) {
		fputs(" [", stdout);
		nt_fputs_escaped(stdout, mod, PATH_MAX);
		fputs("]\n", stdout);
	} else {
		fputc('\n', stdout);
	}
}

static void print_fn_name(const struct jsfn *f)
{
	if (!f->name) {
		fputs("(no JavaScript frame)", stdout);
		return;
	}
	fputs(f->app ? "=> " : "", stdout);
	nt_fputs_escaped(stdout, f->name, PATH_MAX);
	fputs(f->optimized ? " [js*]" : " [js]", stdout);
}

static void blockage_text(const struct loop_ctx *c, const struct blockage *b)
{
	printf("\n  pid %d (", b->pid);
	nt_fputs_escaped(stdout, b->comm, NT_COMM_LEN);
	printf(") %s loop, thread %d: %s %.1f ms from %.3f s%s, %u samples\n", b->main ? "main" : "worker",
	       b->tid, b->ongoing ? "still blocked after" : "blocked", (double)(b->end_ns - b->start_ns) / 1e6,
	       rel_s(c, b->start_ns), b->startup ? " (start-up: before the loop's first iteration)" : "",
	       b->samples);
	if (b->nfns) {
		printf("    innermost JavaScript function, by samples:\n");
		for (int i = 0; i < b->nfns; i++) {
			printf("    %6u  ", b->fns[i].count);
			print_fn_name(&b->fns[i]);
			putchar('\n');
		}
	}
	if (b->waiting_ns >= 1000000)
		printf("    of it %.1f ms waiting for a CPU (other threads or processes ran)\n",
		       (double)b->waiting_ns / 1e6);
	if (b->nostack)
		printf("    %u sample%s without a stack\n", b->nostack, b->nostack == 1 ? "" : "s");
	for (int i = 0; i < b->nstacks && i < TEXT_STACKS; i++) {
		const struct fstack *s = &b->stacks[i];

		int last = s->nframes - 1;

		/* Down to the outermost JavaScript frame: below it is the event
		 * loop and node's start-up, the same in every stack. */
		for (int k = s->nframes - 1; k >= 0; k--) {
			if (s->frames[k].kind == NT_FRAME_JS) {
				last = k + 1 < s->nframes ? k + 1 : k;
				break;
			}
		}
		printf("    %u sample%s:\n", s->count, s->count == 1 ? "" : "s");
		for (int k = 0; k <= last; k++)
			print_frame(&s->frames[k], "      ");
		if (last < s->nframes - 1)
			printf("         ... %d more frames\n", s->nframes - 1 - last);
	}
	if (b->nstacks > TEXT_STACKS) {
		unsigned rest = 0;

		for (int i = TEXT_STACKS; i < b->nstacks; i++)
			rest += b->stacks[i].count;
		printf("    ... %d more stack%s (%u samples): --json lists them all\n",
		       b->nstacks - TEXT_STACKS, b->nstacks - TEXT_STACKS == 1 ? "" : "s", rest);
	}
}

static void frame_json(struct nt_json *j, const struct nt_frame *fr)
{
	char addr[24];

	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)fr->addr);
	nt_json_obj(j, NULL);
	nt_json_str(j, "addr", addr);
	nt_json_str(j, "kind", nt_frame_kind_name(fr->kind));
	nt_json_str(j, "name", fr->name ? fr->name : "[unknown]");
	if (fr->module)
		nt_json_str(j, "module", fr->module);
	if (fr->kind == NT_FRAME_JS) {
		nt_json_bool(j, "optimized", fr->js_optimized);
		nt_json_bool(j, "app", nt_frame_is_app(fr));
	}
	nt_json_obj_end(j);
}

static void blockage_json(const struct blockage *b)
{
	struct nt_json j;

	nt_json_begin(&j, stdout, "loop_blockage");
	nt_json_u64(&j, "time_ns", b->end_ns);
	nt_json_u64(&j, "start_ns", b->start_ns);
	nt_json_u64(&j, "pid", b->pid);
	nt_json_u64(&j, "tid", b->tid);
	nt_json_strn(&j, "comm", b->comm, NT_COMM_LEN);
	nt_json_str(&j, "kind", b->main ? "main" : "worker");
	nt_json_u64(&j, "duration_ns", b->end_ns - b->start_ns);
	nt_json_u64(&j, "waiting_for_cpu_ns", b->waiting_ns);
	nt_json_bool(&j, "ongoing", b->ongoing);
	nt_json_bool(&j, "startup", b->startup);
	nt_json_u64(&j, "samples", b->samples);
	nt_json_u64(&j, "kernel_samples", b->kernel);
	nt_json_u64(&j, "samples_without_stack", b->nostack);
	nt_json_arr(&j, "js_functions");
	for (int i = 0; i < b->nfns; i++) {
		nt_json_obj(&j, NULL);
		if (b->fns[i].name)
			nt_json_str(&j, "name", b->fns[i].name);
		else
			nt_json_null(&j, "name");
		nt_json_u64(&j, "count", b->fns[i].count);
		nt_json_bool(&j, "optimized", b->fns[i].optimized);
		nt_json_bool(&j, "app", b->fns[i].app);
		nt_json_obj_end(&j);
	}
	nt_json_arr_end(&j);
	nt_json_arr(&j, "stacks");
	for (int i = 0; i < b->nstacks; i++) {
		const struct fstack *s = &b->stacks[i];

		nt_json_obj(&j, NULL);
		nt_json_u64(&j, "count", s->count);
		if (s->fn >= 0 && b->fns[s->fn].name)
			nt_json_str(&j, "js_function", b->fns[s->fn].name);
		else
			nt_json_null(&j, "js_function");
		nt_json_str(&j, "folded", s->folded);
		nt_json_arr(&j, "frames");
		for (int k = 0; k < s->nframes; k++)
			frame_json(&j, &s->frames[k]);
		nt_json_arr_end(&j);
		nt_json_obj_end(&j);
	}
	nt_json_arr_end(&j);
	nt_json_end(&j);
}

static void emit_blockage(struct loop_ctx *c, struct blockage *b);

/* Where the engine hands each blockage that ended: printed at once with
 * --events, else kept for the report. */
static void keep_blockage(struct loop_ctx *c, struct blockage *b)
{
	struct blockage *v;

	if (c->o.events) {
		emit_blockage(c, b);
		lw_free_blockage(b);
	} else if ((v = realloc(c->blocks, (size_t)(c->nblocks + 1) * sizeof(*v)))) {
		c->blocks = v;
		c->blocks[c->nblocks++] = *b;
	} else {
		lw_free_blockage(b);
	}
}

/* --events: one blockage as it ends. */
static void emit_blockage(struct loop_ctx *c, struct blockage *b)
{
	char comm[NT_COMM_LEN * 4 + 1];

	if (c->o.json) {
		blockage_json(b);
		return;
	}
	/* The process names its threads (process.title, worker names): escape. */
	nt_escape(b->comm, NT_COMM_LEN, comm, sizeof(comm));
	printf("%-10.6f %-7d %-7d %-15s %-6s %10.1f %7u  ", rel_s(c, b->end_ns), b->pid, b->tid,
	       comm, b->main ? "main" : "worker", (double)(b->end_ns - b->start_ns) / 1e6, b->samples);
	if (b->nfns)
		print_fn_name(&b->fns[0]);
	putchar('\n');
	blockage_text(c, b);
	fflush(stdout);
}

/* What one loop did since the last report. */
struct lstat {
	struct lloop *l;
	struct loop_val v;           /* counters over the report */
	uint64_t span_ns;            /* the time they cover */
	bool has_iter;
	uint64_t iterations;
};

static void val_sub(struct loop_val *d, const struct loop_val *s)
{
	d->samples -= s->samples;
	d->idle_skipped -= s->idle_skipped;
	d->read_errors -= s->read_errors;
	for (int i = 0; i < NT_HIST_SLOTS; i++)
		d->hist[i] -= s->hist[i];
}

static void collect(struct loop_ctx *c, struct lstat *st, bool interval, uint64_t now)
{
	struct lloop *l = st->l;
	__u32 key = (__u32)l->tid;
	uint64_t end = l->gone ? l->gone_ns : now;

	if (l->gone)
		st->v = l->final;
	else if (bpf_map_lookup_elem(c->loops_fd, &key, &st->v))
		st->v = l->prev;
	lw_read_count(l);
	st->has_iter = l->count_ok;
	st->iterations = l->count_ok ? l->count_last - l->count_prev : 0;
	st->span_ns = end > l->since_ns ? end - l->since_ns : 0;
	if (interval) {
		struct loop_val cur = st->v;

		val_sub(&st->v, &l->prev);
		l->prev = cur;
	}
}

static double on_cpu(const struct loop_ctx *c, const struct lstat *s)
{
	return s->span_ns ? (double)s->v.samples * (double)c->period_ns / (double)s->span_ns : 0.0;
}

static void summary_text(struct loop_ctx *c, struct lstat *st, int n, int nproc, bool interval,
			 struct blockage *ongoing, int nongoing)
{
	unsigned long long blocked = 0, errors = 0, idle = 0, starved = 0;

	for (int i = 0; i < n; i++) {
		blocked += st[i].l->blockages;
		errors += st[i].v.read_errors;
		idle += st[i].v.idle_skipped;
		starved += st[i].l->starved;
	}
	printf("\nEvent loops over %.1f s: %d loop%s in %d process%s, %llu blockage%s of %llu ms or more\n",
	       (double)(nt_now_ns() - c->last_report_ns) / 1e9, n, n == 1 ? "" : "s", nproc,
	       nproc == 1 ? "" : "es", blocked, blocked == 1 ? "" : "s",
	       (unsigned long long)c->threshold_ms);
	if (n) {
		printf("%-8s %-8s %-15s %-6s %8s %7s %8s %9s %9s %9s %9s\n", "PID", "TID", "COMM", "LOOP",
		       "ITER/s", "ON-CPU", "SAMPLES", "P50<= ms", "P99<= ms", interval ? "" : "MAX ms",
		       "BLOCKAGES");
	}
	for (int i = 0; i < n; i++) {
		const struct lstat *s = &st[i];
		char comm[NT_COMM_LEN * 4 + 1], iter[32];

		nt_escape(s->l->comm, NT_COMM_LEN, comm, sizeof(comm));
		if (s->has_iter && s->span_ns)
			snprintf(iter, sizeof(iter), "%.0f", (double)s->iterations * 1e9 / (double)s->span_ns);
		else
			snprintf(iter, sizeof(iter), "-");
		printf("%-8d %-8d %-15s %-6s %8s %6.1f%% %8llu", s->l->pid, s->l->tid, comm, lw_loop_kind(s->l),
		       iter, 100.0 * on_cpu(c, s), (unsigned long long)s->v.samples);
		if (s->v.samples)
			printf(" %9.2f %9.2f",
			       (double)nt_hist_percentile(s->v.hist, NT_HIST_SLOTS, 50) / 1e3,
			       (double)nt_hist_percentile(s->v.hist, NT_HIST_SLOTS, 99) / 1e3);
		else
			printf(" %9s %9s", "-", "-");
		if (interval)
			printf(" %9s", "");
		else if (s->v.samples)
			printf(" %9.2f", (double)s->v.max_lag_ns / 1e6);
		else
			printf(" %9s", "-");
		printf(" %9llu%s\n", s->l->blockages, s->l->gone ? "  (exited)" : "");
	}
	for (int i = 0; i < n; i++) {
		const struct lstat *s = &st[i];

		if (!s->v.samples)
			continue;
		printf("\n  pid %d (", s->l->pid);
		nt_fputs_escaped(stdout, s->l->comm, NT_COMM_LEN);
		printf(") %s loop, thread %d: lag when sampled on CPU\n", lw_loop_kind(s->l), s->l->tid);
		nt_hist_print(stdout, s->v.hist, NT_HIST_SLOTS, "usecs", "    ");
	}
	if (errors || starved || idle)
		putchar('\n');
	if (errors)
		printf("%llu sample%s could not read a loop's clock\n", errors, errors == 1 ? "" : "s");
	if (starved)
		printf("%llu iteration%s of %llu ms or more spent waiting for a CPU, not counted as "
		       "blockages: the machine is busy\n", starved, starved == 1 ? "" : "s",
		       (unsigned long long)c->threshold_ms);
	if (idle)
		printf("%llu sample%s found a loop waiting for events (waking up): idle, not counted\n",
		       idle, idle == 1 ? "" : "s");
	if (!c->o.events && c->nblocks) {
		printf("\nBlockages of %llu ms or more (hottest JavaScript function first; => marks "
		       "the application's code):\n", (unsigned long long)c->threshold_ms);
		for (int i = 0; i < c->nblocks; i++)
			blockage_text(c, &c->blocks[i]);
	}
	if (nongoing) {
		printf("\nStill blocked now:\n");
		for (int i = 0; i < nongoing; i++)
			blockage_text(c, &ongoing[i]);
	}
}

static void summary_json(struct loop_ctx *c, struct lstat *st, int n, bool interval,
			 struct blockage *ongoing, int nongoing)
{
	uint64_t now = nt_now_ns();

	for (int i = 0; i < n; i++) {
		const struct lstat *s = &st[i];
		struct nt_json j;

		nt_json_begin(&j, stdout, "loop_summary");
		nt_json_u64(&j, "time_ns", now);
		nt_json_u64(&j, "interval_ns", now - c->last_report_ns);
		nt_json_u64(&j, "watched_ns", s->span_ns);
		nt_json_u64(&j, "pid", s->l->pid);
		nt_json_u64(&j, "tid", s->l->tid);
		nt_json_strn(&j, "comm", s->l->comm, NT_COMM_LEN);
		nt_json_str(&j, "kind", lw_loop_kind(s->l));
		nt_json_bool(&j, "exited", s->l->gone);
		nt_json_u64(&j, "samples", s->v.samples);
		nt_json_double(&j, "on_cpu", on_cpu(c, s));
		if (s->has_iter) {
			nt_json_u64(&j, "iterations", s->iterations);
			nt_json_double(&j, "iterations_per_s", s->span_ns ?
				       (double)s->iterations * 1e9 / (double)s->span_ns : 0.0);
		}
		if (!interval)
			nt_json_u64(&j, "max_lag_ns", s->v.max_lag_ns);
		nt_hist_json(&j, "lag_hist", s->v.hist, NT_HIST_SLOTS, "us");
		nt_json_u64(&j, "blockages", s->l->blockages);
		nt_json_u64(&j, "starved", s->l->starved);
		nt_json_u64(&j, "idle_samples_skipped", s->v.idle_skipped);
		nt_json_u64(&j, "clock_read_errors", s->v.read_errors);
		nt_json_end(&j);
	}
	if (!c->o.events)
		for (int i = 0; i < c->nblocks; i++)
			blockage_json(&c->blocks[i]);
	for (int i = 0; i < nongoing; i++)
		blockage_json(&ongoing[i]);
}

static int report(void *arg, bool final)
{
	struct loop_ctx *c = arg;
	bool interval = c->o.interval > 0;
	uint64_t now = nt_now_ns();
	struct lstat *st = calloc((size_t)c->nloops + 1, sizeof(*st));
	struct blockage *ongoing = calloc((size_t)c->nloops + 1, sizeof(*ongoing));
	unsigned long long total = 0;
	int n = 0, nongoing = 0, nproc = 0;

	if (!st || !ongoing) {
		free(st);
		free(ongoing);
		fprintf(stderr, "nodetap loop: out of memory for the report\n");
		return NT_EXIT_RUNTIME;
	}
	if (nt_hm_out_report(&c->hm, final)) {
		free(st);
		free(ongoing);
		return NT_EXIT_RUNTIME;
	}
	lw_check_groups(c);
	for (int i = 0; i < c->nloops; i++) {
		struct lloop *l = c->loops[i];
		bool seen = false;

		for (int k = 0; k < i; k++)
			seen |= c->loops[k]->pid == l->pid;
		nproc += !seen;
		st[n].l = l;
		collect(c, &st[n++], interval, now);
		if (!l->gone && l->g.open) {
			l->g.end_delay = lw_run_delay_of(l->pid, l->tid, l->g.end_delay);
			lw_close_group(c, l, now, true, &ongoing[nongoing]);
			nongoing += ongoing[nongoing].samples > 0;
		}
	}
	if (c->o.json)
		summary_json(c, st, n, interval, ongoing, nongoing);
	else
		summary_text(c, st, n, nproc, interval, ongoing, nongoing);
	nt_report_losses(&c->o, c->skel->bss->nt_losses, c->sym);
	for (int i = 0; i < n; i++)
		total += st[i].l->blockages;
	if (c->o.json)
		nt_json_report_end(c->last_report_ns, final, "blockages", total);
	fflush(stdout);
	/* The next report starts here. */
	for (int i = 0; i < c->nblocks; i++)
		lw_free_blockage(&c->blocks[i]);
	c->nblocks = 0;
	for (int i = 0; i < nongoing; i++)
		lw_free_blockage(&ongoing[i]);
	for (int i = 0; i < c->nloops; i++) {
		struct lloop *l = c->loops[i];

		l->blockages = 0;
		l->starved = 0;
		l->since_ns = now;
		l->count_prev = l->count_last;
		if (l->gone && interval) {
			/* Reported for the last time. */
			lw_group_free(&l->g);
			free(l);
			c->loops[i--] = c->loops[--c->nloops];
		}
	}
	c->last_report_ns = nt_now_ns();
	free(st);
	free(ongoing);
	return 0;
}

/* ---- the command ------------------------------------------------------------- */

enum { OPT_THRESHOLD = 4000, OPT_FREQ };

static int handle_opt(int key, const char *arg, void *ctx)
{
	struct loop_ctx *c = ctx;

	if (nt_hm_out_is_opt(key))
		return nt_hm_out_opt(&c->hm, "loop", key, arg);
	switch (key) {
	case 't':
	case OPT_THRESHOLD:
		if (nt_parse_uint(arg, 1, MAX_THRESHOLD_MS, &c->threshold_ms))
			return nt_usage_error("loop", "--threshold '%s': not a number of milliseconds "
					      "(1 to %u)", arg, MAX_THRESHOLD_MS);
		return 0;
	case 'F':
	case OPT_FREQ:
		if (nt_parse_uint(arg, 1, MAX_FREQ, &c->freq))
			return nt_usage_error("loop", "--frequency '%s': not a sampling rate in Hz "
					      "(1 to %u)", arg, MAX_FREQ);
		return 0;
	}
	return NT_EXIT_USAGE;
}

static const struct option loop_opts[] = {
	{ "threshold", required_argument, NULL, 't' },
	{ "frequency", required_argument, NULL, 'F' },
	NT_HM_LONG_OPTS,
	{ NULL, 0, NULL, 0 },
};

static const char loop_help[] =
"Event-loop lag of node processes, and what blocks their loops: a sampler on\n"
"every CPU (99 Hz) reads the loop's own clock (libuv's uv_loop_t.time) whenever\n"
"it finds a loop's thread running; now minus that clock is how long the current\n"
"iteration has been running. No probe is placed in the process: cheap enough to\n"
"run always. The main loop and worker_threads loops.\n"
"\n"
"Examples:\n"
"  nodetap loop                       every node process, one report at Ctrl-C\n"
"  nodetap loop -p 1234 10            pid 1234, a report every 10 seconds\n"
"  nodetap loop --events -t 50 -- node --perf-basic-prof --interpreted-frames-native-stack app.js\n"
"                                     print each blockage of 50 ms or more as it ends\n"
"  nodetap loop --heatmap lag.svg -p 1234   the lag of every sample over time\n"
"                                     as a heat map (docs/heatmap.md)\n"
"\n"
"Reading the report: one line per loop: iterations per second (node >= 20),\n"
"ON-CPU (the share of time its thread ran), the lag of the samples (P50, P99:\n"
"upper bounds of their log2 buckets, in ms), its largest lag, the blockages; then\n"
"a histogram of lag per loop. A blockage is an iteration that ran past the\n"
"threshold: its duration (from the loop's own clock, to the millisecond), and the\n"
"stacks sampled while it lasted, the hottest JavaScript function first (name JS\n"
"frames with node --perf-basic-prof --interpreted-frames-native-stack; => marks\n"
"the application's own code). A loop asleep in epoll_wait is idle, not blocked.\n"
"\n"
"Options of loop:\n"
"  -t, --threshold MS       report iterations that run MS or longer (default 100)\n"
"  -F, --frequency HZ       samples per second on each CPU (default 99, 1-1000)\n"
NT_HM_HELP
"                           (for loop: one event per sample of a running loop;\n"
"                           the latency is the sample's lag)\n";

int cmd_loop(int argc, char **argv)
{
	struct loop_ctx c = { .threshold_ms = DEFAULT_THRESHOLD_MS, .freq = DEFAULT_FREQ };
	struct nt_cmd_spec spec = {
		.name = "loop",
		.summary = "Event-loop lag and blockages of node processes, from a sampler: no probe in the process.",
		.help = loop_help,
		.has_events = true,
		.has_stacks = false,
		.extra = loop_opts,
		.extra_short = "t:F:",
		.handle = handle_opt,
		.ctx = &c,
	};
	struct nt_targets targets = { 0 };
	struct bpf_link *fork_link = NULL, *exec_link = NULL;
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
	for (int i = 0; i < c.o.nbinaries; i++) {
		struct stat st;

		/* nt_targets_find has said it if one cannot be found. */
		if (!stat(c.o.binaries[i], &st)) {
			c.bins[c.nbins].dev = st.st_dev;
			c.bins[c.nbins++].ino = st.st_ino;
		}
	}
	c.period_ns = 1000000000ULL / c.freq;
	nt_session_init(&c.session, &c.o);
	c.block_out = keep_blockage;
	c.session.tick = lw_tick;
	c.session.tick_ctx = &c;
	c.last_report_ns = c.last_rescan_ns = c.last_check_ns = nt_now_ns();
	if ((rc = lw_load(&c, NULL)))
		goto out;
	if ((rc = nt_session_open_events(&c.session, c.skel->maps.events, lw_on_event, &c)))
		goto out;
	/* Processes that exec later: node started by a shell, COMMAND itself. */
	exec_link = bpf_program__attach(c.skel->progs.loop_exec);
	if (!exec_link) {
		fprintf(stderr, "nodetap loop: attaching raw tracepoint sched_process_exec: %s\n",
			strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	if ((rc = nt_setup_filter(&c.session, &c.o, c.skel->maps.traced_pids,
				  c.skel->progs.nt_fork, &fork_link)))
		goto out;
	/* --html: samples of iterations running for record_after_ns carry
	 * their stack; the lags of shorter ones come without. */
	nt_hm_out_stacks(&c.hm, c.sym, -1, "only samples of iterations that had run for a "
			 "sample period or half of --threshold carry a stack");
	if (nt_hm_out_on(&c.hm) &&
	    (rc = nt_hm_out_start(&c.hm, "event-loop lag", nt_now_ns(),
				  c.skel->bss->nt_losses)))
		goto out;
	if ((rc = nt_samplers_open("loop", c.skel->progs.loop_sample, c.period_ns, &c.samplers)))
		goto out;
	if (c.o.json) {
		/* Sampling has started: what follows is seen. */
		struct nt_json j;

		nt_json_begin(&j, stdout, "sampler");
		nt_json_u64(&j, "time_ns", nt_now_ns());
		nt_json_u64(&j, "frequency_hz", c.freq);
		nt_json_u64(&j, "period_ns", c.period_ns);
		nt_json_u64(&j, "cpus", (uint64_t)c.samplers.n);
		nt_json_u64(&j, "threshold_ms", c.threshold_ms);
		nt_json_end(&j);
	}
	for (int i = 0; i < c.o.npids; i++)
		lw_add_proc(&c, c.o.pids[i], true);
	if (!c.o.npids && !c.o.command)
		lw_add_running_node(&c);
	int live = 0;

	for (int i = 0; i < c.nprocs; i++)
		live += c.procs[i]->state != P_NOLOOP;
	if (c.o.npids && !live) {
		fprintf(stderr, "nodetap loop: no event loop to sample in the given process%s\n",
			c.o.npids == 1 ? "" : "es");
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	if (!c.o.json)
		fprintf(stderr, "nodetap loop: sampling the event loops of %s at %llu Hz, blockages of "
			"%llu ms or more; %s\n",
			c.o.command ? "COMMAND and its children" :
			c.o.npids ? "the given processes" : "every node process",
			(unsigned long long)c.freq, (unsigned long long)c.threshold_ms,
			c.o.duration ? "until -d ends" : c.o.command ? "until it exits" : "Ctrl-C to stop");
	if (c.o.events && !c.o.json)
		printf("%-10s %-7s %-7s %-15s %-6s %10s %7s  %s\n", "TIME(s)", "PID", "TID", "COMM", "LOOP",
		       "BLOCKED ms", "SAMPLES", "HOTTEST JS FUNCTION");
	if (c.o.command && (rc = nt_session_release_command(&c.session)))
		goto out;
	rc = nt_session_run(&c.session, report, &c);
out:
	nt_session_cleanup(&c.session);
	nt_samplers_close(&c.samplers);
	ring_buffer__free(c.session.rb);
	bpf_link__destroy(exec_link);
	bpf_link__destroy(fork_link);
	loop_bpf__destroy(c.skel);
	lw_free(&c);
	nt_uv_cache_free(c.cache);
	nt_symbolizer_free(c.sym);
	nt_targets_free(&targets);
	nt_hm_out_free(&c.hm);
	return rc;
}
