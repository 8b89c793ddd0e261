/* monitor_workers: the event loops of worker_threads Workers in the
 * processes the monitor watches. A Worker keeps its uv_loop_t on its
 * thread's stack; uvloop.c finds it there while the thread waits in
 * epoll_wait (nt_uv_find_thread_loop), as `nodetap loop` does. Each one
 * found gets an entry in the sampler's `loops` map, keyed by its thread id,
 * like the main loop's (keyed by the pid): the same sampler counts its lag.
 * The metrics sum a process's workers into one series (thread="worker"):
 * a process may start and end any number of Workers, the output stays at
 * two series per process.
 *
 * Cost: every WORKER_SCAN_NS, per process whose main loop is sampled, one
 * readdir of /proc/PID/task and a read of each thread's
 * /proc/PID/task/TID/syscall; a thread's stack (up to uvloop.c's limit) only
 * the first time it is seen waiting on an epoll fd. A Worker that never
 * waits for events (busy from start to end) is not found. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "common.h"
#include "monitor_int.h"
#include "uvloop.h"

#define WORKER_SCAN_NS (5ULL * 1000000000ULL)

void nt_monitor_loop_val(const struct mproc *p, uint64_t addr, struct loop_val *v)
{
	const struct mlayout *l = &p->layout;
	uint64_t fields = 0;

	memset(v, 0, sizeof(*v));
	v->pid = (__u32)p->pid;
	v->addr = addr;
	v->time_addr = addr + l->time_off;
	if (l->idle_metrics && !nt_uv_read_mem(p->pid, addr + l->idle_fields_off, &fields,
					       sizeof(fields)) && fields) {
		v->poll_entry_addr = fields + l->entry_off;
		v->idle_addr = fields + l->idle_off;
	}
	if (l->metrics && !nt_uv_read_mem(p->pid, addr + l->fields_off, &v->count_addr,
					  sizeof(v->count_addr)) && v->count_addr)
		v->count_addr += l->count_off;
	else
		v->count_addr = 0;
}

/* Worker I of P is gone: its counts join worker_lag_prev, its entry leaves
 * the map. */
static void worker_gone(struct monitor *m, struct mproc *p, int i)
{
	int fd = bpf_map__fd(m->loop->maps.loops);
	__u32 key = (__u32)p->workers[i];
	struct loop_val v;

	if (!bpf_map_lookup_elem(fd, &key, &v) && v.pid == (__u32)p->pid) {
		for (int j = 0; j < NT_HIST_SLOTS; j++)
			p->worker_lag_prev[j] += v.hist[j];
		bpf_map_delete_elem(fd, &key);
	}
	p->workers[i] = p->workers[--p->nworkers];
}

static bool is_worker(const struct mproc *p, pid_t tid)
{
	for (int i = 0; i < p->nworkers; i++)
		if (p->workers[i] == tid)
			return true;
	return false;
}

static void add_worker(struct monitor *m, struct mproc *p, pid_t tid, uint64_t addr)
{
	__u32 key = (__u32)tid;
	struct loop_val v;
	pid_t *w = realloc(p->workers, (size_t)(p->nworkers + 1) * sizeof(*w));

	if (!w)
		return;
	p->workers = w;
	nt_monitor_loop_val(p, addr, &v);
	if (bpf_map_update_elem(bpf_map__fd(m->loop->maps.loops), &key, &v, BPF_ANY)) {
		m->loop->bss->nt_losses[NT_LOSS_AGG_FULL]++;   /* 8192 loops */
		return;
	}
	p->workers[p->nworkers++] = tid;
	if (m->o.verbose) {
		fprintf(stderr, "nodetap monitor: pid %d: worker loop at 0x%llx on thread %d\n",
			p->pid, (unsigned long long)addr, tid);
	}
}

void nt_monitor_scan_workers(struct monitor *m, struct mproc *p)
{
	uint64_t now = nt_now_ns();
	struct mthread_seen *seen = NULL;
	int nseen = 0;
	struct dirent *e;
	char dir[64];
	DIR *d;

	if (p->loop != L_ACTIVE || now - p->workers_scanned_ns < WORKER_SCAN_NS)
		return;
	p->workers_scanned_ns = now;
	/* Workers whose thread exited. */
	for (int i = 0; i < p->nworkers;) {
		char path[96];

		snprintf(path, sizeof(path), "/proc/%d/task/%d", p->pid, p->workers[i]);
		if (access(path, F_OK))
			worker_gone(m, p, i);
		else
			i++;
	}
	snprintf(dir, sizeof(dir), "/proc/%d/task", p->pid);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		int known = -1, epfd = -1, rc;
		uint64_t addr;

		if (tid <= 0 || tid == p->pid || is_worker(p, tid))
			continue;
		for (int i = 0; i < p->nseen; i++)
			if (p->seen[i].tid == tid)
				known = p->seen[i].epfd;
		rc = nt_uv_find_thread_loop(p->pid, tid, p->layout.time_off, known, &addr, &epfd);
		if (rc == -ENOENT && epfd >= 0) {
			struct mthread_seen *n = realloc(seen, (size_t)(nseen + 1) * sizeof(*n));

			if (n) {
				seen = n;
				seen[nseen].tid = tid;
				seen[nseen++].epfd = epfd;
			}
		} else if (!rc) {
			add_worker(m, p, tid, addr);
		}
	}
	closedir(d);
	/* Threads that exited leave the list with it. */
	free(p->seen);
	p->seen = seen;
	p->nseen = nseen;
}

void nt_monitor_workers_gone(struct monitor *m, struct mproc *p)
{
	while (p->nworkers)
		worker_gone(m, p, p->nworkers - 1);
	free(p->seen);
	p->seen = NULL;
	p->nseen = 0;
	p->workers_scanned_ns = 0;
}

void nt_monitor_free_workers(struct mproc *p)
{
	free(p->workers);
	free(p->seen);
	p->workers = NULL;
	p->seen = NULL;
	p->nworkers = p->nseen = 0;
}
