/* loopwatch_int: the state of nodetap loop's engine (loopwatch.c), shared
 * by the engine and by loop.c, which reports on it (summaries, blockages
 * in text and JSON). Not for other subcommands: they use loopwatch.h. */
#ifndef NODETAP_LOOPWATCH_INT_H
#define NODETAP_LOOPWATCH_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <bpf/libbpf.h>
#include "heatmap_out.h"
#include "loop.h"
#include "loopwatch.h"
#include "options.h"
#include "sampler.h"
#include "session.h"
#include "symbolize.h"
#include "targets.h"
#include "uvloop.h"

struct loop_bpf;

#define PENDING_MAX_NS (10ULL * 1000000000ULL)  /* an uninitialized loop: give up */
#define RESCAN_NS 1000000000ULL      /* threads: new worker loops, exits */
#define GROUP_CHECK_NS 50000000ULL   /* open groups: has the loop moved on? */
#define MAX_RAW_STACKS 4096          /* distinct stacks kept per group */

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
	/* Threads whose loop did not fit in the loops map: counted as lost
	 * once, not looked at again (each scan would count them again). */
	pid_t *full_tids;
	int nfull;
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
	int watched_fd;              /* default mode: the BPF set of watched
	                                pids (see watch()); -1 otherwise */
	struct nt_hm_out hm;         /* --heatmap, --html: the lag of every sample */
	struct nt_file_id bins[NT_MAX_BINARIES];  /* --binary files */
	int nbins;
	/* Each blockage that ended, to be freed by it (lw_free_blockage). */
	void (*block_out)(struct loop_ctx *c, struct blockage *b);
	/* Run by another subcommand (loopwatch.h): its callback. */
	nt_loop_blockage_fn on_block;
	void *on_block_arg;
	struct bpf_link *exec_link;  /* loopwatch's (cmd_loop keeps its own) */
};

static inline uint64_t ms_to_ns(uint64_t ms)
{
	return ms * 1000000ULL;
}

/* The engine, for loop.c. */
int lw_load(struct loop_ctx *c, struct bpf_map *pids);
void lw_free(struct loop_ctx *c);
void lw_add_proc(struct loop_ctx *c, pid_t pid, bool explicit_);
void lw_add_running_node(struct loop_ctx *c);
void lw_tick(void *arg);
int lw_on_event(void *arg, void *data, size_t len);
void lw_check_groups(struct loop_ctx *c);
void lw_close_group(struct loop_ctx *c, struct lloop *l, uint64_t end_ns, bool ongoing,
		    struct blockage *out);
void lw_read_count(struct lloop *l);
uint64_t lw_run_delay_of(pid_t pid, pid_t tid, uint64_t dflt);
const char *lw_loop_kind(const struct lloop *l);
void lw_group_free(struct group *g);
void lw_free_blockage(struct blockage *b);

#endif
