/* listeners: the TCP ports a process listens on now, from /proc, for the
 * listening sockets that were opened before nodetap started (the ones opened
 * later, the BPF side sees). */
#ifndef NODETAP_LISTENERS_H
#define NODETAP_LISTENERS_H

#include <sys/types.h>

/* Calls FN(port, ctx) for each TCP port (IPv4 or IPv6) on which a socket of
 * PID listens. Returns the count, or -errno. */
int nt_listening_ports(pid_t pid, void (*fn)(unsigned short port, void *ctx), void *ctx);

/* Parse one line of /proc/net/tcp or tcp6: fills the local port, state and
 * inode. Returns 0, or -1 for the header or a malformed line. Exposed for
 * tests. */
int nt_parse_proc_net_tcp(const char *line, unsigned short *port, unsigned *state,
			  unsigned long *inode);

#endif
