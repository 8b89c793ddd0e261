/* nodetap tcp: records shared by bpf/tcp.bpf.c and user/tcp.c. */
#ifndef NODETAP_TCP_H
#define NODETAP_TCP_H

#include "nodetap.h"

/* The record type of tcp's own ring buffer. nodetap.h's enum nt_event_type
 * holds the types shared between subcommands; this one is tcp's alone, kept
 * well apart from that enum's values. */
#define TCP_EV_CONN 100

/* TCP states, as include/net/tcp_states.h numbers them. */
#define TCP_S_ESTABLISHED 1
#define TCP_S_SYN_SENT    2
#define TCP_S_SYN_RECV    3
#define TCP_S_FIN_WAIT1   4
#define TCP_S_FIN_WAIT2   5
#define TCP_S_TIME_WAIT   6
#define TCP_S_CLOSE       7
#define TCP_S_CLOSE_WAIT  8
#define TCP_S_LAST_ACK    9
#define TCP_S_LISTEN      10
#define TCP_S_CLOSING     11
#define TCP_S_NEW_SYN_RECV 12
#define TCP_S_MAX         13

#define NT_AF_INET  2
#define NT_AF_INET6 10

/* struct tcp_conn flags */
#define TCP_F_ACTIVE      0x01  /* we connected (seen entering SYN_SENT) */
#define TCP_F_PASSIVE     0x02  /* accepted (seen entering SYN_RECV from LISTEN) */
#define TCP_F_ESTABLISHED 0x04  /* reached ESTABLISHED */
#define TCP_F_START_SEEN  0x08  /* start_ns is the connection's start */
#define TCP_F_FIN_SENT    0x10  /* our side closed: FIN_WAIT1 or LAST_ACK */
#define TCP_F_FIN_RECV    0x20  /* the peer's FIN arrived in order */
#define TCP_F_CLOSED      0x40  /* reached CLOSE: the counters are final */

/* One connection: the value of the per-socket map (keyed by the kernel's
 * struct sock pointer) and, once the socket is destroyed, the ring buffer
 * record (type TCP_EV_CONN). Addresses are IPv4 in the first 4 bytes
 * (family NT_AF_INET; IPv4-mapped IPv6 is stored as IPv4) or IPv6. */
struct tcp_conn {
	unsigned int type;            /* TCP_EV_CONN */
	unsigned int pid;             /* owner (tgid); 0: not attributed */
	unsigned long long start_ns;  /* SYN_SENT / SYN_RECV; 0 if not seen */
	unsigned long long close_ns;  /* CLOSE; CLOCK_MONOTONIC */
	unsigned long long tx_bytes;  /* payload bytes the peer acknowledged */
	unsigned long long rx_bytes;  /* payload bytes received in order */
	unsigned int segs_in, segs_out;           /* tcp_sock counters, whole life */
	unsigned int data_segs_in, data_segs_out;
	unsigned int retrans_segs;    /* tcp_sock total_retrans */
	unsigned int retrans;         /* tcp:tcp_retransmit_skb hits while traced */
	unsigned int rst_sent;        /* tcp:tcp_send_reset */
	unsigned int rst_received;    /* tcp:tcp_receive_reset */
	unsigned short family;
	unsigned short lport, rport;  /* host byte order */
	unsigned char flags;          /* TCP_F_* */
	unsigned char close_from;     /* the state it entered CLOSE from */
	unsigned char laddr[16];
	unsigned char raddr[16];
	char comm[NT_COMM_LEN];
};

/* Per (process, remote address): the summary. Connections, bytes and
 * segments are counted when a connection closes; retransmits and resets as
 * they happen. */
struct tcp_remote_key {
	unsigned int pid;             /* 0: not attributed (--all) */
	unsigned short family;
	unsigned short pad;
	unsigned char addr[16];
};

struct tcp_remote_val {
	unsigned long long conns;     /* connections closed */
	unsigned long long failed;    /* of those, never established */
	unsigned long long tx_bytes, rx_bytes;
	unsigned long long segs_in, segs_out, data_segs_in, data_segs_out;
	unsigned long long retrans;
	unsigned long long rst_sent, rst_received;
	unsigned long long timed;     /* connections whose start was seen */
	unsigned long long duration_ns; /* summed over those */
	char comm[NT_COMM_LEN];
};

/* Who listens on a port, per network namespace: accepted connections are
 * theirs. Filled by the BPF side at listen(), and by the loader from /proc
 * for listeners older than nodetap (sk 0: their pointer is unknown). */
struct tcp_listen_key {
	unsigned int netns;           /* the namespace's inode number */
	unsigned short port;
	unsigned short pad;
};

struct tcp_listener {
	unsigned long long sk;        /* the listening socket, or 0 */
	unsigned int pid;
	unsigned int pad;
	char comm[NT_COMM_LEN];
};

/* A node executable, by file identity (the loader's --binary and the node
 * binaries it found), for the exec hook. */
struct tcp_file_key {
	unsigned long long ino;
	unsigned int dev;             /* the kernel's encoding: major << 20 | minor */
	unsigned int pad;
};

/* Live counts, for the report's "still open" and the final drain. */
struct tcp_live {
	long long open;               /* tracked, not yet CLOSE */
	long long closing;            /* of those, closed by their side (FIN sent) */
};

#endif
