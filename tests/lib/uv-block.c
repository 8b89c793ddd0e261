/* uv-block: a C program on the shared libuv (Debian's libuv1: a PIE
 * library, stripped of its local symbols) that blocks its default loop COUNT
 * times for MS milliseconds, in busy_wait_in_c(), from a timer callback 300
 * ms apart. Ground truth for nodetap loop on a loop that node does not own:
 * the loader finds default_loop_struct from uv_default_loop's code and adds
 * the library's load bias.
 *
 *   uv-block COUNT MS [GO_FILE]
 * Prints its pid; with GO_FILE it waits (at most 20 s) for GO_FILE to exist
 * before the first timer. Prints {"blocks_ms":[...]} at the end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static int left, block_ms;
static double measured[64];
static int nmeasured;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

__attribute__((noinline)) void busy_wait_in_c(int ms)
{
	double end = now_ms() + ms;

	while (now_ms() < end)
		;
}

static void on_timer(uv_timer_t *t)
{
	double t0 = now_ms();

	busy_wait_in_c(block_ms);
	if (nmeasured < 64)
		measured[nmeasured++] = now_ms() - t0;
	if (--left > 0)
		uv_timer_start(t, on_timer, 300, 0);
}

int main(int argc, char **argv)
{
	uv_timer_t timer;

	if (argc < 3 || (left = atoi(argv[1])) <= 0 || (block_ms = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: uv-block COUNT MS [GO_FILE]\n");
		return 2;
	}
	/* The pid, then the default loop's address: the ground truth for
	 * where nodetap should find it. */
	printf("%d\n%#lx\n", getpid(), (unsigned long)(uintptr_t)uv_default_loop());
	fflush(stdout);
	uv_timer_init(uv_default_loop(), &timer);
	for (int i = 0; argc > 3 && i < 2000 && access(argv[3], F_OK); i++)
		usleep(10000);
	uv_timer_start(&timer, on_timer, 300, 0);
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	printf("{\"blocks_ms\":[");
	for (int i = 0; i < nmeasured; i++)
		printf("%s%.3f", i ? "," : "", measured[i]);
	printf("]}\n");
	return 0;
}
