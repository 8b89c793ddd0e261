/* nodetap loop: records shared by bpf/loop.bpf.c and user/loop.c. */
#ifndef NODETAP_LOOP_H
#define NODETAP_LOOP_H

#include "nodetap.h"

/* Record types of loop's own ring buffer. nodetap.h's enum nt_event_type
 * holds the types shared between subcommands; these are loop's alone, kept
 * well apart from that enum's values. */
#define LOOP_EV_SAMPLE 200   /* struct loop_sample_event */
#define LOOP_EV_EXEC   201   /* struct loop_exec_event */
#define LOOP_EV_LAG    202   /* struct loop_lag_event (--heatmap, --html) */

/* uv_loop_t on x86_64, where libuv 1.x keeps it (UV_LOOP_PRIVATE_FIELDS);
 * checked against node v20's DWARF (gdb `ptype /o uv_loop_t`) and, at run
 * time, on every default loop nodetap finds (see user/uvloop.c). The offset
 * of `time` is not here: it is read from the code of uv_now in each binary. */
#define UV_LOOP_BACKEND_FD_OFF    64   /* int backend_fd: the epoll fd */
#define UV_LOOP_WQ_ASYNC_LOOP_OFF 184  /* wq_async.loop (uv_async_t at 176, its
                                          loop at +8): points back at the loop
                                          once uv_loop_init has run */
#define UV_LOOP_MIN_SIZE          600  /* bytes read to check a loop (> time) */

/* One event loop being sampled, by thread id: the loader writes the first
 * seven fields when it adds the loop; the sampler updates the rest in place
 * (only on the CPU the thread runs on, so without atomics). */
struct loop_val {
	unsigned int pid;              /* the process the thread belongs to */
	unsigned int flags;            /* LOOP_F_* */
	unsigned long long addr;       /* the uv_loop_t in that process */
	unsigned long long time_addr;  /* &loop->time: u64 ms of CLOCK_MONOTONIC */
	unsigned long long poll_entry_addr; /* &provider_entry_time in the loop's
	                                  metrics (non-zero from just before a
	                                  waiting epoll_wait until its events are
	                                  handled, when the loop counts idle time
	                                  as node's do), or 0 */
	unsigned long long idle_addr;  /* &provider_idle_time: the time it has
	                                  waited, summed (ns), or 0 */
	unsigned long long count_addr; /* &uv_metrics_t.loop_count, or 0 */
	/* Sampler: */
	unsigned long long samples;       /* samples that found the thread on CPU
	                                     and counted its lag */
	unsigned long long idle_skipped;  /* samples that found the loop waiting
	                                     for events: idle (see loop.bpf.c) */
	unsigned long long read_errors;   /* clock unreadable or implausible */
	unsigned long long max_lag_ns;
	unsigned long long last_sample_ns;  /* of the last sample counted */
	unsigned long long last_run_delay;  /* the thread's run_delay then */
	unsigned long long hist[NT_HIST_SLOTS];   /* lag, log2 of microseconds */
};

#define LOOP_F_GONE 1   /* the thread exited: the sampler ignores the entry */

/* A sample of a loop that had not turned for at least record_after_ns: the
 * loader groups these by (tid, loop time) into blockages. */
struct loop_sample_event {
	unsigned int type;             /* LOOP_EV_SAMPLE */
	unsigned int pid;
	unsigned int tid;
	unsigned int kernel;           /* the sample interrupted kernel code */
	unsigned long long loop_time_ms;  /* loop->time at the sample */
	unsigned long long time_ns;    /* bpf_ktime_get_ns() at the sample */
	/* The thread's time spent waiting for a CPU (sched_info.run_delay, as
	 * /proc/PID/task/TID/schedstat shows it), now and at the sample before
	 * (0 when there was none), to tell a loop kept off the CPU by others
	 * from one that blocks. */
	unsigned long long run_delay_ns;
	unsigned long long prev_run_delay_ns;
	unsigned long long prev_sample_ns;
	/* The loop's idle time and iteration count at the sample, or ~0 when
	 * not known. */
	unsigned long long idle_ns;
	unsigned long long loop_count;
	int nframes;                   /* user frames in ips; 0: not taken */
	unsigned int pad;
	unsigned long long top_word;   /* the word at the user stack pointer:
	                                  the return address into the caller
	                                  the walk skips when the sample landed
	                                  in a function without a frame yet (see
	                                  user/leafcaller.c); 0: not read */
	unsigned long long ips[NT_MAX_STACK_DEPTH];  /* innermost first */
};

/* The lag of one sample under record_after_ns, sent only when the loader
 * draws a heat map (record_lags): 32 bytes a sample, at 99 Hz per loop
 * thread. Samples at or above record_after_ns come as loop_sample_event,
 * which carries the same (time_ns - loop_time_ms). */
struct loop_lag_event {
	unsigned int type;             /* LOOP_EV_LAG */
	unsigned int pid;
	unsigned int tid;
	unsigned int kernel;
	unsigned long long time_ns;    /* bpf_ktime_get_ns() at the sample */
	unsigned long long lag_ns;
};

/* A traced process exec'ed: its loops are gone, a new one may come. */
struct loop_exec_event {
	unsigned int type;             /* LOOP_EV_EXEC */
	unsigned int pid;
	unsigned long long time_ns;    /* when */
};

/* A --binary file in node_files (default mode's exec filter). */
struct loop_file_key {
	unsigned long long ino;
	unsigned int dev;              /* the kernel's encoding: major << 20 | minor */
	unsigned int pad;
};

#endif
