#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "session.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

uint64_t nt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void nt_session_init(struct nt_session *s, const struct nt_opts *o)
{
	/* No SA_RESTART: a signal must cut the poll short. Installed before
	 * any setup, which can take seconds on a busy host: a SIGINT or
	 * SIGTERM then ends the run as soon as it starts, with its report.
	 * (Left alone, one that came before would be lost, or ignored for
	 * good: a shell starts background jobs with SIGINT ignored.) */
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	memset(s, 0, sizeof(*s));
	s->o = o;
	s->gate_fd = -1;
	s->err_fd = -1;
	s->start_ns = nt_now_ns();
}

pid_t nt_session_fork_command(struct nt_session *s)
{
	int gate[2], errp[2];
	pid_t pid;

	if (pipe2(gate, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		fprintf(stderr, "nodetap %s: pipe: %s\n", s->o->cmd, strerror(errno));
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "nodetap %s: fork: %s\n", s->o->cmd, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char go;
		int e;

		/* If nodetap dies, so does what it started: nothing is left
		 * running untraced behind a test or a user's back. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(gate[1]);
		close(errp[0]);
		if (read(gate[0], &go, 1) != 1)
			_exit(126); /* nodetap gave up before placing its probes */
		execvp(s->o->command[0], s->o->command);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(gate[0]);
	close(errp[1]);
	s->child = pid;
	s->gate_fd = gate[1];
	s->err_fd = errp[0];
	return pid;
}

int nt_session_release_command(struct nt_session *s)
{
	int e = 0;
	ssize_t n;

	if (write(s->gate_fd, "g", 1) != 1) {
		fprintf(stderr, "nodetap %s: cannot start %s: %s\n", s->o->cmd, s->o->command[0],
			strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	close(s->gate_fd);
	s->gate_fd = -1;
	/* EOF: exec succeeded (the pipe closed on exec). */
	do
		n = read(s->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(s->err_fd);
	s->err_fd = -1;
	if (n == (ssize_t)sizeof(e)) {
		fprintf(stderr, "nodetap %s: cannot run '%s': %s\n", s->o->cmd, s->o->command[0],
			strerror(e));
		waitpid(s->child, &s->child_status, 0);
		s->child_done = true;
		return 127;
	}
	return 0;
}

static bool reap_child(struct nt_session *s, int flags)
{
	pid_t r;

	if (!s->child || s->child_done)
		return s->child_done;
	do
		r = waitpid(s->child, &s->child_status, flags);
	while (r < 0 && errno == EINTR);
	if (r == s->child || (r < 0 && errno == ECHILD))
		s->child_done = true;
	return s->child_done;
}

static int child_exit_status(const struct nt_session *s)
{
	if (WIFEXITED(s->child_status))
		return WEXITSTATUS(s->child_status);
	if (WIFSIGNALED(s->child_status))
		return 128 + WTERMSIG(s->child_status);
	return NT_EXIT_RUNTIME;
}

/* After Ctrl-C or SIGTERM, COMMAND gets the same signal and a few seconds to
 * finish; then it is killed, so that nothing is left behind. */
static void stop_child(struct nt_session *s, int sig)
{
	uint64_t deadline = nt_now_ns() + 5000000000ULL;

	if (!s->child || s->child_done)
		return;
	kill(s->child, sig);
	while (!reap_child(s, WNOHANG) && nt_now_ns() < deadline)
		poll(NULL, 0, 20);
	if (!s->child_done) {
		kill(s->child, SIGKILL);
		reap_child(s, 0);
	}
}

void nt_session_cleanup(struct nt_session *s)
{
	if (s->gate_fd >= 0)
		close(s->gate_fd); /* the held child sees EOF and exits */
	if (s->err_fd >= 0)
		close(s->err_fd);
	s->gate_fd = s->err_fd = -1;
	if (s->child && !s->child_done) {
		kill(s->child, SIGKILL);
		reap_child(s, 0);
	}
}

int nt_session_run(struct nt_session *s, nt_report_fn report, void *ctx)
{
	const struct nt_opts *o = s->o;
	uint64_t start = nt_now_ns();
	uint64_t deadline = o->duration ? start + (uint64_t)o->duration * 1000000000ULL : 0;
	uint64_t next = o->interval ? start + (uint64_t)o->interval * 1000000000ULL : 0;
	unsigned reports = 0;
	int rc = 0;

	while (!stop_signal) {
		uint64_t now = nt_now_ns();
		int timeout = 100; /* ms; how soon COMMAND's end is noticed */

		if (deadline && now >= deadline)
			break;
		if (next && now >= next) {
			if ((rc = report(ctx, false)))
				break;
			reports++;
			if (o->count && reports >= o->count)
				break;
			next += (uint64_t)o->interval * 1000000000ULL;
			continue;
		}
		if (deadline && (deadline - now) / 1000000 < (uint64_t)timeout)
			timeout = (int)((deadline - now) / 1000000) + 1;
		if (next && (next - now) / 1000000 < (uint64_t)timeout)
			timeout = (int)((next - now) / 1000000) + 1;
		if (s->rb) {
			int n = ring_buffer__poll(s->rb, timeout);

			/* The BPF side submits most records without a wakeup
			 * (nt_ringbuf_flags), and poll only reads a ring whose
			 * epoll fired: read what waits now, so that no record
			 * waits longer than this poll's timeout. */
			if (n >= 0)
				n = ring_buffer__consume(s->rb);
			if (n < 0 && n != -EINTR) {
				fprintf(stderr, "nodetap %s: reading events: %s\n", o->cmd, strerror(-n));
				rc = NT_EXIT_RUNTIME;
				break;
			}
		} else {
			poll(NULL, 0, timeout);
		}
		if (s->tick)
			s->tick(s->tick_ctx);
		if (s->child && reap_child(s, WNOHANG))
			break;
	}
	if (stop_signal && s->child)
		stop_child(s, (int)stop_signal);
	/* What the probes sent before the end still counts. */
	if (s->rb)
		ring_buffer__consume(s->rb);
	if (!rc && !(o->count && reports >= o->count))
		rc = report(ctx, true);
	if (rc)
		return rc;
	if (s->child) {
		reap_child(s, 0);
		return child_exit_status(s);
	}
	return NT_EXIT_OK;
}
