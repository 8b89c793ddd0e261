/* nodetap tcp: the life of each TCP connection of node processes (or of the
 * host, with --all), like libbpf-tools' tcplife: one line per connection as
 * it ends (duration, payload bytes each way, retransmits, resets), and a
 * summary per (process, remote address) with segments received. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cmdsetup.h"
#include "common.h"
#include "escape.h"
#include "json.h"
#include "listeners.h"
#include "mapsnap.h"
#include "session.h"
#include "subcommands.h"
#include "targets.h"
#include "tcp.h"
#include "tcp.skel.h"

/* One entry of the remotes map, laid out as a mapsnap row. */
struct row {
	struct tcp_remote_key key;
	struct tcp_remote_val val;
};
_Static_assert(offsetof(struct row, val) == sizeof(struct tcp_remote_key) &&
	       sizeof(struct row) == sizeof(struct tcp_remote_key) + sizeof(struct tcp_remote_val),
	       "struct row must match mapsnap's key-then-value rows");

/* Connection records printed from the map at the end (closed, not yet
 * destroyed), by close time: the ring buffer may still bring them. */
struct printed {
	unsigned long long *close_ns;
	size_t n;
	bool active;
};

struct tcp_ctx {
	struct nt_opts o;
	bool all, no_events;
	struct tcp_bpf *skel;
	struct nt_session session;
	struct nt_snap prev;    /* interval mode: the snapshot last reported */
	uint64_t last_report_ns;
	struct printed printed;
	unsigned long long conns_printed;
};

static const char *const state_names[TCP_S_MAX] = {
	[0] = "UNKNOWN",
	[TCP_S_ESTABLISHED] = "ESTABLISHED", [TCP_S_SYN_SENT] = "SYN_SENT",
	[TCP_S_SYN_RECV] = "SYN_RECV", [TCP_S_FIN_WAIT1] = "FIN_WAIT1",
	[TCP_S_FIN_WAIT2] = "FIN_WAIT2", [TCP_S_TIME_WAIT] = "TIME_WAIT",
	[TCP_S_CLOSE] = "CLOSE", [TCP_S_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCP_S_LAST_ACK] = "LAST_ACK", [TCP_S_LISTEN] = "LISTEN",
	[TCP_S_CLOSING] = "CLOSING", [TCP_S_NEW_SYN_RECV] = "NEW_SYN_RECV",
};

static const char *state_name(unsigned s)
{
	return s < TCP_S_MAX && state_names[s] ? state_names[s] : "UNKNOWN";
}

/* How a connection ended, from what the kernel told us:
 *   refused  never established, a reset received (nothing listens there)
 *   failed   never established otherwise (timeout, unreachable, cancelled)
 *   reset    established, then reset by the peer
 *   aborted  established, then reset by this side (close with unread data,
 *            zero linger, socket.resetAndDestroy())
 *   closed   the FIN handshake
 *   timeout  established, closed with neither FIN nor reset (retransmission
 *            or keepalive timeout) */
static const char *end_name(const struct tcp_conn *c)
{
	if (!(c->flags & TCP_F_ESTABLISHED))
		return c->rst_received ? "refused" : "failed";
	if (c->rst_received)
		return "reset";
	if (c->rst_sent)
		return "aborted";
	switch (c->close_from) {
	case TCP_S_FIN_WAIT1:
	case TCP_S_FIN_WAIT2:
	case TCP_S_CLOSING:
	case TCP_S_LAST_ACK:
	case TCP_S_TIME_WAIT:
		return "closed";
	default:
		return (c->flags & (TCP_F_FIN_SENT | TCP_F_FIN_RECV)) ? "closed" : "timeout";
	}
}

static const char *dir_name(unsigned flags)
{
	if (flags & TCP_F_ACTIVE)
		return "out";
	if (flags & TCP_F_PASSIVE)
		return "in";
	return "?";
}

static void fmt_addr(unsigned family, const unsigned char *a, char *out, size_t len)
{
	if (!inet_ntop(family == NT_AF_INET6 ? AF_INET6 : AF_INET, a, out, (socklen_t)len))
		snprintf(out, len, "?");
}

static void fmt_endpoint(unsigned family, const unsigned char *a, unsigned port, char *out,
			 size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	fmt_addr(family, a, addr, sizeof(addr));
	snprintf(out, len, family == NT_AF_INET6 ? "[%s]:%u" : "%s:%u", addr, port);
}

/* ---- connections -------------------------------------------------------- */

static void print_conn(struct tcp_ctx *c, const struct tcp_conn *e)
{
	char laddr[INET6_ADDRSTRLEN], raddr[INET6_ADDRSTRLEN];
	char comm[NT_COMM_LEN * 4 + 1];
	bool timed = e->flags & TCP_F_START_SEEN;

	c->conns_printed++;
	if (c->o.json) {
		struct nt_json j;

		fmt_addr(e->family, e->laddr, laddr, sizeof(laddr));
		fmt_addr(e->family, e->raddr, raddr, sizeof(raddr));
		nt_json_begin(&j, stdout, "tcp_conn");
		nt_json_u64(&j, "time_ns", e->close_ns);
		if (timed) {
			nt_json_u64(&j, "start_ns", e->start_ns);
			nt_json_u64(&j, "duration_ns", e->close_ns - e->start_ns);
		}
		nt_json_u64(&j, "pid", e->pid);
		nt_json_strn(&j, "comm", e->comm, NT_COMM_LEN);
		nt_json_u64(&j, "family", e->family == NT_AF_INET6 ? 6 : 4);
		nt_json_str(&j, "direction", dir_name(e->flags));
		nt_json_str(&j, "local_addr", laddr);
		nt_json_u64(&j, "local_port", e->lport);
		nt_json_str(&j, "remote_addr", raddr);
		nt_json_u64(&j, "remote_port", e->rport);
		nt_json_u64(&j, "tx_bytes", e->tx_bytes);
		nt_json_u64(&j, "rx_bytes", e->rx_bytes);
		nt_json_u64(&j, "segs_in", e->segs_in);
		nt_json_u64(&j, "segs_out", e->segs_out);
		nt_json_u64(&j, "data_segs_in", e->data_segs_in);
		nt_json_u64(&j, "data_segs_out", e->data_segs_out);
		nt_json_u64(&j, "retrans", e->retrans);
		nt_json_u64(&j, "retrans_segs", e->retrans_segs);
		nt_json_u64(&j, "rst_sent", e->rst_sent);
		nt_json_u64(&j, "rst_received", e->rst_received);
		nt_json_bool(&j, "established", e->flags & TCP_F_ESTABLISHED);
		nt_json_bool(&j, "start_seen", timed);
		nt_json_str(&j, "end", end_name(e));
		nt_json_str(&j, "close_from", state_name(e->close_from));
		nt_json_end(&j);
		return;
	}
	fmt_endpoint(e->family, e->laddr, e->lport, laddr, sizeof(laddr));
	fmt_endpoint(e->family, e->raddr, e->rport, raddr, sizeof(raddr));
	nt_escape(e->comm, NT_COMM_LEN, comm, sizeof(comm));
	printf("%-10.6f ", (double)(e->close_ns - c->session.start_ns) / 1e9);
	if (e->pid)
		printf("%-7u %-15s ", e->pid, comm);
	else
		printf("%-7s %-15s ", "-", "-");
	printf("%-3s %-21s %-21s %10llu %10llu ", dir_name(e->flags), laddr, raddr,
	       (unsigned long long)e->tx_bytes, (unsigned long long)e->rx_bytes);
	if (timed)
		printf("%9.2f", (double)(e->close_ns - e->start_ns) / 1e6);
	else
		printf("%9s", "-");
	printf(" %7u %6u %6u %s\n", e->retrans, e->rst_sent, e->rst_received, end_name(e));
}

static bool was_printed(const struct printed *p, unsigned long long close_ns)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->close_ns[i] == close_ns)
			return true;
	return false;
}

static int on_event(void *arg, void *data, size_t len)
{
	struct tcp_ctx *c = arg;
	struct tcp_conn e;
	unsigned int type;

	if (len < sizeof(type))
		return 0;
	memcpy(&type, data, sizeof(type));
	if (type != TCP_EV_CONN || len < sizeof(e))
		return 0;
	memcpy(&e, data, sizeof(e));
	if (c->printed.active && was_printed(&c->printed, e.close_ns))
		return 0;
	print_conn(c, &e);
	if (!c->o.json)
		fflush(stdout);
	return 0;
}

static void print_events_header(void)
{
	printf("%-10s %-7s %-15s %-3s %-21s %-21s %10s %10s %9s %7s %6s %6s %s\n", "TIME(s)", "PID",
	       "COMM", "DIR", "LOCAL", "REMOTE", "TX_BYTES", "RX_BYTES", "MS", "RETRANS", "RST_TX",
	       "RST_RX", "END");
}

/* At the end: connections that closed but whose socket the process still
 * holds (their record comes at destroy) are printed from the map. */
static void flush_closed(struct tcp_ctx *c)
{
	int fd = bpf_map__fd(c->skel->maps.conns);
	unsigned long long key, next, *prevk = NULL;
	struct tcp_conn e;

	while (!bpf_map_get_next_key(fd, prevk, &next)) {
		key = next;
		prevk = &key;
		if (bpf_map_lookup_elem(fd, &key, &e) || !(e.flags & TCP_F_CLOSED))
			continue;
		unsigned long long *n = realloc(c->printed.close_ns,
						(c->printed.n + 1) * sizeof(*n));
		if (!n)
			break;
		c->printed.close_ns = n;
		n[c->printed.n++] = e.close_ns;
		print_conn(c, &e);
	}
	c->printed.active = true;
}

/* ---- summary ------------------------------------------------------------ */

static void val_sub(void *dv, const void *sv)
{
	struct tcp_remote_val *d = dv;
	const struct tcp_remote_val *s = sv;

	d->conns -= s->conns;
	d->failed -= s->failed;
	d->tx_bytes -= s->tx_bytes;
	d->rx_bytes -= s->rx_bytes;
	d->segs_in -= s->segs_in;
	d->segs_out -= s->segs_out;
	d->data_segs_in -= s->data_segs_in;
	d->data_segs_out -= s->data_segs_out;
	d->retrans -= s->retrans;
	d->rst_sent -= s->rst_sent;
	d->rst_received -= s->rst_received;
	d->timed -= s->timed;
	d->duration_ns -= s->duration_ns;
}

static bool row_empty(const struct tcp_remote_val *v)
{
	return !v->conns && !v->retrans && !v->rst_sent && !v->rst_received;
}

/* Most connections first, then most bytes, then by process and address. */
static int row_cmp(const void *pa, const void *pb)
{
	const struct row *a = pa, *b = pb;
	unsigned long long ba = a->val.tx_bytes + a->val.rx_bytes;
	unsigned long long bb = b->val.tx_bytes + b->val.rx_bytes;

	if (a->val.conns != b->val.conns)
		return a->val.conns < b->val.conns ? 1 : -1;
	if (ba != bb)
		return ba < bb ? 1 : -1;
	if (a->key.pid != b->key.pid)
		return a->key.pid < b->key.pid ? -1 : 1;
	return memcmp(&a->key, &b->key, sizeof(a->key));
}

static void summary_text(struct tcp_ctx *c, struct row *rows, int n, long long open)
{
	unsigned long long conns = 0, failed = 0;
	int shown = 0, width = 15;
	char addr[INET6_ADDRSTRLEN];

	for (int i = 0; i < n; i++) {
		if (row_empty(&rows[i].val))
			continue;
		conns += rows[i].val.conns;
		failed += rows[i].val.failed;
		shown++;
		fmt_addr(rows[i].key.family, rows[i].key.addr, addr, sizeof(addr));
		if ((int)strlen(addr) > width)
			width = (int)strlen(addr);
	}
	printf("\nTCP connections closed over %.1f s: %llu (%llu failed), %d process/remote pair%s; "
	       "%lld still open\n", (double)(nt_now_ns() - c->last_report_ns) / 1e9, conns, failed,
	       shown, shown == 1 ? "" : "s", open > 0 ? open : 0);
	if (!shown)
		return;
	printf("%-7s %-15s %-*s %6s %6s %11s %11s %8s %7s %6s %6s %9s\n", "PID", "COMM", width,
	       "REMOTE", "CONNS", "FAILED", "TX_BYTES", "RX_BYTES", "SEGS_IN", "RETRANS", "RST_TX",
	       "RST_RX", "AVG ms");
	for (int i = 0; i < n; i++) {
		const struct tcp_remote_val *v = &rows[i].val;
		char comm[NT_COMM_LEN * 4 + 1];

		if (row_empty(v))
			continue;
		fmt_addr(rows[i].key.family, rows[i].key.addr, addr, sizeof(addr));
		nt_escape(v->comm, NT_COMM_LEN, comm, sizeof(comm));
		if (rows[i].key.pid)
			printf("%-7u %-15s ", rows[i].key.pid, comm);
		else
			printf("%-7s %-15s ", "-", "-");
		printf("%-*s %6llu %6llu %11llu %11llu %8llu %7llu %6llu %6llu ", width, addr,
		       v->conns, v->failed, v->tx_bytes, v->rx_bytes, v->segs_in, v->retrans,
		       v->rst_sent, v->rst_received);
		if (v->timed)
			printf("%9.2f\n", (double)v->duration_ns / (double)v->timed / 1e6);
		else
			printf("%9s\n", "-");
	}
}

static void summary_json(struct tcp_ctx *c, struct row *rows, int n)
{
	uint64_t now = nt_now_ns();
	char addr[INET6_ADDRSTRLEN];

	for (int i = 0; i < n; i++) {
		const struct tcp_remote_val *v = &rows[i].val;
		struct nt_json j;

		if (row_empty(v))
			continue;
		fmt_addr(rows[i].key.family, rows[i].key.addr, addr, sizeof(addr));
		nt_json_begin(&j, stdout, "tcp_summary");
		nt_json_u64(&j, "time_ns", now);
		nt_json_u64(&j, "interval_ns", now - c->last_report_ns);
		nt_json_u64(&j, "pid", rows[i].key.pid);
		nt_json_strn(&j, "comm", v->comm, NT_COMM_LEN);
		nt_json_u64(&j, "family", rows[i].key.family == NT_AF_INET6 ? 6 : 4);
		nt_json_str(&j, "remote_addr", addr);
		nt_json_u64(&j, "conns", v->conns);
		nt_json_u64(&j, "failed", v->failed);
		nt_json_u64(&j, "tx_bytes", v->tx_bytes);
		nt_json_u64(&j, "rx_bytes", v->rx_bytes);
		nt_json_u64(&j, "segs_in", v->segs_in);
		nt_json_u64(&j, "segs_out", v->segs_out);
		nt_json_u64(&j, "data_segs_in", v->data_segs_in);
		nt_json_u64(&j, "data_segs_out", v->data_segs_out);
		nt_json_u64(&j, "retrans", v->retrans);
		nt_json_u64(&j, "rst_sent", v->rst_sent);
		nt_json_u64(&j, "rst_received", v->rst_received);
		nt_json_u64(&j, "timed", v->timed);
		nt_json_u64(&j, "duration_total_ns", v->duration_ns);
		if (v->timed)
			nt_json_u64(&j, "avg_duration_ns", v->duration_ns / v->timed);
		nt_json_end(&j);
	}
}

/* After COMMAND ended, its last connections may still be in their closing
 * handshake (FIN sent, waiting for the peer): give them up to a second, so
 * that they are in the final report. */
static void drain_closing(struct tcp_ctx *c)
{
	uint64_t deadline = nt_now_ns() + 1000000000ULL;

	while (__atomic_load_n(&c->skel->bss->tcp_live.closing, __ATOMIC_RELAXED) > 0 &&
	       nt_now_ns() < deadline)
		ring_buffer__poll(c->session.rb, 20);
	ring_buffer__consume(c->session.rb);
}

static int report(void *arg, bool final)
{
	struct tcp_ctx *c = arg;
	bool interval = c->o.interval > 0;
	long long open;
	struct nt_snap snap;
	struct row *rows;
	int n, rc;

	if (final) {
		if (c->o.command)
			drain_closing(c);
		if (c->o.events) {
			ring_buffer__consume(c->session.rb);
			flush_closed(c);
			ring_buffer__consume(c->session.rb);
		}
	}
	open = __atomic_load_n(&c->skel->bss->tcp_live.open, __ATOMIC_RELAXED);
	if ((rc = nt_read_counters(&c->o, c->skel->maps.remotes, sizeof(struct tcp_remote_key),
				   sizeof(struct tcp_remote_val), &snap, &c->prev, val_sub)))
		return rc;
	rows = (struct row *)snap.rows;
	n = (int)snap.n;
	qsort(rows, (size_t)n, sizeof(*rows), row_cmp);
	if (c->o.json)
		summary_json(c, rows, n);
	else
		summary_text(c, rows, n, open);
	if (!c->o.json || final || interval)
		nt_report_losses(&c->o, c->skel->bss->nt_losses, NULL);
	if (c->o.json) {
		struct nt_json j;
		uint64_t total = 0;

		for (int i = 0; i < n; i++)
			total += rows[i].val.conns;
		nt_json_begin(&j, stdout, "report");
		nt_json_u64(&j, "time_ns", nt_now_ns());
		nt_json_u64(&j, "interval_ns", nt_now_ns() - c->last_report_ns);
		nt_json_bool(&j, "final", final);
		nt_json_u64(&j, "connections", total);
		nt_json_u64(&j, "open", open > 0 ? (uint64_t)open : 0);
		nt_json_end(&j);
	}
	fflush(stdout);
	c->last_report_ns = nt_now_ns();
	nt_snap_free(&snap);
	return 0;
}

/* ---- which processes ------------------------------------------------------ */

/* The kernel's dev_t encoding (MKDEV: major << 20 | minor), as s_dev holds it. */
static uint32_t kernel_dev(dev_t d)
{
	return (uint32_t)(major(d) << 20 | minor(d));
}

static bool is_node_file(const struct nt_targets *t, const struct stat *st)
{
	for (int i = 0; i < t->n; i++)
		if (t->t[i].dev == st->st_dev && t->t[i].ino == st->st_ino)
			return true;
	return false;
}

/* The node processes running now: their executable is one of the node
 * files nodetap found, or is named like node. Returns how many. */
static int add_running_node_pids(struct tcp_ctx *c, const struct nt_targets *t)
{
	int fd = bpf_map__fd(c->skel->maps.node_pids), n = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;
	__u8 one = 1;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char link[64], target[PATH_MAX];
		pid_t pid = (pid_t)atoi(e->d_name);
		struct stat st;
		ssize_t len;
		char *del;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue; /* kernel thread, or gone */
		target[len] = 0;
		if ((del = strstr(target, " (deleted)")) && del[10] == 0)
			*del = 0;
		if (!nt_looks_like_node(target) && (stat(link, &st) || !is_node_file(t, &st)))
			continue;
		__u32 k = (__u32)pid;
		if (!bpf_map_update_elem(fd, &k, &one, BPF_ANY))
			n++;
		if (c->o.verbose) {
			/* A path the process chose: escaped. */
			fprintf(stderr, "nodetap tcp: tracing node process %d (", pid);
			nt_fputs_escaped(stderr, target, sizeof(target));
			fputs(")\n", stderr);
		}
	}
	closedir(d);
	return n;
}

static int fill_node_files(struct tcp_ctx *c, const struct nt_targets *t)
{
	int fd = bpf_map__fd(c->skel->maps.node_files);
	__u8 one = 1;

	for (int i = 0; i < t->n; i++) {
		struct tcp_file_key k = { .ino = t->t[i].ino, .dev = kernel_dev(t->t[i].dev) };

		if (bpf_map_update_elem(fd, &k, &one, BPF_ANY)) {
			int e = errno;

			fputs("nodetap tcp: noting node binary ", stderr);
			nt_fputs_escaped(stderr, t->t[i].path, PATH_MAX);
			fprintf(stderr, ": %s\n", strerror(e));
			return NT_EXIT_RUNTIME;
		}
		if (c->o.verbose) {
			fputs("nodetap tcp: a process that runs ", stderr);
			nt_fputs_escaped(stderr, t->t[i].path, PATH_MAX);
			fputs(" counts as node\n", stderr);
		}
	}
	return 0;
}

/* Listening sockets opened before nodetap started: the BPF side saw no
 * listen() for them, so their accepted connections would belong to nobody. */
struct listen_scan {
	int fd;
	struct tcp_listen_key k;
	struct tcp_listener l;
	int added;
};

static void add_listener(unsigned short port, void *arg)
{
	struct listen_scan *ls = arg;

	ls->k.port = port;
	/* NOEXIST: a listen() the BPF side saw in the meantime wins. */
	if (!bpf_map_update_elem(ls->fd, &ls->k, &ls->l, BPF_NOEXIST))
		ls->added++;
}

static void read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	memset(comm, 0, len);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, (int)len, f))
		comm[strcspn(comm, "\n")] = 0;
	fclose(f);
}

static int add_listeners_of(struct tcp_ctx *c, pid_t pid)
{
	struct listen_scan ls = { .fd = bpf_map__fd(c->skel->maps.listeners) };
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	if (stat(path, &st))
		return 0; /* gone, or a kernel thread */
	ls.k.netns = (uint32_t)st.st_ino;
	ls.l.pid = (uint32_t)pid;
	read_comm(pid, ls.l.comm, sizeof(ls.l.comm));
	nt_listening_ports(pid, add_listener, &ls);
	if (ls.added && c->o.verbose)
		fprintf(stderr, "nodetap tcp: pid %d listens on %d port%s since before nodetap "
			"started\n", pid, ls.added, ls.added == 1 ? "" : "s");
	return ls.added;
}

/* The listeners of the traced processes that run now: the node processes
 * (from the map, which the exec and fork hooks keep), -p's, or every
 * process with --all. */
static void add_running_listeners(struct tcp_ctx *c)
{
	if (c->o.npids) {
		for (int i = 0; i < c->o.npids; i++)
			add_listeners_of(c, c->o.pids[i]);
	} else if (c->all) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		while (d && (e = readdir(d))) {
			pid_t pid = (pid_t)atoi(e->d_name);

			if (pid > 0 && pid != getpid())
				add_listeners_of(c, pid);
		}
		if (d)
			closedir(d);
	} else if (!c->o.command) {
		int fd = bpf_map__fd(c->skel->maps.node_pids);
		__u32 key, next, *prevk = NULL;

		while (!bpf_map_get_next_key(fd, prevk, &next)) {
			key = next;
			prevk = &key;
			add_listeners_of(c, (pid_t)key);
		}
	}
}

/* ---- attaching -------------------------------------------------------------- */

struct hook {
	const char *tp;              /* raw tracepoint */
	struct bpf_program *prog;
	bool required;
	const char *without;         /* what is missing if it cannot attach */
};

struct links {
	struct bpf_link *l[8];
	int n;
};

static void say_hook(const struct tcp_ctx *c, const struct hook *h, int err)
{
	if (c->o.json) {
		struct nt_json j;

		nt_json_begin(&j, stdout, "probe");
		nt_json_str(&j, "function", h->tp);
		nt_json_str(&j, "file", "kernel");
		nt_json_i64(&j, "pid", -1);
		nt_json_bool(&j, "placed", err == 0);
		if (err) {
			char reason[160];

			snprintf(reason, sizeof(reason), "raw tracepoint: %s", strerror(err));
			nt_json_str(&j, "reason", reason);
		}
		nt_json_end(&j);
	}
	if (err)
		fprintf(stderr, "nodetap tcp: cannot attach raw tracepoint %s: %s; %s\n", h->tp,
			strerror(err), h->without);
	else if (c->o.verbose && !c->o.json)
		fprintf(stderr, "nodetap tcp: attached raw tracepoint %s\n", h->tp);
}

/* Attach HOOKS; returns 0, or NT_EXIT_RUNTIME if a required one failed. */
static int attach(struct tcp_ctx *c, const struct hook *hooks, int n, struct links *ls,
		  bool *ok)
{
	int rc = 0;

	for (int i = 0; i < n; i++) {
		struct bpf_link *l = bpf_program__attach(hooks[i].prog);
		int err = l ? 0 : (errno ? errno : EINVAL);

		ok[i] = l != NULL;
		if (l && ls->n < (int)(sizeof(ls->l) / sizeof(ls->l[0])))
			ls->l[ls->n++] = l;
		say_hook(c, &hooks[i], err);
		if (err && hooks[i].required)
			rc = NT_EXIT_RUNTIME;
	}
	return rc;
}

/* ---- command line ------------------------------------------------------------ */

#define OPT_ALL 3000
#define OPT_NO_EVENTS 3001

static int handle_opt(int key, const char *arg, void *ctx)
{
	struct tcp_ctx *c = ctx;

	(void)arg;
	if (key == OPT_ALL)
		c->all = true;
	else if (key == OPT_NO_EVENTS)
		c->no_events = true;
	else
		return NT_EXIT_USAGE;
	return 0;
}

static const struct option tcp_opts[] = {
	{ "all", no_argument, NULL, OPT_ALL },
	{ "no-events", no_argument, NULL, OPT_NO_EVENTS },
	{ NULL, 0, NULL, 0 },
};

static const char tcp_help[] =
"The life of each TCP connection of node processes, like tcplife: when it ends,\n"
"who owned it, both ends, payload bytes sent (acknowledged by the peer) and\n"
"received, how long it lived, retransmits, resets sent and received, and how it\n"
"ended. Then a summary per (process, remote address), with segments received.\n"
"Kernel raw tracepoints only, no uprobes: a few hits per connection, nothing per\n"
"packet, read or write.\n"
"\n"
"Which processes: without -p or COMMAND, every node process (its executable is\n"
"named like node, or is a node binary nodetap found or --binary named), running\n"
"now or started later; --all for every process on the host.\n"
"\n"
"Examples:\n"
"  nodetap tcp                        node processes: a line per connection as it\n"
"                                     ends, a summary per remote at Ctrl-C\n"
"  nodetap tcp --all --no-events 10   every process, a summary every 10 seconds\n"
"  nodetap tcp -p 1234 --json         pid 1234, JSON lines\n"
"  nodetap tcp -- node app.js         run app.js, trace it and its children\n"
"\n"
"Reading the report: TX_BYTES and RX_BYTES are payload bytes (no SYN, FIN or\n"
"headers): sent and acknowledged by the peer, and received in order. MS is the\n"
"time from connect() (or the SYN's arrival) to the close. RETRANS counts\n"
"retransmitted segments (tcp_retransmit_skb), RST_TX and RST_RX resets sent and\n"
"received. END is how it ended: closed (FIN handshake), reset (by the peer),\n"
"aborted (reset by this side), refused, failed (never established: timeout or\n"
"unreachable), timeout (established, then dropped). DIR: out (connect), in\n"
"(accepted), ? (begun before nodetap started, direction unknown: TX_BYTES may\n"
"count the SYN as one byte); MS is - for those begun before nodetap started.\n"
"SEGS_IN in the summary counts every segment received,\n"
"pure ACKs included. Connections count when they close; retransmits and resets\n"
"when they happen.\n"
"\n"
"Options of tcp:\n"
"      --all                every process on the host, not only node\n"
"      --no-events          only the summary: no line per connection (a line per\n"
"                           connection as it ends, -e, is the default)\n";

int cmd_tcp(int argc, char **argv)
{
	struct tcp_ctx c = { 0 };
	struct nt_cmd_spec spec = {
		.name = "tcp",
		.summary = "The life of each TCP connection of node processes: bytes, duration, "
			   "retransmits, resets.",
		.help = tcp_help,
		.has_events = true,
		.has_stacks = false,
		.extra = tcp_opts,
		.extra_short = "",
		.handle = handle_opt,
		.ctx = &c,
	};
	struct nt_targets targets = { 0 };
	struct bpf_link *fork_link = NULL;
	struct links links = { 0 };
	bool node_mode;
	int rc;

	rc = nt_parse_options(argc, argv, &spec, &c.o);
	if (rc)
		return rc < 0 ? NT_EXIT_OK : rc;
	if (c.no_events && c.o.events)
		return nt_usage_error("tcp", "--events and --no-events exclude each other");
	if (c.all && c.o.npids)
		return nt_usage_error("tcp", "--all and -p exclude each other: every process, or these");
	if (c.all && c.o.command)
		return nt_usage_error("tcp", "--all and '-- COMMAND' exclude each other: every process, "
				      "or COMMAND's");
	if (c.o.nbinaries && (c.all || c.o.npids || c.o.command))
		return nt_usage_error("tcp", "--binary names node binaries for the default mode (node "
				      "processes); it does not combine with -p, --all or COMMAND");
	c.o.events = !c.no_events;
	node_mode = !c.all && !c.o.npids && !c.o.command;

	if ((rc = nt_bpf_setup(&c.o)))
		return rc;
	/* -p: the processes must exist. Default: the node binaries nodetap
	 * can find (running ones, node on PATH, --binary). */
	if ((c.o.npids || node_mode) && (rc = nt_targets_find(&c.o, &targets)))
		return rc;
	nt_session_init(&c.session, &c.o);
	c.last_report_ns = nt_now_ns();
	c.skel = tcp_bpf__open();
	if (!c.skel) {
		fprintf(stderr, "nodetap tcp: opening the BPF object: %s\n", strerror(errno));
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	c.skel->rodata->filter_pids = c.o.npids > 0 || c.o.command;
	c.skel->rodata->follow_children = c.o.command != NULL;
	c.skel->rodata->trace_all = c.all;
	c.skel->rodata->node_mode = node_mode;
	c.skel->rodata->emit_events = c.o.events;
	if ((rc = nt_test_map_sizes(&c.o, c.skel->obj)) ||
	    (rc = nt_load_skeleton(&c.o, c.skel->skeleton)))
		goto out;

	if (node_mode) {
		/* Follow execs and forks first, then list what runs: a node
		 * started in between is seen by one or the other. */
		const struct hook proc_hooks[] = {
			{ "sched_process_exec", c.skel->progs.tcp_exec, false,
			  "node processes started from now on are not traced" },
			{ "sched_process_fork", c.skel->progs.tcp_fork, false,
			  "node processes started from now on are not traced" },
		};
		bool ok[2];

		if ((rc = fill_node_files(&c, &targets)))
			goto out;
		attach(&c, proc_hooks, 2, &links, ok);
		int n = add_running_node_pids(&c, &targets);
		if (c.o.verbose)
			fprintf(stderr, "nodetap tcp: %d node process%s running now\n", n,
				n == 1 ? "" : "es");
	}
	if ((rc = nt_setup_filter(&c.session, &c.o, c.skel->maps.traced_pids,
				  c.skel->progs.nt_fork, &fork_link)))
		goto out;

	/* The end of a connection first: without it, records go out at
	 * CLOSE, and that must be decided before any connection is seen. */
	const struct hook end_hook[] = {
		{ "tcp_destroy_sock", c.skel->progs.tcp_destroy, false,
		  "connections are reported at CLOSE, without resets sent after it" },
	};
	const struct hook hooks[] = {
		{ "inet_sock_set_state", c.skel->progs.tcp_set_state, true,
		  "no connection can be seen" },
		{ "tcp_retransmit_skb", c.skel->progs.tcp_retransmit, false,
		  "RETRANS is not counted" },
		{ "tcp_send_reset", c.skel->progs.tcp_rst_out, false, "RST_TX is not counted" },
		{ "tcp_receive_reset", c.skel->progs.tcp_rst_in, false, "RST_RX is not counted" },
	};
	bool end_ok, ok[4];

	attach(&c, end_hook, 1, &links, &end_ok);
	c.skel->bss->emit_at_close = !end_ok;
	if ((rc = attach(&c, hooks, 4, &links, ok))) {
		fprintf(stderr, "nodetap tcp: cannot trace TCP connections (see above)\n");
		goto out;
	}
	/* Now that every listen() is seen, those made before. */
	add_running_listeners(&c);

	if ((rc = nt_session_open_events(&c.session, c.skel->maps.events, on_event, &c)))
		goto out;
	if (!c.o.json)
		fprintf(stderr, "nodetap tcp: tracing TCP connections of %s; %s\n",
			c.o.command ? "COMMAND and its children" :
			c.o.npids ? "the given processes" :
			c.all ? "every process" : "every node process",
			c.o.duration ? "until -d ends" : c.o.command ? "until it exits" :
			"Ctrl-C to stop");
	if (c.o.events && !c.o.json)
		print_events_header();
	fflush(stdout);
	if (c.o.command && (rc = nt_session_release_command(&c.session)))
		goto out;
	rc = nt_session_run(&c.session, report, &c);
out:
	nt_session_cleanup(&c.session);
	ring_buffer__free(c.session.rb);
	for (int i = 0; i < links.n; i++)
		bpf_link__destroy(links.l[i]);
	bpf_link__destroy(fork_link);
	tcp_bpf__destroy(c.skel);
	nt_targets_free(&targets);
	nt_snap_free(&c.prev);
	free(c.printed.close_ns);
	return rc;
}
