/* delayline.c: a packet delay line between two TUN devices, for tests that
 * need "a server N ms away". The kernels nodetap runs on here have no
 * sch_netem (CONFIG_NET_SCH_NETEM is off), so `tc qdisc ... netem delay`
 * fails; this does the same job in user space.
 *
 *   delayline [-l DIR:EVERY[:MAX]] [-s STATS_FILE]
 *             IF_A IF_B DELAY_AB_MS DELAY_BA_MS READY_FILE [MAX_SECONDS]
 *
 * Creates the layer-3 TUN devices IF_A and IF_B (no ARP, no link header),
 * writes READY_FILE once both exist, then copies every packet read from IF_A
 * to IF_B after DELAY_AB_MS and every packet from IF_B to IF_A after
 * DELAY_BA_MS, in order. The caller moves the devices into namespaces and
 * gives them addresses and routes (tests/lib/netns.sh: nt_netns_peer).
 * The devices vanish when this process exits: on SIGTERM/SIGINT, or after
 * MAX_SECONDS (default 1800) as a safety net. On exit it prints the packet
 * counts to stderr. Built by netns.sh with `cc -O2`; no dependencies.
 *
 * Loss, since netem is missing too: -l ab:EVERY[:MAX] (or ba:...) drops every
 * EVERY-th TCP segment carrying payload that goes from IF_A to IF_B (ab) or
 * back (ba), at most MAX of them (default: no limit). Only data segments, so
 * that a handshake is never lost and the loss is exactly countable.
 *
 * Ground truth for TCP tests: with -s, per direction, the TCP segments
 * delivered (all, and those with payload) and the data segments that were
 * retransmissions (their first sequence number below the highest sequence
 * number already seen in that flow), written as one JSON object to
 * STATS_FILE on exit and on SIGUSR1 (atomically: a temporary file renamed):
 *
 *   {"ab":{"packets":N,"forwarded":N,"dropped":N,"lost":N,"tcp_segments":N,
 *          "tcp_data_segments":N,"tcp_retransmits":N},"ba":{...}}
 *
 * "lost" counts the drops of -l; "dropped" the packets that could not be
 * queued or written; tcp_* count what was forwarded, except tcp_retransmits,
 * which counts every retransmission seen, forwarded or lost. IPv4 and IPv6
 * (without extension headers). */
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

#define FLOWS 256

struct pkt {
	uint64_t due_ns;
	uint16_t len;
	uint8_t is_tcp, is_data;  /* a TCP segment; one with payload */
	unsigned char data[SLOT_BYTES];
};

/* One direction of one TCP flow: the highest sequence number seen. */
struct flow {
	unsigned char key[36];    /* addresses and ports as in the packet */
	uint32_t max_end;
	int used;
};

struct dir {
	int in, out;
	uint64_t delay_ns;
	struct pkt *q;
	unsigned head, count;
	uint64_t packets, forwarded, dropped;
	/* -l */
	uint64_t loss_every, loss_max, lost, data_seen;
	/* ground truth */
	uint64_t tcp_segments, tcp_data_segments, tcp_retransmits;
	struct flow flows[FLOWS];
};

static volatile sig_atomic_t stop, dump;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		dump = 1;
	else
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

struct tcpinfo {
	int tcp;
	uint32_t seq, payload;
	unsigned char key[36];
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Is BUF a TCP segment? Its sequence number, payload length and flow key. */
static void parse_tcp(const unsigned char *buf, size_t n, struct tcpinfo *t)
{
	size_t ihl, total, doff;
	const unsigned char *th;

	memset(t, 0, sizeof(*t));
	if (n < 20)
		return;
	if (buf[0] >> 4 == 4) {
		ihl = (size_t)(buf[0] & 15) * 4;
		total = (size_t)buf[2] << 8 | buf[3];
		if (buf[9] != 6 || ihl < 20 || total > n || total < ihl + 20)
			return;
		memcpy(t->key, buf + 12, 8);          /* saddr, daddr */
	} else if (buf[0] >> 4 == 6) {
		ihl = 40;
		if (n < 60 || buf[6] != 6)
			return;
		total = 40 + ((size_t)buf[4] << 8 | buf[5]);
		if (total > n || total < 60)
			return;
		memcpy(t->key, buf + 8, 32);          /* saddr, daddr */
	} else {
		return;
	}
	th = buf + ihl;
	doff = (size_t)(th[12] >> 4) * 4;
	if (doff < 20 || ihl + doff > total)
		return;
	memcpy(t->key + 32, th, 4);                   /* ports */
	t->tcp = 1;
	t->seq = be32(th + 4);
	t->payload = (uint32_t)(total - ihl - doff);
}

/* A data segment starting below what its flow already sent is a
 * retransmission. */
static int is_retransmit(struct dir *d, const struct tcpinfo *t)
{
	uint32_t end = t->seq + t->payload;
	struct flow *f = NULL;

	for (int i = 0; i < FLOWS; i++) {
		if (d->flows[i].used && !memcmp(d->flows[i].key, t->key, sizeof(t->key))) {
			f = &d->flows[i];
			break;
		}
		if (!d->flows[i].used && !f)
			f = &d->flows[i];
	}
	if (!f)
		return 0; /* more flows than we track: not counted */
	if (!f->used) {
		f->used = 1;
		memcpy(f->key, t->key, sizeof(t->key));
		f->max_end = end;
		return 0;
	}
	int retrans = (int32_t)(t->seq - f->max_end) < 0;
	if ((int32_t)(end - f->max_end) > 0)
		f->max_end = end;
	return retrans;
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
		struct tcpinfo t;

		d->packets++;
		parse_tcp(buf, (size_t)n, &t);
		if (t.tcp && t.payload) {
			if (is_retransmit(d, &t))
				d->tcp_retransmits++;
			d->data_seen++;
			if (d->loss_every && d->data_seen % d->loss_every == 0 &&
			    (!d->loss_max || d->lost < d->loss_max)) {
				d->lost++;
				continue;
			}
		}
		if (d->count == SLOTS || n > SLOT_BYTES) {
			d->dropped++;
			continue;
		}
		struct pkt *p = &d->q[(d->head + d->count) % SLOTS];
		p->due_ns = now_ns() + d->delay_ns;
		p->len = (uint16_t)n;
		p->is_tcp = (uint8_t)t.tcp;
		p->is_data = t.tcp && t.payload;
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
		if (write(d->out, p->data, p->len) == p->len) {
			d->forwarded++;
			d->tcp_segments += p->is_tcp;
			d->tcp_data_segments += p->is_data;
		} else {
			d->dropped++;
		}
		d->head = (d->head + 1) % SLOTS;
		d->count--;
	}
	return UINT64_MAX;
}

static void write_dir(FILE *f, const char *name, const struct dir *d)
{
	fprintf(f, "\"%s\":{\"packets\":%llu,\"forwarded\":%llu,\"dropped\":%llu,\"lost\":%llu,"
		"\"tcp_segments\":%llu,\"tcp_data_segments\":%llu,\"tcp_retransmits\":%llu}", name,
		(unsigned long long)d->packets, (unsigned long long)d->forwarded,
		(unsigned long long)d->dropped, (unsigned long long)d->lost,
		(unsigned long long)d->tcp_segments, (unsigned long long)d->tcp_data_segments,
		(unsigned long long)d->tcp_retransmits);
}

static void write_stats(const char *path, const struct dir *dirs)
{
	char tmp[4200];
	FILE *f;

	if (!path)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "delayline: cannot write %s: %s\n", tmp, strerror(errno));
		return;
	}
	fputc('{', f);
	write_dir(f, "ab", &dirs[0]);
	fputc(',', f);
	write_dir(f, "ba", &dirs[1]);
	fputs("}\n", f);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		fprintf(stderr, "delayline: cannot write %s: %s\n", path, strerror(errno));
}

/* -l DIR:EVERY[:MAX] */
static void parse_loss(const char *spec, struct dir *dirs)
{
	char buf[64], *every, *max;
	struct dir *d;

	if (strlen(spec) >= sizeof(buf))
		goto bad;
	strcpy(buf, spec);
	every = strchr(buf, ':');
	if (!every)
		goto bad;
	*every++ = 0;
	max = strchr(every, ':');
	if (max)
		*max++ = 0;
	if (!strcmp(buf, "ab"))
		d = &dirs[0];
	else if (!strcmp(buf, "ba"))
		d = &dirs[1];
	else
		goto bad;
	d->loss_every = (uint64_t)parse_num(every, "-l EVERY");
	d->loss_max = max ? (uint64_t)parse_num(max, "-l MAX") : 0;
	if (!d->loss_every)
		goto bad;
	return;
bad:
	fprintf(stderr, "delayline: -l wants ab:EVERY[:MAX] or ba:EVERY[:MAX] (EVERY >= 1), got '%s'\n", spec);
	exit(2);
}

int main(int argc, char **argv)
{
	struct dir dirs[2];
	struct sigaction sa;
	uint64_t deadline;
	const char *stats = NULL;
	FILE *f;
	int opt;

	memset(dirs, 0, sizeof(dirs));
	while ((opt = getopt(argc, argv, "+l:s:")) != -1) {
		switch (opt) {
		case 'l':
			parse_loss(optarg, dirs);
			break;
		case 's':
			stats = optarg;
			break;
		default:
			return 2;
		}
	}
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 6 || argc > 7) {
		fprintf(stderr, "usage: delayline [-l DIR:EVERY[:MAX]] [-s STATS_FILE] IF_A IF_B "
			"DELAY_AB_MS DELAY_BA_MS READY_FILE [MAX_SECONDS]\n");
		return 2;
	}
	int a = tun_open(argv[1]), b = tun_open(argv[2]);
	long max_s = argc == 7 ? parse_num(argv[6], "MAX_SECONDS") : 1800;

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
	sigaction(SIGUSR1, &sa, NULL);
	/* The signals are let in only while waiting in ppoll, so that none
	 * arrives between the checks below and the wait. */
	sigset_t block, waitmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
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

		if (dump) {
			dump = 0;
			write_stats(stats, dirs);
		}
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
		if (ppoll(pfd, 2, &ts, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "delayline: poll: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 0; i < 2; i++)
			if (pfd[i].revents & POLLIN)
				drain_in(&dirs[i]);
	}
	write_stats(stats, dirs);
	fprintf(stderr, "delayline: %s->%s %llu forwarded %llu dropped %llu lost; %s->%s %llu forwarded %llu dropped %llu lost\n",
		argv[1], argv[2], (unsigned long long)dirs[0].forwarded,
		(unsigned long long)dirs[0].dropped, (unsigned long long)dirs[0].lost, argv[2], argv[1],
		(unsigned long long)dirs[1].forwarded, (unsigned long long)dirs[1].dropped,
		(unsigned long long)dirs[1].lost);
	return 0;
}
