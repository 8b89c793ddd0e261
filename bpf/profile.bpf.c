// SPDX-License-Identifier: GPL-2.0
/* nodetap profile: CPU samples of node processes with their user and kernel
 * stacks, counted in the kernel by (process, user stack, kernel stack).
 *
 * The loader opens one PERF_COUNT_SW_CPU_CLOCK event per CPU at the chosen
 * rate (no hardware PMU here) and attaches profile_sample to each. Which
 * processes: those of traced_pids (-p, -- COMMAND and its children), or, in
 * the default mode, any process whose executable looks like node by name or
 * is a --binary file: read from the task at each sample, so processes that
 * start later are profiled without any exec tracking. The stacks go to one
 * stack map (user and kernel ids side by side); the first sample of a (pid,
 * user stack) is announced so that the loader notes the process's mappings
 * while it is alive. With emit_samples, every sample also goes to the ring
 * buffer with its time, for the outputs that keep a timeline. */
#include "common.bpf.h"
#include "profile.h"

const volatile bool node_mode = false;     /* default: node processes */
const volatile bool emit_samples = false;  /* --cpuprofile, --trace */

NT_DECLARE_STACK_MAPS();
NT_DECLARE_EVENTS();

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct profile_key);
	__type(value, __u64);
} counts SEC(".maps");

NT_DECLARE_NODE_FILES(struct profile_file_key, 64);

/* Samples taken of the traced processes, whatever became of them: the
 * counts map sums to this unless an update failed (counted as map_full).
 * With --off-cpu: the nanoseconds blocked, counted the same way. */
__u64 samples_total = 0;

/* Does the current process run node (default mode)? By the executable's
 * file: --binary files by identity, others by name. */
static __always_inline bool runs_node(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);

	if (!exe)
		return false; /* a kernel thread */
	return nt_file_is_node(exe, &node_files);
}

SEC("perf_event")
int profile_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;
	struct task_struct *task;
	struct profile_key key = {};
	struct profile_sample_event *ev;
	__u64 one = 1, *cnt;

	if (!tid)
		return 0; /* the idle task */
	if (filter_pids ? !nt_pid_traced(pid) : (node_mode && !runs_node()))
		return 0;
	__sync_fetch_and_add(&samples_total, 1);
	key.pid = pid;
	task = bpf_get_current_task_btf();
	bpf_probe_read_kernel_str(key.comm, sizeof(key.comm), BPF_CORE_READ(task, group_leader, comm));
	key.user_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (key.user_stack < 0)
		nt_lose(NT_LOSS_STACK);
	else
		nt_announce_stack(&stack_seen, &events, pid, key.user_stack);
	/* Interrupted in the kernel (x86_64 kernel addresses have the top bit
	 * set): its stack too. In user mode there is none to take. */
	key.kernel_stack = -1;
	if ((__s64)ctx->regs.ip < 0) {
		key.kernel_stack = bpf_get_stackid(ctx, &stacks, 0);
		if (key.kernel_stack < 0)
			nt_lose(NT_LOSS_STACK);
	}
	cnt = bpf_map_lookup_elem(&counts, &key);
	if (cnt) {
		__sync_fetch_and_add(cnt, 1);
	} else {
		long err = bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);

		if (err == -17 /* EEXIST: another CPU added it first */) {
			cnt = bpf_map_lookup_elem(&counts, &key);
			if (cnt)
				__sync_fetch_and_add(cnt, 1);
		} else if (err) {
			nt_lose(NT_LOSS_AGG_FULL);
		}
	}
	if (!emit_samples)
		return 0;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return 0;
	}
	ev->type = PROFILE_EV_SAMPLE;
	ev->pid = pid;
	ev->tid = tid;
	ev->cpu = bpf_get_smp_processor_id();
	ev->time_ns = bpf_ktime_get_ns();
	ev->user_stack = key.user_stack;
	ev->kernel_stack = key.kernel_stack;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, nt_ringbuf_flags(&events));
	return 0;
}

/* ---- --off-cpu: time spent blocked ------------------------------------------
 *
 * The classic offcputime design on a raw tracepoint (no kprobes or tracefs
 * here). sched_switch runs as PREV leaves the CPU, in PREV's context: its
 * user and kernel stacks are the current ones, which is all that
 * bpf_get_stackid can take. A traced thread that blocks (not preempted:
 * a preempted thread is runnable, waiting for a CPU, which the CPU profile
 * covers) is noted with its stacks and the time; when it runs again (as
 * NEXT) the time it was off the CPU, in nanoseconds, is added to the same
 * counts map the CPU samples use, keyed the same way. The loader attaches
 * either this or the sampler, never both: the counts are one unit. */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);                  /* the loader: 1 for the CPU profile */
	__type(key, __u32);                          /* thread id */
	__type(value, struct profile_offcpu_start);
} offcpu_start SEC(".maps");

#define NT_TASK_RUNNING 0x0
#define NT_TASK_DEAD 0x80   /* its last switch-out: it never runs again */

static __always_inline void add_ns(struct profile_key *key, __u64 ns)
{
	__u64 *cnt = bpf_map_lookup_elem(&counts, key);
	long err;

	if (cnt) {
		__sync_fetch_and_add(cnt, ns);
		return;
	}
	err = bpf_map_update_elem(&counts, key, &ns, BPF_NOEXIST);
	if (err == -17 /* EEXIST: another CPU added it first */) {
		cnt = bpf_map_lookup_elem(&counts, key);
		if (cnt)
			__sync_fetch_and_add(cnt, ns);
	} else if (err) {
		nt_lose(NT_LOSS_AGG_FULL);
	}
}

/* Stacks of --off-cpu, in the layout of a stack-trace map's value (so the
 * loader reads them the same way): user and kernel stacks by id, the id a
 * hash of the addresses (>= 0). A blocked node thread is nearly always in
 * glibc (a futex, epoll_wait, read), built without frame pointers, where
 * the frame-pointer register holds anything: bpf_get_stackid's user stack
 * then stops after the first frame. So the user stack is unwound here: from
 * the first frame on the stack whose saved frame pointer and the next one
 * both link upwards within the stack, as a frame-pointer chain does (the
 * glibc frames below it are skipped; the loader gets the syscall's address
 * and then node's frames). */
struct offcpu_stack {
	__u64 ips[NT_MAX_STACK_DEPTH];
};

#define OFFCPU_SCAN_WORDS 512    /* 4 KiB of stack above the stack pointer */
#define OFFCPU_MAX_FRAMES 120    /* fewer than NT_MAX_STACK_DEPTH: the end stays 0 */
#define OFFCPU_MAX_FRAME_SIZE (1 << 20)   /* a saved frame pointer is above, within */

struct offcpu_scratch {
	struct offcpu_stack st;
	__u64 words[OFFCPU_SCAN_WORDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct offcpu_scratch);
} offcpu_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);   /* the loader sets it: 1 for the CPU profile */
	__type(key, __u32);
	__type(value, struct offcpu_stack);
} offcpu_stacks SEC(".maps");

/* A user address that could be code or a frame link (not 0, below the
 * x86_64 user half's end). */
static __always_inline bool user_addr(__u64 a)
{
	return a >= 0x1000 && a < (1ULL << 47);
}

/* Does LINK, saved at ADDR, point further up the stack, as a saved frame
 * pointer does? */
static __always_inline bool links_up(__u64 addr, __u64 link)
{
	return link > addr && link - addr < OFFCPU_MAX_FRAME_SIZE && !(link & 7);
}

/* Store the first N addresses of S (the rest zeroed) under their hash. */
static __always_inline __s32 store_stack(struct offcpu_stack *st, int n)
{
	__u32 h = 2166136261u;
	long err;

	for (int i = 0; i < NT_MAX_STACK_DEPTH; i++) {
		if (i >= n) {
			st->ips[i] = 0;
			continue;
		}
		h = (h ^ (__u32)st->ips[i]) * 16777619u;
		h = (h ^ (__u32)(st->ips[i] >> 32)) * 16777619u;
	}
	h &= 0x7fffffff;
	/* A different stack with the same hash keeps the first one, as a
	 * stack-trace map without BPF_F_REUSE_STACKID does. */
	err = bpf_map_update_elem(&offcpu_stacks, &h, st, BPF_NOEXIST);
	if (err && err != -17 /* EEXIST */) {
		nt_lose(NT_LOSS_STACK);
		return -1;
	}
	return (__s32)h;
}

/* Could RET be a return address: in user space, not in the brk heap or
 * the main stack (data that looks like a frame link and an address next to
 * it, e.g. a pointer into the stack beside one into the heap, is not a
 * frame; JIT code lives in mappings of its own). */
static __always_inline bool code_addr(__u64 ret, __u64 sp, __u64 brk0, __u64 brk1, __u64 stack_top)
{
	if (!user_addr(ret))
		return false;
	if (ret >= brk0 && ret < brk1)
		return false;
	return !(ret >= sp - OFFCPU_MAX_FRAME_SIZE && ret <= stack_top);
}

/* The state of the scan for the first frame, for bpf_loop (a plain loop of
 * this size is too much for the verifier). */
struct scan_state {
	struct offcpu_scratch *sc;
	__u64 sp, brk0, brk1, stack_top, fp;
	__u32 nwords;
};

static long scan_word(__u32 i, void *arg)
{
	struct scan_state *ss = arg;
	__u64 addr, link, ret, up[2] = {};

	__u32 k = i & (OFFCPU_SCAN_WORDS - 1);

	if (k + 1 >= ss->nwords || k + 1 >= OFFCPU_SCAN_WORDS)
		return 1;
	addr = ss->sp + 8 * (__u64)k;
	link = ss->sc->words[k];
	ret = ss->sc->words[(k + 1) & (OFFCPU_SCAN_WORDS - 1)];
	if (!links_up(addr, link) || !code_addr(ret, ss->sp, ss->brk0, ss->brk1, ss->stack_top))
		return 0;
	if (bpf_probe_read_user(up, sizeof(up), (void *)link))
		return 0;
	if (up[0] == 0 || (links_up(link, up[0]) && code_addr(up[1], ss->sp, ss->brk0, ss->brk1, ss->stack_top))) {
		ss->fp = addr;
		return 1;
	}
	return 0;
}

static __always_inline __s32 offcpu_user_stack(struct offcpu_scratch *sc)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct scan_state ss = { .sc = sc, .nwords = OFFCPU_SCAN_WORDS };
	__u64 ip = BPF_CORE_READ(regs, ip), fp;
	int n = 0, i;

	ss.sp = BPF_CORE_READ(regs, sp);
	ss.brk0 = BPF_CORE_READ(task, mm, start_brk);
	ss.brk1 = BPF_CORE_READ(task, mm, brk);
	/* A thread's stack is not the main one: a bound above sp stands for
	 * the top of either. */
	ss.stack_top = ss.sp + (8ULL << 20);
	if (!user_addr(ip) || !user_addr(ss.sp))
		return -1;
	sc->st.ips[n++] = ip;
	/* A stack shorter than the window ends in a fault: then half. */
	if (bpf_probe_read_user(sc->words, sizeof(sc->words), (void *)ss.sp))
		ss.nwords = bpf_probe_read_user(sc->words, sizeof(sc->words) / 2, (void *)ss.sp) ?
			    0 : OFFCPU_SCAN_WORDS / 2;
	bpf_loop(OFFCPU_SCAN_WORDS, scan_word, &ss, 0);
	fp = ss.fp;
	for (i = 0; i < OFFCPU_MAX_FRAMES && fp; i++) {
		__u64 fr[2];

		if (bpf_probe_read_user(fr, sizeof(fr), (void *)fp) || !user_addr(fr[1]))
			break;
		if (n < OFFCPU_MAX_FRAMES)
			sc->st.ips[n++ & 127] = fr[1];
		if (!links_up(fp, fr[0]))
			break;
		fp = fr[0];
	}
	return store_stack(&sc->st, n);
}

static __always_inline __s32 offcpu_kernel_stack(void *ctx, struct offcpu_scratch *sc)
{
	/* Skips this program and the tracepoint's own frames (bpf_trace_run4,
	 * __traceiter_sched_switch): the stack starts at schedule, the same
	 * innermost frame for every block. */
	long len = bpf_get_stack(ctx, sc->st.ips, sizeof(sc->st.ips), 3);

	if (len <= 0)
		return -1;
	return store_stack(&sc->st, (int)(len / 8));
}

SEC("raw_tp/sched_switch")
int BPF_PROG(profile_offcpu, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 prev_tid = BPF_CORE_READ(prev, pid), prev_pid = BPF_CORE_READ(prev, tgid);
	__u32 next_tid = BPF_CORE_READ(next, pid);
	struct profile_offcpu_start *st;
	__u64 now = bpf_ktime_get_ns();

	/* PREV blocks: sleeping, waiting on a lock or for I/O (the kernel
	 * takes a runnable thread off its queue exactly when !preempt and its
	 * state is not TASK_RUNNING). */
	if (prev_tid && !preempt && prev_state != NT_TASK_RUNNING && !(prev_state & NT_TASK_DEAD) &&
	    (filter_pids ? nt_pid_traced(prev_pid) : (!node_mode || runs_node()))) {
		struct profile_offcpu_start s = { .time_ns = now, .pid = prev_pid,
						  .user_stack = -1, .kernel_stack = -1 };
		__u32 zero = 0;
		struct offcpu_scratch *sc = bpf_map_lookup_elem(&offcpu_scratch, &zero);

		if (sc) {
			s.user_stack = offcpu_user_stack(sc);
			s.kernel_stack = offcpu_kernel_stack(ctx, sc);
		}
		if (s.user_stack < 0)
			nt_lose(NT_LOSS_STACK);
		else
			nt_announce_stack(&stack_seen, &events, prev_pid, s.user_stack);
		if (s.kernel_stack < 0)
			nt_lose(NT_LOSS_STACK);
		bpf_probe_read_kernel_str(s.comm, sizeof(s.comm), BPF_CORE_READ(prev, group_leader, comm));
		if (bpf_map_update_elem(&offcpu_start, &prev_tid, &s, BPF_ANY))
			nt_lose(NT_LOSS_INFLIGHT_FULL);
	}
	/* NEXT runs again: the time since it blocked, if it was noted. */
	if (!next_tid)
		return 0;
	st = bpf_map_lookup_elem(&offcpu_start, &next_tid);
	if (!st)
		return 0;
	if (now > st->time_ns) {
		struct profile_key key = { .pid = st->pid, .user_stack = st->user_stack,
					   .kernel_stack = st->kernel_stack };
		__u64 ns = now - st->time_ns;

		__builtin_memcpy(key.comm, st->comm, sizeof(key.comm));
		__sync_fetch_and_add(&samples_total, ns);
		add_ns(&key, ns);
	}
	bpf_map_delete_elem(&offcpu_start, &next_tid);
	return 0;
}
