/* nodetap monitor: options, exposed for the unit tests. */
#ifndef NODETAP_MONITOR_H
#define NODETAP_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "options.h"

#define NT_MONITOR_DEFAULT_LISTEN "127.0.0.1:9464"
#define NT_MONITOR_DEFAULT_TOP 20
#define NT_MONITOR_MAX_TOP 1000
#define NT_MONITOR_DEFAULT_GRACE 60
#define NT_MONITOR_DEFAULT_FREQ 49
#define NT_MONITOR_MAX_FREQ 1000
#define NT_MONITOR_DEFAULT_LOG_MAX (10ULL << 20)
#define NT_MONITOR_MIN_LOG_MAX 4096

/* What the monitor probes; each can be turned off (--dns off, `dns = off` in
 * the --config file) and on again by a reload. */
#define NT_MON_F_DNS     1u   /* uprobes on uv_getaddrinfo of node binaries */
#define NT_MON_F_CONNECT 2u   /* inet_sock_set_state: connects */
#define NT_MON_F_TCP     4u   /* tcp lifetimes, bytes, retransmits, resets */
#define NT_MON_F_LOOP    8u   /* the CPU-clock sampler: event-loop lag */
#define NT_MON_F_ALL     15u

/* The options a --config file and the command line both set, as bits of
 * nt_monitor_opts.set: what the command line gave overrides the file. */
enum nt_mon_key {
	NT_MK_LISTEN, NT_MK_TOP, NT_MK_GRACE, NT_MK_FREQ, NT_MK_BINARY, NT_MK_LOG,
	NT_MK_LOG_MAX, NT_MK_DNS, NT_MK_CONNECT, NT_MK_TCP, NT_MK_LOOP, NT_MK_VERBOSE,
	NT_MK_COUNT
};

struct nt_monitor_opts {
	const char *listen;               /* ADDR:PORT as given */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	uint64_t top;                     /* hosts / destinations per process */
	uint64_t grace_ns;                /* series of an exited process stay */
	uint64_t freq;                    /* loop sampler, Hz per CPU */
	uint64_t duration_s;              /* 0: until SIGTERM */
	const char *log_path;             /* --log, or NULL */
	uint64_t log_max_bytes;
	const char *binaries[NT_MAX_BINARIES];
	int nbinaries;
	unsigned features;                /* NT_MON_F_* */
	bool verbose;
	const char *config_path;          /* --config, or NULL */
	unsigned set;                     /* 1 << NT_MK_*: given on the command line */
};

/* Parse ARGV (argv[0] is "monitor"). Returns 0, -1 after --help (exit 0),
 * or NT_EXIT_USAGE after one line naming the bad argument. */
int nt_monitor_parse(int argc, char **argv, struct nt_monitor_opts *o);

#endif
