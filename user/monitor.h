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
	bool verbose;
};

/* Parse ARGV (argv[0] is "monitor"). Returns 0, -1 after --help (exit 0),
 * or NT_EXIT_USAGE after one line naming the bad argument. */
int nt_monitor_parse(int argc, char **argv, struct nt_monitor_opts *o);

#endif
