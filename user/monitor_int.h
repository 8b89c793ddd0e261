/* monitor_int: what the agent (monitor.c) and its metrics (monitor_metrics.c)
 * share: the state of the monitor, under its lock. Not for other modules. */
#ifndef NODETAP_MONITOR_INT_H
#define NODETAP_MONITOR_INT_H

#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>
#include <bpf/libbpf.h>
#include "connect.h"
#include "connect.skel.h"
#include "dns.h"
#include "dns.skel.h"
#include "loop.h"
#include "loop.skel.h"
#include "mapsnap.h"
#include "monitor.h"
#include "probes.h"
#include "promtext.h"
#include "sampler.h"
#include "tcp.h"
#include "targets.h"
#include "tcp.skel.h"
#include "uvloop.h"

/* The label value of what is past --top. */
#define OTHER "other"

enum loop_state { L_PENDING, L_ACTIVE, L_NONE };

/* Where a process's libuv keeps what the sampler reads (uvloop.h's
 * nt_uv_main without its names): the same for every loop of the process. */
struct mlayout {
	uint32_t time_off;
	bool metrics;
	uint32_t fields_off, count_off;
	bool idle_metrics;
	uint32_t idle_fields_off, entry_off, idle_off;
};

/* A thread that waits in epoll_wait on a fd with no loop on its stack: not
 * looked at again while it waits on that fd. */
struct mthread_seen {
	pid_t tid;
	int epfd;
};

struct mproc {
	pid_t pid;
	unsigned long long start_time;   /* /proc/PID/stat: tells a reused pid */
	char comm[NT_COMM_LEN];
	uint64_t exited_ns;              /* 0 while it runs */
	enum loop_state loop;
	uint64_t loop_first_try_ns;
	unsigned long long lag_prev[NT_HIST_SLOTS];  /* loops it had before an exec */
	struct mlayout layout;           /* of its libuv, once the main loop is found */
	pid_t *workers;                  /* threads whose worker_threads loops are
	                                    sampled (monitor_workers.c) */
	int nworkers;
	struct mthread_seen *seen;
	int nseen;
	uint64_t workers_scanned_ns;
	unsigned long long worker_lag_prev[NT_HIST_SLOTS];  /* of workers gone */
	char (*hosts)[NT_HOST_LEN];      /* hosts with labels of their own */
	int nhosts;
	struct dns_val dns_other;        /* the rest, folded out of the kernel */
	struct nt_addr *dests;           /* destinations with labels of their own */
	int ndests;
	struct connect_val conn_other;
	struct tcp_remote_val tcp;       /* every remote summed, drained from the kernel */
};

struct mbin {
	dev_t dev;
	ino_t ino;
	struct nt_probes probes;
};

struct monitor {
	struct nt_monitor_opts o;        /* in force: the command line over --config;
	                                    features: those attached now */
	struct nt_monitor_opts cli;      /* the command line alone (argv's strings) */
	char *o_owned[2 + NT_MAX_BINARIES];  /* o's strings: its own copies */
	int o_nowned;
	unsigned long long reloads_applied, reloads_failed;
	bool last_reload_ok;
	pthread_mutex_t lock;
	struct dns_bpf *dns;
	struct connect_bpf *conn;
	struct loop_bpf *loop;
	struct tcp_bpf *tcp;
	struct bpf_link *state_link, *exec_link;
	struct bpf_link *tcp_links[5];
	struct nt_samplers samplers;
	struct ring_buffer *rb;          /* loop's: exec events */
	struct nt_uv_cache *uv;
	struct mproc **procs;            /* sorted by pid */
	int nprocs;
	struct mbin *bins;
	int nbins;
	struct nt_file_id extra_bins[NT_MAX_BINARIES];
	int nextra;
	struct nt_snap dns_snap, conn_snap;  /* last read, sorted by pid */
	uint64_t last_tick_ns, last_scan_ns;
	FILE *log;
	unsigned long long log_bytes;
	bool ready;                      /* loaded and first scan done */
	pid_t self;
};

static inline void dns_add(struct dns_val *d, const struct dns_val *s)
{
	d->count += s->count;
	d->errors += s->errors;
	d->total_ns += s->total_ns;
	for (int i = 0; i < NT_HIST_SLOTS; i++)
		d->hist[i] += s->hist[i];
	for (int i = 0; i < NT_DNS_EAI_SLOTS; i++)
		d->eai[i] += s->eai[i];
	d->other_errors += s->other_errors;
}

static inline void conn_add(struct connect_val *d, const struct connect_val *s)
{
	for (int i = 0; i < CONN_OUTCOMES; i++)
		d->outcomes[i] += s->outcomes[i];
	d->total_ns += s->total_ns;
	for (int i = 0; i < NT_HIST_SLOTS; i++)
		d->hist[i] += s->hist[i];
}

/* Read the counter maps, admit new hosts and destinations or fold them into
 * "other", drain tcp's rows (monitor.c). Called with the lock held. */
void nt_monitor_sync(struct monitor *m);

/* The sampler's entry for a loop at ADDR of P (monitor_workers.c). */
void nt_monitor_loop_val(const struct mproc *p, uint64_t addr, struct loop_val *v);

/* Worker loops (monitor_workers.c), with the lock held: look for new ones
 * among P's threads and let go of those whose thread exited, at most every
 * few seconds; let go of them all (P exited or exec'ed: their counts are
 * kept); free what P holds for them. */
void nt_monitor_scan_workers(struct monitor *m, struct mproc *p);
void nt_monitor_workers_gone(struct monitor *m, struct mproc *p);
void nt_monitor_free_workers(struct mproc *p);

/* The exposition text (monitor_metrics.c): the server's render callback
 * (httpserve.h); takes the lock. */
int nt_monitor_render(void *ctx, struct nt_prom *out);

#endif
