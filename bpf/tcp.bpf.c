// SPDX-License-Identifier: GPL-2.0
/* nodetap tcp: the life of each TCP connection of the traced processes (or
 * of the host, with --all): duration, payload bytes each way, segments,
 * retransmits and resets; per connection as it ends, and summed per
 * (process, remote address).
 *
 * Hooks, all raw tracepoints (no tracefs, no kprobes):
 * - sock:inet_sock_set_state: births, the close and the end. It can fire in
 *   softirq context, so the process is taken only where the transition runs
 *   in the process's own context: SYN_SENT (connect), LISTEN (listen), and
 *   FIN_WAIT1 / LAST_ACK (close or shutdown). An accepted connection (a child
 *   entering SYN_RECV from LISTEN, in softirq) belongs to whoever listens on
 *   its port in its network namespace (seen at listen(), or found in /proc
 *   by the loader for listeners older than nodetap). State is keyed by the
 *   struct sock pointer. A connection begun before nodetap attached is
 *   adopted when its owner closes it (or, with --all, at its first event).
 * - At CLOSE the tcp_sock counters are final: they are read (CO-RE) and
 *   summed per remote address.
 * - tcp:tcp_destroy_sock: the connection record goes to the ring buffer then,
 *   so that a reset sent just after CLOSE (close with unread data, zero
 *   linger) is in it.
 * - tcp:tcp_retransmit_skb, tcp:tcp_send_reset, tcp:tcp_receive_reset:
 *   counted as they happen, on the connection and on its remote.
 * - sched:sched_process_exec / sched_process_fork, without -p or COMMAND:
 *   which processes are node (see node_pids below). */
#include "common.bpf.h"
#include "sock.bpf.h"
#include <bpf/bpf_endian.h>
#include "tcp.h"

const volatile bool trace_all = false;   /* --all: every process */
const volatile bool node_mode = false;   /* default: node processes */
const volatile bool emit_events = false;
/* Set by the loader when tcp_destroy_sock could not be attached: the record
 * is then sent at CLOSE. */
bool emit_at_close = false;

struct tcp_live tcp_live = {};

/* Connections, by struct sock pointer. Not preallocated: a host may have
 * many, most of the time few. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct tcp_conn);
} conns SEC(".maps");

/* Connections already counted as lost (inflight_full: conns was full when
 * they began, or when one begun before nodetap was to be adopted), by
 * struct sock pointer: later transitions would try to adopt them again,
 * and count them again when conns is still full (or report a part of them
 * when a slot freed up). Removed at CLOSE (or destroy). lost_marks counts
 * the entries, so that the usual case (none) costs no lookup. A lost
 * connection finding this map full too is counted again at its close. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, __u8);
} lost_conns SEC(".maps");

__s64 lost_marks = 0;

static __always_inline bool lost_marked(__u64 key)
{
	return lost_marks > 0 && bpf_map_lookup_elem(&lost_conns, &key);
}

static __always_inline void lost_unmark(__u64 key)
{
	if (lost_marks > 0 && !bpf_map_delete_elem(&lost_conns, &key))
		__sync_fetch_and_add(&lost_marks, -1);
}

/* Who listens on a port (per network namespace): accepted connections are
 * theirs. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tcp_listen_key);
	__type(value, struct tcp_listener);
} listeners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct tcp_remote_key);
	__type(value, struct tcp_remote_val);
} remotes SEC(".maps");

/* node_mode: the node processes (tgids). The loader puts the ones running
 * at start; exec adds a process whose new executable is node (by file
 * identity, from node_files, or by name: "node", "nodejs", "node22", ...) and
 * removes one that runs something else; fork gives the child its parent's
 * membership, which also clears a reused pid. LRU: entries of exited
 * processes are never looked up again and go first. Not harmless: evicting
 * a live node process (after 16384 others since its last traced socket
 * event, exited ones included, as nothing removes them at exit) stops
 * tracing its connections, uncounted. Counting it would need an exit hook
 * removing entries (then a plain HASH, its refused inserts counted). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u8);
} node_pids SEC(".maps");

NT_DECLARE_NODE_FILES(struct tcp_file_key, 256);

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
} events SEC(".maps");

struct scratch {
	struct tcp_conn conn;
	struct tcp_remote_val zero;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* A record for the ring buffer, without waking the loader for each: a
 * wakeup costs about 10 us a record in this VM (an IPI for the irq_work),
 * and the loader polls at least every 100 ms anyway. It is woken only when
 * the buffer fills up. */
static __always_inline void send_conn(const struct tcp_conn *c)
{
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= 128 * 1024 ?
		      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;

	if (bpf_ringbuf_output(&events, (void *)c, sizeof(*c), flags))
		nt_lose(NT_LOSS_RINGBUF);
}

static __always_inline bool traced(__u32 tgid)
{
	if (trace_all)
		return true;
	if (node_mode)
		return bpf_map_lookup_elem(&node_pids, &tgid) != NULL;
	return nt_pid_traced(tgid);
}

/* Family, addresses and ports; IPv4-mapped IPv6 becomes IPv4. */
static __always_inline void read_addrs(const struct sock *sk, struct tcp_conn *c)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	c->lport = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	c->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	__builtin_memset(c->laddr, 0, sizeof(c->laddr));
	__builtin_memset(c->raddr, 0, sizeof(c->raddr));
	if (family == NT_AF_INET6) {
		BPF_CORE_READ_INTO(&c->laddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&c->raddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
		if (nt_is_v4_mapped(c->raddr)) {
			family = NT_AF_INET;
			__builtin_memcpy(c->laddr, c->laddr + 12, 4);
			__builtin_memcpy(c->raddr, c->raddr + 12, 4);
			__builtin_memset(c->laddr + 4, 0, 12);
			__builtin_memset(c->raddr + 4, 0, 12);
		}
	} else {
		BPF_CORE_READ_INTO((__u32 *)c->laddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)c->raddr, sk, __sk_common.skc_daddr);
	}
	c->family = family;
}

/* The summary record of (pid, the socket's remote address), created if
 * missing; NULL when the map is full (counted). */
static __always_inline struct tcp_remote_val *remote_of(__u32 pid, const char *comm,
							 __u16 family, const unsigned char *addr)
{
	struct tcp_remote_key k = { .pid = pid, .family = family };
	struct tcp_remote_val *v;
	struct scratch *s;
	__u32 zero = 0;

	__builtin_memcpy(k.addr, addr, sizeof(k.addr));
	v = bpf_map_lookup_elem(&remotes, &k);
	if (v)
		return v;
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return NULL;
	__builtin_memset(&s->zero, 0, sizeof(s->zero));
	if (comm)
		__builtin_memcpy(s->zero.comm, comm, sizeof(s->zero.comm));
	/* Another CPU may insert it first: NOEXIST then fails and the
	 * lookup finds theirs. */
	bpf_map_update_elem(&remotes, &k, &s->zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&remotes, &k);
	if (!v)
		nt_lose(NT_LOSS_AGG_FULL);
	return v;
}

/* The remote of connection C, whose addresses are read afresh from SK
 * (a passive connection learns them after SYN_RECV). */
static __always_inline struct tcp_remote_val *remote_of_conn(const struct sock *sk,
							      struct tcp_conn *c)
{
	read_addrs(sk, c);
	return remote_of(c->pid, c->comm, c->family, c->raddr);
}

/* A new entry for SK; an old one under the same pointer (a socket connected
 * again after a failed connect) is sent first if it ended. */
static __always_inline struct tcp_conn *conn_new(const struct sock *sk, __u32 pid,
						 const char *comm, __u8 flags)
{
	__u64 key = (__u64)sk;
	struct tcp_conn *old;
	struct scratch *s;
	__u32 zero = 0;

	old = bpf_map_lookup_elem(&conns, &key);
	if (old) {
		if (old->flags & TCP_F_CLOSED) {
			if (emit_events && !emit_at_close)
				send_conn(old);
		} else {
			__sync_fetch_and_add(&tcp_live.open, -1);
			if (old->flags & TCP_F_FIN_SENT)
				__sync_fetch_and_add(&tcp_live.closing, -1);
		}
	}
	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return NULL;
	__builtin_memset(&s->conn, 0, sizeof(s->conn));
	s->conn.type = TCP_EV_CONN;
	s->conn.pid = pid;
	s->conn.flags = flags;
	if (flags & TCP_F_START_SEEN)
		s->conn.start_ns = bpf_ktime_get_ns();
	if (comm)
		__builtin_memcpy(s->conn.comm, comm, sizeof(s->conn.comm));
	read_addrs(sk, &s->conn);
	if (bpf_map_update_elem(&conns, &key, &s->conn, BPF_ANY)) {
		__u8 one = 1;

		/* Counted once: marked, so that its later transitions do
		 * not count it again. */
		nt_lose(NT_LOSS_INFLIGHT_FULL);
		if (!bpf_map_update_elem(&lost_conns, &key, &one, BPF_NOEXIST))
			__sync_fetch_and_add(&lost_marks, 1);
		return NULL;
	}
	__sync_fetch_and_add(&tcp_live.open, 1);
	return bpf_map_lookup_elem(&conns, &key);
}

static __always_inline __u32 netns_of(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

/* Which way a connection we did not see begin was opened. connect() puts
 * the socket on a port bucket of its own making (fastreuse -1) and never
 * shares one that bind() made; an accepted socket shares its listener's
 * bucket. So: -1 is ours (a connect without bind), and a socket on a port
 * someone listens on was accepted. Otherwise (a connect after an explicit
 * bind, or an accepted connection whose listener has gone) it stays
 * unknown. */
static __always_inline __u8 adopted_direction(const struct sock *sk)
{
	struct inet_bind_bucket *tb = BPF_CORE_READ((const struct inet_connection_sock *)sk,
						    icsk_bind_hash);
	struct tcp_listen_key lk = { .netns = netns_of(sk) };

	if (tb && BPF_CORE_READ(tb, fastreuse) < 0)
		return TCP_F_ACTIVE;
	lk.port = bpf_ntohs(BPF_CORE_READ((const struct inet_sock *)sk, inet_sport));
	if (bpf_map_lookup_elem(&listeners, &lk))
		return TCP_F_PASSIVE;
	return 0;
}

/* A connection first seen after its start (begun before nodetap attached):
 * owner PID if the transition runs in the owner's context, else 0. */
static __always_inline struct tcp_conn *conn_adopt(const struct sock *sk, __u32 pid,
						   int oldstate)
{
	char comm[NT_COMM_LEN] = {};
	__u8 flags;

	if (lost_marked((__u64)sk))
		return NULL;  /* counted as lost when it began */
	flags = adopted_direction(sk);
	if (pid)
		bpf_get_current_comm(comm, sizeof(comm));
	if (oldstate != TCP_S_SYN_SENT && oldstate != TCP_S_SYN_RECV)
		flags |= TCP_F_ESTABLISHED;
	return conn_new(sk, pid, comm, flags);
}

static __always_inline void conn_close(const struct sock *sk, struct tcp_conn *c, int oldstate)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	struct tcp_remote_val *v;
	__u64 acked, rcvd, flags;
	__u32 snd_una, write_seq;

	if (c->flags & TCP_F_CLOSED)
		return;
	c->close_ns = bpf_ktime_get_ns();
	c->close_from = (__u8)oldstate;
	read_addrs(sk, c);
	acked = BPF_CORE_READ(tp, bytes_acked);
	rcvd = BPF_CORE_READ(tp, bytes_received);
	snd_una = BPF_CORE_READ(tp, snd_una);
	write_seq = BPF_CORE_READ(tp, write_seq);
	flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	/* bytes_acked counts the sequence numbers the peer acknowledged, so
	 * our SYN (when we connected and it was answered) and our FIN (once
	 * acknowledged) are in it; bytes_received counts the peer's FIN once
	 * it arrived in order (tcp_fin sets SOCK_DONE). Payload only here. */
	if ((c->flags & TCP_F_ACTIVE) && (c->flags & TCP_F_ESTABLISHED) && acked)
		acked--;
	if ((c->flags & TCP_F_FIN_SENT) && snd_una == write_seq && acked)
		acked--;
	if (flags & (1UL << SOCK_DONE)) {
		c->flags |= TCP_F_FIN_RECV;
		if (rcvd)
			rcvd--;
	}
	c->tx_bytes = acked;
	c->rx_bytes = rcvd;
	c->segs_in = BPF_CORE_READ(tp, segs_in);
	c->segs_out = BPF_CORE_READ(tp, segs_out);
	c->data_segs_in = BPF_CORE_READ(tp, data_segs_in);
	c->data_segs_out = BPF_CORE_READ(tp, data_segs_out);
	c->retrans_segs = BPF_CORE_READ(tp, total_retrans);
	c->flags |= TCP_F_CLOSED;
	__sync_fetch_and_add(&tcp_live.open, -1);
	if (c->flags & TCP_F_FIN_SENT)
		__sync_fetch_and_add(&tcp_live.closing, -1);

	v = remote_of(c->pid, c->comm, c->family, c->raddr);
	if (v) {
		__sync_fetch_and_add(&v->conns, 1);
		if (!(c->flags & TCP_F_ESTABLISHED))
			__sync_fetch_and_add(&v->failed, 1);
		__sync_fetch_and_add(&v->tx_bytes, c->tx_bytes);
		__sync_fetch_and_add(&v->rx_bytes, c->rx_bytes);
		__sync_fetch_and_add(&v->segs_in, c->segs_in);
		__sync_fetch_and_add(&v->segs_out, c->segs_out);
		__sync_fetch_and_add(&v->data_segs_in, c->data_segs_in);
		__sync_fetch_and_add(&v->data_segs_out, c->data_segs_out);
		if (c->flags & TCP_F_START_SEEN) {
			__sync_fetch_and_add(&v->timed, 1);
			__sync_fetch_and_add(&v->duration_ns, c->close_ns - c->start_ns);
		}
	}
	if (emit_at_close) {
		/* No tcp_destroy_sock: the record goes now, and the entry with
		 * it (nothing would remove it later). */
		__u64 key = (__u64)sk;

		if (emit_events)
			send_conn(c);
		bpf_map_delete_elem(&conns, &key);
	}
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(tcp_set_state, const struct sock *sk, int oldstate, int newstate)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	char comm[NT_COMM_LEN];
	struct tcp_conn *c;
	__u64 key = (__u64)sk;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;

	if (newstate == TCP_S_LISTEN) {
		/* listen(): the listener's own process. */
		struct tcp_listen_key lk = { .netns = netns_of(sk),
					 .port = BPF_CORE_READ(sk, __sk_common.skc_num) };
		struct tcp_listener l = { .sk = key, .pid = pid };

		if (!traced(pid))
			return 0;
		bpf_get_current_comm(l.comm, sizeof(l.comm));
		if (bpf_map_update_elem(&listeners, &lk, &l, BPF_ANY))
			nt_lose(NT_LOSS_AGG_FULL);
		return 0;
	}
	if (oldstate == TCP_S_LISTEN) {
		struct tcp_listen_key lk = { .netns = netns_of(sk),
					 .port = BPF_CORE_READ(sk, __sk_common.skc_num) };
		struct tcp_listener *l = bpf_map_lookup_elem(&listeners, &lk);

		if (newstate == TCP_S_SYN_RECV) {
			/* A child socket, cloned from the listener in softirq:
			 * it belongs to the listener's process. */
			if (l)
				conn_new(sk, l->pid, l->comm,
					 TCP_F_PASSIVE | TCP_F_START_SEEN);
			else if (trace_all)
				conn_new(sk, 0, NULL, TCP_F_PASSIVE | TCP_F_START_SEEN);
		} else if (l && (l->sk == key || !l->sk)) {
			/* The listener closed (sk 0: one the loader found in
			 * /proc at start, whose pointer it cannot know). */
			bpf_map_delete_elem(&listeners, &lk);
		}
		return 0;
	}
	if (newstate == TCP_S_SYN_SENT) {
		/* connect(), in the connecting process. */
		if (!traced(pid))
			return 0;
		bpf_get_current_comm(comm, sizeof(comm));
		conn_new(sk, pid, comm, TCP_F_ACTIVE | TCP_F_START_SEEN);
		return 0;
	}

	c = bpf_map_lookup_elem(&conns, &key);
	if (!c) {
		/* Begun before we attached. Closing (FIN_WAIT1, LAST_ACK)
		 * runs in the closing process; any other transition may run
		 * in softirq, on behalf of nobody we know. */
		bool own = newstate == TCP_S_FIN_WAIT1 || newstate == TCP_S_LAST_ACK;

		if (own && traced(pid))
			c = conn_adopt(sk, pid, oldstate);
		else if (trace_all)
			c = conn_adopt(sk, 0, oldstate);
		if (!c) {
			if (newstate == TCP_S_CLOSE)
				lost_unmark(key);
			return 0;
		}
	}
	switch (newstate) {
	case TCP_S_ESTABLISHED:
		c->flags |= TCP_F_ESTABLISHED;
		break;
	case TCP_S_FIN_WAIT1:
	case TCP_S_LAST_ACK:
		if (!(c->flags & TCP_F_FIN_SENT)) {
			c->flags |= TCP_F_FIN_SENT;
			__sync_fetch_and_add(&tcp_live.closing, 1);
		}
		/* The process that closes it is its user (an accepted
		 * connection may have been handed to another process). */
		if (pid && pid != c->pid && traced(pid)) {
			c->pid = pid;
			bpf_get_current_comm(c->comm, sizeof(c->comm));
		}
		break;
	case TCP_S_CLOSE:
		conn_close(sk, c, oldstate);
		break;
	default:
		break;
	}
	return 0;
}

SEC("raw_tp/tcp_destroy_sock")
int BPF_PROG(tcp_destroy, struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct tcp_conn *c = bpf_map_lookup_elem(&conns, &key);

	if (!c) {
		lost_unmark(key);  /* one that never reached CLOSE */
		return 0;
	}
	if (!(c->flags & TCP_F_CLOSED))
		conn_close(sk, c, BPF_CORE_READ(sk, __sk_common.skc_state));
	if (emit_events && !emit_at_close)
		send_conn(c);
	bpf_map_delete_elem(&conns, &key);
	return 0;
}

/* The connection of SK, adopted with --all if it began before we attached;
 * NULL if it is not traced. SK must be a full TCP socket. */
static __always_inline struct tcp_conn *conn_of(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct tcp_conn *c = bpf_map_lookup_elem(&conns, &key);
	int state;

	if (c || !trace_all)
		return c;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (state == TCP_S_LISTEN || state == TCP_S_TIME_WAIT || state == TCP_S_NEW_SYN_RECV ||
	    state == TCP_S_CLOSE)
		return NULL;
	return conn_adopt(sk, 0, state);
}

/* err != 0: the retransmit failed (nothing was sent). */
SEC("raw_tp/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit, const struct sock *sk, const struct sk_buff *skb, int err)
{
	struct tcp_remote_val *v;
	struct tcp_conn *c;

	if (err || !sk)
		return 0;
	c = conn_of(sk);
	if (!c)
		return 0;
	__sync_fetch_and_add(&c->retrans, 1);
	v = remote_of_conn(sk, c);
	if (v)
		__sync_fetch_and_add(&v->retrans, 1);
	return 0;
}

SEC("raw_tp/tcp_receive_reset")
int BPF_PROG(tcp_rst_in, struct sock *sk)
{
	struct tcp_remote_val *v;
	struct tcp_conn *c;

	if (!sk)
		return 0;
	c = conn_of(sk);
	if (!c)
		return 0;
	__sync_fetch_and_add(&c->rst_received, 1);
	v = remote_of_conn(sk, c);
	if (v)
		__sync_fetch_and_add(&v->rst_received, 1);
	return 0;
}

/* A reset sent for no connection of ours (no socket: a closed port; a
 * listener or TIME_WAIT socket): with --all, counted for the remote the
 * offending segment came from, as pid 0. */
static __always_inline void rst_sent_unattributed(const struct sk_buff *skb)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	unsigned char addr[16] = {};
	struct tcp_remote_val *v;
	__u8 ver = 0;

	if (!head)
		return;
	bpf_probe_read_kernel(&ver, 1, head + nh);
	ver >>= 4;
	if (ver == 4) {
		bpf_probe_read_kernel(addr, 4, head + nh + 12); /* saddr */
		v = remote_of(0, NULL, NT_AF_INET, addr);
	} else if (ver == 6) {
		bpf_probe_read_kernel(addr, 16, head + nh + 8); /* saddr */
		if (nt_is_v4_mapped(addr)) {
			__builtin_memcpy(addr, addr + 12, 4);
			__builtin_memset(addr + 4, 0, 12);
			v = remote_of(0, NULL, NT_AF_INET, addr);
		} else {
			v = remote_of(0, NULL, NT_AF_INET6, addr);
		}
	} else {
		return;
	}
	if (v)
		__sync_fetch_and_add(&v->rst_sent, 1);
}

SEC("raw_tp/tcp_send_reset")
int BPF_PROG(tcp_rst_out, const struct sock *sk, const struct sk_buff *skb)
{
	struct tcp_remote_val *v;
	struct tcp_conn *c = NULL;

	/* SK may be NULL (no socket), a listener or a TIME_WAIT socket; only
	 * full sockets are in the map, and conn_of adopts only those. */
	if (sk)
		c = conn_of(sk);
	if (!c) {
		if (trace_all && skb)
			rst_sent_unattributed(skb);
		return 0;
	}
	__sync_fetch_and_add(&c->rst_sent, 1);
	v = remote_of_conn(sk, c);
	if (v)
		__sync_fetch_and_add(&v->rst_sent, 1);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(tcp_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	struct file *f = BPF_CORE_READ(bprm, file);
	__u8 one = 1;

	if (!node_mode || !f)
		return 0;
	if (nt_file_is_node(f, &node_files)) {
		if (bpf_map_update_elem(&node_pids, &tgid, &one, BPF_ANY))
			nt_lose(NT_LOSS_AGG_FULL);
	} else {
		bpf_map_delete_elem(&node_pids, &tgid);
	}
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(tcp_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u8 one = 1;

	if (!node_mode || ptgid == ctgid)
		return 0;
	if (bpf_map_lookup_elem(&node_pids, &ptgid)) {
		if (bpf_map_update_elem(&node_pids, &ctgid, &one, BPF_ANY))
			nt_lose(NT_LOSS_AGG_FULL);
	} else {
		bpf_map_delete_elem(&node_pids, &ctgid);
	}
	return 0;
}
