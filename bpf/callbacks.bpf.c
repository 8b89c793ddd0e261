// SPDX-License-Identifier: GPL-2.0
/* nodetap callbacks: every callback node makes into JavaScript, timed from
 * the native side, counted per (process, kind of async resource).
 *
 * Entry and return probes (uprobe + uretprobe) on the functions every
 * callback into JavaScript passes through (docs/callbacks.md has how that
 * was established per node major):
 *   node::AsyncWrap::MakeCallback(Local<Function>, ...)  every AsyncWrap
 *       (the Local<Name> overload and its clones end in it); `this` is the
 *       AsyncWrap, whose provider_type_ names the kind;
 *   node::Environment::RunTimers                       the timers list;
 *   node::MakeCallback(..., Local<Function>, ..., async_context)
 *       setImmediate's queue (from CheckImmediate), and other native users;
 *   node::InternalMakeCallback(Isolate*, ...) (v22+)    the string forms of
 *       the public MakeCallback, which no longer pass through the above.
 * The attach cookie says which function and which binary a hit is for, so
 * that one program serves several node majors at once.
 *
 * Callbacks nest (a callback can make another), so each thread keeps a small
 * stack of the callbacks it is in. With --min-ms a perf_event sampler
 * records, for a thread inside a long callback, the user stack (the
 * JavaScript that runs), and the return probe sends the slow ones to user
 * space. */
#include "common.bpf.h"
#include "callbacks.h"

const volatile bool filter_kinds = false;  /* --kind: kind_enabled decides */
const volatile __u64 min_ns = 0;           /* --min-ms; 0: no events */
const volatile bool emit_all = false;      /* --heatmap, --html: an event for every
                                              callback (its duration and samples) */
const volatile __u64 sample_after_ns = 0;  /* sampler: take stacks of callbacks
                                              running for at least this long */
/* nodetap trace --callbacks: every callback is sent as an event (with the
 * AsyncWrap it ran for, to link it to its connect or lookup), and nothing is
 * aggregated. */
const volatile bool trace_events = false;

/* Set by the loader before it detaches a role's probes (--max-overhead):
 * taking them out takes the kernel a while, during which entries are no
 * longer recorded and only the returns of calls already recorded count. */
__u8 role_off[NT_CB_ROLES] = {};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NT_CB_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct nt_cb_bin);
} bins SEC(".maps");

/* (binary, provider number) -> kind id. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NT_CB_MAX_BINARIES * NT_CB_MAX_PROVIDERS);
	__type(key, __u32);
	__type(value, __u32);
} kind_of SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NT_CB_MAX_KINDS);
	__type(key, __u32);
	__type(value, __u8);
} kind_enabled SEC(".maps");

/* Probe hits per role (entries and returns), for the cost estimate. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NT_CB_ROLES);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct frame {
	__u64 start_ns;
	__u32 kind;
	__u16 role;           /* the function whose return pops it */
	__u16 samples;
	__s32 sampled[NT_CB_SAMPLES];
	__u64 caller, caller2;
	__u64 wrap;           /* AsyncWrap::MakeCallback's `this`, else 0 */
};

struct cb_thread {
	__u32 depth;          /* callbacks this thread is in (may exceed the frames) */
	__u32 pid;
	struct frame f[NT_CB_MAX_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct cb_thread);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct nt_cb_key);
	__type(value, struct nt_cb_val);
} cb_stats SEC(".maps");

/* The loader shrinks the stack maps to 1 entry without --min-ms. */
NT_DECLARE_STACK_MAPS();
NT_DECLARE_EVENTS();

/* Records too big for the 512-byte BPF stack are built here. */
struct scratch {
	struct cb_thread t;
	struct nt_cb_val v;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline void count_hit(__u32 role)
{
	__u64 *n = bpf_map_lookup_elem(&hits, &role);

	if (n)
		*n += 1; /* per CPU: no atomics needed */
}

/* This thread's callback stack, created on first use. */
static __always_inline struct cb_thread *thread_of(__u32 tid, __u32 pid)
{
	struct cb_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct scratch *s;
	__u32 zero = 0;

	if (t && t->pid == pid)
		return t;
	if (t) {
		/* A thread id of a process that is gone, now someone else's. */
		t->depth = 0;
		t->pid = pid;
		return t;
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return NULL;
	__builtin_memset(&s->t, 0, sizeof(s->t));
	s->t.pid = pid;
	if (bpf_map_update_elem(&threads, &tid, &s->t, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&threads, &tid)) {
		nt_lose(NT_LOSS_INFLIGHT_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(&threads, &tid);
}

static __always_inline __u32 provider_kind(struct pt_regs *ctx, __u32 bin,
					   const struct nt_cb_bin *bi, __u64 *caller,
					   __u64 *caller2)
{
	__u32 provider = 0, idx, *kind;

	if (!bi->provider_off) {
		/* Not proven for this binary: note the return address (and,
		 * through the caller's frame pointer, the one above it, for
		 * a caller that is itself a MakeCallback overload). */
		bpf_probe_read_user(caller, sizeof(*caller), (void *)PT_REGS_SP(ctx));
		bpf_probe_read_user(caller2, sizeof(*caller2), (void *)(PT_REGS_FP(ctx) + 8));
		return NT_CB_KIND_CALLER;
	}
	if (bpf_probe_read_user(&provider, sizeof(provider),
				(void *)(PT_REGS_PARM1(ctx) + bi->provider_off)) ||
	    provider >= bi->nproviders || provider >= NT_CB_MAX_PROVIDERS)
		return NT_CB_KIND_UNKNOWN;
	idx = bin * NT_CB_MAX_PROVIDERS + provider;
	kind = bpf_map_lookup_elem(&kind_of, &idx);
	return kind ? *kind : NT_CB_KIND_UNKNOWN;
}

SEC("uprobe")
int cb_enter(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	__u32 role = cookie & 0xff, bin = (cookie >> 8) & 0xff;
	__u64 caller = 0, caller2 = 0;
	struct nt_cb_bin *bi;
	struct cb_thread *t;
	__u32 kind, d;

	if (!nt_pid_traced(pid))
		return 0;
	count_hit(role);
	if (role >= NT_CB_ROLES || role_off[role])
		return 0;
	bi = bpf_map_lookup_elem(&bins, &bin);
	if (!bi)
		return 0;
	switch (role) {
	case NT_CB_ROLE_ASYNCWRAP:
		kind = provider_kind(ctx, bin, bi, &caller, &caller2);
		break;
	case NT_CB_ROLE_TIMERS:
		kind = NT_CB_KIND_TIMERWRAP;
		break;
	case NT_CB_ROLE_MAKECALLBACK: {
		__u64 ret = 0;
		long long delta;

		bpf_probe_read_user(&ret, sizeof(ret), (void *)PT_REGS_SP(ctx));
		delta = (long long)(ret - PT_REGS_IP(ctx));
		kind = delta >= bi->imm_lo && delta < bi->imm_hi ? NT_CB_KIND_IMMEDIATE
								 : NT_CB_KIND_OTHER;
		break;
	}
	default:
		kind = NT_CB_KIND_OTHER;
		break;
	}
	if (filter_kinds && kind != NT_CB_KIND_CALLER) {
		__u32 k = kind;
		__u8 *on = bpf_map_lookup_elem(&kind_enabled, &k);

		if (!on || !*on)
			kind = NT_CB_KIND_SKIP;
	}
	t = thread_of(tid, pid);
	if (!t)
		return 0;
	d = t->depth;
	t->depth = d + 1;
	if (d >= NT_CB_MAX_DEPTH) {
		nt_lose(NT_LOSS_INFLIGHT_FULL);
		return 0;
	}
	t->f[d].kind = kind;
	t->f[d].role = (__u16)role;
	t->f[d].samples = 0;
	for (int i = 0; i < NT_CB_SAMPLES; i++)
		t->f[d].sampled[i] = -1;
	t->f[d].caller = caller;
	t->f[d].caller2 = caller2;
	t->f[d].wrap = role == NT_CB_ROLE_ASYNCWRAP ? (__u64)PT_REGS_PARM1(ctx) : 0;
	t->f[d].start_ns = bpf_ktime_get_ns(); /* last: time the callback, not us */
	return 0;
}

/* Kinds by caller are named in user space from return addresses: have the
 * loader note the process (its maps) while it is alive. */
static __always_inline void note_pid(__u32 pid)
{
	struct nt_new_stack_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return;
	}
	ev->type = NT_EV_NEW_STACK;
	ev->pid = pid;
	ev->stack_id = -1;
	ev->pad = 0;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void account(__u32 pid, struct frame *f, __u64 dur)
{
	struct nt_cb_key key = { .pid = pid, .kind = f->kind, .caller = f->caller,
				 .caller2 = f->caller2 };
	struct nt_cb_val *v = bpf_map_lookup_elem(&cb_stats, &key);

	if (!v) {
		struct scratch *s;
		__u32 zero = 0;

		s = bpf_map_lookup_elem(&scratch, &zero);
		if (!s)
			return;
		__builtin_memset(&s->v, 0, sizeof(s->v));
		bpf_get_current_comm(s->v.comm, sizeof(s->v.comm));
		/* Another CPU may insert the same key first: then the lookup
		 * below finds its record. */
		if (!bpf_map_update_elem(&cb_stats, &key, &s->v, BPF_NOEXIST) &&
		    key.kind == NT_CB_KIND_CALLER)
			note_pid(pid);
		v = bpf_map_lookup_elem(&cb_stats, &key);
		if (!v) {
			nt_lose(NT_LOSS_AGG_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total_ns, dur);
	if (dur > v->max_ns)
		v->max_ns = dur; /* racy max: off by one update at worst */
	__sync_fetch_and_add(&v->hist[nt_log2_slot(dur / 1000)], 1);
}

static __always_inline void emit_callback(struct pt_regs *ctx, __u32 pid, __u32 tid,
					  struct frame *f, __u64 dur, bool slow)
{
	struct nt_cb_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	long sid;

	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return;
	}
	ev->type = NT_EV_CALLBACK;
	ev->pid = pid;
	ev->tid = tid;
	ev->kind = f->kind;
	ev->start_ns = f->start_ns;
	ev->dur_ns = dur;
	for (int i = 0; i < NT_CB_SAMPLES; i++)
		ev->sampled_stacks[i] = f->sampled[i];
	ev->samples = f->samples;
	ev->caller = f->caller;
	ev->caller2 = f->caller2;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->caller_stack = -1;
	if (!slow) {
		/* For the heat map, one a callback: no stack walk, and no
		 * wakeup of the loader for each (it reads every 0.1 s). */
		bpf_ringbuf_submit(ev, nt_ringbuf_flags(&events));
		return;
	}
	/* At the return the stack is that of the native code that made the
	 * callback: taken only for the slow ones. */
	sid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (sid >= 0) {
		ev->caller_stack = sid;
		nt_announce_stack(&stack_seen, &events, pid, sid);
	} else {
		nt_lose(NT_LOSS_STACK);
	}
	bpf_ringbuf_submit(ev, 0);
}

/* trace --callbacks: one small record per callback, no stack. */
static __always_inline void emit_trace(__u32 pid, __u32 tid, struct frame *f, __u32 depth,
				       __u64 dur)
{
	struct nt_cb_trace_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return;
	}
	ev->type = NT_EV_CB_TRACE;
	ev->pid = pid;
	ev->tid = tid;
	ev->kind = f->kind;
	ev->depth = depth;
	ev->role = f->role;
	ev->start_ns = f->start_ns;
	ev->dur_ns = dur;
	ev->wrap = f->wrap;
	bpf_ringbuf_submit(ev, nt_ringbuf_flags(&events));
}

SEC("uretprobe")
int cb_return(struct pt_regs *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	__u32 role = cookie & 0xff;
	struct cb_thread *t;
	struct frame *f;
	__u32 d;
	__u64 dur;

	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t)
		return 0; /* not a traced process (or its entry was lost) */
	count_hit(role);
	d = t->depth;
	/* The innermost recorded call must be of this function: a return
	 * whose entry was not recorded (its probe attached after this one, or
	 * being detached) pops nothing. Frames deeper than recorded pop by
	 * depth alone. */
	if (!d || (d <= NT_CB_MAX_DEPTH && t->f[(d - 1) & (NT_CB_MAX_DEPTH - 1)].role != role)) {
		if (role >= NT_CB_ROLES || !role_off[role])
			nt_lose(NT_LOSS_UNMATCHED);
		return 0;
	}
	t->depth = --d;
	if (d >= NT_CB_MAX_DEPTH)
		return 0;
	f = &t->f[d];
	if (f->kind == NT_CB_KIND_SKIP)
		return 0;
	dur = now - f->start_ns;
	if (trace_events) {
		emit_trace(pid, tid, f, d, dur);
		return 0;
	}
	account(pid, f, dur);
	if ((min_ns && dur >= min_ns) || emit_all)
		emit_callback(ctx, pid, tid, f, dur, min_ns && dur >= min_ns);
	return 0;
}

/* --min-ms: on-CPU samples. A thread inside a callback that has run for a
 * while gets its user stack recorded: the JavaScript that is running. */
SEC("perf_event")
int cb_sample(struct bpf_perf_event_data *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct cb_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct frame *f;
	__u32 d;
	long sid;

	if (!t || !t->depth)
		return 0;
	d = t->depth - 1;
	if (d >= NT_CB_MAX_DEPTH)
		return 0;
	f = &t->f[d];
	if (f->kind == NT_CB_KIND_SKIP || bpf_ktime_get_ns() - f->start_ns < sample_after_ns)
		return 0;
	sid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (sid < 0) {
		nt_lose(NT_LOSS_STACK);
		return 0;
	}
	/* The last few: a sample can land where the frame-pointer walk
	 * breaks (inside libc); user space shows the deepest. */
	f->sampled[f->samples & (NT_CB_SAMPLES - 1)] = sid;
	f->samples++;
	nt_announce_stack(&stack_seen, &events, t->pid, sid);
	return 0;
}

/* A thread that ends inside a callback (process.exit() in one) never
 * returns from it: forget its stack. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(cb_exit, struct task_struct *task)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&threads, &tid);
	return 0;
}
