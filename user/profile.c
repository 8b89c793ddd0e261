/* nodetap profile: where node processes spend CPU time, from a sampler on
 * every CPU's software clock (see bpf/profile.bpf.c), with JavaScript,
 * native and kernel frames named; as a text top-N, folded stacks, an SVG
 * flame graph, a DevTools .cpuprofile or Chrome trace JSON.
 *
 * The kernel counts samples by (process, user stack, kernel stack); the
 * loader reads the counts at each report and names the stacks then (the
 * processes' mappings were noted when each stack was first seen, so a
 * process that exited is still named). The timeline outputs (--cpuprofile,
 * --trace) also need every sample in time order: only then does the sampler
 * send each one to the ring buffer.
 *
 * --off-cpu counts, instead of samples, the time node threads spend blocked
 * (from the scheduler's sched_switch tracepoint), in the same map and by the
 * same key; the loader reads nanoseconds and shows microseconds. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include "atomicfile.h"
#include "chrometrace.h"
#include "cmdsetup.h"
#include "common.h"
#include "cpuprofile.h"
#include "escape.h"
#include "flamegraph_svg.h"
#include "folded.h"
#include "json.h"
#include "profile.h"
#include "profile.skel.h"
#include "sampler.h"
#include "samplekeep.h"
#include "session.h"
#include "stackfmt.h"
#include "stackprof.h"
#include "subcommands.h"
#include "targets.h"

#define DEFAULT_FREQ 99
#define MAX_FREQ 1000
#define DEFAULT_TOP 20
#define MAX_TOP 100000
#define STACK_ENTRIES 16384          /* distinct stacks (user and kernel) */
#define OFFCPU_STACK_ENTRIES 8192    /* --off-cpu's own (1 KiB each, preallocated) */

struct prof_ctx {
	struct nt_opts o;
	uint64_t freq, top;
	bool folded;
	bool off_cpu, freq_given;
	struct bpf_link *offcpu_link;
	const char *svg, *cpuprofile, *trace;
	struct profile_bpf *skel;
	struct nt_symbolizer *sym;
	struct nt_session session;
	struct nt_samplers samplers;
	struct nt_snap prev;
	uint64_t last_report_ns;
	struct nt_samplekeep keep;   /* for --cpuprofile and --trace */
	unsigned long long prev_taken;    /* samples_total at the last report */
};

static bool wants_timeline(const struct prof_ctx *c)
{
	return c->cpuprofile || c->trace;
}

/* The map of the stacks: --off-cpu unwinds user stacks itself and keeps
 * them (and the kernel ones) in a map of the same layout. */
static int stacks_fd(const struct prof_ctx *c)
{
	return bpf_map__fd(c->off_cpu ? c->skel->maps.offcpu_stacks : c->skel->maps.stacks);
}

/* New stacks are named at once and samples kept, for the timelines. */
static int on_event(void *arg, void *data, size_t len)
{
	struct prof_ctx *c = arg;

	nt_sk_record(&c->keep, data, len);
	return 0;
}

/* ---- building the profile -------------------------------------------------- */

/* The rows hold a u64 after each key: copied, not cast (see mapsnap.h). */
static void count_sub(void *val, const void *prev)
{
	uint64_t v, p;

	memcpy(&v, val, sizeof(v));
	memcpy(&p, prev, sizeof(p));
	v -= p;
	memcpy(val, &v, sizeof(v));
}

static int add_rows(struct prof_ctx *c, const struct nt_snap *snap, struct nt_profile *p)
{
	int fd = stacks_fd(c);

	for (size_t i = 0; i < snap->n; i++) {
		const struct profile_key *k = nt_snap_key(snap, i);
		uint64_t count;
		struct nt_pcount pc;

		memcpy(&count, nt_snap_val(snap, i), sizeof(count));
		if (c->off_cpu)
			count = (count + 500) / 1000;   /* nanoseconds blocked, shown in us */
		if (!count)
			continue;
		pc = (struct nt_pcount){ .pid = (pid_t)k->pid, .user_stack = k->user_stack,
					 .kernel_stack = k->kernel_stack, .comm = k->comm, .count = count };
		if (nt_profile_add(p, c->sym, fd, &pc) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- output ---------------------------------------------------------------- */

static const char *kind_tag(const struct nt_pframe *f)
{
	switch (f->kind) {
	case NT_PF_JS: return f->optimized ? " [js*]" : " [js]";
	case NT_PF_KERNEL: return " [kernel]";
	default: return "";
	}
}

static void print_fn(const struct nt_pframe *f)
{
	const char *mod = f->module ? strrchr(f->module, '/') : NULL;

	fputs(f->app ? "=> " : "", stdout);
	nt_fputs_escaped(stdout, f->label, PATH_MAX);
	fputs(kind_tag(f), stdout);
	if (f->kind == NT_PF_NATIVE && f->module) {
		fputs(" [", stdout);
		nt_fputs_escaped(stdout, mod ? mod + 1 : f->module, PATH_MAX);
		fputc(']', stdout);
	}
	putchar('\n');
}

static int total_cmp(const void *pa, const void *pb)
{
	const struct nt_pfunc *a = pa, *b = pb;

	if (a->total != b->total)
		return a->total < b->total ? 1 : -1;
	return strcmp(a->frame->label, b->frame->label);
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return x < y ? -1 : x > y;
}

/* Processes with samples in P (0 if out of memory: only a count shown). */
static size_t count_procs(const struct nt_profile *p)
{
	pid_t *v = malloc((p->nstacks ? p->nstacks : 1) * sizeof(*v));
	size_t n = 0, k = 0;

	if (!v)
		return 0;
	for (size_t i = 0; i < p->nstacks; i++)
		if (p->stacks[i].count)
			v[n++] = p->stacks[i].pid;
	qsort(v, n, sizeof(*v), pid_cmp);
	for (size_t i = 0; i < n; i++)
		k += !i || v[i] != v[i - 1];
	free(v);
	return k;
}

static void text_report(const struct prof_ctx *c, const struct nt_profile *p, struct nt_pfunc *fns,
			size_t nfns, double secs)
{
	double t = p->total ? (double)p->total : 1;
	size_t top = nfns < c->top ? nfns : (size_t)c->top;
	size_t nproc = count_procs(p);

	if (c->off_cpu) {
		printf("Off-CPU time over %.1f s: %.1f ms blocked in %zu process%s, %zu distinct stacks\n",
		       secs, (double)p->total / 1000, nproc, nproc == 1 ? "" : "es", p->nstacks);
		if (!p->total)
			return;
		printf("\nFunctions by self time blocked (microseconds, the function innermost):\n");
	} else {
		printf("CPU samples over %.1f s at %llu Hz: %llu samples in %zu process%s, %zu distinct stacks\n",
		       secs, (unsigned long long)c->freq, (unsigned long long)p->total, nproc,
		       nproc == 1 ? "" : "es", p->nstacks);
		if (!p->total)
			return;
		printf("\nHottest functions by self time (samples with the function innermost):\n");
	}
	printf("%8s %6s %8s %6s  %s\n", "SELF", "SELF%", "TOTAL", "TOTAL%", "FUNCTION");
	for (size_t i = 0; i < top; i++) {
		printf("%8llu %5.1f%% %8llu %5.1f%%  ", (unsigned long long)fns[i].self,
		       100.0 * (double)fns[i].self / t, (unsigned long long)fns[i].total,
		       100.0 * (double)fns[i].total / t);
		print_fn(fns[i].frame);
	}
	qsort(fns, nfns, sizeof(*fns), total_cmp);
	printf(c->off_cpu ? "\nBy total time blocked (microseconds, the function anywhere on the stack):\n" :
	       "\nBy total time (samples with the function anywhere on the stack):\n");
	printf("%8s %6s %8s %6s  %s\n", "SELF", "SELF%", "TOTAL", "TOTAL%", "FUNCTION");
	for (size_t i = 0; i < top; i++) {
		printf("%8llu %5.1f%% %8llu %5.1f%%  ", (unsigned long long)fns[i].self,
		       100.0 * (double)fns[i].self / t, (unsigned long long)fns[i].total,
		       100.0 * (double)fns[i].total / t);
		print_fn(fns[i].frame);
	}
	if (nfns > top)
		printf("(%zu more functions: --top N shows more, --folded or --svg all)\n", nfns - top);
}

static void json_report(const struct prof_ctx *c, const struct nt_profile *p, struct nt_pfunc *fns,
			size_t nfns, uint64_t interval_ns)
{
	double t = p->total ? (double)p->total : 1;
	struct nt_json j;

	nt_json_begin(&j, stdout, "profile_summary");
	nt_json_str(&j, "mode", c->off_cpu ? "off-cpu" : "cpu");
	nt_json_str(&j, "unit", c->off_cpu ? "us" : "samples");
	if (c->off_cpu)
		nt_json_u64(&j, "blocked_us", p->total);
	else
		nt_json_u64(&j, "samples", p->total);
	nt_json_u64(&j, "stacks", p->nstacks);
	nt_json_u64(&j, "processes", count_procs(p));
	if (!c->off_cpu)
		nt_json_u64(&j, "frequency_hz", c->freq);
	nt_json_u64(&j, "interval_ns", interval_ns);
	nt_json_end(&j);
	for (size_t i = 0; i < nfns && i < c->top; i++) {
		const struct nt_pframe *f = fns[i].frame;

		nt_json_begin(&j, stdout, "profile_function");
		nt_json_u64(&j, "rank", i + 1);
		nt_json_str(&j, "name", f->label);
		nt_json_str(&j, "kind", nt_pframe_kind_name(f->kind));
		if (f->module)
			nt_json_str(&j, "module", f->module);
		if (f->kind == NT_PF_JS) {
			nt_json_bool(&j, "optimized", f->optimized);
			nt_json_bool(&j, "app", f->app);
		}
		nt_json_u64(&j, "self", fns[i].self);
		nt_json_u64(&j, "total", fns[i].total);
		nt_json_double(&j, "self_pct", 100.0 * (double)fns[i].self / t);
		nt_json_double(&j, "total_pct", 100.0 * (double)fns[i].total / t);
		nt_json_end(&j);
	}
	for (size_t i = 0; i < p->nstacks; i++) {
		const struct nt_pstack *s = &p->stacks[i];

		if (!s->count)
			continue;
		nt_json_begin(&j, stdout, "profile_stack");
		nt_json_u64(&j, "pid", (uint64_t)s->pid);
		nt_json_str(&j, "comm", s->frames[0].label);
		nt_json_u64(&j, "count", s->count);
		nt_json_arr(&j, "frames");   /* root first, as in folded stacks */
		for (int k = 1; k < s->nframes; k++) {
			nt_json_obj(&j, NULL);
			nt_json_str(&j, "name", s->frames[k].label);
			nt_json_str(&j, "kind", nt_pframe_kind_name(s->frames[k].kind));
			nt_json_obj_end(&j);
		}
		nt_json_arr_end(&j);
		nt_json_end(&j);
	}
}

struct write_job {
	int (*fn)(FILE *, const struct nt_profile *, const void *);
	const struct nt_profile *p;
	const void *arg;
};

static int job_writer(FILE *f, void *ctx)
{
	const struct write_job *j = ctx;

	return j->fn(f, j->p, j->arg);
}

/* Through a temporary file renamed over PATH (atomicfile.h): a run stopped
 * while writing leaves the old file whole. */
static int write_file(const struct prof_ctx *c, const char *path, const char *what,
		      int (*fn)(FILE *, const struct nt_profile *, const void *),
		      const struct nt_profile *p, const void *arg)
{
	struct write_job j = { fn, p, arg };
	int err = nt_write_file_atomic(path, job_writer, &j);

	if (err) {
		fprintf(stderr, "nodetap profile: cannot write %s to ", what);
		nt_fputs_escaped(stderr, path, PATH_MAX);
		fprintf(stderr, ": %s\n", strerror(-err));
		return NT_EXIT_RUNTIME;
	}
	if (!c->o.json && !c->folded) {
		fprintf(stderr, "nodetap profile: wrote %s (%llu %s) to ", what,
			(unsigned long long)(p->nsamples ? p->nsamples : p->total),
			c->off_cpu ? "us blocked" : "samples");
		nt_fputs_escaped(stderr, path, PATH_MAX);
		fputc('\n', stderr);
	}
	return 0;
}

static int svg_fn(FILE *f, const struct nt_profile *p, const void *arg)
{
	return nt_flamegraph_svg_write(f, p, arg);
}

static int cpuprofile_fn(FILE *f, const struct nt_profile *p, const void *arg)
{
	return nt_cpuprofile_write(f, p);
}

static int trace_fn(FILE *f, const struct nt_profile *p, const void *arg)
{
	return nt_chrometrace_write(f, p, *(const uint64_t *)arg);
}

/* The files, from the whole run: the counts as they are (not an interval's
 * difference) and every sample kept. */
static int write_files(struct prof_ctx *c, uint64_t now)
{
	struct nt_profile p = { .start_ns = c->session.start_ns, .end_ns = now,
				.freq_hz = (unsigned)c->freq, .unit = c->off_cpu ? "us" : NULL };
	struct nt_snap snap = { 0 };
	char title[96];
	int rc = 0, err;

	if ((err = nt_snap_read(bpf_map__fd(c->skel->maps.counts), sizeof(struct profile_key),
				sizeof(uint64_t), &snap))) {
		fprintf(stderr, "nodetap profile: reading the map counts: %s\n", strerror(-err));
		return NT_EXIT_RUNTIME;
	}
	err = add_rows(c, &snap, &p);
	if (!err && wants_timeline(c))
		err = nt_sk_add_samples(&c->keep, &p);
	nt_snap_free(&snap);
	if (err) {
		fprintf(stderr, "nodetap profile: out of memory naming the stacks\n");
		nt_profile_free(&p);
		return NT_EXIT_RUNTIME;
	}
	if (c->off_cpu)
		snprintf(title, sizeof(title), "nodetap profile: off-CPU (time blocked, us), %.1f s",
			 (double)(now - c->session.start_ns) / 1e9);
	else
		snprintf(title, sizeof(title), "nodetap profile: CPU, %llu Hz, %.1f s",
			 (unsigned long long)c->freq, (double)(now - c->session.start_ns) / 1e9);
	if (c->svg)
		rc |= write_file(c, c->svg, "the SVG flame graph", svg_fn, &p, title);
	if (c->cpuprofile)
		rc |= write_file(c, c->cpuprofile, "the .cpuprofile", cpuprofile_fn, &p, NULL);
	if (c->trace) {
		/* Samples the timeline lacks: past its bound, or dropped by
		 * the ring buffer on their way. */
		uint64_t lost = c->keep.dropped + c->skel->bss->nt_losses[NT_LOSS_RINGBUF];

		rc |= write_file(c, c->trace, "the trace", trace_fn, &p, &lost);
	}
	nt_profile_free(&p);
	return rc ? NT_EXIT_RUNTIME : 0;
}

static int report(void *arg, bool final)
{
	struct prof_ctx *c = arg;
	struct nt_profile p = { .unit = c->off_cpu ? "us" : NULL };
	struct nt_snap snap = { 0 };
	struct nt_pfunc *fns = NULL;
	size_t nfns = 0;
	uint64_t now = nt_now_ns();
	/* Read before the counts: a sample counted in between shows as taken
	 * in the next report rather than missing from this one's stacks. */
	unsigned long long taken = c->skel->bss->samples_total;
	int rc;

	if ((rc = nt_read_counters(&c->o, c->skel->maps.counts, sizeof(struct profile_key),
				   sizeof(uint64_t), &snap, &c->prev, count_sub)))
		return rc;
	p.start_ns = c->last_report_ns;
	p.end_ns = now;
	if (add_rows(c, &snap, &p) || nt_profile_functions(&p, &fns, &nfns)) {
		fprintf(stderr, "nodetap profile: out of memory naming the stacks\n");
		nt_snap_free(&snap);
		nt_profile_free(&p);
		return NT_EXIT_RUNTIME;
	}
	nt_snap_free(&snap);
	if (c->folded) {
		if (nt_folded_write(stdout, &p))
			fprintf(stderr, "nodetap profile: writing the folded stacks: %s\n", strerror(errno));
		if (c->off_cpu)
			fprintf(stderr, "nodetap profile: %.1f ms blocked, %llu us in %zu distinct stacks "
				"above, over %.1f s\n", (double)(taken - c->prev_taken) / 1e6,
				(unsigned long long)p.total, p.nstacks, (double)(now - c->last_report_ns) / 1e9);
		else
			fprintf(stderr, "nodetap profile: %llu samples taken, %llu in %zu distinct stacks above, "
				"over %.1f s\n", taken - c->prev_taken, (unsigned long long)p.total, p.nstacks,
				(double)(now - c->last_report_ns) / 1e9);
	} else if (c->o.json) {
		json_report(c, &p, fns, nfns, now - c->last_report_ns);
	} else {
		text_report(c, &p, fns, nfns, (double)(now - c->last_report_ns) / 1e9);
	}
	free(fns);
	nt_profile_free(&p);
	rc = final ? write_files(c, now) : 0;
	if (c->keep.dropped && final)
		fprintf(stderr, "nodetap profile: %llu samples not kept for the timeline (more than %u)\n",
			c->keep.dropped, NT_SK_MAX_KEPT);
	nt_report_losses_to(c->folded ? stderr : stdout, &c->o, c->skel->bss->nt_losses, c->sym);
	if (c->o.json)
		nt_json_report_end(c->last_report_ns, final, c->off_cpu ? "blocked_ns" : "samples",
				   c->skel->bss->samples_total);
	else if (!c->folded)
		fflush(stdout);
	c->last_report_ns = now;
	c->prev_taken = taken;
	return rc;
}

/* ---- the command ------------------------------------------------------------- */

enum { OPT_FREQ = 4000, OPT_TOP, OPT_FOLDED, OPT_SVG, OPT_CPUPROFILE, OPT_TRACE, OPT_OFF_CPU };

static int handle_opt(int key, const char *arg, void *ctx)
{
	struct prof_ctx *c = ctx;

	switch (key) {
	case 'F':
	case OPT_FREQ:
		if (nt_parse_uint(arg, 1, MAX_FREQ, &c->freq))
			return nt_usage_error("profile", "--frequency '%s': not a sampling rate in Hz "
					      "(1 to %u)", arg, MAX_FREQ);
		c->freq_given = true;
		return 0;
	case OPT_OFF_CPU:
		c->off_cpu = true;
		return 0;
	case OPT_TOP:
		if (nt_parse_uint(arg, 1, MAX_TOP, &c->top))
			return nt_usage_error("profile", "--top '%s': not a number of functions "
					      "(1 to %u)", arg, MAX_TOP);
		return 0;
	case OPT_FOLDED:
		c->folded = true;
		return 0;
	case OPT_SVG:
	case OPT_CPUPROFILE:
	case OPT_TRACE:
		if (!*arg)
			return nt_usage_error("profile", "%s needs a file name",
					      key == OPT_SVG ? "--svg" : key == OPT_TRACE ? "--trace" : "--cpuprofile");
		if (key == OPT_SVG)
			c->svg = arg;
		else if (key == OPT_TRACE)
			c->trace = arg;
		else
			c->cpuprofile = arg;
		return 0;
	}
	return NT_EXIT_USAGE;
}

static const struct option prof_opts[] = {
	{ "frequency", required_argument, NULL, 'F' },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "folded", no_argument, NULL, OPT_FOLDED },
	{ "svg", required_argument, NULL, OPT_SVG },
	{ "cpuprofile", required_argument, NULL, OPT_CPUPROFILE },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "off-cpu", no_argument, NULL, OPT_OFF_CPU },
	{ NULL, 0, NULL, 0 },
};

static const char prof_help[] =
"Where node processes spend CPU time: a sampler on every CPU's clock takes\n"
"the user and kernel stacks of the node threads it finds running (99 times a\n"
"second by default), counts them in the kernel by stack, and names the frames:\n"
"JavaScript from V8's perf map, C++ from node's symbols, the kernel's from\n"
"kallsyms. No probe is placed in the process.\n"
"\n"
"Examples:\n"
"  nodetap profile -d 10                      every node process for 10 s, top functions\n"
"  nodetap profile -p 1234 -F 1000 --svg cpu.svg -d 5\n"
"                                             1 ms samples, an SVG flame graph (open it in a browser)\n"
"  nodetap profile --folded -- node --perf-basic-prof app.js > app.folded\n"
"                                             folded stacks for flamegraph.pl or speedscope\n"
"  nodetap profile --cpuprofile app.cpuprofile -p 1234 -d 30\n"
"                                             open in Chrome DevTools (Performance, Load profile)\n"
"  nodetap profile --off-cpu --svg blocked.svg -p 1234 -d 10\n"
"                                             where it waits instead: time blocked, by stack\n"
"\n"
"Name JavaScript frames: run node with --perf-basic-prof (add\n"
"--interpreted-frames-native-stack to name functions V8 still interprets; without\n"
"it they show as \"[interpreted] Builtins_InterpreterEntryTrampoline\"). JIT code\n"
"without a perf map shows as [jit]: counted, never dropped.\n"
"\n"
"Reading the report: SELF counts the samples taken in the function itself,\n"
"TOTAL those with the function anywhere on the stack (itself and what it\n"
"called); => marks the application's own JavaScript, [js*] code V8 optimized.\n"
"\n"
"Slow but not busy? --off-cpu counts, instead of CPU samples, the time node\n"
"threads spend blocked (sleeping, waiting on a lock, a futex, a synchronous\n"
"child process or file read), with the stack they blocked in, from the\n"
"scheduler's sched_switch tracepoint; the counts are microseconds. Time a\n"
"runnable thread waits for a CPU (preemption) is not counted. It runs at\n"
"every context switch of the host: see docs/profile.md for its cost.\n"
"\n"
"Options of profile:\n"
"  -F, --frequency HZ       samples per second on each CPU (default 99, 1-1000)\n"
"      --top N              functions in the text report (default 20)\n"
"      --folded             folded stacks on stdout (\"root;...;leaf COUNT\") instead\n"
"      --svg FILE           write an SVG flame graph of the whole run\n"
"      --cpuprofile FILE    write a Chrome DevTools .cpuprofile of the whole run\n"
"      --trace FILE         write the samples as Chrome trace JSON (chrome://tracing)\n"
"      --off-cpu            time blocked instead of CPU samples (text, --folded, --svg,\n"
"                           --json; not with -F, --cpuprofile or --trace)\n";

int cmd_profile(int argc, char **argv)
{
	struct prof_ctx c = { .freq = DEFAULT_FREQ, .top = DEFAULT_TOP };
	struct nt_cmd_spec spec = {
		.name = "profile",
		.summary = "CPU profile of node processes: flame graphs with JavaScript names.",
		.help = prof_help,
		.has_events = false,
		.has_stacks = false,
		.extra = prof_opts,
		.extra_short = "F:",
		.handle = handle_opt,
		.ctx = &c,
	};
	struct nt_targets targets = { 0 };
	struct bpf_link *fork_link = NULL;
	int rc;

	rc = nt_parse_options(argc, argv, &spec, &c.o);
	if (rc)
		return rc < 0 ? NT_EXIT_OK : rc;
	if (c.folded && c.o.json)
		return nt_usage_error("profile", "--folded and --json exclude each other");
	if (c.off_cpu && (c.cpuprofile || c.trace))
		return nt_usage_error("profile", "--off-cpu has no timeline: use --folded, --svg or the text "
				      "report, not %s", c.cpuprofile ? "--cpuprofile" : "--trace");
	if (c.off_cpu && c.freq_given)
		return nt_usage_error("profile", "--off-cpu takes no samples: -F/--frequency does not apply");
	if ((rc = nt_bpf_setup(&c.o)))
		return rc;
	if ((rc = nt_targets_find(&c.o, &targets)))
		return rc;
	nt_session_init(&c.session, &c.o);
	c.last_report_ns = nt_now_ns();
	c.sym = nt_symbolizer_for(&c.o);
	c.skel = profile_bpf__open();
	if (!c.sym || !c.skel) {
		fprintf(stderr, "nodetap profile: opening the BPF object: %s\n", strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	c.skel->rodata->filter_pids = c.o.npids > 0 || c.o.command;
	c.skel->rodata->follow_children = c.o.command != NULL;
	c.skel->rodata->node_mode = !c.o.npids && !c.o.command;
	c.skel->rodata->emit_samples = wants_timeline(&c);
	bpf_map__set_max_entries(c.skel->maps.stacks, c.off_cpu ? 1 : STACK_ENTRIES);
	bpf_map__set_max_entries(c.skel->maps.offcpu_stacks, c.off_cpu ? OFFCPU_STACK_ENTRIES : 1);
	if (!c.off_cpu)
		bpf_map__set_max_entries(c.skel->maps.offcpu_start, 1);
	/* One unit in the counts: samples or time blocked, never both. */
	bpf_program__set_autoload(c.off_cpu ? c.skel->progs.profile_sample : c.skel->progs.profile_offcpu,
				  false);
	if ((rc = nt_test_map_sizes(&c.o, c.skel->obj)) ||
	    (rc = nt_load_skeleton(&c.o, c.skel->skeleton)))
		goto out;
	/* Default mode: node binaries by file too, whatever their names. */
	for (int i = 0; i < targets.n; i++) {
		struct profile_file_key k = { .ino = targets.t[i].ino,
					      .dev = (unsigned)(major(targets.t[i].dev) << 20 |
								minor(targets.t[i].dev)) };
		__u8 one = 1;

		if (bpf_map_update_elem(bpf_map__fd(c.skel->maps.node_files), &k, &one, BPF_ANY) &&
		    errno != E2BIG) {
			fputs("nodetap profile: noting node binary ", stderr);
			nt_fputs_escaped(stderr, targets.t[i].path, PATH_MAX);
			fprintf(stderr, ": %s\n", strerror(errno));
			rc = NT_EXIT_RUNTIME;
			goto out;
		}
	}
	c.keep.sym = c.sym;
	c.keep.stacks_fd = stacks_fd(&c);
	if ((rc = nt_session_open_events(&c.session, c.skel->maps.events, on_event, &c)))
		goto out;
	if ((rc = nt_setup_filter(&c.session, &c.o, c.skel->maps.traced_pids,
				  c.skel->progs.nt_fork, &fork_link)))
		goto out;
	if (c.off_cpu) {
		c.offcpu_link = bpf_program__attach(c.skel->progs.profile_offcpu);
		if (!c.offcpu_link) {
			fprintf(stderr, "nodetap profile: attaching to the raw tracepoint sched_switch: %s "
				"(--off-cpu needs it; the CPU profile does not)\n", strerror(errno));
			rc = NT_EXIT_RUNTIME;
			goto out;
		}
	} else if ((rc = nt_samplers_open("profile", c.skel->progs.profile_sample,
					  1000000000ULL / c.freq, &c.samplers))) {
		goto out;
	}
	c.session.start_ns = c.last_report_ns = nt_now_ns();
	if (c.o.json) {
		struct nt_json j;

		nt_json_begin(&j, stdout, "sampler");
		nt_json_u64(&j, "time_ns", c.session.start_ns);
		if (c.off_cpu) {
			nt_json_str(&j, "mode", "off-cpu");
		} else {
			nt_json_str(&j, "mode", "cpu");
			nt_json_u64(&j, "frequency_hz", c.freq);
			nt_json_u64(&j, "period_ns", 1000000000ULL / c.freq);
			nt_json_u64(&j, "cpus", (uint64_t)c.samplers.n);
		}
		nt_json_end(&j);
	} else if (c.off_cpu) {
		fprintf(stderr, "nodetap profile: time blocked (off-CPU) of %s; %s\n",
			c.o.command ? "COMMAND and its children" :
			c.o.npids ? "the given processes" : "every node process",
			c.o.duration ? "until -d ends" : c.o.command ? "until it exits" : "Ctrl-C to stop");
	} else {
		fprintf(stderr, "nodetap profile: sampling %s at %llu Hz on %d CPUs; %s\n",
			c.o.command ? "COMMAND and its children" :
			c.o.npids ? "the given processes" : "every node process",
			(unsigned long long)c.freq, c.samplers.n,
			c.o.duration ? "until -d ends" : c.o.command ? "until it exits" : "Ctrl-C to stop");
	}
	if (c.o.command && (rc = nt_session_release_command(&c.session)))
		goto out;
	rc = nt_session_run(&c.session, report, &c);
out:
	nt_session_cleanup(&c.session);
	nt_samplers_close(&c.samplers);
	bpf_link__destroy(c.offcpu_link);
	ring_buffer__free(c.session.rb);
	bpf_link__destroy(fork_link);
	profile_bpf__destroy(c.skel);
	nt_snap_free(&c.prev);
	nt_sk_free(&c.keep);
	nt_symbolizer_free(c.sym);
	nt_targets_free(&targets);
	return rc;
}
