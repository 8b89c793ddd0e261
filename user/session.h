/* session: the life of one tracing run, the same for every subcommand:
 * starting `-- COMMAND` behind a gate so that it runs only once the probes
 * are in place, polling the ring buffer, reporting every interval, stopping
 * on -d, on Ctrl-C/SIGTERM or when COMMAND ends, and the exit status. */
#ifndef NODETAP_SESSION_H
#define NODETAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <bpf/libbpf.h>
#include "options.h"

struct nt_session {
	const struct nt_opts *o;
	struct ring_buffer *rb;   /* polled when set */
	pid_t child;              /* COMMAND, or 0 */
	int gate_fd;              /* writing to it lets COMMAND exec */
	int err_fd;               /* COMMAND's exec errno arrives here */
	int child_status;         /* wait status, once it ended */
	bool child_done;
	uint64_t start_ns;        /* CLOCK_MONOTONIC, like bpf_ktime_get_ns */
	/* Called after every poll of the ring buffer (at least every 100 ms),
	 * when set: for work the loader does on its own clock. */
	void (*tick)(void *ctx);
	void *tick_ctx;
};

/* The report callback: FINAL is true for the last report of the run. In
 * interval mode every report covers the interval since the previous one. */
typedef int (*nt_report_fn)(void *ctx, bool final);

uint64_t nt_now_ns(void);

void nt_session_init(struct nt_session *s, const struct nt_opts *o);
/* Fork COMMAND, held before exec. Returns its pid, or -1 after printing why. */
pid_t nt_session_fork_command(struct nt_session *s);
/* Let COMMAND run. Returns 0, or the exit status to use (127: could not run
 * it) after printing why. */
int nt_session_release_command(struct nt_session *s);
/* Run until done; returns the process exit status. */
int nt_session_run(struct nt_session *s, nt_report_fn report, void *ctx);
/* Kill and reap COMMAND if it is still there (error paths). */
void nt_session_cleanup(struct nt_session *s);

#endif
