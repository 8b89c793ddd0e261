/* bench/hitloop.c: a program that calls the two libuv functions nodetap dns
 * probes, N times each, and nothing else: the per-hit cost of a probe with
 * the rest of a real process taken away (bench/hit_cost.sh).
 *
 *   hitloop N        waits for SIGUSR1 (so that a tracer can attach to its
 *                    pid first), then N times: uv_getaddrinfo(loop, req, cb,
 *                    "localhost", ...) and uv__getaddrinfo_done(&req->work_req,
 *                    0), as libuv does for one dns.lookup; prints
 *                    {"calls":N,"cpu_ns":C,"wall_ns":W}
 *
 * The two functions are stand-ins with libuv's names and signatures and the
 * uv_getaddrinfo_t layout nodetap reads (include/uv_layout.h): the request
 * carries the hostname and retcode where libuv keeps them. Built with frame
 * pointers, so both start with `push %rbp` as node's do (the kernel emulates
 * that instruction; most others are single-stepped, which costs more). The
 * CPU time is the process's own (user + system): a uprobe's trap is charged
 * to the process it interrupts. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include "uv_layout.h"

/* Big enough for every offset nodetap reads, aligned like libuv's. */
struct fake_gai_req {
	unsigned char bytes[256];
} __attribute__((aligned(16)));

typedef void (*gai_cb)(void *req, int status, void *res);

volatile unsigned long sink;

/* Global, as in node (.dynsym). */
__attribute__((noinline)) int uv_getaddrinfo(void *loop, void *req, gai_cb cb, const char *node,
					     const char *service, const void *hints)
{
	char **host = (char **)((char *)req + UV_GAI_HOSTNAME_OFF);

	sink += (unsigned long)loop + (unsigned long)cb + (unsigned long)service +
		(unsigned long)hints;
	*host = (char *)node;
	*(int *)((char *)req + UV_GAI_RETCODE_OFF) = 0;
	return 0;
}

/* Local, as in node (.symtab only); `used` keeps it out of line. */
__attribute__((noinline, used)) static void uv__getaddrinfo_done(void *work, int status)
{
	sink += (unsigned long)work + (unsigned long)status;
}

static void on_cb(void *req, int status, void *res)
{
	(void)req;
	(void)status;
	(void)res;
}

static void on_usr1(int sig)
{
	(void)sig;
}

static long long ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	static struct fake_gai_req req;
	static char loop[1024];
	long long n, c0, w0;
	sigset_t set;
	int sig;

	if (argc != 2 || (n = atoll(argv[1])) <= 0) {
		fprintf(stderr, "usage: hitloop N   (waits for SIGUSR1, then makes N calls)\n");
		return 2;
	}
	/* Block SIGUSR1 and wait for it: a signal sent before the wait is kept
	 * pending, never lost. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	signal(SIGUSR1, on_usr1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("waiting\n");
	fflush(stdout);
	if (sigwait(&set, &sig)) {
		perror("hitloop: sigwait");
		return 1;
	}
	c0 = ns(CLOCK_PROCESS_CPUTIME_ID);
	w0 = ns(CLOCK_MONOTONIC);
	for (long long i = 0; i < n; i++) {
		if (uv_getaddrinfo(loop, &req, on_cb, "localhost", NULL, NULL))
			return 1;
		uv__getaddrinfo_done(req.bytes + UV_GAI_WORK_REQ_OFF, 0);
	}
	printf("{\"calls\":%lld,\"cpu_ns\":%lld,\"wall_ns\":%lld}\n", n,
	       ns(CLOCK_PROCESS_CPUTIME_ID) - c0, ns(CLOCK_MONOTONIC) - w0);
	return 0;
}
