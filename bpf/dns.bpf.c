// SPDX-License-Identifier: GPL-2.0
/* nodetap dns: every uv_getaddrinfo a traced process makes, with its latency
 * and status, aggregated per (process, hostname[, caller stack]).
 *
 * Start: uprobe on uv_getaddrinfo(loop, req, cb, node, service, hints), in
 * the calling thread. Lookups overlap on libuv's threadpool, so in-flight
 * state is keyed by (tgid, req), never by thread.
 * Completion: uprobe on libuv's uv__getaddrinfo_done(work, status), which
 * runs on the loop thread before the callback (and inline, for a call made
 * without a callback). It is a local symbol, but its address is handed to
 * the threadpool, so it always exists out of line.
 * Refusal: uv_getaddrinfo can fail before submitting anything (a hostname
 * that IDNA cannot convert or longer than 255 bytes: UV_EINVAL); no
 * completion follows, so a uretprobe accounts for those. */
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

/* The request each thread is inside uv_getaddrinfo with, for the uretprobe,
 * which no longer sees the arguments. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} calling SEC(".maps");

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

SEC("uprobe")
int BPF_KPROBE(dns_start, void *loop, void *req, void *cb, const char *node)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, zero = 0;
	struct inflight_key k = { .pid = pid, .req = (__u64)req };
	struct scratch *s;
	long n;

	if (!nt_pid_traced(pid))
		return 0;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	s->inf.start_ns = bpf_ktime_get_ns();
	s->inf.tid = (__u32)id;
	s->inf.flags = cb ? 0 : DNS_F_SYNC;
	s->inf.stack_id = -1;
	bpf_get_current_comm(s->inf.comm, sizeof(s->inf.comm));
	s->inf.host[0] = 0;
	if (node) {
		n = bpf_probe_read_user_str(s->inf.host, sizeof(s->inf.host), node);
		if (n == sizeof(s->inf.host)) {
			char next = 0;

			/* A full buffer: was the string longer? */
			bpf_probe_read_user(&next, 1, node + sizeof(s->inf.host) - 1);
			if (next) {
				s->inf.flags |= DNS_F_TRUNCATED;
				nt_lose(NT_LOSS_TRUNCATED);
			}
		} else if (n < 0) {
			s->inf.host[0] = 0;
		}
	}
	if (capture_stacks) {
		long sid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);

		if (sid >= 0) {
			s->inf.stack_id = sid;
			nt_announce_stack(&stack_seen, &events, pid, sid);
		} else {
			nt_lose(NT_LOSS_STACK);
		}
	}
	if (bpf_map_update_elem(&inflight, &k, &s->inf, BPF_ANY)) {
		nt_lose(NT_LOSS_INFLIGHT_FULL);
		return 0;
	}
	__u32 tid = (__u32)id;
	__u64 r = (__u64)req;
	/* Without it, a refused call (no completion follows) would stay in
	 * the in-flight map uncounted: say so now. */
	if (bpf_map_update_elem(&calling, &tid, &r, BPF_ANY))
		nt_lose(NT_LOSS_INFLIGHT_FULL);
	return 0;
}

static __always_inline void account(struct scratch *s, struct inflight *inf,
				    __u32 pid, int status, __u64 lat_ns)
{
	struct dns_val *v;
	__u32 slot;

	s->key.pid = pid;
	s->key.stack_id = inf->stack_id;
	bpf_probe_read_kernel(s->key.host, sizeof(s->key.host), inf->host);
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
	bpf_probe_read_kernel(ev->host, sizeof(ev->host), inf->host);
	bpf_ringbuf_submit(ev, nt_ringbuf_flags(&events));
}

SEC("uprobe")
int BPF_KPROBE(dns_done, void *work, int status)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	__u64 req = (__u64)work - UV_GAI_WORK_REQ_OFF;
	struct inflight_key k = { .pid = pid, .req = req };
	struct inflight *inf;
	struct scratch *s;
	int retcode = 0;
	__u64 lat;

	if (!nt_pid_traced(pid))
		return 0;
	inf = bpf_map_lookup_elem(&inflight, &k);
	if (!inf) {
		nt_lose(NT_LOSS_UNMATCHED);
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;
	lat = bpf_ktime_get_ns() - inf->start_ns;
	/* The worker thread stored getaddrinfo's translated result in
	 * req->retcode; done turns a cancelled request into EAI_CANCELED
	 * itself, after this probe has run. */
	bpf_probe_read_user(&retcode, sizeof(retcode), (void *)(req + UV_GAI_RETCODE_OFF));
	if (status == UV_ECANCELED_)
		retcode = UV_EAI_CANCELED_;
	account(s, inf, pid, retcode, lat);
	if (emit_events)
		emit(inf, pid, retcode, lat);
	bpf_map_delete_elem(&inflight, &k);
	return 0;
}

/* A call that failed before submitting its request: account it here, since
 * no completion will come. Sync calls completed inline are already gone from
 * the in-flight map; successful async ones wait for dns_done. */
SEC("uretprobe")
int BPF_KRETPROBE(dns_return, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id, zero = 0;
	struct inflight_key k = { .pid = pid };
	struct inflight *inf;
	struct scratch *s;
	__u64 *req;

	req = bpf_map_lookup_elem(&calling, &tid);
	if (!req)
		return 0;
	k.req = *req;
	bpf_map_delete_elem(&calling, &tid);
	if (!ret)
		return 0;
	inf = bpf_map_lookup_elem(&inflight, &k);
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!inf || !s)
		return 0;
	__u64 lat = bpf_ktime_get_ns() - inf->start_ns;
	account(s, inf, pid, ret, lat);
	if (emit_events)
		emit(inf, pid, ret, lat);
	bpf_map_delete_elem(&inflight, &k);
	return 0;
}
