/* nodetap loop: event-loop lag of node processes, and what blocks their
 * loops, from a CPU-clock sampler that reads libuv's cached clock: no probe
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
 * it lasted past the threshold (see group_is_blockage). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "common.h"
#include "escape.h"
#include "hist.h"
#include "heatmap_out.h"
#include "json.h"
#include "leafcaller.h"
#include "loop.h"
#include "loop.skel.h"
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
#define PENDING_MAX_NS (10ULL * 1000000000ULL)  /* an uninitialized loop: give up */
#define RESCAN_NS 1000000000ULL      /* threads: new worker loops, exits */
#define GROUP_CHECK_NS 50000000ULL   /* open groups: has the loop moved on? */
#define MAX_RAW_STACKS 4096          /* distinct stacks kept per group */
#define TEXT_STACKS 3                /* stacks shown per blockage in text */

enum proc_state { P_PENDING, P_ACTIVE, P_NOLOOP };

struct lproc {
	pid_t pid;
	char comm[NT_COMM_LEN];
	enum proc_state state;
	bool explicit_;            /* named with -p: every failure is news */
	uint64_t first_try_ns;
	uint64_t tried_ns;         /* when its program was last looked at */
	struct nt_uv_main main;
	/* Threads found waiting in epoll_wait on a fd with no loop on their
	 * stack (node's own helper loops live on the heap): not looked at again
	 * while they wait on the same fd. */
	struct { pid_t tid; int epfd; } *checked;
	int nchecked;
};

struct rstack {                  /* one distinct raw stack of a group */
	uint64_t hash;
	uint64_t top_word;           /* the word at the stack pointer (leafcaller.h) */
	int n;
	unsigned count;
	unsigned long long ips[];
};

struct group {                   /* one iteration seen running long */
	bool open;
	uint64_t t_ms;               /* the loop's clock all along */
	uint64_t first_ns, last_ns;  /* first and last sample */
	unsigned samples, kernel, nostack;
	bool startup;                /* before the loop's first iteration */
	/* The thread's run_delay (time waiting for a CPU) from around the
	 * start of the iteration, and as of its end (set before closing). */
	uint64_t base_delay, end_delay;
	uint64_t base_idle;          /* the loop's idle time at the start, or -1 */
	struct rstack **stacks;
	int nstacks;
};

struct lloop {
	pid_t pid, tid;
	bool main;                   /* the default loop, on the main thread */
	bool gone;
	char comm[NT_COMM_LEN];      /* the thread's */
	uint64_t addr;
	uint32_t time_off;
	bool metrics;
	uint32_t fields_off, count_off;
	uint64_t fields;             /* loop->internal_fields, or 0 */
	uint64_t idle_addr;          /* its provider_idle_time (ns), or 0 */
	bool idle_time;              /* the loop counts idle time (see read_count) */
	uint64_t since_ns;           /* start of what the next report covers */
	uint64_t gone_ns;
	struct loop_val final;       /* counters when it went */
	struct loop_val prev;        /* counters at the last report */
	bool count_ok;
	uint64_t count_prev, count_last;
	unsigned long long blockages;   /* ended since the last report */
	uint64_t reported_t_ms;      /* the clock of the last blockage reported */
	unsigned long long starved;     /* long iterations left out: the thread
	                                   was waiting for a CPU */
	struct group g;
};

struct fstack {                  /* stacks of a blockage, folded by name */
	unsigned count;
	char *folded;                /* escaped names, root first, ';' between */
	int nframes;
	struct nt_frame *frames;     /* innermost first, from the first sample */
	int fn;                      /* index in the blockage's fns, or -1 */
};

struct jsfn {                    /* innermost JavaScript function of samples */
	const char *name;            /* NULL: samples without a JS frame */
	bool optimized, app;
	unsigned count;
};

struct blockage {
	pid_t pid, tid;
	bool main, ongoing, startup;
	char comm[NT_COMM_LEN];
	uint64_t start_ns, end_ns;
	uint64_t waiting_ns;         /* of it, waiting for a CPU */
	unsigned samples, kernel, nostack;
	struct fstack *stacks;
	int nstacks;
	struct jsfn *fns;
	int nfns;
};

struct loop_ctx {
	struct nt_opts o;
	uint64_t threshold_ms;
	uint64_t freq;
	uint64_t period_ns;
	struct loop_bpf *skel;
	struct nt_symbolizer *sym;
	struct nt_session session;
	struct nt_uv_cache *cache;
	struct nt_samplers samplers; /* one per CPU */
	struct lproc **procs;
	int nprocs;
	struct lloop **loops;
	int nloops;
	struct blockage *blocks;     /* ended since the last report */
	int nblocks;
	uint64_t last_report_ns, last_rescan_ns, last_check_ns;
	int loops_fd;
	struct nt_hm_out hm;         /* --heatmap, --html: the lag of every sample */
	struct nt_file_id bins[NT_MAX_BINARIES];  /* --binary files */
	int nbins;
};

static uint64_t ms_to_ns(uint64_t ms)
{
	return ms * 1000000ULL;
}

/* ---- processes and their loops ------------------------------------------ */

static void read_count(struct lloop *l);

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

static const char *loop_kind(const struct lloop *l)
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
		nt_json_str(&j, "kind", loop_kind(l));
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
	fprintf(stderr, "): %s loop at 0x%llx on thread %d (", loop_kind(l),
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

static struct lloop *add_loop(struct loop_ctx *c, struct lproc *p, pid_t tid, uint64_t addr,
			      bool main)
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
	read_count(l);
	if (bpf_map_update_elem(c->loops_fd, &key, &v, BPF_ANY)) {
		/* The map is full (8192 loops): counted as a loss, not sampled. */
		c->skel->bss->nt_losses[NT_LOSS_AGG_FULL]++;
		free(l);
		return NULL;
	}
	c->loops[c->nloops++] = l;
	return l;
}

static void close_group(struct loop_ctx *c, struct lloop *l, uint64_t end_ns, bool ongoing,
			struct blockage *out);
static void emit_blockage(struct loop_ctx *c, struct blockage *b);
static void free_blockage(struct blockage *b);

/* The loop ended (its thread exited, or its process exec'ed or exited):
 * close what it was doing, keep its counters, free its map entry. */
static void loop_gone(struct loop_ctx *c, struct lloop *l)
{
	__u32 key = (__u32)l->tid;

	if (l->gone)
		return;
	if (l->g.open)
		close_group(c, l, l->g.last_ns, false, NULL);
	if (bpf_map_lookup_elem(c->loops_fd, &key, &l->final))
		memset(&l->final, 0, sizeof(l->final));
	if (l->final.pid == (__u32)l->pid && l->final.addr == l->addr)
		bpf_map_delete_elem(c->loops_fd, &key);
	else
		l->final = l->prev; /* someone else's entry now: keep what we had */
	l->gone = true;
	l->gone_ns = nt_now_ns();
}

static void proc_gone(struct loop_ctx *c, struct lproc *p)
{
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

		if (tid <= 0 || tid == p->pid || find_loop(c, tid))
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
			struct lloop *l = add_loop(c, p, tid, addr, false);

			if (l)
				say_found(c, p, l, p->main.file, "on the thread's stack");
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
	l = add_loop(c, p, p->pid, p->main.loop, true);
	if (l)
		say_found(c, p, l, p->main.file, p->main.how);
	scan_threads(c, p);
	return true;
}

static void add_proc(struct loop_ctx *c, pid_t pid, bool explicit_)
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
static void add_running_node(struct loop_ctx *c)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);

		if (pid > 0 && pid != getpid() && runs_node(c, pid))
			add_proc(c, pid, false);
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
	add_proc(c, pid, explicit_ || c->o.npids > 0);
}

/* ---- blockages ----------------------------------------------------------- */

/* Read L's iteration counter while the process is there to read, and
 * whether the loop counts idle time (uv_loop_configure UV_METRICS_IDLE_TIME:
 * bit 1 of the flags that start its internal fields; node turns it on at
 * start-up). Such a loop notes when a waiting poll begins, which the sampler
 * uses to tell idle from late, and refreshes its clock right after each
 * iteration, before it waits for events. */
static void read_count(struct lloop *l)
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

static void group_free(struct group *g)
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

static void free_blockage(struct blockage *b)
{
	for (int i = 0; i < b->nstacks; i++) {
		free(b->stacks[i].folded);
		free(b->stacks[i].frames);
	}
	free(b->stacks);
	free(b->fns);
	memset(b, 0, sizeof(*b));
}

/* The iteration of L's open group ended at END_NS (or, ONGOING, has not
 * yet: OUT then gets the blockage so far, and the group stays open). A
 * blockage is printed at once with --events, else kept for the report. */
static void close_group(struct loop_ctx *c, struct lloop *l, uint64_t end_ns, bool ongoing,
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
	read_count(l);
	verdict = group_verdict(c, l, end_ns);
	/* One iteration, one blockage: records of it that reach nodetap after
	 * it saw the loop's next clock would open a second group for it. */
	if (verdict == V_BLOCKAGE && l->g.t_ms == l->reported_t_ms)
		verdict = V_NONE;
	if (verdict == V_BLOCKAGE)
		l->reported_t_ms = l->g.t_ms;
	l->starved += verdict == V_STARVED;
	if (verdict == V_BLOCKAGE) {
		struct blockage *v;

		make_blockage(c, l, &l->g, end_ns, false, &b);
		l->blockages++;
		if (c->o.events) {
			emit_blockage(c, &b);
			free_blockage(&b);
		} else if ((v = realloc(c->blocks, (size_t)(c->nblocks + 1) * sizeof(*v)))) {
			c->blocks = v;
			c->blocks[c->nblocks++] = b;
		} else {
			free_blockage(&b);
		}
	}
	group_free(&l->g);
}

/* The time thread TID of PID has waited for a CPU (run_delay), or DFLT. */
static uint64_t run_delay_of(pid_t pid, pid_t tid, uint64_t dflt)
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
static void check_groups(struct loop_ctx *c)
{
	for (int i = 0; i < c->nloops; i++) {
		struct lloop *l = c->loops[i];
		uint64_t t, now;

		if (l->gone || !l->g.open)
			continue;
		now = nt_now_ns();
		if (nt_uv_read_mem(l->pid, l->addr + l->time_off, &t, sizeof(t))) {
			close_group(c, l, l->g.last_ns, false, NULL); /* gone */
			continue;
		}
		l->g.end_delay = run_delay_of(l->pid, l->tid, l->g.end_delay);
		if (t != l->g.t_ms)
			close_group(c, l, group_end(c, l, t, now), false, NULL);
		else if (!l->idle_time && waits_in_epoll(l->pid, l->tid))
			/* Asleep before refreshing its clock: the iteration is over. */
			close_group(c, l, l->g.last_ns, false, NULL);
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
		read_count(c->loops[i]);
}

static void tick(void *arg)
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
		check_groups(c);
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

/* A sample's lag for the heat map: it ended an iteration's wait at TIME_NS. */
static void heatmap_add(struct loop_ctx *c, const struct lloop *l, uint64_t time_ns,
			uint64_t lag_ns, bool kernel)
{
	const char *kind = loop_kind(l);

	nt_hm_out_add(&c->hm, time_ns, lag_ns, (uint32_t)l->pid, (uint32_t)l->tid, kind,
		      strlen(kind), kernel ? "sampled in the kernel" : "sampled in user code");
}

static int on_event(void *arg, void *data, size_t len)
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
				    ev->kernel);
		}
		if (l->g.open && l->g.t_ms != ev->loop_time_ms) {
			l->g.end_delay = ev->run_delay_ns;
			close_group(c, l, group_end(c, l, ev->loop_time_ms, ev->time_ns), false, NULL);
		}
		group_add(c, l, ev);
	} else if (type == LOOP_EV_LAG && len >= sizeof(struct loop_lag_event)) {
		const struct loop_lag_event *ev = data;
		struct lloop *l = find_loop(c, (pid_t)ev->tid);

		if (l && l->pid == (pid_t)ev->pid)
			heatmap_add(c, l, ev->time_ns, ev->lag_ns, ev->kernel);
	} else if (type == LOOP_EV_EXEC && len >= sizeof(struct loop_exec_event)) {
		const struct loop_exec_event *ev = data;

		on_exec(c, (pid_t)ev->pid, ev->time_ns);
	}
	return 0;
}

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
	read_count(l);
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
		printf("%-8d %-8d %-15s %-6s %8s %6.1f%% %8llu", s->l->pid, s->l->tid, comm, loop_kind(s->l),
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
		printf(") %s loop, thread %d: lag when sampled on CPU\n", loop_kind(s->l), s->l->tid);
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
		nt_json_str(&j, "kind", loop_kind(s->l));
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
	check_groups(c);
	for (int i = 0; i < c->nloops; i++) {
		struct lloop *l = c->loops[i];
		bool seen = false;

		for (int k = 0; k < i; k++)
			seen |= c->loops[k]->pid == l->pid;
		nproc += !seen;
		st[n].l = l;
		collect(c, &st[n++], interval, now);
		if (!l->gone && l->g.open) {
			l->g.end_delay = run_delay_of(l->pid, l->tid, l->g.end_delay);
			close_group(c, l, now, true, &ongoing[nongoing]);
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
		free_blockage(&c->blocks[i]);
	c->nblocks = 0;
	for (int i = 0; i < nongoing; i++)
		free_blockage(&ongoing[i]);
	for (int i = 0; i < c->nloops; i++) {
		struct lloop *l = c->loops[i];

		l->blockages = 0;
		l->starved = 0;
		l->since_ns = now;
		l->count_prev = l->count_last;
		if (l->gone && interval) {
			/* Reported for the last time. */
			group_free(&l->g);
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
	c.session.tick = tick;
	c.session.tick_ctx = &c;
	c.last_report_ns = c.last_rescan_ns = c.last_check_ns = nt_now_ns();
	c.sym = nt_symbolizer_for(&c.o);
	c.cache = nt_uv_cache_new();
	c.skel = loop_bpf__open();
	if (!c.sym || !c.cache || !c.skel) {
		fprintf(stderr, "nodetap loop: opening the BPF object: %s\n", strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	c.skel->rodata->filter_pids = c.o.npids > 0 || c.o.command;
	c.skel->rodata->follow_children = c.o.command != NULL;
	c.skel->rodata->period_ns = c.period_ns;
	/* Samples of an iteration that has run for a sample period go to the
	 * loader: a blockage loses at most its first sample. */
	c.skel->rodata->record_after_ns = c.period_ns < ms_to_ns(c.threshold_ms) / 2 ?
					  c.period_ns : ms_to_ns(c.threshold_ms) / 2;
	c.skel->rodata->record_lags = nt_hm_out_on(&c.hm);
	if ((rc = nt_test_map_sizes(&c.o, c.skel->obj))) {
		goto out;
	}
	if ((rc = loop_bpf__load(c.skel))) {
		fprintf(stderr, "nodetap loop: loading the BPF programs failed: %s "
			"(NODETAP_LIBBPF_DEBUG=1 shows the verifier's log)\n", strerror(-rc));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	c.loops_fd = bpf_map__fd(c.skel->maps.loops);
	c.session.rb = ring_buffer__new(bpf_map__fd(c.skel->maps.events), on_event, &c, NULL);
	if (!c.session.rb) {
		fprintf(stderr, "nodetap loop: ring buffer: %s\n", strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
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
		add_proc(&c, c.o.pids[i], true);
	if (!c.o.npids && !c.o.command)
		add_running_node(&c);
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
	for (int i = 0; i < c.nloops; i++) {
		group_free(&c.loops[i]->g);
		free(c.loops[i]);
	}
	free(c.loops);
	for (int i = 0; i < c.nprocs; i++) {
		free(c.procs[i]->checked);
		free(c.procs[i]);
	}
	free(c.procs);
	for (int i = 0; i < c.nblocks; i++)
		free_blockage(&c.blocks[i]);
	free(c.blocks);
	nt_uv_cache_free(c.cache);
	nt_symbolizer_free(c.sym);
	nt_targets_free(&targets);
	nt_hm_out_free(&c.hm);
	return rc;
}
