/* uv-lookups: a C program that links the shared libuv (Debian's libuv1) and
 * resolves a name COUNT times with a callback (async, on the threadpool) and
 * COUNT times without one (sync, inline), the two ways uv_getaddrinfo can be
 * called. Ground truth for nodetap dns on a libuv.so target.
 *
 *   uv-lookups COUNT NAME [GO_FILE]
 * With GO_FILE it prints its pid and waits (at most 20 s) for GO_FILE to exist
 * before the first lookup. Prints {"async_ok":N,"sync_ok":N}. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

static int async_ok;

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	if (status == 0)
		async_ok++;
	uv_freeaddrinfo(res);
	free(req);
}

int main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM };
	int count, sync_ok = 0;

	if (argc < 3 || (count = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: uv-lookups COUNT NAME [GO_FILE]\n");
		return 2;
	}
	if (argc > 3) {
		printf("%d\n", getpid());
		fflush(stdout);
		for (int i = 0; i < 2000 && access(argv[3], F_OK); i++)
			usleep(10000);
	}
	for (int i = 0; i < count; i++) {
		uv_getaddrinfo_t *req = malloc(sizeof(*req));

		if (!req || uv_getaddrinfo(uv_default_loop(), req, on_resolved, argv[2], NULL, &hints)) {
			fprintf(stderr, "uv_getaddrinfo failed\n");
			return 1;
		}
	}
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	for (int i = 0; i < count; i++) {
		uv_getaddrinfo_t req;

		if (uv_getaddrinfo(uv_default_loop(), &req, NULL, argv[2], NULL, &hints) == 0) {
			sync_ok++;
			uv_freeaddrinfo(req.addrinfo);
		}
	}
	printf("{\"async_ok\":%d,\"sync_ok\":%d}\n", async_ok, sync_ok);
	return 0;
}
