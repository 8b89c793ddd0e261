// SPDX-License-Identifier: GPL-2.0
/* nodetap connect: who connects where, how fast, and from which code.
 *
 * Kernel: raw_tp/inet_sock_set_state. The move to SYN_SENT runs inside
 * connect(), in the connecting thread: pid, addresses and the user stack are
 * taken there and kept by socket pointer, because the later moves (to
 * ESTABLISHED, or to CLOSE for a failed connect) may run in softirq context.
 * The move from SYN_RECV to ESTABLISHED is an accepted connection; its owner
 * is the process that put the listening socket in LISTEN.
 *
 * Node: in node, connect() mostly runs in the callback of a dns.lookup, so
 * the stack at connect() shows node's net internals, not the code that
 * wanted the connection. So the lookup's hostname and (--stacks) the stack
 * taken at its uv_getaddrinfo become the connect's origin: exactly, for a
 * connect made on the loop thread while uv__getaddrinfo_done runs (the
 * callback); otherwise, once, for the first connect of that process to an
 * address the lookup resolved (a later attempt, as Happy Eyeballs makes). node::TCPWrap::Connect marks connects made through node's
 * net module. Those uprobes also mark node processes for the default filter
 * (no -p: node processes only, including ones that start later).
 *
 * Trace mode (nodetap trace): every lookup is sent as an event too, each
 * connect carries the start of the lookup that resolved its destination
 * (the lookup's id), and the TCP state changes of the sockets seen
 * connecting or accepted are sent as events, for one timeline. */
#include "common.bpf.h"
#include "sock.bpf.h"
#include <bpf/bpf_endian.h>
#include "connect.h"
#include "uv_layout.h"

#define IPPROTO_TCP_ 6
#define ECONNREFUSED_ 111
#define ETIMEDOUT_ 110

const volatile bool capture_stacks = false;
const volatile bool emit_events = false;
const volatile bool filter_ports = false;
const volatile bool mark_node_pids = false; /* uprobe hits add their process */
const volatile __u16 only_family = 0;       /* 0, NT_AF_INET or NT_AF_INET6 */
const volatile bool trace_mode = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NT_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} ports SEC(".maps");

/* A connect in progress, by socket. */
struct conn_state {
	__u64 start_ns;
	__u32 pid, tid;
	__s32 origin_stack, connect_stack;
	__u32 via_node;
	__u32 pad;
	struct nt_addr src, dst;
	char comm[NT_COMM_LEN];
	char host[NT_HOST_LEN];
	__u64 origin_lookup_ns;   /* trace mode: the origin lookup's start */
	__u64 wrap;               /* trace mode: the uv_connect_t's data (node's
	                             ConnectWrap), 0 when not seen */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct conn_state);
} conns SEC(".maps");

/* Trace mode: whose a socket is, from its connect or accept to its close,
 * for its state changes (which may run in softirq context). LRU, so that
 * sockets whose close was missed go first; evicting a live one (more than
 * 65536 traced sockets open at once) loses its later state events
 * uncounted: emit_state cannot tell it from a socket nobody traces. */
struct sock_owner {
	__u32 pid, tid;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sock_owner);
} trace_socks SEC(".maps");

/* What a lookup resolved an address to, per process; the oldest go first.
 * An attribution cache, LRU by design: an address nobody connects to stays
 * until evicted, and an evicted one costs a later connect its hostname and
 * origin stack, never its count. */
struct resolved_key {
	__u32 pid;
	__u32 family;
	unsigned char addr[16];
};

struct resolved_val {
	__s32 origin_stack;
	__u32 pad;
	__u64 lookup_ns;          /* trace mode: the lookup's start (its id) */
	char host[NT_HOST_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct resolved_key);
	__type(value, struct resolved_val);
} resolved SEC(".maps");

/* The lookup whose completion (and so callback) a thread is running.
 * Attribution only, deleted when the completion returns: an eviction (4096
 * threads in lookup callbacks at once) costs a connect its hostname, never
 * its count. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct resolved_val);
} in_callback SEC(".maps");

/* The stack at uv_getaddrinfo (and in trace mode its start), by (pid,
 * request), until its completion. LRU, so that the entries of lookups that
 * never complete (their process killed) go first; an entry evicted while
 * its lookup is in flight is counted by its completion, as
 * unmatched_completions (origin_done). */
struct lookup_key {
	__u32 pid;
	__u32 pad;
	__u64 req;
};

struct lookup_val {
	__s32 stack;
	__u32 tid;
	__u64 start_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lookup_key);
	__type(value, struct lookup_val);
} lookups SEC(".maps");

/* Threads inside node::TCPWrap::Connect: the connect() that follows is
 * node's. Attribution only (via_node, and only if at most 1 s old): an
 * evicted mark makes a connect not via_node, never uncounted. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} in_node_connect SEC(".maps");

/* Trace mode with callbacks: the data pointer of the uv_connect_t a thread
 * is connecting with (node's ConnectWrap, the `this` of the MakeCallback
 * that runs its oncomplete), from uv_tcp_connect to its connect().
 * Attribution only (a connect's link to its callback), per thread and
 * short-lived: an eviction costs that link, never the connect. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} connect_wraps SEC(".maps");

/* Listening sockets by local port: whose accepted connections are whose. */
struct listen_owner {
	__u32 pid;
	char comm[NT_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u16);
	__type(value, struct listen_owner);
} listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct connect_key);
	__type(value, struct connect_val);
} connect_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct accept_key);
	__type(value, struct accept_val);
} accept_stats SEC(".maps");

NT_DECLARE_STACK_MAPS();

NT_DECLARE_EVENTS();

/* Records too big for the 512-byte BPF stack are built here. */
struct scratch {
	struct conn_state conn;
	struct resolved_val res;
	struct connect_key key;
	struct connect_val zero;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

static __always_inline struct scratch *get_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline void mark_node(__u32 pid)
{
	__u8 one = 1;

	/* A process that does not fit is not traced: its connects go uncounted. */
	if (mark_node_pids && bpf_map_update_elem(&traced_pids, &pid, &one, BPF_ANY))
		nt_lose(NT_LOSS_AGG_FULL);
}

static __always_inline __s32 take_stack(void *ctx, __u32 pid)
{
	long sid;

	if (!capture_stacks)
		return -1;
	sid = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (sid < 0) {
		nt_lose(NT_LOSS_STACK);
		return -1;
	}
	nt_announce_stack(&stack_seen, &events, pid, (__s32)sid);
	return (__s32)sid;
}

/* ---- node side -------------------------------------------------------- */

SEC("uprobe")
int BPF_KPROBE(origin_start, void *loop, void *req)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct lookup_key k = { .pid = pid, .req = (__u64)req };
	struct lookup_val v = {};

	mark_node(pid);
	if (!nt_pid_traced(pid))
		return 0;
	if (!capture_stacks && !trace_mode)
		return 0;
	v.start_ns = bpf_ktime_get_ns();
	v.tid = (__u32)bpf_get_current_pid_tgid();
	v.stack = take_stack(ctx, pid);  /* -1 if it failed (counted there) */
	/* Also without its stack: its completion must find it, or count a
	 * loss (an entry evicted from this LRU map, see origin_done). */
	bpf_map_update_elem(&lookups, &k, &v, BPF_ANY);
	return 0;
}

/* Record one resolved address of a lookup. */
static __always_inline void note_address(struct scratch *s, __u32 pid, const void *ai)
{
	struct resolved_key k = { .pid = pid };
	void *sa = NULL;
	int family = 0;

	bpf_probe_read_user(&family, sizeof(family), ai + AI_FAMILY_OFF);
	bpf_probe_read_user(&sa, sizeof(sa), ai + AI_ADDR_OFF);
	if (!sa)
		return;
	if (family == NT_AF_INET) {
		bpf_probe_read_user(k.addr, 4, sa + SIN_ADDR_OFF);
	} else if (family == NT_AF_INET6) {
		bpf_probe_read_user(k.addr, 16, sa + SIN6_ADDR_OFF);
	} else {
		return;
	}
	k.family = family;
	bpf_map_update_elem(&resolved, &k, &s->res, BPF_ANY);
}

/* Trace mode: the lookup as one event. */
static __always_inline void emit_lookup(struct scratch *s, __u32 pid, const struct lookup_val *v,
					__u64 req, int status)
{
	struct lookup_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	int retcode = 0;

	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return;
	}
	/* As in dns.bpf.c: the worker stored getaddrinfo's translated result
	 * in req->retcode; a cancelled request becomes EAI_CANCELED later. */
	bpf_probe_read_user(&retcode, sizeof(retcode), (void *)(req + UV_GAI_RETCODE_OFF));
	if (status == UV_ECANCELED_)
		retcode = UV_EAI_CANCELED_;
	ev->type = NT_EV_LOOKUP;
	ev->pid = pid;
	ev->tid = v->tid;
	ev->done_tid = (__u32)bpf_get_current_pid_tgid();
	ev->status = retcode;
	ev->pad = 0;
	ev->start_ns = v->start_ns;
	ev->end_ns = bpf_ktime_get_ns();
	/* uv_req_t.data, the first field: node's GetAddrInfoReqWrap, whose
	 * MakeCallback runs the lookup's callback. */
	ev->wrap = 0;
	bpf_probe_read_user(&ev->wrap, sizeof(ev->wrap), (void *)req);
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_probe_read_kernel(ev->host, sizeof(ev->host), s->res.host);
	bpf_ringbuf_submit(ev, nt_ringbuf_flags(&events));
}

SEC("uprobe")
int BPF_KPROBE(origin_done, void *work, int status)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 req = (__u64)work - UV_GAI_WORK_REQ_OFF;
	struct lookup_key k = { .pid = pid, .req = req };
	struct scratch *s;
	const char *host = NULL;
	void *ai = NULL;
	struct lookup_val *v;

	mark_node(pid);
	if (!nt_pid_traced(pid) || !(s = get_scratch()))
		return 0;
	v = bpf_map_lookup_elem(&lookups, &k);
	/* Every lookup started while attached has its entry (with --stacks or
	 * in trace mode): none is a lookup started before nodetap, or one
	 * whose entry the LRU map evicted (more lookups in flight than it
	 * holds): its origin stack (and trace event) is lost, and counted. */
	if (!v && (capture_stacks || trace_mode))
		nt_lose(NT_LOSS_UNMATCHED);
	s->res.origin_stack = v ? v->stack : -1;
	s->res.lookup_ns = v ? v->start_ns : 0;
	s->res.host[0] = 0;
	bpf_probe_read_user(&host, sizeof(host), (void *)(req + UV_GAI_HOSTNAME_OFF));
	if (host && bpf_probe_read_user_str(s->res.host, sizeof(s->res.host), host) < 0)
		s->res.host[0] = 0;
	if (v) {
		if (trace_mode)
			emit_lookup(s, pid, v, req, status);
		bpf_map_delete_elem(&lookups, &k);
	}
	bpf_probe_read_user(&ai, sizeof(ai), (void *)(req + UV_GAI_ADDRINFO_OFF));
	/* The first addresses are the ones a client tries. */
#pragma unroll
	for (int i = 0; i < 8; i++) {
		if (!ai)
			break;
		note_address(s, pid, ai);
		bpf_probe_read_user(&ai, sizeof(ai), ai + AI_NEXT_OFF);
	}
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&in_callback, &tid, &s->res, BPF_ANY);
	return 0;
}

/* The completion (and the callback it ran) returned. */
SEC("uretprobe")
int BPF_KRETPROBE(origin_done_return)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&in_callback, &tid);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(node_connect)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	__u64 now = bpf_ktime_get_ns();

	mark_node(id >> 32);
	if (nt_pid_traced(id >> 32))
		bpf_map_update_elem(&in_node_connect, &tid, &now, BPF_ANY);
	return 0;
}

/* uv_tcp_connect(req, handle, addr, cb): node's Dispatch has set
 * req->data (the first field) to the ConnectWrap before the call; the
 * connect() inside it moves the socket to SYN_SENT on this thread. */
SEC("uprobe")
int BPF_KPROBE(uv_connect_start, void *req)
{
	__u64 id = bpf_get_current_pid_tgid(), wrap = 0;
	__u32 tid = (__u32)id;

	if (!nt_pid_traced(id >> 32))
		return 0;
	bpf_probe_read_user(&wrap, sizeof(wrap), req);
	bpf_map_update_elem(&connect_wraps, &tid, &wrap, BPF_ANY);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(node_listen)
{
	mark_node(bpf_get_current_pid_tgid() >> 32);
	return 0;
}

/* ---- kernel side -------------------------------------------------------- */

static __always_inline void to_v4(struct nt_addr *a)
{
	__u32 v4;

	__builtin_memcpy(&v4, a->addr + 12, 4);
	__builtin_memset(a->addr, 0, 16);
	__builtin_memcpy(a->addr, &v4, 4);
	a->family = NT_AF_INET;
}

/* Local and remote address of SK; IPv4-mapped IPv6 is reported as IPv4. */
static __always_inline void read_addrs(const struct sock *sk, struct nt_addr *local,
				       struct nt_addr *remote)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(local, 0, sizeof(*local));
	__builtin_memset(remote, 0, sizeof(*remote));
	local->port = BPF_CORE_READ(sk, __sk_common.skc_num);
	remote->port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == NT_AF_INET) {
		__be32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__be32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(local->addr, &l, 4);
		__builtin_memcpy(remote->addr, &r, 4);
		local->family = remote->family = NT_AF_INET;
		return;
	}
	/* Explicit sizes: BPF_CORE_READ_INTO would copy sizeof(*dst), one byte
	 * of an array. */
	bpf_core_read(local->addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	bpf_core_read(remote->addr, 16, &sk->__sk_common.skc_v6_daddr);
	local->family = remote->family = NT_AF_INET6;
	if (nt_is_v4_mapped(remote->addr)) {
		to_v4(remote);
		to_v4(local);
	}
}

static __always_inline void on_syn_sent(void *ctx, const struct sock *sk)
{
	__u64 id = bpf_get_current_pid_tgid(), skp = (__u64)sk;
	__u32 pid = id >> 32, tid = (__u32)id;
	struct resolved_key rk = { .pid = pid };
	struct resolved_val *origin;
	struct scratch *s;
	__u64 *marker;

	if (!nt_pid_traced(pid) || !(s = get_scratch()))
		return;
	read_addrs(sk, &s->conn.src, &s->conn.dst);
	if (only_family && s->conn.dst.family != only_family)
		return;
	/* -P: other ports are neither counted nor copied anywhere. */
	if (filter_ports && !bpf_map_lookup_elem(&ports, &s->conn.dst.port))
		return;
	s->conn.start_ns = bpf_ktime_get_ns();
	s->conn.pid = pid;
	s->conn.tid = tid;
	bpf_get_current_comm(s->conn.comm, sizeof(s->conn.comm));
	s->conn.connect_stack = take_stack(ctx, pid);
	marker = bpf_map_lookup_elem(&in_node_connect, &tid);
	s->conn.via_node = marker && s->conn.start_ns - *marker < 1000000000ULL;
	if (marker)
		bpf_map_delete_elem(&in_node_connect, &tid);
	rk.family = s->conn.dst.family;
	__builtin_memcpy(rk.addr, s->conn.dst.addr, 16);
	/* Inside the lookup's callback: that lookup. Otherwise the first
	 * connect to an address a lookup resolved. Either way the address is
	 * used up, so that a later connect to the same address literal is not
	 * credited to an old lookup. */
	origin = bpf_map_lookup_elem(&in_callback, &tid);
	if (!origin)
		origin = bpf_map_lookup_elem(&resolved, &rk);
	if (origin) {
		s->conn.origin_stack = origin->origin_stack;
		s->conn.origin_lookup_ns = origin->lookup_ns;
		bpf_probe_read_kernel(s->conn.host, sizeof(s->conn.host), origin->host);
		bpf_map_delete_elem(&resolved, &rk);
	} else {
		s->conn.origin_stack = -1;
		s->conn.origin_lookup_ns = 0;
		s->conn.host[0] = 0;
	}
	s->conn.wrap = 0;
	if (trace_mode) {
		__u64 *wrap = bpf_map_lookup_elem(&connect_wraps, &tid);

		if (wrap) {
			s->conn.wrap = *wrap;
			bpf_map_delete_elem(&connect_wraps, &tid);
		}
	}
	if (bpf_map_update_elem(&conns, &skp, &s->conn, BPF_ANY))
		nt_lose(NT_LOSS_INFLIGHT_FULL);
	if (trace_mode) {
		struct sock_owner o = { .pid = pid, .tid = tid };

		bpf_map_update_elem(&trace_socks, &skp, &o, BPF_ANY);
	}
}

static __always_inline void account(struct scratch *s, struct conn_state *c,
				    __u32 outcome, int err, __u64 lat)
{
	struct connect_val *v;

	s->key.pid = c->pid;
	s->key.origin_stack = c->origin_stack;
	s->key.connect_stack = c->connect_stack;
	s->key.pad = 0;
	s->key.pad2 = 0;
	s->key.dst = c->dst;
	v = bpf_map_lookup_elem(&connect_stats, &s->key);
	if (!v) {
		__builtin_memcpy(s->zero.comm, c->comm, sizeof(s->zero.comm));
		bpf_probe_read_kernel(s->zero.host, sizeof(s->zero.host), c->host);
		bpf_map_update_elem(&connect_stats, &s->key, &s->zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&connect_stats, &s->key);
		if (!v) {
			nt_lose(NT_LOSS_AGG_FULL);
			return;
		}
	}
	if (outcome < CONN_OUTCOMES)
		__sync_fetch_and_add(&v->outcomes[outcome & 7], 1);
	if (c->via_node)
		__sync_fetch_and_add(&v->via_node, 1);
	if (outcome == CONN_OTHER)
		v->last_other_err = err;
	if (outcome != CONN_ESTABLISHED)
		return;
	__sync_fetch_and_add(&v->total_ns, lat);
	if (lat > v->max_ns)
		v->max_ns = lat;
	__sync_fetch_and_add(&v->hist[nt_log2_slot(lat / 1000)], 1);
}

static __always_inline void emit(struct conn_state *c, __u32 outcome, int err, __u64 lat)
{
	struct connect_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
		return;
	}
	ev->type = NT_EV_CONNECT;
	ev->pid = c->pid;
	ev->tid = c->tid;
	ev->outcome = outcome;
	ev->err = err;
	ev->origin_stack = c->origin_stack;
	ev->connect_stack = c->connect_stack;
	ev->via_node = c->via_node;
	ev->start_ns = c->start_ns;
	ev->latency_ns = lat;
	ev->src = c->src;
	ev->dst = c->dst;
	ev->origin_lookup_ns = c->origin_lookup_ns;
	ev->wrap = c->wrap;
	__builtin_memcpy(ev->comm, c->comm, sizeof(ev->comm));
	bpf_probe_read_kernel(ev->host, sizeof(ev->host), c->host);
	bpf_ringbuf_submit(ev, nt_ringbuf_flags(&events));
}

static __always_inline void on_connect_end(const struct sock *sk, bool established)
{
	__u64 skp = (__u64)sk;
	struct conn_state *c = bpf_map_lookup_elem(&conns, &skp);
	struct scratch *s;
	__u32 outcome = CONN_ESTABLISHED;
	int err = 0;
	__u64 lat;

	if (!c || !(s = get_scratch()))
		return; /* not a connect we saw start: not ours */
	lat = bpf_ktime_get_ns() - c->start_ns;
	if (!established) {
		err = BPF_CORE_READ(sk, sk_err);
		if (!err)
			err = BPF_CORE_READ(sk, sk_err_soft);
		outcome = err == ECONNREFUSED_ ? CONN_REFUSED :
			  err == ETIMEDOUT_ ? CONN_TIMED_OUT :
			  err == 0 ? CONN_CLOSED : CONN_OTHER;
	}
	account(s, c, outcome, err, lat);
	if (emit_events)
		emit(c, outcome, err, lat);
	bpf_map_delete_elem(&conns, &skp);
}

static __always_inline void on_listen(const struct sock *sk)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);
	struct listen_owner l = { .pid = pid };

	if (!nt_pid_traced(pid))
		return;
	bpf_get_current_comm(l.comm, sizeof(l.comm));
	/* A listener that does not fit: its accepted connections go uncounted. */
	if (bpf_map_update_elem(&listeners, &port, &l, BPF_ANY))
		nt_lose(NT_LOSS_AGG_FULL);
}

static __always_inline void on_accepted(const struct sock *sk)
{
	struct accept_key k = {};
	struct accept_val *v, zero = {};
	struct listen_owner *l;

	read_addrs(sk, &k.local, &k.remote);
	l = bpf_map_lookup_elem(&listeners, &k.local.port);
	if (!l)
		return; /* not a listener of a traced process */
	if (only_family && k.remote.family != only_family)
		return;
	k.pid = l->pid;
	if (trace_mode) {
		__u64 skp = (__u64)sk;
		struct sock_owner o = { .pid = l->pid, .tid = l->pid };

		bpf_map_update_elem(&trace_socks, &skp, &o, BPF_ANY);
	}
	k.remote.port = 0; /* clients are counted per address, not per port */
	v = bpf_map_lookup_elem(&accept_stats, &k);
	if (!v) {
		__builtin_memcpy(zero.comm, l->comm, sizeof(zero.comm));
		bpf_map_update_elem(&accept_stats, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&accept_stats, &k);
		if (!v) {
			nt_lose(NT_LOSS_AGG_FULL);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
}

/* Trace mode: a state change of a socket whose owner we know. */
static __always_inline void emit_state(const struct sock *sk, int oldstate, int newstate)
{
	__u64 skp = (__u64)sk;
	struct sock_owner *o = bpf_map_lookup_elem(&trace_socks, &skp);
	struct tcp_state_event *ev;

	if (!o)
		return;
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		nt_lose(NT_LOSS_RINGBUF);
	} else {
		ev->type = NT_EV_TCP_STATE;
		ev->pid = o->pid;
		ev->tid = o->tid;
		ev->oldstate = (__u16)oldstate;
		ev->newstate = (__u16)newstate;
		ev->ts_ns = bpf_ktime_get_ns();
		ev->sk = skp;
		read_addrs(sk, &ev->local, &ev->remote);
		bpf_ringbuf_submit(ev, nt_ringbuf_flags(&events));
	}
	if (newstate == TCP_CLOSE)
		bpf_map_delete_elem(&trace_socks, &skp);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(conn_state_change, const struct sock *sk, int oldstate, int newstate)
{
	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP_)
		return 0;
	if (trace_mode) {
		/* Connects and accepts first: they make the socket known. */
		if (newstate == TCP_SYN_SENT)
			on_syn_sent(ctx, sk);
		else if (oldstate == TCP_SYN_SENT && (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE))
			on_connect_end(sk, newstate == TCP_ESTABLISHED);
		else if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED)
			on_accepted(sk);
		else if (newstate == TCP_LISTEN)
			on_listen(sk);
		else if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE) {
			__u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);

			bpf_map_delete_elem(&listeners, &port);
		}
		emit_state(sk, oldstate, newstate);
		return 0;
	}
	if (newstate == TCP_SYN_SENT)
		on_syn_sent(ctx, sk);
	else if (oldstate == TCP_SYN_SENT && (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE))
		on_connect_end(sk, newstate == TCP_ESTABLISHED);
	else if (newstate == TCP_LISTEN)
		on_listen(sk);
	else if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE) {
		__u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);

		bpf_map_delete_elem(&listeners, &port);
	} else if (oldstate == TCP_SYN_RECV && newstate == TCP_ESTABLISHED)
		on_accepted(sk);
	return 0;
}
