/* nodetap connect: records shared by bpf/connect.bpf.c and user/connect.c. */
#ifndef NODETAP_CONNECT_H
#define NODETAP_CONNECT_H

#include "nodetap.h"

#define NT_AF_INET  2
#define NT_AF_INET6 10
#define NT_MAX_PORTS 16   /* -P PORT,... */

/* How a connect ended. */
enum conn_outcome {
	CONN_ESTABLISHED = 0,
	CONN_REFUSED,       /* RST in reply to the SYN: sk_err ECONNREFUSED */
	CONN_TIMED_OUT,     /* SYN retries ran out: sk_err ETIMEDOUT */
	CONN_CLOSED,        /* closed by the caller before an answer (sk_err 0),
	                       e.g. the application's own connect timeout */
	CONN_OTHER,         /* another sk_err (EHOSTUNREACH, ENETUNREACH, ...) */
	CONN_OUTCOMES,
};

/* An address as the report shows it: IPv4-mapped IPv6 becomes IPv4. */
struct nt_addr {
	unsigned short family;    /* NT_AF_INET or NT_AF_INET6 */
	unsigned short port;      /* host order */
	unsigned char addr[16];   /* IPv4 in the first 4 bytes */
};

struct connect_key {
	unsigned int pid;
	int origin_stack;         /* stack at the uv_getaddrinfo that resolved the
	                             destination (--stacks), else -1 */
	int connect_stack;        /* stack at connect() (--stacks), else -1 */
	unsigned int pad;
	struct nt_addr dst;
	unsigned int pad2;        /* to 8 bytes: keys are hashed whole, zero it */
};

struct connect_val {
	unsigned long long outcomes[CONN_OUTCOMES];
	unsigned long long total_ns;  /* of established connects */
	unsigned long long max_ns;
	unsigned long long hist[NT_HIST_SLOTS];  /* connect latency, log2 us */
	unsigned long long via_node;  /* made through node::TCPWrap::Connect */
	int last_other_err;
	char comm[NT_COMM_LEN];
	char host[NT_HOST_LEN];       /* what dns.lookup resolved to dst, or "" */
};

/* Passive opens: connections accepted by a listening socket. */
struct accept_key {
	unsigned int pid;
	unsigned int pad;
	struct nt_addr local;     /* the listening address and port */
	struct nt_addr remote;    /* port 0: clients are counted per address */
};

struct accept_val {
	unsigned long long count;
	char comm[NT_COMM_LEN];
};

struct connect_event {
	unsigned int type;        /* NT_EV_CONNECT */
	unsigned int pid;
	unsigned int tid;
	unsigned int outcome;     /* enum conn_outcome */
	int err;                  /* sk_err at the close, 0 when established */
	int origin_stack;
	int connect_stack;
	unsigned int via_node;
	unsigned long long start_ns;   /* CLOCK_MONOTONIC, at connect() */
	unsigned long long latency_ns; /* to established or closed */
	struct nt_addr src;
	struct nt_addr dst;
	char comm[NT_COMM_LEN];
	char host[NT_HOST_LEN];
	/* trace mode: start_ns of the lookup that resolved dst (its id in
	 * struct lookup_event), 0 when none */
	unsigned long long origin_lookup_ns;
	/* trace --callbacks: the uv_connect_t's data (node's ConnectWrap, the
	 * AsyncWrap whose MakeCallback runs the connect's callback), else 0 */
	unsigned long long wrap;
};

/* trace mode (nodetap trace): one dns.lookup, from uv_getaddrinfo to the
 * completion that runs its callback. */
struct lookup_event {
	unsigned int type;        /* NT_EV_LOOKUP */
	unsigned int pid;
	unsigned int tid;         /* the thread that called uv_getaddrinfo */
	unsigned int done_tid;    /* the thread that ran the completion */
	int status;               /* 0 or a libuv error (UV_EAI_*) */
	unsigned int pad;
	unsigned long long start_ns;   /* CLOCK_MONOTONIC; also the lookup's id */
	unsigned long long end_ns;
	char comm[NT_COMM_LEN];   /* of the completing thread */
	char host[NT_HOST_LEN];
	unsigned long long wrap;  /* uv_req_t.data: node's GetAddrInfoReqWrap */
};

/* trace mode: a TCP state change of a socket of a traced process (one
 * whose connect or accept nodetap saw). */
struct tcp_state_event {
	unsigned int type;        /* NT_EV_TCP_STATE */
	unsigned int pid;
	unsigned int tid;         /* the thread that made or accepted it */
	unsigned short oldstate, newstate;   /* TCP_* as in the kernel */
	unsigned long long ts_ns;
	unsigned long long sk;    /* the socket, to tell connections apart */
	struct nt_addr local, remote;
};

#endif
