/* Shared BPF pieces: the loss counters, the process filter and log2
 * histogram slots. Each .bpf.c includes this once and gets its own copy of
 * the maps (one skeleton per capability). */
#ifndef NODETAP_COMMON_BPF_H
#define NODETAP_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "nodetap.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile bool filter_pids = false;   /* only pids in traced_pids */
const volatile bool follow_children = false; /* add children of traced pids */

/* Read by the loader with every report; see enum nt_loss. */
__u64 nt_losses[NT_LOSS_MAX] = {};

static __always_inline void nt_lose(enum nt_loss what)
{
	if (what < NT_LOSS_MAX)
		__sync_fetch_and_add(&nt_losses[what], 1);
}

/* Processes (tgids) to trace when filter_pids is set. The loader fills it
 * from -p; with `-- COMMAND` it holds the command and, through the fork
 * tracepoint below, its descendants. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u8);
} traced_pids SEC(".maps");

static __always_inline bool nt_pid_traced(__u32 tgid)
{
	if (!filter_pids)
		return true;
	return bpf_map_lookup_elem(&traced_pids, &tgid) != NULL;
}

/* raw_tp needs no tracefs. Fires for threads too; a thread's tgid is its
 * parent's, so the lookup finds it and the update is a no-op. */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(nt_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (!follow_children || ptgid == ctgid)
		return 0;
	if (bpf_map_lookup_elem(&traced_pids, &ptgid) &&
	    bpf_map_update_elem(&traced_pids, &ctgid, &one, BPF_ANY))
		nt_lose(NT_LOSS_AGG_FULL);
	return 0;
}

/* (pid, stack id) already announced to the loader. */
struct nt_stack_seen_key {
	__u32 pid;
	__s32 stack_id;
};

/* The maps of an object that records user stacks: the stacks themselves
 * (the loader shrinks both to one entry when --stacks is off) and the set
 * of (pid, stack) already announced. */
#define NT_DECLARE_STACK_MAPS()                                            \
	struct {                                                           \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                    \
		__uint(max_entries, 8192);                                 \
		__uint(key_size, sizeof(__u32));                           \
		__uint(value_size, NT_MAX_STACK_DEPTH * sizeof(__u64));    \
	} stacks SEC(".maps");                                             \
	struct {                                                           \
		__uint(type, BPF_MAP_TYPE_HASH);                           \
		__uint(max_entries, 16384);                                \
		__type(key, struct nt_stack_seen_key);                     \
		__type(value, __u8);                                       \
	} stack_seen SEC(".maps")

/* The object's ring buffer, for events and stack announcements. */
#define NT_DECLARE_EVENTS()                                                \
	struct {                                                           \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                        \
		__uint(max_entries, 256 * 1024);                           \
	} events SEC(".maps")

/* Tell the loader, once per (pid, stack), that a stack was recorded, so that
 * it notes the process (its maps, its perf map) while it is alive: naming the
 * frames may happen after it exited. SEEN is a hash of nt_stack_seen_key, RB
 * the object's ring buffer. */
static __always_inline void nt_announce_stack(void *seen, void *rb, __u32 pid, __s32 stack_id)
{
	struct nt_stack_seen_key k = { .pid = pid, .stack_id = stack_id };
	struct nt_new_stack_event *ev;
	__u8 one = 1;

	if (bpf_map_update_elem(seen, &k, &one, BPF_NOEXIST))
		return; /* seen before, or the set is full: named at report time */
	ev = bpf_ringbuf_reserve(rb, sizeof(*ev), 0);
	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return;
	}
	ev->type = NT_EV_NEW_STACK;
	ev->pid = pid;
	ev->stack_id = stack_id;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
}

/* Submit flags for a data record: waking the loader costs about 10 us a
 * record here, so records wait for its next poll (at most 0.1 s) unless half
 * of the ring buffer is used. Announcements that must arrive while the
 * process lives (nt_announce_stack) keep the default. */
static __always_inline __u64 nt_ringbuf_flags(void *rb)
{
	return bpf_ringbuf_query(rb, BPF_RB_AVAIL_DATA) >= 128 * 1024 ?
	       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

/* The word at the top of the interrupted thread's user stack, or 0. A
 * frame-pointer walk names a function by the return address its callee
 * saved: when a sample lands in a function that has not set up its frame
 * (V8's builtins often never do), the walk skips its caller, whose return
 * address is this word. The loader checks it before using it (see
 * user/leafcaller.c). USER_SP: the stack pointer of the sample's registers,
 * when it interrupted user code (a perf_event program reads it from its
 * context directly: the context is not the kernel's structure, so it cannot
 * go through a probe read); KERNEL: it interrupted the kernel, whose
 * registers are not the user's. */
static __always_inline __u64 nt_user_top_word(__u64 user_sp, bool kernel)
{
	__u64 sp = user_sp, word = 0;

	if (kernel) {
		struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

		sp = BPF_CORE_READ(regs, sp);
	}
	if (bpf_probe_read_user(&word, sizeof(word), (void *)sp))
		return 0;
	return word;
}

/* "node", "nodejs", "node22", "node-v22.1.0": as user/targets.c's
 * nt_looks_like_node, for names shorter than 32 bytes (B holds 32). */
static __always_inline bool nt_looks_like_node(const char *b)
{
	if (b[0] != 'n' || b[1] != 'o' || b[2] != 'd' || b[3] != 'e')
		return false;
	if (b[4] == 'j' && b[5] == 's' && b[6] == 0)
		return true;
	for (int i = 4; i < 32; i++) {
		char ch = b[i];

		if (!ch)
			return true;
		if (!((ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == 'v'))
			return false;
	}
	return false;
}

/* A file's identity as the loaders write it into a node_files map
 * (include/tcp.h's tcp_file_key, profile.h's profile_file_key): inode, then
 * the device in the kernel's encoding (major << 20 | minor). */
struct nt_file_key {
	__u64 ino;
	__u32 dev;
	__u32 pad;
};

/* The node_files map of N entries: node binaries by identity (--binary
 * files, whatever their names), keyed by KEY, the loader's struct, which
 * must be laid out as nt_file_key for nt_file_is_node. */
#define NT_DECLARE_NODE_FILES(KEY, N)                                      \
	struct {                                                           \
		__uint(type, BPF_MAP_TYPE_HASH);                           \
		__uint(max_entries, N);                                    \
		__type(key, KEY);                                          \
		__type(value, __u8);                                       \
	} node_files SEC(".maps");                                         \
	_Static_assert(sizeof(KEY) == sizeof(struct nt_file_key) &&        \
		       __builtin_offsetof(KEY, dev) ==                     \
		       __builtin_offsetof(struct nt_file_key, dev),        \
		       #KEY " must be laid out as nt_file_key")

/* Is F a node executable: a file of NODE_FILES (a hash keyed by
 * nt_file_key: --binary files, whatever their names), or one named like
 * node? */
static __always_inline bool nt_file_is_node(struct file *f, void *node_files)
{
	struct nt_file_key fk = {};
	char name[32] = {};

	fk.ino = BPF_CORE_READ(f, f_inode, i_ino);
	fk.dev = BPF_CORE_READ(f, f_inode, i_sb, s_dev);
	if (bpf_map_lookup_elem(node_files, &fk))
		return true;
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(f, f_path.dentry, d_name.name));
	return nt_looks_like_node(name);
}

/* log2 slot of V: 0 for 0, else floor(log2(v)) + 1, capped. */
static __always_inline __u32 nt_log2_slot(__u64 v)
{
	__u32 slot = 0;

	if (!v)
		return 0;
#pragma unroll
	for (int shift = 32; shift > 0; shift >>= 1) {
		if (v >> shift) {
			v >>= shift;
			slot += shift;
		}
	}
	slot += 1;
	return slot < NT_HIST_SLOTS ? slot : NT_HIST_SLOTS - 1;
}

#endif
