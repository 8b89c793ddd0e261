#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "listeners.h"

#define TCP_LISTEN_STATE 0x0a

int nt_parse_proc_net_tcp(const char *line, unsigned short *port, unsigned *state,
			  unsigned long *inode)
{
	char local[64], remote[64];
	unsigned p;
	const char *colon;

	/* "  0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000
	 *  00000000     0        0 12345 1 ..." */
	if (sscanf(line, " %*u: %63s %63s %x %*s %*s %*s %*u %*u %lu", local, remote, state,
		   inode) != 4)
		return -1;
	colon = strrchr(local, ':');
	if (!colon || sscanf(colon + 1, "%x", &p) != 1 || p > 65535)
		return -1;
	*port = (unsigned short)p;
	return 0;
}

/* The socket inodes PID holds, sorted. */
static int socket_inodes(pid_t pid, unsigned long **out, size_t *n)
{
	char dir[64], link[64 + 256], target[64];
	size_t cap = 0;
	struct dirent *e;
	DIR *d;

	*out = NULL;
	*n = 0;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		unsigned long ino;
		ssize_t len;

		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = 0;
		if (sscanf(target, "socket:[%lu]", &ino) != 1)
			continue;
		if (*n == cap) {
			unsigned long *r = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof(*r));

			if (!r) {
				closedir(d);
				return -ENOMEM;
			}
			*out = r;
		}
		(*out)[(*n)++] = ino;
	}
	closedir(d);
	return 0;
}

static int holds(const unsigned long *inodes, size_t n, unsigned long ino)
{
	for (size_t i = 0; i < n; i++)
		if (inodes[i] == ino)
			return 1;
	return 0;
}

int nt_listening_ports(pid_t pid, void (*fn)(unsigned short port, void *ctx), void *ctx)
{
	static const char *const tables[] = { "tcp", "tcp6" };
	unsigned long *inodes;
	size_t ninodes;
	int count = 0, rc;

	rc = socket_inodes(pid, &inodes, &ninodes);
	if (rc)
		return rc;
	/* The process's own network namespace: /proc/PID/net. */
	for (size_t t = 0; t < 2 && ninodes; t++) {
		char path[64], line[512];
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, tables[t]);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			unsigned short port;
			unsigned state;
			unsigned long ino;

			if (nt_parse_proc_net_tcp(line, &port, &state, &ino) ||
			    state != TCP_LISTEN_STATE || !holds(inodes, ninodes, ino))
				continue;
			fn(port, ctx);
			count++;
		}
		fclose(f);
	}
	free(inodes);
	return count;
}
