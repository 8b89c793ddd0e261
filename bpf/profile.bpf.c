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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct profile_file_key);
	__type(value, __u8);
} node_files SEC(".maps");

/* Samples taken of the traced processes, whatever became of them: the
 * counts map sums to this unless an update failed (counted as map_full). */
__u64 samples_total = 0;

/* Does the current process run node (default mode)? By the executable's
 * file: --binary files by identity, others by name. */
static __always_inline bool runs_node(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct file *exe = BPF_CORE_READ(task, mm, exe_file);
	struct profile_file_key fk = {};
	char name[32] = {};

	if (!exe)
		return false; /* a kernel thread */
	fk.ino = BPF_CORE_READ(exe, f_inode, i_ino);
	fk.dev = BPF_CORE_READ(exe, f_inode, i_sb, s_dev);
	if (bpf_map_lookup_elem(&node_files, &fk))
		return true;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(exe, f_path.dentry, d_name.name));
	return nt_looks_like_node(name);
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
