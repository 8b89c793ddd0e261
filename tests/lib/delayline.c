/* delayline.c: a packet delay line between two TUN devices, for tests that
 * need "a server N ms away". The kernels nodetap runs on here have no
 * sch_netem (CONFIG_NET_SCH_NETEM is off), so `tc qdisc ... netem delay`
 * fails; this does the same job in user space.
 *
 *   delayline IF_A IF_B DELAY_AB_MS DELAY_BA_MS READY_FILE [MAX_SECONDS]
 *
 * Creates the layer-3 TUN devices IF_A and IF_B (no ARP, no link header),
 * writes READY_FILE once both exist, then copies every packet read from IF_A
 * to IF_B after DELAY_AB_MS and every packet from IF_B to IF_A after
 * DELAY_BA_MS, in order. The caller moves the devices into namespaces and
 * gives them addresses and routes (tests/lib/netns.sh: nt_netns_peer).
 * The devices vanish when this process exits: on SIGTERM/SIGINT, or after
 * MAX_SECONDS (default 1800) as a safety net. On exit it prints the packet
 * counts to stderr. Built by netns.sh with `cc -O2`; no dependencies. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 2048
#define SLOT_BYTES 2048

struct pkt {
	uint64_t due_ns;
	uint16_t len;
	unsigned char data[SLOT_BYTES];
};

struct dir {
	int in, out;
	uint64_t delay_ns;
	struct pkt *q;
	unsigned head, count;
	uint64_t forwarded, dropped;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int tun_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "delayline: /dev/net/tun: %s\n", strerror(errno));
		exit(1);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (strlen(name) >= IFNAMSIZ) {
		fprintf(stderr, "delayline: interface name too long: %s\n", name);
		exit(1);
	}
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "delayline: TUNSETIFF %s: %s\n", name, strerror(errno));
		exit(1);
	}
	return fd;
}

static long parse_num(const char *s, const char *what)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 3600000) {
		fprintf(stderr, "delayline: bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

/* Reads every packet waiting on d->in into the queue. */
static void drain_in(struct dir *d)
{
	unsigned char buf[65536];

	for (;;) {
		ssize_t n = read(d->in, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				fprintf(stderr, "delayline: read: %s\n", strerror(errno));
			return;
		}
		if (n == 0)
			return;
		if (d->count == SLOTS || n > SLOT_BYTES) {
			d->dropped++;
			continue;
		}
		struct pkt *p = &d->q[(d->head + d->count) % SLOTS];
		p->due_ns = now_ns() + d->delay_ns;
		p->len = (uint16_t)n;
		memcpy(p->data, buf, (size_t)n);
		d->count++;
	}
}

/* Sends every queued packet that is due; returns ns until the next is due
 * (UINT64_MAX if none is queued). */
static uint64_t send_due(struct dir *d)
{
	while (d->count) {
		struct pkt *p = &d->q[d->head];
		uint64_t now = now_ns();

		if (p->due_ns > now)
			return p->due_ns - now;
		if (write(d->out, p->data, p->len) == p->len)
			d->forwarded++;
		else
			d->dropped++;
		d->head = (d->head + 1) % SLOTS;
		d->count--;
	}
	return UINT64_MAX;
}

int main(int argc, char **argv)
{
	struct dir dirs[2];
	struct sigaction sa;
	uint64_t deadline;
	FILE *f;

	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: delayline IF_A IF_B DELAY_AB_MS DELAY_BA_MS READY_FILE [MAX_SECONDS]\n");
		return 2;
	}
	int a = tun_open(argv[1]), b = tun_open(argv[2]);
	long max_s = argc == 7 ? parse_num(argv[6], "MAX_SECONDS") : 1800;

	memset(dirs, 0, sizeof(dirs));
	dirs[0].in = a;
	dirs[0].out = b;
	dirs[0].delay_ns = (uint64_t)parse_num(argv[3], "DELAY_AB_MS") * 1000000ull;
	dirs[1].in = b;
	dirs[1].out = a;
	dirs[1].delay_ns = (uint64_t)parse_num(argv[4], "DELAY_BA_MS") * 1000000ull;
	for (int i = 0; i < 2; i++) {
		dirs[i].q = calloc(SLOTS, sizeof(struct pkt));
		if (!dirs[i].q) {
			fprintf(stderr, "delayline: out of memory\n");
			return 1;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	deadline = now_ns() + (uint64_t)max_s * 1000000000ull;

	f = fopen(argv[5], "w");
	if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0) {
		fprintf(stderr, "delayline: cannot write %s\n", argv[5]);
		return 1;
	}

	while (!stop) {
		struct pollfd pfd[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
		uint64_t wait = UINT64_MAX, w, now = now_ns();
		struct timespec ts;

		if (now >= deadline) {
			fprintf(stderr, "delayline: %lds lifetime over, exiting\n", max_s);
			break;
		}
		for (int i = 0; i < 2; i++) {
			w = send_due(&dirs[i]);
			if (w < wait)
				wait = w;
		}
		if (wait > deadline - now)
			wait = deadline - now;
		ts.tv_sec = (time_t)(wait / 1000000000ull);
		ts.tv_nsec = (long)(wait % 1000000000ull);
		if (ppoll(pfd, 2, &ts, NULL) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "delayline: poll: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 0; i < 2; i++)
			if (pfd[i].revents & POLLIN)
				drain_in(&dirs[i]);
	}
	fprintf(stderr, "delayline: %s->%s %llu forwarded %llu dropped; %s->%s %llu forwarded %llu dropped\n",
		argv[1], argv[2], (unsigned long long)dirs[0].forwarded,
		(unsigned long long)dirs[0].dropped, argv[2], argv[1],
		(unsigned long long)dirs[1].forwarded, (unsigned long long)dirs[1].dropped);
	return 0;
}
