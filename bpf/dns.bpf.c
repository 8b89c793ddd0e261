// SPDX-License-Identifier: GPL-2.0
/* nodetap dns: every uv_getaddrinfo a traced process makes, with its latency
 * and status, aggregated per (process, hostname[, caller stack]).
 *
 * Start: uprobe on uv_getaddrinfo(loop, req, cb, node, service, hints), in
 * the calling thread. Lookups overlap on libuv's threadpool, so in-flight
 * state is keyed by the request (req), never by the thread alone.
 * Completion: uprobe on libuv's uv__getaddrinfo_done(work, status), which
 * runs on the loop thread before the callback (and inline, for a call made
 * without a callback). It is a local symbol, but its address is handed to
 * the threadpool, so it always exists out of line.
 * Refusal: uv_getaddrinfo can fail before submitting anything (a hostname
 * that IDNA cannot convert or longer than 255 bytes: UV_EINVAL); no
 * completion follows, so a uretprobe accounts for those.
 *
 * Cost: every map operation on the hit path costs 100-200 ns here, as much
 * as the rest of a program. A lookup starts and completes on the same
 * thread (the loop's: libuv's loop functions are not thread-safe), so the
 * in-flight state lives in that thread's task storage, a few slots found
 * without hashing or locking; the hash map takes the overflow and anything
 * a slot cannot hold. The request the thread is inside uv_getaddrinfo with
 * is kept there too, for the uretprobe. */
#include "common.bpf.h"
#include "dns.h"

const volatile bool capture_stacks = false;
const volatile bool emit_events = false;

struct inflight_key {
	__u32 pid;
	__u32 pad;
	__u64 req;
};

struct inflight {
	__u64 start_ns;
	__u32 tid;
	__s32 stack_id;
	__u32 flags;
	char comm[NT_COMM_LEN];
	char host[NT_HOST_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct inflight_key);
	__type(value, struct inflight);
} inflight SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct dns_key);
	__type(value, struct dns_val);
} dns_stats SEC(".maps");

NT_DECLARE_STACK_MAPS();

/* Lookups a thread has in flight, beyond which the inflight hash takes
 * them: a node loop rarely has more waiting at once. */
#define DNS_THREAD_SLOTS 8

/* Per thread (task storage: freed with the thread, no hashing). Created,
 * at the first lookup, only for threads of traced processes, and
 * traced_pids never forgets a live process: a thread that has one is
 * traced. */
struct dns_thread {
	__u64 calling;   /* the request it is inside uv_getaddrinfo with: the
			  * uretprobe no longer sees the arguments */
	__u32 in_call;   /* calling is set */
	__u32 pad;
	__u64 req[DNS_THREAD_SLOTS];      /* 0: the slot is free */
	struct inflight inf[DNS_THREAD_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct dns_thread);
} threads SEC(".maps");

NT_DECLARE_EVENTS();

/* Records too big for the 512-byte BPF stack are built here. */
struct scratch {
	struct inflight inf;
	struct dns_key key;
	struct dns_val zero;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* The slot of T that holds REQ, or -1. */
static __always_inline int thread_slot(struct dns_thread *t, __u64 req)
{
	for (int i = 0; i < DNS_THREAD_SLOTS; i++)
		if (t->req[i] == req)
			return i;
	return -1;
}

SEC("uprobe")
int BPF_KPROBE(dns_start, void *loop, void *req, void *cb, const char *node)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, zero = 0;
	struct inflight_key k = { .pid = pid, .req = (__u64)req };
	struct inflight *inf = NULL;
	struct dns_thread *t;
	int slot = -1;
	long n;

	t = bpf_task_storage_get(&threads, task, 0, 0);
	if (!t) {
		if (!nt_pid_traced(pid))
			return 0;
		t = bpf_task_storage_get(&threads, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	}
	/* A slot: the one this request already had (a request reused after a
	 * lookup whose end was missed), else a free one. Request 0 (refused
	 * by libuv) and overflow go to the hash map. */
	if (t && req) {
		slot = thread_slot(t, (__u64)req);
		if (slot < 0)
			slot = thread_slot(t, 0);
		if (slot >= 0)
			inf = &t->inf[slot & (DNS_THREAD_SLOTS - 1)];
	}
	if (!inf) {
		struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);

		if (!s)
			return 0;
		inf = &s->inf;
	}
	inf->start_ns = bpf_ktime_get_ns();
	inf->tid = (__u32)id;
	inf->flags = cb ? 0 : DNS_F_SYNC;
	inf->stack_id = -1;
	bpf_get_current_comm(inf->comm, sizeof(inf->comm));
	/* All of it, not only the first byte: the buffer is reused lookup
	 * after lookup, the read stops at the NUL, and the whole buffer is
	 * the aggregate key: bytes left after a short name by a longer one
	 * would make one hostname several rows (monitor_dns_one_series). */
	__builtin_memset(inf->host, 0, sizeof(inf->host));
	if (node) {
		n = bpf_probe_read_user_str(inf->host, sizeof(inf->host), node);
		if (n == sizeof(inf->host)) {
			char next = 0;

			/* A full buffer: was the string longer? */
			bpf_probe_read_user(&next, 1, node + sizeof(inf->host) - 1);
			if (next) {
				inf->flags |= DNS_F_TRUNCATED;
				nt_lose(NT_LOSS_TRUNCATED);
			}
		} else if (n < 0) {
			inf->host[0] = 0;
		}
	}
	if (capture_stacks) {
		long sid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);

		if (sid >= 0) {
			inf->stack_id = sid;
			nt_announce_stack(&stack_seen, &events, pid, sid);
		} else {
			nt_lose(NT_LOSS_STACK);
		}
	}
	if (slot >= 0) {
		t->req[slot & (DNS_THREAD_SLOTS - 1)] = (__u64)req;
	} else if (bpf_map_update_elem(&inflight, &k, inf, BPF_ANY)) {
		nt_lose(NT_LOSS_INFLIGHT_FULL);
		return 0;
	}
	/* Without it, a refused call (no completion follows) would stay in
	 * flight uncounted: say so now. */
	if (!t) {
		nt_lose(NT_LOSS_INFLIGHT_FULL);
		return 0;
	}
	t->calling = (__u64)req;
	t->in_call = 1;
	return 0;
}

static __always_inline void account(struct scratch *s, struct inflight *inf,
				    __u32 pid, int status, __u64 lat_ns)
{
	struct dns_val *v;
	__u32 slot;

	s->key.pid = pid;
	s->key.stack_id = inf->stack_id;
	__builtin_memcpy(s->key.host, inf->host, sizeof(s->key.host));
	v = bpf_map_lookup_elem(&dns_stats, &s->key);
	if (!v) {
		__builtin_memcpy(s->zero.comm, inf->comm, sizeof(s->zero.comm));
		/* Another CPU may insert the same key first: NOEXIST then fails
		 * with EEXIST, and the lookup below finds its record. */
		bpf_map_update_elem(&dns_stats, &s->key, &s->zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&dns_stats, &s->key);
		if (!v) {
			nt_lose(NT_LOSS_AGG_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total_ns, lat_ns);
	if (lat_ns > v->max_ns)
		v->max_ns = lat_ns; /* racy max: off by one update at worst */
	__sync_fetch_and_add(&v->hist[nt_log2_slot(lat_ns / 1000)], 1);
	if (!status)
		return;
	__sync_fetch_and_add(&v->errors, 1);
	slot = (__u32)(UV_EAI_BASE_ - status);
	if (slot < NT_DNS_EAI_SLOTS) {
		/* The mask restates the bound for the verifier. */
		__sync_fetch_and_add(&v->eai[slot & (NT_DNS_EAI_SLOTS - 1)], 1);
	} else {
		__sync_fetch_and_add(&v->other_errors, 1);
		v->last_other_status = status;
	}
}

static __always_inline void emit(struct inflight *inf, __u32 pid, int status,
				 __u64 lat_ns)
{
	struct dns_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return;
	}
	ev->type = NT_EV_DNS;
	ev->pid = pid;
	ev->tid = inf->tid;
	ev->status = status;
	ev->start_ns = inf->start_ns;
	ev->latency_ns = lat_ns;
	ev->stack_id = inf->stack_id;
	ev->flags = inf->flags;
	__builtin_memcpy(ev->comm, inf->comm, sizeof(ev->comm));
	__builtin_memcpy(ev->host, inf->host, sizeof(ev->host));
	bpf_ringbuf_submit(ev, nt_ringbuf_flags(&events));
}

/* The in-flight record of REQ (this thread's slot SLOT, or the hash map's
 * entry when SLOT is -1), with its end accounted; then freed. */
static __always_inline void finish(struct dns_thread *t, int slot, struct inflight *inf,
				   struct inflight_key *k, int status, __u64 lat)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch, &zero);

	if (s)
		account(s, inf, k->pid, status, lat);
	if (emit_events)
		emit(inf, k->pid, status, lat);
	if (slot >= 0)
		t->req[slot & (DNS_THREAD_SLOTS - 1)] = 0;
	else
		bpf_map_delete_elem(&inflight, k);
}

SEC("uprobe")
int BPF_KPROBE(dns_done, void *work, int status)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 req = (__u64)work - UV_GAI_WORK_REQ_OFF;
	struct inflight_key k = { .pid = pid, .req = req };
	struct inflight *inf = NULL;
	struct dns_thread *t;
	int retcode = 0, slot = -1;
	__u64 lat;

	/* The loop thread that started it completes it: its slot first. */
	t = bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0, 0);
	if (t && req) {
		slot = thread_slot(t, req);
		if (slot >= 0)
			inf = &t->inf[slot & (DNS_THREAD_SLOTS - 1)];
	}
	if (!inf) {
		if (!nt_pid_traced(pid))
			return 0;
		inf = bpf_map_lookup_elem(&inflight, &k);
		if (!inf) {
			nt_lose(NT_LOSS_UNMATCHED);
			return 0;
		}
	}
	lat = bpf_ktime_get_ns() - inf->start_ns;
	/* The worker thread stored getaddrinfo's translated result in
	 * req->retcode; done turns a cancelled request into EAI_CANCELED
	 * itself, after this probe has run. */
	bpf_probe_read_user(&retcode, sizeof(retcode), (void *)(req + UV_GAI_RETCODE_OFF));
	if (status == UV_ECANCELED_)
		retcode = UV_EAI_CANCELED_;
	finish(t, slot, inf, &k, retcode, lat);
	return 0;
}

/* A call that failed before submitting its request: account it here, since
 * no completion will come. Sync calls completed inline are already gone from
 * flight; successful async ones wait for dns_done. */
SEC("uretprobe")
int BPF_KRETPROBE(dns_return, int ret)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct inflight_key k = { .pid = pid };
	struct inflight *inf = NULL;
	struct dns_thread *t;
	int slot = -1;

	t = bpf_task_storage_get(&threads, bpf_get_current_task_btf(), 0, 0);
	if (!t || !t->in_call)
		return 0;
	k.req = t->calling;
	t->in_call = 0;
	if (!ret)
		return 0;
	if (k.req) {
		slot = thread_slot(t, k.req);
		if (slot >= 0)
			inf = &t->inf[slot & (DNS_THREAD_SLOTS - 1)];
	}
	if (!inf)
		inf = bpf_map_lookup_elem(&inflight, &k);
	if (!inf)
		return 0;
	finish(t, slot, inf, &k, ret, bpf_ktime_get_ns() - inf->start_ns);
	return 0;
}
