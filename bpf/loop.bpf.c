// SPDX-License-Identifier: GPL-2.0
/* nodetap loop: event-loop lag of node processes, from a CPU-clock sampler.
 *
 * The loader opens one PERF_COUNT_SW_CPU_CLOCK event per CPU at a modest
 * rate (99 Hz by default) and attaches loop_sample to each. A sample that
 * finds a thread of the `loops` map on the CPU reads that loop's cached
 * clock, uv_loop_t.time: libuv refreshes it at the start of every iteration
 * and after epoll_wait returns, in milliseconds of CLOCK_MONOTONIC, the
 * clock of bpf_ktime_get_ns(). Now minus that clock, while the thread runs,
 * is how long the current iteration has been running: the event-loop lag.
 * Nothing is placed on any path of the traced process; a sample costs a
 * hash lookup on every CPU, and the rest only on a loop thread.
 *
 * A sample of an iteration that has already run for record_after_ns goes to
 * the loader with the user stack: the loader groups them by (thread, loop
 * time) into blockages and reports those that last past the threshold. */
#include "common.bpf.h"
#include "loop.h"

/* Set by the loader before load. */
const volatile __u64 record_after_ns = 10101010; /* lag from which samples
                                                    go to the loader */
const volatile bool record_lags = false;         /* every sample's lag goes
                                                    to the loader (its heat
                                                    map); see loop_lag_event */
/* Default mode of loop (no -p, no COMMAND): loop_exec tells the loader of
 * execs into node and of execs by the processes it watches, not of every
 * exec on the host. Off for monitor, which follows every exec. */
const volatile bool node_execs_only = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);          /* thread id */
	__type(value, struct loop_val);
} loops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1024 * 1024);
} events SEC(".maps");

/* node_execs_only: the --binary files, by identity (see nt_file_is_node). */
NT_DECLARE_NODE_FILES(struct loop_file_key, 64);

/* node_execs_only: the processes (tgids) the loader watches, whose execs
 * into anything end their loops. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} watched SEC(".maps");

#define PF_EXITING_ 0x00000004  /* include/linux/sched.h */

/* A clock older than this is not a loop's: memory that moved under us. */
#define LOOP_MAX_LAG_NS (86400ULL * 1000000000ULL)

/* Is the current thread inside epoll_wait, epoll_pwait or epoll_pwait2
 * (x86_64 numbers)? Its user registers hold the system call number. */
static __always_inline bool in_epoll_wait(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = BPF_CORE_READ(regs, orig_ax);

	return nr == 232 || nr == 281 || nr == 441;
}

SEC("perf_event")
int loop_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;
	struct loop_sample_event *ev;
	struct loop_val *l;
	__u64 now, t_ms, t_ns, lag, delay, prev_delay, prev_ns;
	bool kernel;
	__u32 slot;
	long n;

	if (!tid)
		return 0; /* the idle task */
	l = bpf_map_lookup_elem(&loops, &tid);
	if (!l || l->pid != pid || (l->flags & LOOP_F_GONE))
		return 0;
	now = bpf_ktime_get_ns();
	if (bpf_probe_read_user(&t_ms, sizeof(t_ms), (void *)l->time_addr)) {
		/* A thread on its way out has no memory left to read: not a loss. */
		if (!(bpf_get_current_task_btf()->flags & PF_EXITING_))
			l->read_errors++;
		return 0;
	}
	t_ns = t_ms * 1000000ULL;
	/* The loop's clock is now truncated to the millisecond: never ahead
	 * of this one by more than that, unless it is not a clock at all. */
	if (t_ns > now + 1000000ULL || now - t_ns > LOOP_MAX_LAG_NS) {
		l->read_errors++;
		return 0;
	}
	lag = now > t_ns ? now - t_ns : 0;
	/* Interrupted in the kernel: x86_64 kernel addresses have the top bit
	 * set (ctx->regs is read whole words at a time, so not through cs). */
	kernel = (__s64)ctx->regs.ip < 0;
	/* A loop waiting in epoll_wait is idle, not late. It can still be on a
	 * CPU there: waking up (libuv refreshes its clock only once the call
	 * has returned), or held on the way out (interrupts, softirqs, a vCPU
	 * the host did not run). Its clock is then the one of the iteration
	 * that went to sleep, and the sleep would count as lag. Skip those
	 * samples: node's loops say so themselves (libuv notes when a waiting
	 * poll began, for idle-time metrics, and clears it before the first
	 * callback); in the kernel, the system call tells too. */
	if (l->poll_entry_addr) {
		__u64 entry = 0;

		if (!bpf_probe_read_user(&entry, sizeof(entry), (void *)l->poll_entry_addr) && entry) {
			l->idle_skipped++;
			return 0;
		}
	}
	if (kernel && in_epoll_wait()) {
		l->idle_skipped++;
		return 0;
	}
	prev_ns = l->last_sample_ns;
	prev_delay = l->last_run_delay;
	delay = bpf_get_current_task_btf()->sched_info.run_delay;
	l->last_sample_ns = now;
	l->last_run_delay = delay;
	l->samples++;
	if (lag > l->max_lag_ns)
		l->max_lag_ns = lag;
	slot = nt_log2_slot(lag / 1000);
	if (slot < NT_HIST_SLOTS) /* always: restated for the verifier */
		l->hist[slot]++;
	if (lag < record_after_ns) {
		struct loop_lag_event *le;

		if (!record_lags)
			return 0;
		le = bpf_ringbuf_reserve(&events, sizeof(*le), 0);
		if (!le) {
			nt_lose(NT_LOSS_RINGBUF);
			return 0;
		}
		le->type = LOOP_EV_LAG;
		le->pid = pid;
		le->tid = tid;
		le->kernel = kernel;
		le->time_ns = now;
		le->lag_ns = lag;
		bpf_ringbuf_submit(le, nt_ringbuf_flags(&events));
		return 0;
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return 0;
	}
	ev->type = LOOP_EV_SAMPLE;
	ev->pid = pid;
	ev->tid = tid;
	ev->kernel = kernel;
	ev->loop_time_ms = t_ms;
	ev->time_ns = now;
	ev->run_delay_ns = delay;
	ev->prev_run_delay_ns = prev_delay;
	ev->prev_sample_ns = prev_ns;
	ev->idle_ns = ~0ULL;
	if (l->idle_addr)
		bpf_probe_read_user(&ev->idle_ns, sizeof(ev->idle_ns), (void *)l->idle_addr);
	ev->loop_count = ~0ULL;
	if (l->count_addr)
		bpf_probe_read_user(&ev->loop_count, sizeof(ev->loop_count), (void *)l->count_addr);
	ev->pad = 0;
	n = bpf_get_stack(ctx, ev->ips, sizeof(ev->ips), BPF_F_USER_STACK);
	if (n < 0) {
		nt_lose(NT_LOSS_STACK);
		n = 0;
	}
	ev->nframes = (int)(n / sizeof(__u64));
	ev->top_word = n > 0 ? nt_user_top_word(ctx->regs.sp, kernel) : 0;
	bpf_ringbuf_submit(ev, nt_ringbuf_flags(&events));
	return 0;
}

/* A traced process replaced its program: the loop the loader knew is gone
 * (its other threads too, killed by exec). Mark it at once, so that no
 * sample reads the new program's memory at the old address, and tell the
 * loader, which keeps its counts and looks for the new program's loop.
 * In default mode, also an exec into node: a new process to watch.
 * raw_tp needs no tracefs. */
SEC("raw_tp/sched_process_exec")
int BPF_PROG(loop_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 pid = BPF_CORE_READ(p, tgid);
	struct file *f = BPF_CORE_READ(bprm, file);
	struct loop_exec_event *ev;
	struct loop_val *l;

	if (!nt_pid_traced(pid))
		return 0;
	if (node_execs_only && !bpf_map_lookup_elem(&watched, &pid) &&
	    !(f && nt_file_is_node(f, &node_files)))
		return 0;
	l = bpf_map_lookup_elem(&loops, &pid);
	if (l)
		l->flags |= LOOP_F_GONE;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return 0;
	}
	ev->type = LOOP_EV_EXEC;
	ev->pid = pid;
	ev->time_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(ev, 0);
	return 0;
}
