/* loopwatch: nodetap loop's engine, what finds event-loop lag and what
 * blocks the loops of node processes, from a CPU-clock sampler that reads libuv's cached clock: no probe
 * on any path of the traced process (see bpf/loop.bpf.c).
 *
 * The loader finds each process's main loop (uvloop.c), and the loops of
 * its other threads (worker_threads) while they wait in epoll_wait, and
 * puts them in the sampler's map by thread id. The sampler keeps a lag
 * histogram per loop and sends the samples of iterations that have run for
 * a sample period or longer, with their user stacks. The loader groups those
 * by (thread, loop clock): one group is one iteration that did not end. A
 * group ends when a sample shows a newer clock, or when the loader reads the
 * loop's clock itself (every 50 ms while a group is open) and finds it
 * moved: at the time libuv refreshed it (see group_end). It is a blockage if
 * it lasted past the threshold (see group_is_blockage).
 *
 * Moved out of loop.c, which reports on it (its state is loopwatch_int.h),
 * so that nodetap trace --loop runs the same engine under its own session
 * (loopwatch.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cmdsetup.h"
#include "common.h"
#include "escape.h"
#include "heatmap_out.h"
#include "json.h"
#include "leafcaller.h"
#include "loop.h"
#include "loop.skel.h"
#include "loopwatch.h"
#include "loopwatch_int.h"
#include "sampler.h"
#include "session.h"
#include "stackfmt.h"
#include "symbolize.h"
#include "targets.h"
#include "uvloop.h"

/* ---- processes and their loops ------------------------------------------ */

static void read_comm(pid_t pid, pid_t tid, char *comm)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", pid, tid);
	comm[0] = 0;
	if (!(f = fopen(path, "re")))
		return;
	if (fgets(comm, NT_COMM_LEN, f))
		comm[strcspn(comm, "\n")] = 0;
	fclose(f);
}

static struct lproc *find_proc(struct loop_ctx *c, pid_t pid)
{
	for (int i = 0; i < c->nprocs; i++)
		if (c->procs[i]->pid == pid)
			return c->procs[i];
	return NULL;
}

static struct lloop *find_loop(struct loop_ctx *c, pid_t tid)
{
	for (int i = 0; i < c->nloops; i++)
		if (c->loops[i]->tid == tid && !c->loops[i]->gone)
			return c->loops[i];
	return NULL;
}

const char *lw_loop_kind(const struct lloop *l)
{
	return l->main ? "main" : "worker";
}

/* "loop" records and messages: one per loop found, or per process where none
 * could be. */
static void say_found(struct loop_ctx *c, const struct lproc *p, const struct lloop *l,
		      const char *file, const char *how)
{
	if (c->o.json) {
		struct nt_json j;
		char addr[24];

		snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)l->addr);
		nt_json_begin(&j, stdout, "loop");
		nt_json_u64(&j, "time_ns", nt_now_ns());
		nt_json_u64(&j, "pid", l->pid);
		nt_json_u64(&j, "tid", l->tid);
		nt_json_strn(&j, "comm", l->comm, NT_COMM_LEN);
		nt_json_str(&j, "kind", lw_loop_kind(l));
		nt_json_bool(&j, "found", true);
		nt_json_str(&j, "address", addr);
		nt_json_str(&j, "file", file);
		nt_json_str(&j, "how", how);
		nt_json_u64(&j, "clock_offset", l->time_off);
		nt_json_bool(&j, "iterations", l->metrics);
		nt_json_end(&j);
		return;
	}
	if (!c->o.verbose)
		return;
	fprintf(stderr, "nodetap loop: pid %d (", l->pid);
	nt_fputs_escaped(stderr, p->comm, NT_COMM_LEN);
	fprintf(stderr, "): %s loop at 0x%llx on thread %d (", lw_loop_kind(l),
		(unsigned long long)l->addr, l->tid);
	nt_fputs_escaped(stderr, l->comm, NT_COMM_LEN);
	fprintf(stderr, "), %s in ", how);
	nt_fputs_escaped(stderr, file, PATH_MAX);
	fprintf(stderr, "; clock at +0x%x; iterations %s\n", l->time_off,
		l->metrics ? "counted" : "not available (libuv < 1.45)");
}

static void say_missing(struct loop_ctx *c, const struct lproc *p, const char *why)
{
	if (c->o.json) {
		struct nt_json j;

		nt_json_begin(&j, stdout, "loop");
		nt_json_u64(&j, "time_ns", nt_now_ns());
		nt_json_u64(&j, "pid", p->pid);
		nt_json_strn(&j, "comm", p->comm, NT_COMM_LEN);
		nt_json_bool(&j, "found", false);
		nt_json_str(&j, "reason", why);
		nt_json_end(&j);
		return;
	}
	fprintf(stderr, "nodetap loop: pid %d (", p->pid);
	nt_fputs_escaped(stderr, p->comm, NT_COMM_LEN);
	fputs("): no event loop found: ", stderr);
	nt_fputs_escaped(stderr, why, 1024);
	fputc('\n', stderr);
}

/* NULL when out of memory, or (*FULL set) when the map is full. */
static struct lloop *add_loop(struct loop_ctx *c, struct lproc *p, pid_t tid, uint64_t addr,
			      bool main, bool *full)
{
	struct loop_val v = { 0 };
	struct lloop *l, **ls;
	__u32 key = (__u32)tid;

	l = calloc(1, sizeof(*l));
	ls = l ? realloc(c->loops, (size_t)(c->nloops + 1) * sizeof(*ls)) : NULL;
	if (!ls) {
		free(l);
		return NULL;
	}
	c->loops = ls;
	l->pid = p->pid;
	l->tid = tid;
	l->main = main;
	l->addr = addr;
	l->time_off = p->main.time_off;
	l->metrics = p->main.metrics;
	l->fields_off = p->main.fields_off;
	l->count_off = p->main.count_off;
	l->since_ns = nt_now_ns();
	read_comm(p->pid, tid, l->comm);
	v.pid = (__u32)p->pid;
	v.addr = addr;
	v.time_addr = addr + l->time_off;
	if (p->main.idle_metrics &&
	    !nt_uv_read_mem(p->pid, addr + p->main.idle_fields_off, &l->fields, sizeof(l->fields)) &&
	    l->fields) {
		/* Zero unless the loop counts idle time (node's do, from start-up
		 * on): the sampler can read it either way. */
		v.poll_entry_addr = l->fields + p->main.entry_off;
		v.idle_addr = l->idle_addr = l->fields + p->main.idle_off;
	}
	if (l->metrics && !nt_uv_read_mem(p->pid, addr + l->fields_off, &v.count_addr,
					  sizeof(v.count_addr)) && v.count_addr)
		v.count_addr += l->count_off;
	else
		v.count_addr = 0;
	lw_read_count(l);
	if (bpf_map_update_elem(c->loops_fd, &key, &v, BPF_ANY)) {
		/* The map is full (8192 loops): counted as a loss, not sampled. */
		c->skel->bss->nt_losses[NT_LOSS_AGG_FULL]++;
		*full = true;
		free(l);
		return NULL;
	}
	c->loops[c->nloops++] = l;
	return l;
}

/* The loop ended (its thread exited, or its process exec'ed or exited):
 * close what it was doing, keep its counters, free its map entry. */
static void loop_gone(struct loop_ctx *c, struct lloop *l)
{
	__u32 key = (__u32)l->tid;

	if (l->gone)
		return;
	if (l->g.open)
		lw_close_group(c, l, l->g.last_ns, false, NULL);
	if (bpf_map_lookup_elem(c->loops_fd, &key, &l->final))
		memset(&l->final, 0, sizeof(l->final));
	if (l->final.pid == (__u32)l->pid && l->final.addr == l->addr)
		bpf_map_delete_elem(c->loops_fd, &key);
	else
		l->final = l->prev; /* someone else's entry now: keep what we had */
	l->gone = true;
	l->gone_ns = nt_now_ns();
}

/* Default mode: whether loop_exec tells of P's execs (into anything: an
 * exec ends its loop), beside the execs into node it always tells of. A
 * set that is full loses those execs: counted as map_full. */
static void watch(struct loop_ctx *c, pid_t pid, bool on)
{
	__u32 key = (__u32)pid;
	__u8 one = 1;

	if (c->watched_fd < 0)
		return;
	if (!on)
		bpf_map_delete_elem(c->watched_fd, &key);
	else if (bpf_map_update_elem(c->watched_fd, &key, &one, BPF_ANY))
		__sync_fetch_and_add(&c->skel->bss->nt_losses[NT_LOSS_AGG_FULL], 1);
}

static void proc_gone(struct loop_ctx *c, struct lproc *p)
{
	watch(c, p->pid, false);
	for (int i = 0; i < c->nloops; i++)
		if (c->loops[i]->pid == p->pid)
			loop_gone(c, c->loops[i]);
	for (int i = 0; i < c->nprocs; i++) {
		if (c->procs[i] == p) {
			c->procs[i] = c->procs[--c->nprocs];
			break;
		}
	}
	free(p->checked);
	free(p->full_tids);
	free(p);
}

/* Worker loops: threads of P waiting in epoll_wait with a loop on their
 * stack. Loops whose threads exited are marked gone. */
static void scan_threads(struct loop_ctx *c, struct lproc *p)
{
	char dir[64];
	struct dirent *e;
	DIR *d;
	__typeof__(p->checked) checked = NULL;
	int nchecked = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/task", p->pid);
	if (!(d = opendir(dir)))
		return;
	for (int i = 0; i < c->nloops; i++) {
		struct lloop *l = c->loops[i];
		char path[96];

		snprintf(path, sizeof(path), "/proc/%d/task/%d", l->pid, l->tid);
		if (l->pid == p->pid && !l->gone && access(path, F_OK))
			loop_gone(c, l);
	}
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		int known = -1, epfd = -1, rc;
		uint64_t addr;

		bool full = false, lost = false;

		if (tid <= 0 || tid == p->pid || find_loop(c, tid))
			continue;
		for (int i = 0; i < p->nfull; i++)
			lost |= p->full_tids[i] == tid;
		if (lost)
			continue;
		for (int i = 0; i < p->nchecked; i++)
			if (p->checked[i].tid == tid)
				known = p->checked[i].epfd;
		rc = nt_uv_find_thread_loop(p->pid, tid, p->main.time_off, known, &addr, &epfd);
		if (rc == -ENOENT && epfd >= 0) {
			__typeof__(checked) n = realloc(checked, (size_t)(nchecked + 1) * sizeof(*n));

			if (n) {
				checked = n;
				checked[nchecked].tid = tid;
				checked[nchecked++].epfd = epfd;
			}
		} else if (!rc) {
			struct lloop *l = add_loop(c, p, tid, addr, false, &full);
			pid_t *n;

			if (l)
				say_found(c, p, l, p->main.file, "on the thread's stack");
			else if (full && (n = realloc(p->full_tids, (size_t)(p->nfull + 1) * sizeof(*n)))) {
				p->full_tids = n;
				p->full_tids[p->nfull++] = tid;
			}
		}
	}
	closedir(d);
	free(p->checked);
	p->checked = checked;
	p->nchecked = nchecked;
}

/* Find P's main loop. Returns false when P is to be forgotten. */
static bool try_proc(struct loop_ctx *c, struct lproc *p)
{
	char why[768];
	struct lloop *l;
	int rc;

	p->tried_ns = nt_now_ns();
	rc = nt_uv_find_main(c->cache, p->pid, &p->main, why, sizeof(why));
	if (rc == -EAGAIN && nt_now_ns() - p->first_try_ns < PENDING_MAX_NS)
		return true; /* a process that has just started: again later */
	if (rc == -ESRCH) {
		if (p->explicit_)
			say_missing(c, p, "the process exited");
		return false;
	}
	if (rc) {
		/* The program looked at: the process may have exec'ed since. */
		bool node = nt_looks_like_node(p->main.exe);

		/* A program COMMAND runs on the way to node (a shell, `ip netns
		 * exec`) has no libuv: no news, unless asked for. */
		if (p->explicit_ || node || rc != -ENOENT || c->o.verbose || c->o.json)
			say_missing(c, p, why);
		p->state = P_NOLOOP;
		return true;
	}
	p->state = P_ACTIVE;
	nt_symbolizer_note_pid(c->sym, p->pid);
	bool full = false;

	l = add_loop(c, p, p->pid, p->main.loop, true, &full);
	if (l)
		say_found(c, p, l, p->main.file, p->main.how);
	scan_threads(c, p);
	return true;
}

void lw_add_proc(struct loop_ctx *c, pid_t pid, bool explicit_)
{
	struct lproc *p, **ps;

	if (find_proc(c, pid))
		return;
	p = calloc(1, sizeof(*p));
	ps = p ? realloc(c->procs, (size_t)(c->nprocs + 1) * sizeof(*ps)) : NULL;
	if (!ps) {
		free(p);
		return;
	}
	c->procs = ps;
	p->pid = pid;
	p->explicit_ = explicit_;
	p->first_try_ns = nt_now_ns();
	read_comm(pid, pid, p->comm);
	c->procs[c->nprocs++] = p;
	watch(c, pid, true);
	if (!try_proc(c, p))
		proc_gone(c, p);
}

/* Default mode: node processes only, by the name of their executable, or
 * running a --binary file (by device and inode: a copy of node may have
 * any name). */
static bool runs_node(const struct loop_ctx *c, pid_t pid)
{
	return nt_pid_runs_node(pid, c->bins, c->nbins, NULL);
}

/* Default mode: the node processes running now. Called once the exec
 * tracepoint is attached, so that none starts unseen in between. */
void lw_add_running_node(struct loop_ctx *c)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid > 0 && pid != getpid() && runs_node(c, pid))
			lw_add_proc(c, pid, false);
	}
	closedir(d);
}

static void on_exec(struct loop_ctx *c, pid_t pid, uint64_t time_ns)
{
	struct lproc *p = find_proc(c, pid);
	bool explicit_ = p && p->explicit_;

	/* Looked at after this exec (`nice node`: two execs in a row, the
	 * first reported after the second): already the new program. */
	if (p && time_ns < p->tried_ns)
		return;
	/* The exec tracepoint fires at the end of an exec, after the process
	 * shows its new program: nodetap may have found the new program's loop
	 * before it. An exec after nodetap added the loop marks its entry gone
	 * (loop_exec); an entry still live means the exec came first. */
	if (p && p->state == P_ACTIVE) {
		struct loop_val v;
		__u32 key = (__u32)pid;

		if (!bpf_map_lookup_elem(c->loops_fd, &key, &v) && v.pid == (__u32)pid &&
		    !(v.flags & LOOP_F_GONE))
			return;
	}
	if (p)
		proc_gone(c, p);
	/* -p and COMMAND: the exec filter already chose (BPF); default mode:
	 * node processes only. */
	if (!c->o.npids && !c->o.command && !runs_node(c, pid))
		return;
	lw_add_proc(c, pid, explicit_ || c->o.npids > 0);
}

/* ---- blockages ----------------------------------------------------------- */

/* Read L's iteration counter while the process is there to read, and
 * whether the loop counts idle time (uv_loop_configure UV_METRICS_IDLE_TIME:
 * bit 1 of the flags that start its internal fields; node turns it on at
 * start-up). Such a loop notes when a waiting poll begins, which the sampler
 * uses to tell idle from late, and refreshes its clock right after each
 * iteration, before it waits for events. */
void lw_read_count(struct lloop *l)
{
	unsigned int flags;

	if (!l->gone && l->fields && !nt_uv_read_mem(l->pid, l->fields, &flags, sizeof(flags)))
		l->idle_time = flags & 1;
	if (l->gone || !l->metrics ||
	    nt_uv_read_count(l->pid, l->addr, l->fields_off, l->count_off, &l->count_last))
		return;
	if (!l->count_ok)
		l->count_prev = l->count_last;
	l->count_ok = true;
}

static uint64_t hash_ips(const unsigned long long *ips, int n)
{
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < n; i++) {
		h ^= ips[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static void group_add(const struct loop_ctx *c, struct lloop *l, const struct loop_sample_event *ev)
{
	struct group *g = &l->g;
	int n = ev->nframes;
	uint64_t h;

	if (!g->open) {
		memset(g, 0, sizeof(*g));
		g->open = true;
		g->t_ms = ev->loop_time_ms;
		g->first_ns = ev->time_ns;
		/* No iteration yet: node is starting (bootstrap, the main module),
		 * and the loop's clock is the one uv_loop_init read. */
		g->startup = ev->loop_count == 0;
		/* The sample before this one, if it was taken in this iteration
		 * or just before it; else this one (what the thread waited
		 * before it is not known). */
		g->base_delay = ev->prev_sample_ns && ev->prev_sample_ns + c->period_ns >=
				ms_to_ns(ev->loop_time_ms) ? ev->prev_run_delay_ns : ev->run_delay_ns;
		/* The idle time the loop had summed at the sample: it does not
		 * grow while the iteration runs (see group_end). */
		g->base_idle = ev->idle_ns;
	}
	g->end_delay = ev->run_delay_ns;
	g->samples++;
	g->kernel += ev->kernel != 0;
	if (ev->time_ns > g->last_ns)
		g->last_ns = ev->time_ns;
	if (ev->time_ns < g->first_ns)
		g->first_ns = ev->time_ns;
	if (n <= 0 || n > NT_MAX_STACK_DEPTH) {
		g->nostack++;
		return;
	}
	h = hash_ips(ev->ips, n) ^ ev->top_word;
	for (int i = 0; i < g->nstacks; i++) {
		struct rstack *s = g->stacks[i];

		if (s->hash == h && s->n == n && s->top_word == ev->top_word &&
		    !memcmp(s->ips, ev->ips, (size_t)n * 8)) {
			s->count++;
			return;
		}
	}
	if (g->nstacks >= MAX_RAW_STACKS) {
		g->nostack++;
		return;
	}
	struct rstack **v = realloc(g->stacks, (size_t)(g->nstacks + 1) * sizeof(*v));
	struct rstack *s = malloc(sizeof(*s) + (size_t)n * 8);

	if (!v || !s) {
		free(s);
		if (v)
			g->stacks = v;
		g->nostack++;
		return;
	}
	g->stacks = v;
	s->hash = h;
	s->top_word = ev->top_word;
	s->n = n;
	s->count = 1;
	memcpy(s->ips, ev->ips, (size_t)n * 8);
	g->stacks[g->nstacks++] = s;
}

void lw_group_free(struct group *g)
{
	for (int i = 0; i < g->nstacks; i++)
		free(g->stacks[i]);
	free(g->stacks);
	memset(g, 0, sizeof(*g));
}

/* When the iteration of L's open group ended, once the loop's clock was
 * seen to be NEXT_MS at SEEN_NS (NEXT_MS 0: not seen, the thread is gone).
 * The last sample that saw the old clock is a lower bound. The new clock is
 * when libuv last refreshed it, to the millisecond. A loop that counts idle
 * time (node's) refreshes it right after the iteration, before it waits for
 * events, and adds up the time it waited: the new clock minus the waits
 * since is the end, also when the thread was preempted after its last
 * sample, or ran more iterations before the loader looked (those add their
 * own run time, small: a running loop's new clock is usually seen by a
 * sample first). Other loops refresh their clock after a wait: the end is
 * then taken to be at most a sample period after the last sample. */
static uint64_t group_end(const struct loop_ctx *c, const struct lloop *l, uint64_t next_ms,
			  uint64_t seen_ns)
{
	uint64_t end = l->g.last_ns, next = ms_to_ns(next_ms), idle;

	if (!next_ms)
		return end;
	if (next > seen_ns)
		next = seen_ns;
	if (l->idle_time && l->g.base_idle != UINT64_MAX &&
	    !nt_uv_read_mem(l->pid, l->idle_addr, &idle, sizeof(idle)) && idle >= l->g.base_idle) {
		next = next > idle - l->g.base_idle ? next - (idle - l->g.base_idle) : 0;
	} else if (next > end + c->period_ns) {
		next = end + c->period_ns;
	}
	return next > end ? next : end;
}

/* Of L's open group, until END_NS: how long the thread waited for a CPU. */
static uint64_t group_waiting(const struct lloop *l, uint64_t end_ns)
{
	const struct group *g = &l->g;
	uint64_t start = ms_to_ns(g->t_ms), len = end_ns > start ? end_ns - start : 0;
	uint64_t w = g->end_delay > g->base_delay ? g->end_delay - g->base_delay : 0;

	return w < len ? w : len;
}

/* Lasted past the threshold (until END_NS), and seen running: once in a
 * loop that counts idle time (the sampler skips its waits, so a sample of a
 * long iteration is one), else at least twice (a single sample can be a
 * loop caught waking up, before it refreshed its clock). An iteration whose
 * thread was not kept off the CPU by others (it ran, or waited in a call)
 * for a quarter of the threshold is the machine's doing (a callback of a
 * few microseconds, preempted for the threshold): counted as starved, not
 * as a blockage. Code that holds the loop on a busy machine still is one:
 * it runs for part of the time, and waits for the CPU the rest. */
enum verdict { V_NONE, V_BLOCKAGE, V_STARVED };

static enum verdict group_verdict(const struct loop_ctx *c, const struct lloop *l, uint64_t end_ns)
{
	const struct group *g = &l->g;
	uint64_t start = ms_to_ns(g->t_ms), threshold = ms_to_ns(c->threshold_ms);

	if (!g->open || g->samples < (l->idle_time ? 1U : 2U) || end_ns <= start ||
	    end_ns - start < threshold)
		return V_NONE;
	return end_ns - start - group_waiting(l, end_ns) >= threshold / 4 ? V_BLOCKAGE : V_STARVED;
}

static int fstack_cmp_folded(const void *pa, const void *pb)
{
	return strcmp(((const struct fstack *)pa)->folded, ((const struct fstack *)pb)->folded);
}

static int jsfn_cmp(const void *pa, const void *pb)
{
	const struct jsfn *a = pa, *b = pb;

	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	if (!a->name || !b->name)
		return a->name ? -1 : b->name ? 1 : 0;
	return strcmp(a->name, b->name);
}

/* Hottest JavaScript function first (fns are sorted: fn is its rank), then
 * the most frequent stack. */
static int fstack_cmp_hot(const void *pa, const void *pb)
{
	const struct fstack *a = pa, *b = pb;

	if (a->fn != b->fn)
		return a->fn < b->fn ? -1 : 1;
	if (a->count != b->count)
		return a->count < b->count ? 1 : -1;
	return strcmp(a->folded, b->folded);
}

/* Name the frames of a raw stack, with the JavaScript caller the walk
 * skipped put back (leafcaller.h), and fold it: "root;...;leaf". */
static int fold_stack(struct loop_ctx *c, pid_t pid, const struct rstack *rs, struct fstack *out)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int n = 0;

	out->frames = calloc((size_t)rs->n + 1, sizeof(*out->frames));
	f = open_memstream(&buf, &len);
	if (!out->frames || !f) {
		if (f)
			fclose(f);
		free(buf);
		free(out->frames);
		return -ENOMEM;
	}
	out->count = rs->count;
	out->fn = -1;
	for (int i = 0; i < rs->n; i++) {
		nt_symbolize_user(c->sym, pid, rs->ips[i], &out->frames[n++]);
		if (i == 0 && nt_leaf_caller(c->sym, pid, rs->top_word, rs->n > 1 ? rs->ips[1] : 0,
					     &out->frames[n]))
			n++;
	}
	out->nframes = n;
	for (int i = n - 1; i >= 0; i--) {
		const struct nt_frame *fr = &out->frames[i];

		nt_fputs_escaped(f, fr->name ? fr->name : "[unknown]", PATH_MAX);
		if (i)
			fputc(';', f);
	}
	fclose(f);
	out->folded = buf;
	return 0;
}

static const struct nt_frame *innermost_js(const struct fstack *s)
{
	for (int i = 0; i < s->nframes; i++)
		if (s->frames[i].kind == NT_FRAME_JS)
			return &s->frames[i];
	return NULL;
}

/* Turn group G of loop L into blockage B: name and fold its stacks now,
 * while the process is most likely alive. */
static void make_blockage(struct loop_ctx *c, const struct lloop *l, const struct group *g,
			  uint64_t end_ns, bool ongoing, struct blockage *b)
{
	int n = 0;

	memset(b, 0, sizeof(*b));
	b->pid = l->pid;
	b->tid = l->tid;
	b->main = l->main;
	b->ongoing = ongoing;
	b->startup = g->startup;
	memcpy(b->comm, l->comm, sizeof(b->comm));
	b->start_ns = ms_to_ns(g->t_ms);
	b->end_ns = end_ns;
	b->waiting_ns = group_waiting(l, end_ns);
	b->samples = g->samples;
	b->kernel = g->kernel;
	b->nostack = g->nostack;
	nt_symbolizer_note_pid(c->sym, l->pid);
	b->stacks = calloc((size_t)(g->nstacks ? g->nstacks : 1), sizeof(*b->stacks));
	b->fns = calloc((size_t)g->nstacks + 1, sizeof(*b->fns));
	if (!b->stacks || !b->fns) {
		b->nostack = b->samples;
		return;
	}
	for (int i = 0; i < g->nstacks; i++)
		if (!fold_stack(c, l->pid, g->stacks[i], &b->stacks[n]))
			n++;
		else
			b->nostack += g->stacks[i]->count;
	/* Merge the stacks that fold to the same names. */
	qsort(b->stacks, (size_t)n, sizeof(*b->stacks), fstack_cmp_folded);
	b->nstacks = 0;
	for (int i = 0; i < n; i++) {
		struct fstack *s = &b->stacks[i];

		if (b->nstacks && !strcmp(b->stacks[b->nstacks - 1].folded, s->folded)) {
			b->stacks[b->nstacks - 1].count += s->count;
			free(s->folded);
			free(s->frames);
			continue;
		}
		b->stacks[b->nstacks++] = *s;
	}
	/* The innermost JavaScript function of each stack, summed. */
	for (int i = 0; i < b->nstacks; i++) {
		const struct nt_frame *js = innermost_js(&b->stacks[i]);
		const char *name = js ? js->name : NULL;
		int k;

		for (k = 0; k < b->nfns; k++)
			if ((!name && !b->fns[k].name) ||
			    (name && b->fns[k].name && !strcmp(name, b->fns[k].name)))
				break;
		if (k == b->nfns) {
			b->fns[k].name = name;
			b->fns[k].optimized = js && js->js_optimized;
			b->fns[k].app = js && nt_frame_is_app(js);
			b->nfns++;
		}
		b->fns[k].count += b->stacks[i].count;
	}
	qsort(b->fns, (size_t)b->nfns, sizeof(*b->fns), jsfn_cmp);
	for (int i = 0; i < b->nstacks; i++) {
		const struct nt_frame *js = innermost_js(&b->stacks[i]);

		for (int k = 0; k < b->nfns; k++)
			if ((!js && !b->fns[k].name) ||
			    (js && b->fns[k].name && !strcmp(js->name, b->fns[k].name)))
				b->stacks[i].fn = k;
	}
	qsort(b->stacks, (size_t)b->nstacks, sizeof(*b->stacks), fstack_cmp_hot);
}

void lw_free_blockage(struct blockage *b)
{
	for (int i = 0; i < b->nstacks; i++) {
		free(b->stacks[i].folded);
		free(b->stacks[i].frames);
	}
	free(b->stacks);
	free(b->fns);
	memset(b, 0, sizeof(*b));
}

/* loopwatch: blockage B to the subcommand that runs the engine. */
static void hand_over(struct loop_ctx *c, const struct blockage *b)
{
	struct nt_loop_blockage o = {
		.pid = (uint32_t)b->pid, .tid = (uint32_t)b->tid, .main = b->main,
		.ongoing = b->ongoing, .comm = b->comm, .start_ns = b->start_ns,
		.end_ns = b->end_ns, .waiting_ns = b->waiting_ns, .samples = b->samples,
	};

	if (b->nfns && b->fns[0].name) {
		o.hot_fn = b->fns[0].name;
		o.hot_samples = b->fns[0].count;
	}
	c->on_block(c->on_block_arg, &o);
}

/* The iteration of L's open group ended at END_NS (or, ONGOING, has not
 * yet: OUT then gets the blockage so far, and the group stays open). A
 * blockage goes to block_out (loop: printed at once with --events, else
 * kept for the report; loopwatch: to its caller's callback). */
void lw_close_group(struct loop_ctx *c, struct lloop *l, uint64_t end_ns, bool ongoing,
			struct blockage *out)
{
	enum verdict verdict;
	struct blockage b;

	if (ongoing) {
		if (group_verdict(c, l, end_ns) == V_BLOCKAGE)
			make_blockage(c, l, &l->g, end_ns, true, out);
		return;
	}
	/* Iterations are read every second; a process may exit soon after a
	 * long iteration, so read them now too. */
	lw_read_count(l);
	verdict = group_verdict(c, l, end_ns);
	/* One iteration, one blockage: records of it that reach nodetap after
	 * it saw the loop's next clock would open a second group for it. */
	if (verdict == V_BLOCKAGE && l->g.t_ms == l->reported_t_ms)
		verdict = V_NONE;
	if (verdict == V_BLOCKAGE)
		l->reported_t_ms = l->g.t_ms;
	l->starved += verdict == V_STARVED;
	if (verdict == V_BLOCKAGE) {
		make_blockage(c, l, &l->g, end_ns, false, &b);
		l->blockages++;
		c->block_out(c, &b);
	}
	lw_group_free(&l->g);
}

/* The time thread TID of PID has waited for a CPU (run_delay), or DFLT. */
uint64_t lw_run_delay_of(pid_t pid, pid_t tid, uint64_t dflt)
{
	unsigned long long exec, delay;
	char path[96];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	if (!(f = fopen(path, "re")))
		return dflt;
	n = fscanf(f, "%llu %llu", &exec, &delay);
	fclose(f);
	return n == 2 ? delay : dflt;
}

/* Is thread TID of PID waiting in epoll_wait now? */
static bool waits_in_epoll(pid_t pid, pid_t tid)
{
	char path[96], text[256];
	uint64_t arg1, sp;
	long nr;
	FILE *f;
	bool yes = false;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	if (!(f = fopen(path, "re")))
		return false;
	if (fgets(text, sizeof(text), f))
		yes = !nt_uv_parse_syscall(text, &nr, &arg1, &sp) && nt_uv_is_epoll_wait(nr);
	fclose(f);
	return yes;
}

/* Open groups whose loop has moved on are over. */
void lw_check_groups(struct loop_ctx *c)
{
	for (int i = 0; i < c->nloops; i++) {
		struct lloop *l = c->loops[i];
		uint64_t t, now;

		if (l->gone || !l->g.open)
			continue;
		now = nt_now_ns();
		if (nt_uv_read_mem(l->pid, l->addr + l->time_off, &t, sizeof(t))) {
			lw_close_group(c, l, l->g.last_ns, false, NULL); /* gone */
			continue;
		}
		l->g.end_delay = lw_run_delay_of(l->pid, l->tid, l->g.end_delay);
		if (t != l->g.t_ms)
			lw_close_group(c, l, group_end(c, l, t, now), false, NULL);
		else if (!l->idle_time && waits_in_epoll(l->pid, l->tid))
			/* Asleep before refreshing its clock: the iteration is over. */
			lw_close_group(c, l, l->g.last_ns, false, NULL);
	}
}

static void rescan(struct loop_ctx *c)
{
	for (int i = 0; i < c->nprocs; i++) {
		struct lproc *p = c->procs[i];
		char dir[32];

		snprintf(dir, sizeof(dir), "/proc/%d", p->pid);
		if (access(dir, F_OK)) {
			proc_gone(c, p);
			i--;
			continue;
		}
		if (p->state == P_ACTIVE)
			scan_threads(c, p);
	}
	for (int i = 0; i < c->nloops; i++)
		lw_read_count(c->loops[i]);
}

void lw_tick(void *arg)
{
	struct loop_ctx *c = arg;
	uint64_t now = nt_now_ns();

	/* Samples are submitted without waking the loader (a wakeup costs
	 * about 10 us): ring_buffer__poll sees only those that did wake it.
	 * Take the others now, at most 0.1 s late. */
	ring_buffer__consume(c->session.rb);
	nt_hm_out_tick(&c->hm);
	if (now - c->last_check_ns >= GROUP_CHECK_NS) {
		c->last_check_ns = now;
		lw_check_groups(c);
		for (int i = 0; i < c->nprocs; i++) {
			struct lproc *p = c->procs[i];

			if (p->state == P_PENDING && !try_proc(c, p)) {
				proc_gone(c, p);
				i--;
			}
		}
	}
	if (now - c->last_rescan_ns >= RESCAN_NS) {
		c->last_rescan_ns = now;
		rescan(c);
	}
}

/* A sample's lag for the heat map: it ended an iteration's wait at TIME_NS.
 * IPS (N): its user stack, for --html, when the sample carried one. */
static void heatmap_add(struct loop_ctx *c, const struct lloop *l, uint64_t time_ns,
			uint64_t lag_ns, bool kernel, const unsigned long long *ips, int n)
{
	const char *kind = lw_loop_kind(l);

	nt_hm_out_add_ips(&c->hm, time_ns, lag_ns, (uint32_t)l->pid, (uint32_t)l->tid, kind,
			  strlen(kind), kernel ? "sampled in the kernel" : "sampled in user code",
			  l->comm, ips, n);
}

int lw_on_event(void *arg, void *data, size_t len)
{
	struct loop_ctx *c = arg;
	unsigned int type;

	if (len < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	if (type == LOOP_EV_SAMPLE && len >= sizeof(struct loop_sample_event)) {
		const struct loop_sample_event *ev = data;
		struct lloop *l = find_loop(c, (pid_t)ev->tid);

		if (!l || l->pid != (pid_t)ev->pid)
			return 0;
		if (nt_hm_out_on(&c->hm)) {
			uint64_t t_ns = ms_to_ns(ev->loop_time_ms);

			heatmap_add(c, l, ev->time_ns, ev->time_ns > t_ns ? ev->time_ns - t_ns : 0,
				    ev->kernel, ev->ips, ev->nframes);
		}
		if (l->g.open && l->g.t_ms != ev->loop_time_ms) {
			l->g.end_delay = ev->run_delay_ns;
			lw_close_group(c, l, group_end(c, l, ev->loop_time_ms, ev->time_ns), false, NULL);
		}
		group_add(c, l, ev);
	} else if (type == LOOP_EV_LAG && len >= sizeof(struct loop_lag_event)) {
		const struct loop_lag_event *ev = data;
		struct lloop *l = find_loop(c, (pid_t)ev->tid);

		if (l && l->pid == (pid_t)ev->pid)
			heatmap_add(c, l, ev->time_ns, ev->lag_ns, ev->kernel, NULL, 0);
	} else if (type == LOOP_EV_EXEC && len >= sizeof(struct loop_exec_event)) {
		const struct loop_exec_event *ev = data;

		on_exec(c, (pid_t)ev->pid, ev->time_ns);
	}
	return 0;
}

/* Default mode: the --binary files, for loop_exec to tell execs into them
 * whatever their names (the kernel's device encoding: major << 20 | minor).
 * Returns 0 or NT_EXIT_RUNTIME after saying why. */
static int fill_node_files(struct loop_ctx *c)
{
	int fd = bpf_map__fd(c->skel->maps.node_files);
	__u8 one = 1;

	for (int i = 0; i < c->nbins; i++) {
		struct loop_file_key k = { .ino = c->bins[i].ino,
					 .dev = (__u32)(major(c->bins[i].dev) << 20 | minor(c->bins[i].dev)) };

		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY)) {
			fprintf(stderr, "nodetap %s: noting --binary file %d for the exec filter: %s\n",
				c->o.cmd, i + 1, strerror(errno));
			return NT_EXIT_RUNTIME;
		}
	}
	return 0;
}

/* Open and load the BPF object for C's options (loopwatch: with the
 * caller's process filter PIDS). Returns 0 or NT_EXIT_RUNTIME after saying
 * why. */
int lw_load(struct loop_ctx *c, struct bpf_map *pids)
{
	/* -p and COMMAND: traced_pids chooses the execs (nt_pid_traced). */
	bool node_execs_only = !c->o.npids && !c->o.command;
	int rc;

	c->watched_fd = -1;
	c->sym = nt_symbolizer_for(&c->o);
	c->cache = nt_uv_cache_new();
	c->skel = loop_bpf__open();
	if (!c->sym || !c->cache || !c->skel) {
		fprintf(stderr, "nodetap %s: opening the BPF object: %s\n", c->o.cmd, strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	c->skel->rodata->filter_pids = c->o.npids > 0 || c->o.command;
	c->skel->rodata->follow_children = c->o.command != NULL;
	/* Samples of an iteration that has run for a sample period go to the
	 * loader: a blockage loses at most its first sample. */
	c->skel->rodata->record_after_ns = c->period_ns < ms_to_ns(c->threshold_ms) / 2 ?
					   c->period_ns : ms_to_ns(c->threshold_ms) / 2;
	c->skel->rodata->record_lags = nt_hm_out_on(&c->hm);
	c->skel->rodata->node_execs_only = node_execs_only;
	if (!node_execs_only) {
		/* Unused: keep them small. */
		bpf_map__set_max_entries(c->skel->maps.node_files, 1);
		bpf_map__set_max_entries(c->skel->maps.watched, 1);
	}
	if (pids && (rc = bpf_map__reuse_fd(c->skel->maps.traced_pids, bpf_map__fd(pids)))) {
		fprintf(stderr, "nodetap %s: sharing the process filter: %s\n", c->o.cmd, strerror(-rc));
		return NT_EXIT_RUNTIME;
	}
	if ((rc = nt_test_map_sizes(&c->o, c->skel->obj)) ||
	    (rc = nt_load_skeleton(&c->o, c->skel->skeleton)))
		return rc;
	c->loops_fd = bpf_map__fd(c->skel->maps.loops);
	if (node_execs_only) {
		c->watched_fd = bpf_map__fd(c->skel->maps.watched);
		return fill_node_files(c);
	}
	return 0;
}

/* ---- loopwatch.h: the engine under another subcommand's session -------------- */

struct nt_loopwatch {
	struct loop_ctx c;
};

/* The loops, processes and blockages C holds. */
void lw_free(struct loop_ctx *c)
{
	for (int i = 0; i < c->nloops; i++) {
		lw_group_free(&c->loops[i]->g);
		free(c->loops[i]);
	}
	free(c->loops);
	for (int i = 0; i < c->nprocs; i++) {
		free(c->procs[i]->checked);
		free(c->procs[i]->full_tids);
		free(c->procs[i]);
	}
	free(c->procs);
	for (int i = 0; i < c->nblocks; i++)
		lw_free_blockage(&c->blocks[i]);
	free(c->blocks);
}

static void hand_over_free(struct loop_ctx *c, struct blockage *b)
{
	hand_over(c, b);
	lw_free_blockage(b);
}

int nt_loopwatch_start(struct nt_loopwatch **out, const struct nt_opts *o, uint64_t threshold_ms,
		       uint64_t freq, struct bpf_map *traced_pids, struct ring_buffer *rb,
		       nt_loop_blockage_fn fn, void *arg)
{
	struct nt_loopwatch *w = calloc(1, sizeof(*w));
	struct loop_ctx *c;
	int rc;

	*out = w;
	if (!w) {
		fprintf(stderr, "nodetap %s: out of memory\n", o->cmd);
		return NT_EXIT_RUNTIME;
	}
	c = &w->c;
	c->o = *o;
	c->o.json = c->o.events = false;   /* loop's own output: none */
	c->threshold_ms = threshold_ms;
	c->freq = freq;
	c->period_ns = 1000000000ULL / freq;
	c->on_block = fn;
	c->on_block_arg = arg;
	c->block_out = hand_over_free;
	for (int i = 0; i < o->nbinaries && c->nbins < NT_MAX_BINARIES; i++) {
		struct stat st;

		if (!stat(o->binaries[i], &st)) {
			c->bins[c->nbins].dev = st.st_dev;
			c->bins[c->nbins++].ino = st.st_ino;
		}
	}
	c->last_report_ns = c->last_rescan_ns = c->last_check_ns = nt_now_ns();
	if ((rc = lw_load(c, traced_pids)))
		return rc;
	/* lw_tick() takes the records that did not wake the poll from here. */
	c->session.rb = rb;
	if (ring_buffer__add(rb, bpf_map__fd(c->skel->maps.events), lw_on_event, c)) {
		fprintf(stderr, "nodetap %s: --loop: ring buffer: %s\n", o->cmd, strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	c->exec_link = bpf_program__attach(c->skel->progs.loop_exec);
	if (!c->exec_link) {
		fprintf(stderr, "nodetap %s: --loop: attaching raw tracepoint sched_process_exec: %s\n",
			o->cmd, strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	if ((rc = nt_samplers_open(o->cmd, c->skel->progs.loop_sample, c->period_ns, &c->samplers)))
		return rc;
	for (int i = 0; i < c->o.npids; i++)
		lw_add_proc(c, c->o.pids[i], true);
	if (!c->o.npids && !c->o.command)
		lw_add_running_node(c);
	return 0;
}

void nt_loopwatch_tick(struct nt_loopwatch *w)
{
	lw_tick(&w->c);
}

void nt_loopwatch_finish(struct nt_loopwatch *w)
{
	struct loop_ctx *c = &w->c;
	uint64_t now = nt_now_ns();

	ring_buffer__consume(c->session.rb);
	lw_check_groups(c);
	for (int i = 0; i < c->nloops; i++) {
		struct lloop *l = c->loops[i];
		struct blockage b = { 0 };

		if (l->gone || !l->g.open)
			continue;
		l->g.end_delay = lw_run_delay_of(l->pid, l->tid, l->g.end_delay);
		lw_close_group(c, l, now, true, &b);
		if (b.samples)
			hand_over(c, &b);
		lw_free_blockage(&b);
	}
}

const unsigned long long *nt_loopwatch_losses(const struct nt_loopwatch *w)
{
	return w->c.skel->bss->nt_losses;
}

void nt_loopwatch_stop(struct nt_loopwatch *w)
{
	struct loop_ctx *c;

	if (!w)
		return;
	c = &w->c;
	nt_samplers_close(&c->samplers);
	bpf_link__destroy(c->exec_link);
	loop_bpf__destroy(c->skel);
	lw_free(c);
	nt_uv_cache_free(c->cache);
	nt_symbolizer_free(c->sym);
	free(w);
}
