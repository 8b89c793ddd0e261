/* nodetap monitor: the always-on agent. One process runs the cheap probes
 * for every node process on the host, including those that start later,
 * and serves what they count as Prometheus metrics (docs/monitor.md):
 *
 *   dns      uprobes on uv_getaddrinfo (entry, return) and libuv's completion,
 *            placed once per distinct node binary (dns.bpf.c);
 *   connect  the raw tracepoint sock:inet_sock_set_state, filtered in the
 *            kernel to the node processes the monitor knows (connect.bpf.c);
 *   loop     the CPU-clock sampler of `nodetap loop` reading each process's
 *            main libuv loop clock (loop.bpf.c); its exec tracepoint is also
 *            how new node processes are found at once.
 *
 * Nothing probes MakeCallback or any per-request path. The BPF side keeps
 * cumulative counters; the monitor bounds label cardinality (the first
 * --top hosts and destinations of a process get their own labels, the rest
 * are folded into "other", out of the kernel's maps), and keeps a process's
 * series for --grace seconds after it exits. A lock serializes the main
 * thread (discovery, folding) and the HTTP thread (rendering, in
 * monitor_metrics.c). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cmdsetup.h"
#include "common.h"
#include "escape.h"
#include "httpserve.h"
#include "json.h"
#include "monconf.h"
#include "monitor_int.h"
#include "session.h"
#include "subcommands.h"
#include "targets.h"
#include "uvlocate.h"

#define TICK_NS 1000000000ULL            /* exits, loops, folding */
#define FULL_SCAN_NS (30ULL * 1000000000ULL)  /* safety net for missed execs */
#define LOOP_PENDING_MAX_NS (10ULL * 1000000000ULL)

static volatile sig_atomic_t stop_signal, hup_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void on_hup(int sig)
{
	hup_signal = sig;
}

/* ---- the event log (--log) ------------------------------------------------ */

static void log_open(struct monitor *m)
{
	struct stat st;

	if (!m->o.log_path)
		return;
	m->log = fopen(m->o.log_path, "ae");
	if (!m->log) {
		fprintf(stderr, "nodetap monitor: --log %s: %s (logging off until SIGHUP)\n",
			m->o.log_path, strerror(errno));
		return;
	}
	m->log_bytes = fstat(fileno(m->log), &st) ? 0 : (unsigned long long)st.st_size;
}

/* FILE.1 takes the place of the previous one: at most two files, each at
 * most about --log-max-bytes. */
static void log_rotate(struct monitor *m)
{
	char old[PATH_MAX];

	if (m->log)
		fclose(m->log);
	m->log = NULL;
	if ((size_t)snprintf(old, sizeof(old), "%s.1", m->o.log_path) < sizeof(old) &&
	    rename(m->o.log_path, old))
		fprintf(stderr, "nodetap monitor: rotating --log %s: %s\n", m->o.log_path,
			strerror(errno));
	log_open(m);
}

static void log_written(struct monitor *m, long before);

/* One JSON line: {"type":TYPE,"time_ns":..,"pid":..,"comm":..,EXTRA}. */
static void log_event(struct monitor *m, const char *type, const struct mproc *p,
		      const char *key, const char *value)
{
	struct nt_json j;
	long before;

	if (!m->log)
		return;
	before = ftell(m->log);
	nt_json_begin(&j, m->log, type);
	nt_json_u64(&j, "time_ns", nt_now_ns());
	nt_json_u64(&j, "pid", (unsigned long long)p->pid);
	nt_json_strn(&j, "comm", p->comm, NT_COMM_LEN);
	if (key)
		nt_json_str(&j, key, value);
	nt_json_end(&j);
	log_written(m, before);
}

static void log_written(struct monitor *m, long before)
{
	fflush(m->log);
	if (before >= 0 && ftell(m->log) > before)
		m->log_bytes += (unsigned long long)(ftell(m->log) - before);
	if (m->log_bytes >= m->o.log_max_bytes)
		log_rotate(m);
}

/* "probe" records, as every subcommand's --json writes them (docs/json.md). */
static void log_probes(struct monitor *m, const struct nt_probes *pr)
{
	for (int i = 0; i < pr->nres && m->log; i++) {
		const struct nt_probe_result *r = &pr->res[i];
		long before = ftell(m->log);
		struct nt_json j;

		nt_json_begin(&j, m->log, "probe");
		nt_json_u64(&j, "time_ns", nt_now_ns());
		nt_json_str(&j, "function", r->func);
		nt_json_str(&j, "file", r->file ? r->file : "");
		nt_json_i64(&j, "pid", r->pid);
		nt_json_bool(&j, "placed", r->err == 0);
		if (r->err)
			nt_json_str(&j, "reason", r->reason);
		else
			nt_json_u64(&j, "offset", r->offset);
		nt_json_end(&j);
		log_written(m, before);
	}
}

/* ---- processes ----------------------------------------------------------- */

/* Field 22 of /proc/PID/stat (start time in clock ticks), or 0 if gone. */
static unsigned long long start_time_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long st = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", &st) != 1)
		return 0;
	return st;
}

static void read_comm(pid_t pid, char *comm)
{
	char path[64], buf[NT_COMM_LEN + 2];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		memset(comm, 0, NT_COMM_LEN);
		memcpy(comm, buf, strnlen(buf, NT_COMM_LEN - 1));
	}
	fclose(f);
}

/* Does PID run node: by the name of its executable, a --binary file, or a
 * file already probed as node? */
static bool runs_node(const struct monitor *m, pid_t pid)
{
	struct nt_file_id id;

	if (nt_pid_runs_node(pid, m->extra_bins, m->nextra, &id))
		return true;
	/* A file that has the monitor's uprobes is node, whatever the name it
	 * was started by (a hard link): its lookups are counted anyway. */
	for (int i = 0; id.ino && i < m->nbins; i++)
		if (m->bins[i].dev == id.dev && m->bins[i].ino == id.ino)
			return true;
	return false;
}

static int find_index(const struct monitor *m, pid_t pid)
{
	int lo = 0, hi = m->nprocs;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (m->procs[mid]->pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct mproc *find_proc(const struct monitor *m, pid_t pid)
{
	int i = find_index(m, pid);

	return i < m->nprocs && m->procs[i]->pid == pid ? m->procs[i] : NULL;
}

/* The dns uprobes on PID's executable, once per distinct file, while the
 * dns feature is on. */
static void probe_binary(struct monitor *m, pid_t pid)
{
	struct nt_targets ts = { 0 };
	struct mbin *b;
	struct stat st;
	char link[64];

	if (!(m->o.features & NT_MON_F_DNS))
		return;   /* dns = off: none placed; set_feature places them */
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	if (stat(link, &st))
		return;
	for (int i = 0; i < m->nbins; i++)
		if (m->bins[i].dev == st.st_dev && m->bins[i].ino == st.st_ino)
			return;
	b = realloc(m->bins, (size_t)(m->nbins + 1) * sizeof(*b));
	if (!b)
		return;
	m->bins = b;
	b = &m->bins[m->nbins++];
	memset(b, 0, sizeof(*b));
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	if (nt_targets_add_exe(&ts, pid) || !ts.n) {
		nt_targets_free(&ts);
		m->nbins--; /* it exited; the next process of this file will do */
		return;
	}
	const struct nt_probe_spec specs[] = {
		{ "uv_getaddrinfo", m->dns->progs.dns_start, false, true, NULL },
		{ "uv__getaddrinfo_done", m->dns->progs.dns_done, false, true, nt_uv_locate_gai_done },
		{ "uv_getaddrinfo", m->dns->progs.dns_return, true, true, NULL },
	};
	nt_probes_place(&b->probes, specs, 3, &ts);
	/* Every failure is named; successes with -v. */
	for (int i = 0; i < b->probes.nres; i++)
		b->probes.res[i].implicit = false;
	nt_probes_report(&b->probes, "monitor", false, m->o.verbose);
	log_probes(m, &b->probes);
	nt_targets_free(&ts);
}

/* Does a process the monitor tracks, alive, run file B? */
static bool bin_in_use(const struct monitor *m, const struct mbin *b)
{
	for (int i = 0; i < m->nprocs; i++) {
		struct stat st;
		char link[64];

		if (m->procs[i]->exited_ns)
			continue;
		snprintf(link, sizeof(link), "/proc/%d/exe", m->procs[i]->pid);
		if (!stat(link, &st) && st.st_dev == b->dev && st.st_ino == b->ino)
			return true;
	}
	return false;
}

/* An upgrade renames a new file over the binary's path. The old file's
 * probes keep counting its processes until the last one exits; then they
 * go: no process can start from that file any more, and kept they would pin
 * it (100 MB of a deleted node) and its links for the monitor's life. A
 * file already replaced when it was probed was reached through its
 * process's /proc/PID/exe: that one goes too once unused. A file reached
 * through another process's root (/proc/PID/root/...) is kept: once that
 * process is gone its path says nothing. Called each tick, after exits are
 * noted: a stat per binary. */
static void release_replaced_bins(struct monitor *m)
{
	for (int i = 0; i < m->nbins; i++) {
		struct mbin *b = &m->bins[i];
		const char *path = b->probes.nres ? b->probes.res[0].file : NULL;
		size_t len = path ? strlen(path) : 0;
		bool via_exe = len > 4 && !strcmp(path + len - 4, "/exe");
		struct stat st;

		if (!path || (!strncmp(path, "/proc/", 6) && !via_exe) ||
		    (!stat(path, &st) && st.st_dev == b->dev && st.st_ino == b->ino) ||
		    bin_in_use(m, b))
			continue;
		if (m->o.verbose) {
			fputs("nodetap monitor: ", stderr);
			nt_fputs_escaped(stderr, path, strlen(path));
			fputs(" was replaced or removed and its last process exited: its probes are "
			      "released\n", stderr);
		}
		nt_probes_destroy(&b->probes);
		m->bins[i--] = m->bins[--m->nbins];
	}
}

static void traced_pid(struct monitor *m, pid_t pid, bool on)
{
	int fd = bpf_map__fd(m->conn->maps.traced_pids);
	__u32 key = (__u32)pid;
	__u8 one = 1;

	int tfd = bpf_map__fd(m->tcp->maps.node_pids);

	if (on && bpf_map_update_elem(fd, &key, &one, BPF_ANY))
		m->conn->bss->nt_losses[NT_LOSS_AGG_FULL]++;  /* 8192 processes */
	else if (!on)
		bpf_map_delete_elem(fd, &key);
	/* tcp's set is an LRU: it never refuses one. */
	if (on)
		bpf_map_update_elem(tfd, &key, &one, BPF_ANY);
	else
		bpf_map_delete_elem(tfd, &key);
}

static struct mproc *add_proc(struct monitor *m, pid_t pid, unsigned long long start_time)
{
	struct mproc *p = calloc(1, sizeof(*p)), **ps;
	int at = find_index(m, pid);

	ps = p ? realloc(m->procs, (size_t)(m->nprocs + 1) * sizeof(*ps)) : NULL;
	if (!ps) {
		free(p);
		return NULL;
	}
	m->procs = ps;
	memmove(&ps[at + 1], &ps[at], (size_t)(m->nprocs - at) * sizeof(*ps));
	ps[at] = p;
	m->nprocs++;
	p->pid = pid;
	p->start_time = start_time;
	p->loop_first_try_ns = nt_now_ns();
	read_comm(pid, p->comm);
	return p;
}

static void loop_entry_gone(struct monitor *m, struct mproc *p)
{
	int fd = bpf_map__fd(m->loop->maps.loops);
	__u32 key = (__u32)p->pid;
	struct loop_val v;

	nt_monitor_workers_gone(m, p);
	if (p->loop != L_ACTIVE)
		return;
	if (!bpf_map_lookup_elem(fd, &key, &v) && v.pid == (__u32)p->pid) {
		for (int i = 0; i < NT_HIST_SLOTS; i++)
			p->lag_prev[i] += v.hist[i];
		bpf_map_delete_elem(fd, &key);
	}
	p->loop = L_NONE;
}

static void free_proc(struct monitor *m, int i);

/* A node process found (exec event, scan, or a record of an unknown pid). */
static void discover(struct monitor *m, pid_t pid)
{
	unsigned long long st;
	struct mproc *p;

	if (pid <= 0 || pid == m->self || !runs_node(m, pid) || !(st = start_time_of(pid)))
		return;
	p = find_proc(m, pid);
	if (p && p->start_time == st && !p->exited_ns)
		return;
	if (p && !p->start_time) {
		/* Known only from its rows (its counts came before the monitor
		 * saw it, its exec event not handled yet): it is this process;
		 * keep what it counted. */
		p->start_time = st;
		p->exited_ns = 0;
		p->loop = L_PENDING;
		p->loop_first_try_ns = nt_now_ns();
		read_comm(pid, p->comm);
	} else {
		if (p) {
			/* The pid was reused while the old process was in its
			 * grace period: the old series go now (their rows in the
			 * kernel's maps too). */
			free_proc(m, find_index(m, pid));
		}
		p = add_proc(m, pid, st);
		if (!p)
			return;
	}
	traced_pid(m, pid, true);
	probe_binary(m, pid);
	log_event(m, "monitor_process", p, "event", "appeared");
	if (m->o.verbose) {
		fprintf(stderr, "nodetap monitor: pid %d (", pid);
		nt_fputs_escaped(stderr, p->comm, NT_COMM_LEN);
		fputs(") appeared\n", stderr);
	}
}

static void full_scan(struct monitor *m)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		discover(m, (pid_t)atoi(e->d_name));
	closedir(d);
	m->last_scan_ns = nt_now_ns();
}

/* Find P's main loop and give it to the sampler. */
static void try_loop(struct monitor *m, struct mproc *p)
{
	struct nt_uv_main main;
	struct loop_val v;
	__u32 key = (__u32)p->pid;
	char why[512];
	int rc;

	rc = nt_uv_find_main(m->uv, p->pid, &main, why, sizeof(why));
	if (rc == -EAGAIN && nt_now_ns() - p->loop_first_try_ns < LOOP_PENDING_MAX_NS)
		return;
	if (rc) {
		p->loop = L_NONE;
		/* A process that exited meanwhile is no news. */
		if (rc != -ESRCH && start_time_of(p->pid) == p->start_time) {
			fprintf(stderr, "nodetap monitor: pid %d: no event loop lag: ", p->pid);
			nt_fputs_escaped(stderr, why, sizeof(why));
			fputc('\n', stderr);
		}
		return;
	}
	/* The loop's addresses as `nodetap loop` gives them to the sampler;
	 * where libuv keeps them, for the process's worker loops too. */
	p->layout = (struct mlayout){
		.time_off = main.time_off, .metrics = main.metrics, .fields_off = main.fields_off,
		.count_off = main.count_off, .idle_metrics = main.idle_metrics,
		.idle_fields_off = main.idle_fields_off, .entry_off = main.entry_off,
		.idle_off = main.idle_off,
	};
	nt_monitor_loop_val(p, main.loop, &v);
	if (bpf_map_update_elem(bpf_map__fd(m->loop->maps.loops), &key, &v, BPF_ANY)) {
		m->loop->bss->nt_losses[NT_LOSS_AGG_FULL]++;
		p->loop = L_NONE;
		return;
	}
	p->loop = L_ACTIVE;
}

static void on_exec(struct monitor *m, pid_t pid)
{
	struct mproc *p = find_proc(m, pid);

	if (p && !p->exited_ns) {
		/* Its old program is gone; the new one may be node again. */
		loop_entry_gone(m, p);
		if (runs_node(m, pid)) {
			p->start_time = start_time_of(pid);
			p->loop = L_PENDING;
			p->loop_first_try_ns = nt_now_ns();
			read_comm(pid, p->comm);
			probe_binary(m, pid);
			return;
		}
		p->exited_ns = nt_now_ns();
		traced_pid(m, pid, false);
		log_event(m, "monitor_process", p, "event", "exec");
		return;
	}
	discover(m, pid);
}

static int on_ring_event(void *ctx, void *data, size_t len)
{
	struct monitor *m = ctx;
	const struct loop_exec_event *e = data;

	if (len < sizeof(*e) || e->type != LOOP_EV_EXEC)
		return 0;
	pthread_mutex_lock(&m->lock);
	on_exec(m, (pid_t)e->pid);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* Delete every row of PID from a BPF hash map of KSZ-byte keys whose first
 * field is the pid, as listed in SNAP. */
static void delete_rows(int fd, const struct nt_snap *s, pid_t pid)
{
	for (size_t i = 0; i < s->n; i++) {
		unsigned int kp;

		memcpy(&kp, nt_snap_key(s, i), sizeof(kp));
		if (kp == (unsigned int)pid)
			bpf_map_delete_elem(fd, nt_snap_key(s, i));
	}
}

static void free_proc(struct monitor *m, int i)
{
	struct mproc *p = m->procs[i];

	log_event(m, "monitor_process", p, "event", "removed");
	delete_rows(bpf_map__fd(m->dns->maps.dns_stats), &m->dns_snap, p->pid);
	delete_rows(bpf_map__fd(m->conn->maps.connect_stats), &m->conn_snap, p->pid);
	memmove(&m->procs[i], &m->procs[i + 1], (size_t)(m->nprocs - i - 1) * sizeof(*m->procs));
	m->nprocs--;
	free(p->hosts);
	free(p->dests);
	nt_monitor_free_workers(p);
	free(p);
}

/* ---- reading and folding the kernel's counters --------------------------- */

static int pid_cmp(const void *a, const void *b)
{
	unsigned int x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x < y ? -1 : x > y;
}



static bool host_admitted(struct monitor *m, struct mproc *p, const char *host)
{
	char (*h)[NT_HOST_LEN];

	for (int i = 0; i < p->nhosts; i++)
		if (!strncmp(p->hosts[i], host, NT_HOST_LEN))
			return true;
	/* A host really named "other" is counted there: one series per label set. */
	if (p->nhosts >= (int)m->o.top || !strncmp(host, OTHER, NT_HOST_LEN))
		return false;
	h = realloc(p->hosts, (size_t)(p->nhosts + 1) * sizeof(*h));
	if (!h)
		return false;
	p->hosts = h;
	memcpy(p->hosts[p->nhosts++], host, NT_HOST_LEN);
	return true;
}

static bool dest_admitted(struct monitor *m, struct mproc *p, const struct nt_addr *a)
{
	struct nt_addr *d;

	for (int i = 0; i < p->ndests; i++)
		if (!memcmp(&p->dests[i], a, sizeof(*a)))
			return true;
	if (p->ndests >= (int)m->o.top)
		return false;
	d = realloc(p->dests, (size_t)(p->ndests + 1) * sizeof(*d));
	if (!d)
		return false;
	p->dests = d;
	p->dests[p->ndests++] = *a;
	return true;
}

/* Rows of pids the monitor does not know: a node process it has not seen
 * yet (it counts from now, and its rows show), or one that exited before it
 * was seen (kept for the grace period, so that nothing counted is lost). */
static struct mproc *proc_for_row(struct monitor *m, pid_t pid, const char *comm)
{
	struct mproc *p = find_proc(m, pid);

	if (p)
		return p;
	discover(m, pid);
	if ((p = find_proc(m, pid)))
		return p;
	p = add_proc(m, pid, 0);
	if (p) {
		memcpy(p->comm, comm, NT_COMM_LEN);
		p->exited_ns = nt_now_ns();
		p->loop = L_NONE;
	}
	return p;
}

/* nt_snap_read, saying once per map and error what failed: the metrics of
 * that map stay as last read meanwhile. */
static int read_map(struct bpf_map *map, size_t ksz, size_t vsz, struct nt_snap *s)
{
	static int last_err;
	int rc = nt_snap_read(bpf_map__fd(map), ksz, vsz, s);

	if (rc && rc != last_err)
		fprintf(stderr, "nodetap monitor: reading the map %s: %s (its metrics are not "
			"updated)\n", bpf_map__name(map), strerror(-rc));
	last_err = rc ? rc : last_err;
	return rc;
}

static void tcp_add(struct tcp_remote_val *d, const struct tcp_remote_val *s)
{
	d->conns += s->conns;
	d->failed += s->failed;
	d->tx_bytes += s->tx_bytes;
	d->rx_bytes += s->rx_bytes;
	d->retrans += s->retrans;
	d->rst_sent += s->rst_sent;
	d->rst_received += s->rst_received;
	d->timed += s->timed;
	d->duration_ns += s->duration_ns;
}

/* tcp's counters are per (process, remote address); the metrics are per
 * process: every row is added to its process and taken out of the kernel's
 * map, which so stays near empty. Rows of no process (0) are dropped. */
static void drain_tcp(struct monitor *m)
{
	int fd = bpf_map__fd(m->tcp->maps.remotes);
	struct nt_snap s;

	if (read_map(m->tcp->maps.remotes, sizeof(struct tcp_remote_key),
		     sizeof(struct tcp_remote_val), &s))
		return;
	for (size_t i = 0; i < s.n; i++) {
		struct tcp_remote_key *k = nt_snap_key(&s, i);
		struct tcp_remote_val v;
		struct mproc *p;

		memcpy(&v, nt_snap_val(&s, i), sizeof(v));
		p = k->pid ? proc_for_row(m, (pid_t)k->pid, v.comm) : NULL;
		if (bpf_map_lookup_and_delete_elem(fd, k, &v))
			continue;
		if (p)
			tcp_add(&p->tcp, &v);
	}
	nt_snap_free(&s);
}

/* Read both counter maps; admit new hosts and destinations while a process
 * has room, and fold the others into its "other" (removing them from the
 * kernel's map, which stays small). Rows folded are marked with pid 0. */
void nt_monitor_sync(struct monitor *m)
{
	int dfd = bpf_map__fd(m->dns->maps.dns_stats);
	int cfd = bpf_map__fd(m->conn->maps.connect_stats);
	struct nt_snap s;

	if (!read_map(m->dns->maps.dns_stats, sizeof(struct dns_key), sizeof(struct dns_val), &s)) {
		nt_snap_free(&m->dns_snap);
		m->dns_snap = s;
	}
	for (size_t i = 0; i < m->dns_snap.n; i++) {
		struct dns_key *k = nt_snap_key(&m->dns_snap, i);
		struct dns_val v;
		struct mproc *p;

		memcpy(&v, nt_snap_val(&m->dns_snap, i), sizeof(v));
		p = proc_for_row(m, (pid_t)k->pid, v.comm);
		if (!p || host_admitted(m, p, k->host))
			continue;
		if (!bpf_map_lookup_and_delete_elem(dfd, k, &v))
			dns_add(&p->dns_other, &v);
		k->pid = 0;
	}
	if (m->dns_snap.n) /* rows is NULL for an empty map: not for qsort */
		qsort(m->dns_snap.rows, m->dns_snap.n, m->dns_snap.ksz + m->dns_snap.vsz, pid_cmp);

	if (!read_map(m->conn->maps.connect_stats, sizeof(struct connect_key),
		      sizeof(struct connect_val), &s)) {
		nt_snap_free(&m->conn_snap);
		m->conn_snap = s;
	}
	for (size_t i = 0; i < m->conn_snap.n; i++) {
		struct connect_key *k = nt_snap_key(&m->conn_snap, i);
		struct connect_val v;
		struct mproc *p;

		memcpy(&v, nt_snap_val(&m->conn_snap, i), sizeof(v));
		p = proc_for_row(m, (pid_t)k->pid, v.comm);
		if (!p || dest_admitted(m, p, &k->dst))
			continue;
		if (!bpf_map_lookup_and_delete_elem(cfd, k, &v))
			conn_add(&p->conn_other, &v);
		k->pid = 0;
	}
	if (m->conn_snap.n)
		qsort(m->conn_snap.rows, m->conn_snap.n, m->conn_snap.ksz + m->conn_snap.vsz, pid_cmp);
	drain_tcp(m);
}

/* ---- the tick ------------------------------------------------------------- */

/* Loops of processes that have just started: as soon as libuv has set
 * them up (checked at every poll, 5 times a second, until found). */
static void try_pending_loops(struct monitor *m)
{
	if (!(m->o.features & NT_MON_F_LOOP))
		return;
	for (int i = 0; i < m->nprocs; i++)
		if (!m->procs[i]->exited_ns && m->procs[i]->loop == L_PENDING)
			try_loop(m, m->procs[i]);
}

static void tick(struct monitor *m)
{
	uint64_t now = nt_now_ns();

	if (now - m->last_scan_ns >= FULL_SCAN_NS)
		full_scan(m);
	for (int i = 0; i < m->nprocs; i++) {
		struct mproc *p = m->procs[i];

		if (p->exited_ns)
			continue;
		if (start_time_of(p->pid) != p->start_time) {
			p->exited_ns = now;
			loop_entry_gone(m, p);
			traced_pid(m, p->pid, false);
			log_event(m, "monitor_process", p, "event", "exited");
			continue;
		}
		read_comm(p->pid, p->comm);
		if (m->o.features & NT_MON_F_LOOP)
			nt_monitor_scan_workers(m, p);
	}
	release_replaced_bins(m);
	nt_monitor_sync(m);
	for (int i = 0; i < m->nprocs;) {
		struct mproc *p = m->procs[i];

		if (p->exited_ns && nt_now_ns() - p->exited_ns >= m->o.grace_ns)
			free_proc(m, i);
		else
			i++;
	}
	m->last_tick_ns = now;
}

/* ---- features: attached at start, and on or off at a reload ---------------- */

static const char *feature_name(unsigned f)
{
	switch (f) {
	case NT_MON_F_DNS: return "dns";
	case NT_MON_F_CONNECT: return "connect";
	case NT_MON_F_TCP: return "tcp";
	case NT_MON_F_LOOP: return "loop";
	default: return "?";
	}
}

static void tcp_detach(struct monitor *m)
{
	for (int i = 0; i < 5; i++) {
		bpf_link__destroy(m->tcp_links[i]);
		m->tcp_links[i] = NULL;
	}
}

static int tcp_attach(struct monitor *m)
{
	/* tcp: the end of a connection first (see tcp.c), then the rest. */
	struct bpf_program *tcp_progs[] = { m->tcp->progs.tcp_destroy, m->tcp->progs.tcp_set_state,
					    m->tcp->progs.tcp_retransmit, m->tcp->progs.tcp_rst_out,
					    m->tcp->progs.tcp_rst_in };

	for (int i = 0; i < 5; i++) {
		m->tcp_links[i] = bpf_program__attach(tcp_progs[i]);
		if (!m->tcp_links[i]) {
			fprintf(stderr, "nodetap monitor: attaching raw tracepoint for %s: %s\n",
				bpf_program__name(tcp_progs[i]), strerror(errno));
			tcp_detach(m);
			return -1;
		}
	}
	return 0;
}

/* Attach (ON) or detach feature F; m->o.features says what is attached.
 * Returns 0, or -1 after saying on stderr what could not be attached (the
 * feature stays off). What a feature counted stays in the output: its
 * counters stop, they do not go back. */
static int set_feature(struct monitor *m, unsigned f, bool on)
{
	if (on == !!(m->o.features & f))
		return 0;
	switch (f) {
	case NT_MON_F_DNS:
		if (on) {
			/* The binaries of the processes known now; later ones
			 * as they are found (discover). */
			m->o.features |= f;
			for (int i = 0; i < m->nprocs; i++)
				if (!m->procs[i]->exited_ns)
					probe_binary(m, m->procs[i]->pid);
			return 0;
		}
		for (int i = 0; i < m->nbins; i++)
			nt_probes_destroy(&m->bins[i].probes);
		free(m->bins);
		m->bins = NULL;
		m->nbins = 0;
		break;
	case NT_MON_F_CONNECT:
		if (on) {
			m->state_link = bpf_program__attach(m->conn->progs.conn_state_change);
			if (!m->state_link) {
				fprintf(stderr, "nodetap monitor: attaching raw tracepoint "
					"inet_sock_set_state: %s\n", strerror(errno));
				return -1;
			}
			break;
		}
		bpf_link__destroy(m->state_link);
		m->state_link = NULL;
		break;
	case NT_MON_F_TCP:
		if (on && tcp_attach(m))
			return -1;
		if (!on)
			tcp_detach(m);
		break;
	case NT_MON_F_LOOP:
		if (on) {
			if (nt_samplers_open("monitor", m->loop->progs.loop_sample,
					     1000000000ULL / m->o.freq, &m->samplers))
				return -1;
			/* Loops not looked for while off: from now. */
			for (int i = 0; i < m->nprocs; i++)
				m->procs[i]->loop_first_try_ns = nt_now_ns();
			break;
		}
		nt_samplers_close(&m->samplers);
		memset(&m->samplers, 0, sizeof(m->samplers));
		break;
	}
	m->o.features = on ? m->o.features | f : m->o.features & ~f;
	return 0;
}

/* ---- the options in force, and the reload (SIGHUP) -------------------------- */

static void opts_release(struct monitor *m)
{
	for (int i = 0; i < m->o_nowned; i++)
		free(m->o_owned[i]);
	m->o_nowned = 0;
}

static char *own(char **owned, int *n, const char *s)
{
	char *copy;

	if (!s)
		return NULL;
	copy = strdup(s);
	if (copy)
		owned[(*n)++] = copy;
	return copy;
}

/* m->o becomes NEXT, with copies of its strings (NEXT may point into a
 * configuration that is freed next). Returns 0, or -1 with m->o as it was. */
static int opts_adopt(struct monitor *m, const struct nt_monitor_opts *next)
{
	char *owned[2 + NT_MAX_BINARIES];
	struct nt_monitor_opts o = *next;
	int n = 0;
	bool bad;

	o.listen = own(owned, &n, next->listen);
	o.log_path = own(owned, &n, next->log_path);
	bad = !o.listen || (next->log_path && !o.log_path);
	for (int i = 0; i < next->nbinaries; i++)
		bad |= !(o.binaries[i] = own(owned, &n, next->binaries[i]));
	if (bad) {
		while (n)
			free(owned[--n]);
		return -1;
	}
	opts_release(m);
	memcpy(m->o_owned, owned, sizeof(owned));
	m->o_nowned = n;
	m->o = o;
	return 0;
}

/* The --binary files of O as (device, inode) into IDS. Returns 0, or -1
 * with WHY naming the file that cannot be found. */
static int stat_binaries(const struct nt_monitor_opts *o, struct nt_file_id *ids, char *why,
			 size_t whylen)
{
	for (int i = 0; i < o->nbinaries; i++) {
		struct stat st;

		if (stat(o->binaries[i], &st)) {
			char q[160];

			nt_escape(o->binaries[i], strlen(o->binaries[i]), q, sizeof(q));
			snprintf(why, whylen, "binary %s: %s", q, strerror(errno));
			return -1;
		}
		ids[i].dev = st.st_dev;
		ids[i].ino = st.st_ino;
	}
	return 0;
}

static bool str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b));
}

/* A "monitor_config" record in the --log file (docs/json.md). */
static void log_config(struct monitor *m, const char *result, const char *changes,
		       const char *restart, const char *error)
{
	struct nt_json j;
	long before;

	if (!m->log)
		return;
	before = ftell(m->log);
	nt_json_begin(&j, m->log, "monitor_config");
	nt_json_u64(&j, "time_ns", nt_now_ns());
	nt_json_str(&j, "file", m->cli.config_path);
	nt_json_str(&j, "result", result);
	if (changes)
		nt_json_str(&j, "changes", changes);
	if (restart && *restart)
		nt_json_str(&j, "restart_needed", restart);
	if (error)
		nt_json_str(&j, "error", error);
	nt_json_end(&j);
	log_written(m, before);
}

/* Append ", WHAT" to BUF (a list of changes). */
__attribute__((format(printf, 3, 4)))
static void note(char *buf, size_t len, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n && n + 2 < len) {
		memcpy(buf + n, ", ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
}

/* Keys the file gives that the command line also gives: the command line
 * wins; say so, or an administrator edits the file in vain. */
static void say_overridden(const struct monitor *m, const struct nt_monconf *c, const char *when)
{
	unsigned both = c->set & m->cli.set;

	for (int k = 0; k < NT_MK_COUNT; k++)
		if (both & (1u << k))
			fprintf(stderr, "nodetap monitor: %s%s:%d: %s is also given on the command line, "
				"which wins (remove one)\n", when, m->cli.config_path, c->line[k],
				nt_monconf_key_name(k));
}

/* SIGHUP with --config: read the file again and apply what changed. What
 * cannot change while running (listen) keeps its value and is named as
 * needing a restart; a file with an error changes nothing. Called with the
 * lock held. */
static void reload(struct monitor *m)
{
	struct nt_file_id ids[NT_MAX_BINARIES];
	char err[NT_MONCONF_ERR_LEN], changes[1024] = "", restart[64] = "";
	struct nt_monitor_opts next;
	struct nt_monconf c;
	bool reopen_log, resample;

	if (nt_monconf_load(m->cli.config_path, &c, err, sizeof(err)) ||
	    (nt_monconf_merge(&m->cli, &c, &next), stat_binaries(&next, ids, err, sizeof(err)))) {
		fprintf(stderr, "nodetap monitor: SIGHUP: %s; the configuration in force stays "
			"(fix the file and send SIGHUP again)\n", err);
		log_config(m, "rejected", NULL, NULL, err);
		m->reloads_failed++;
		m->last_reload_ok = false;
		nt_monconf_free(&c);
		return;
	}
	say_overridden(m, &c, "SIGHUP: ");
	/* The server is set up once: rebinding would stop it while a scrape
	 * may wait for the lock this runs under. */
	if (next.addrlen != m->o.addrlen || memcmp(&next.addr, &m->o.addr, next.addrlen)) {
		fprintf(stderr, "nodetap monitor: SIGHUP: listen %s needs a restart; still serving "
			"on %s\n", next.listen, m->o.listen);
		note(restart, sizeof(restart), "listen");
		next.listen = m->o.listen;
		next.addr = m->o.addr;
		next.addrlen = m->o.addrlen;
	}
	resample = next.freq != m->o.freq && (m->o.features & NT_MON_F_LOOP) &&
		   (next.features & NT_MON_F_LOOP);
	if (next.top != m->o.top)
		note(changes, sizeof(changes), "top %llu -> %llu", (unsigned long long)m->o.top,
		     (unsigned long long)next.top);
	if (next.grace_ns != m->o.grace_ns)
		note(changes, sizeof(changes), "grace %llu -> %llu",
		     (unsigned long long)(m->o.grace_ns / 1000000000ULL),
		     (unsigned long long)(next.grace_ns / 1000000000ULL));
	if (next.freq != m->o.freq)
		note(changes, sizeof(changes), "freq %llu -> %llu", (unsigned long long)m->o.freq,
		     (unsigned long long)next.freq);
	reopen_log = str_differs(next.log_path, m->o.log_path);
	if (reopen_log)
		note(changes, sizeof(changes), "log %s", next.log_path ? "moved" : "off");
	if (next.log_max_bytes != m->o.log_max_bytes)
		note(changes, sizeof(changes), "log-max-bytes %llu -> %llu",
		     (unsigned long long)m->o.log_max_bytes, (unsigned long long)next.log_max_bytes);
	if (next.nbinaries != m->o.nbinaries || memcmp(ids, m->extra_bins, sizeof(ids[0]) * (size_t)next.nbinaries))
		note(changes, sizeof(changes), "binaries %d -> %d", m->o.nbinaries, next.nbinaries);
	if (next.verbose != m->o.verbose)
		note(changes, sizeof(changes), "verbose %s", next.verbose ? "on" : "off");
	/* Features: each attached or detached now; one that cannot be
	 * attached stays off (said on stderr). */
	unsigned want = next.features;

	next.features = m->o.features;
	if (opts_adopt(m, &next)) {
		fprintf(stderr, "nodetap monitor: SIGHUP: out of memory; the configuration in force "
			"stays\n");
		log_config(m, "rejected", NULL, NULL, "out of memory");
		m->reloads_failed++;
		m->last_reload_ok = false;
		nt_monconf_free(&c);
		return;
	}
	nt_monconf_free(&c);
	memcpy(m->extra_bins, ids, sizeof(ids[0]) * (size_t)next.nbinaries);
	m->nextra = next.nbinaries;
	/* A new sampling period: the samplers again (the BPF side does not
	 * depend on it). */
	if (resample && (set_feature(m, NT_MON_F_LOOP, false), set_feature(m, NT_MON_F_LOOP, true)))
		note(changes, sizeof(changes), "loop could not be turned on again");
	for (unsigned f = 1; f <= NT_MON_F_ALL; f <<= 1) {
		bool on = want & f;

		if (on == !!(m->o.features & f))
			continue;
		if (set_feature(m, f, on))
			note(changes, sizeof(changes), "%s could not be turned on", feature_name(f));
		else
			note(changes, sizeof(changes), "%s %s", feature_name(f), on ? "on" : "off");
	}
	if (reopen_log) {
		if (m->log)
			fclose(m->log);
		m->log = NULL;
		log_open(m);
	}
	m->reloads_applied++;
	m->last_reload_ok = true;
	fprintf(stderr, "nodetap monitor: SIGHUP: configuration %s applied: %s\n",
		m->cli.config_path, *changes ? changes : "no change");
	log_config(m, "applied", changes, restart, NULL);
}

/* ---- options ---------------------------------------------------------------- */

static const char monitor_help[] =
"Usage: nodetap monitor [OPTIONS]\n"
"\n"
"The always-on agent: DNS lookups, TCP connects and event-loop lag of every node\n"
"process on the host (also those that start later, also in containers), served\n"
"as Prometheus metrics on http://ADDR:PORT/metrics; /healthz answers \"ok\".\n"
"\n"
"Examples:\n"
"  nodetap monitor                         serve on 127.0.0.1:9464 until SIGTERM\n"
"  nodetap monitor --listen 0.0.0.0:9464 --top 50 --grace 300\n"
"  nodetap monitor --log /var/log/nodetap/events.jsonl\n"
"  nodetap monitor --config /etc/nodetap/monitor.conf    (systemctl reload: SIGHUP)\n"
"  curl -s 127.0.0.1:9464/metrics | grep nodetap_dns_lookups_total\n"
"\n"
"What it measures (docs/monitor.md lists every metric):\n"
"  nodetap_dns_lookups_total{pid,comm,host,result}, nodetap_dns_lookup_duration_seconds,\n"
"  nodetap_tcp_connects_total{pid,comm,daddr,dport,result},\n"
"  nodetap_tcp_connect_duration_seconds{pid,comm,dport}, nodetap_tcp_retransmits_total,\n"
"  nodetap_tcp_resets_total{direction}, nodetap_tcp_connections_closed_total,\n"
"  nodetap_tcp_{sent,received}_bytes_total,\n"
"  nodetap_event_loop_lag_seconds{pid,comm,thread} (thread: main, or worker for the\n"
"  worker_threads loops of the process), nodetap_lost_events_total{reason},\n"
"  nodetap_feature_enabled{feature}, process_cpu_seconds_total,\n"
"  process_resident_memory_bytes. Counters only grow while a process lives; its\n"
"  series leave the output --grace seconds after it exits.\n"
"\n"
"Options:\n"
"      --listen ADDR:PORT   where to serve (default " NT_MONITOR_DEFAULT_LISTEN "; IPv6 as [::1]:9464)\n"
"      --top N              hostnames and destinations with labels of their own per\n"
"                           process, the first N seen; the rest count under \"other\"\n"
"                           (default 20, 1-1000)\n"
"      --grace SECONDS      keep an exited process's series this long (default 60)\n"
"      --freq HZ            event-loop sampler, per CPU (default 49, 1-1000)\n"
"      --binary PATH        processes running this file are node too, whatever its\n"
"                           name (repeatable); by default executables named node*\n"
"      --log FILE           JSON lines: processes appearing and leaving, probes\n"
"                           (docs/json.md); FILE.1 keeps the previous file\n"
"      --log-max-bytes N    rotate FILE past N bytes (default 10485760)\n"
"      --dns on|off         lookups: uprobes on uv_getaddrinfo (default on)\n"
"      --connect on|off     connects (default on)\n"
"      --tcp on|off         TCP lifetimes, bytes, retransmits, resets (default on)\n"
"      --loop on|off        event-loop lag: the CPU-clock sampler (default on)\n"
"      --config FILE        the options from FILE, one 'key = value' a line, the keys\n"
"                           as the long options above ('top = 50', 'dns = off',\n"
"                           '# comment'); the command line wins over the file;\n"
"                           re-read on SIGHUP (docs/monitor.md#configuration-file)\n"
"  -d, --duration SECONDS   stop after SECONDS (tests)\n"
"  -v, --verbose            say where each probe went and each process found\n"
"  -h, --help               this help\n"
"\n"
"Signals: SIGTERM or SIGINT detach every probe and exit 0. SIGHUP rescans /proc for\n"
"node processes, reopens the --log file (after logrotate) and re-reads --config:\n"
"top, grace, freq, log, log-max-bytes, binary, verbose and the probes on/off\n"
"apply at once; listen needs a restart (said so); a file with an error changes\n"
"nothing (said so, with FILE:LINE).\n"
"Cost: uprobes on uv_getaddrinfo trap in every process of a traced node binary\n"
"(about 3 us a lookup each); connects use a kernel tracepoint; loop lag a sampler.\n"
"Exit status: 0 after SIGTERM/SIGINT or -d, 1 runtime failure, 2 usage error.\n";

enum { OPT_LISTEN = 5000, OPT_TOP, OPT_GRACE, OPT_FREQ, OPT_BINARY, OPT_LOG, OPT_LOG_MAX,
       OPT_CONFIG, OPT_DNS, OPT_CONNECT, OPT_TCP, OPT_LOOP };

/* --dns on|off and the like. */
static int feature_opt(struct nt_monitor_opts *o, const char *name, unsigned f, const char *val)
{
	bool on;

	if (nt_monconf_parse_bool(val, &on))
		return nt_usage_error("monitor", "--%s '%s': on or off", name, val);
	o->features = on ? o->features | f : o->features & ~f;
	return 0;
}

int nt_monitor_parse(int argc, char **argv, struct nt_monitor_opts *o)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "top", required_argument, NULL, OPT_TOP },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "freq", required_argument, NULL, OPT_FREQ },
		{ "binary", required_argument, NULL, OPT_BINARY },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-max-bytes", required_argument, NULL, OPT_LOG_MAX },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "dns", required_argument, NULL, OPT_DNS },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		{ "tcp", required_argument, NULL, OPT_TCP },
		{ "loop", required_argument, NULL, OPT_LOOP },
		{ "duration", required_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char why[128];
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->listen = NT_MONITOR_DEFAULT_LISTEN;
	o->top = NT_MONITOR_DEFAULT_TOP;
	o->grace_ns = NT_MONITOR_DEFAULT_GRACE * 1000000000ULL;
	o->freq = NT_MONITOR_DEFAULT_FREQ;
	o->log_max_bytes = NT_MONITOR_DEFAULT_LOG_MAX;
	o->features = NT_MON_F_ALL;
	optind = 0;   /* getopt may have run before (unit tests) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:d:vh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_LISTEN:
			o->listen = optarg;
			o->set |= 1u << NT_MK_LISTEN;
			break;
		case OPT_TOP:
			if (nt_parse_uint(optarg, 1, NT_MONITOR_MAX_TOP, &o->top))
				return nt_usage_error("monitor", "--top '%s': a whole number from 1 to %d",
						      optarg, NT_MONITOR_MAX_TOP);
			o->set |= 1u << NT_MK_TOP;
			break;
		case OPT_GRACE:
			if (nt_parse_uint(optarg, 0, NT_DURATION_MAX, &v))
				return nt_usage_error("monitor", "--grace '%s': seconds, from 0 to %u",
						      optarg, NT_DURATION_MAX);
			o->grace_ns = v * 1000000000ULL;
			o->set |= 1u << NT_MK_GRACE;
			break;
		case OPT_FREQ:
			if (nt_parse_uint(optarg, 1, NT_MONITOR_MAX_FREQ, &o->freq))
				return nt_usage_error("monitor", "--freq '%s': Hz, from 1 to %d", optarg,
						      NT_MONITOR_MAX_FREQ);
			o->set |= 1u << NT_MK_FREQ;
			break;
		case OPT_BINARY:
			if (o->nbinaries >= NT_MAX_BINARIES)
				return nt_usage_error("monitor", "at most %d --binary", NT_MAX_BINARIES);
			o->binaries[o->nbinaries++] = optarg;
			o->set |= 1u << NT_MK_BINARY;
			break;
		case OPT_LOG:
			if (!*optarg)
				return nt_usage_error("monitor", "--log needs a file name");
			o->log_path = optarg;
			o->set |= 1u << NT_MK_LOG;
			break;
		case OPT_LOG_MAX:
			if (nt_parse_uint(optarg, 4096, UINT64_MAX / 2, &o->log_max_bytes))
				return nt_usage_error("monitor", "--log-max-bytes '%s': bytes, at least 4096",
						      optarg);
			o->set |= 1u << NT_MK_LOG_MAX;
			break;
		case OPT_CONFIG:
			if (!*optarg)
				return nt_usage_error("monitor", "--config needs a file name");
			o->config_path = optarg;
			break;
		case OPT_DNS:
			if (feature_opt(o, "dns", NT_MON_F_DNS, optarg))
				return NT_EXIT_USAGE;
			o->set |= 1u << NT_MK_DNS;
			break;
		case OPT_CONNECT:
			if (feature_opt(o, "connect", NT_MON_F_CONNECT, optarg))
				return NT_EXIT_USAGE;
			o->set |= 1u << NT_MK_CONNECT;
			break;
		case OPT_TCP:
			if (feature_opt(o, "tcp", NT_MON_F_TCP, optarg))
				return NT_EXIT_USAGE;
			o->set |= 1u << NT_MK_TCP;
			break;
		case OPT_LOOP:
			if (feature_opt(o, "loop", NT_MON_F_LOOP, optarg))
				return NT_EXIT_USAGE;
			o->set |= 1u << NT_MK_LOOP;
			break;
		case 'd':
			if (nt_parse_uint(optarg, 1, NT_DURATION_MAX, &o->duration_s))
				return nt_usage_error("monitor", "-d '%s': seconds, from 1 to %u", optarg,
						      NT_DURATION_MAX);
			break;
		case 'v':
			o->verbose = true;
			o->set |= 1u << NT_MK_VERBOSE;
			break;
		case 'h':
			fputs(monitor_help, stdout);
			return -1;
		case ':':
			return nt_usage_error("monitor", "%s needs a value", argv[optind - 1]);
		default:
			return nt_usage_error("monitor", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return nt_usage_error("monitor", "unexpected argument '%s' (monitor watches every node "
				      "process: no -p, no interval, no COMMAND)", argv[optind]);
	if (nt_http_parse_listen(o->listen, &o->addr, &o->addrlen, why, sizeof(why)))
		return nt_usage_error("monitor", "--listen '%s': %s", o->listen, why);
	return 0;
}

/* ---- the command -------------------------------------------------------------- */

static int load(struct monitor *m)
{
	struct nt_opts bo = { .cmd = "monitor", .verbose = m->o.verbose };
	unsigned want = m->o.features;
	int rc;

	m->o.features = 0;   /* what is attached */

	if ((rc = nt_bpf_setup(&bo)))
		return rc;
	m->dns = dns_bpf__open();
	m->conn = connect_bpf__open();
	m->loop = loop_bpf__open();
	m->tcp = tcp_bpf__open();
	m->uv = nt_uv_cache_new();
	if (!m->dns || !m->conn || !m->loop || !m->tcp || !m->uv) {
		fprintf(stderr, "nodetap monitor: opening the BPF objects: %s\n", strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	/* dns: its uprobes are on node binaries only: every process counts. */
	m->dns->rodata->filter_pids = false;
	/* connect: the kernel tracepoint fires for everyone: node processes
	 * only, as the monitor finds them. */
	m->conn->rodata->filter_pids = true;
	/* loop: every exec on the host (how node processes are found), and no
	 * sample sent to user space (lag is counted in the kernel). */
	m->loop->rodata->filter_pids = false;
	m->loop->rodata->record_after_ns = ~0ULL;
	/* node_execs_only stays off (every exec): its maps are unused. */
	bpf_map__set_max_entries(m->loop->maps.node_files, 1);
	bpf_map__set_max_entries(m->loop->maps.watched, 1);
	/* No stacks, no per-event records in dns and connect: small maps. */
	bpf_map__set_max_entries(m->dns->maps.stacks, 1);
	bpf_map__set_max_entries(m->dns->maps.stack_seen, 1);
	bpf_map__set_max_entries(m->conn->maps.stacks, 1);
	bpf_map__set_max_entries(m->conn->maps.stack_seen, 1);
	bpf_map__set_max_entries(m->dns->maps.events, 4096);
	bpf_map__set_max_entries(m->conn->maps.events, 4096);
	bpf_map__set_max_entries(m->loop->maps.events, 64 * 1024);
	/* tcp: node processes as the monitor finds them (no exec hook of its
	 * own), summaries only. */
	m->tcp->rodata->node_mode = true;
	bpf_map__set_max_entries(m->tcp->maps.events, 4096);
	/* For the messages, and (tests only) maps small enough to fill (see
	 * common.h). */
	struct nt_opts load_o = { .cmd = "monitor", .verbose = m->o.verbose };

	if ((rc = nt_test_map_sizes(&load_o, m->dns->obj)) ||
	    (rc = nt_test_map_sizes(&load_o, m->conn->obj)) ||
	    (rc = nt_test_map_sizes(&load_o, m->loop->obj)) ||
	    (rc = nt_test_map_sizes(&load_o, m->tcp->obj)))
		return rc;
	if ((rc = nt_load_skeleton(&load_o, m->dns->skeleton)) ||
	    (rc = nt_load_skeleton(&load_o, m->conn->skeleton)) ||
	    (rc = nt_load_skeleton(&load_o, m->loop->skeleton)) ||
	    (rc = nt_load_skeleton(&load_o, m->tcp->skeleton)))
		return rc;
	m->exec_link = bpf_program__attach(m->loop->progs.loop_exec);
	if (!m->exec_link) {
		fprintf(stderr, "nodetap monitor: attaching raw tracepoint sched_process_exec: %s "
			"(new node processes would go unseen)\n", strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	for (unsigned f = 1; f <= NT_MON_F_ALL; f <<= 1)
		if ((want & f) && set_feature(m, f, true))
			return NT_EXIT_RUNTIME;
	m->rb = ring_buffer__new(bpf_map__fd(m->loop->maps.events), on_ring_event, m, NULL);
	if (!m->rb) {
		fprintf(stderr, "nodetap monitor: ring buffer: %s\n", strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	return 0;
}

static void cleanup(struct monitor *m)
{
	ring_buffer__free(m->rb);
	for (unsigned f = 1; f <= NT_MON_F_ALL; f <<= 1)
		set_feature(m, f, false);
	bpf_link__destroy(m->exec_link);
	for (int i = 0; i < m->nprocs; i++) {
		free(m->procs[i]->hosts);
		free(m->procs[i]->dests);
		nt_monitor_free_workers(m->procs[i]);
		free(m->procs[i]);
	}
	free(m->procs);
	dns_bpf__destroy(m->dns);
	connect_bpf__destroy(m->conn);
	loop_bpf__destroy(m->loop);
	tcp_bpf__destroy(m->tcp);
	nt_uv_cache_free(m->uv);
	nt_snap_free(&m->dns_snap);
	nt_snap_free(&m->conn_snap);
	if (m->log)
		fclose(m->log);
	opts_release(m);
	pthread_mutex_destroy(&m->lock);
}

int cmd_monitor(int argc, char **argv)
{
	struct monitor m = { 0 };
	struct sigaction stop = { .sa_handler = on_stop }, hup = { .sa_handler = on_hup };
	sigset_t block, old;
	struct nt_http *http = NULL;
	uint64_t end_ns = 0;
	char why[256];
	int rc;

	rc = nt_monitor_parse(argc, argv, &m.cli);
	if (rc)
		return rc < 0 ? NT_EXIT_OK : rc;
	pthread_mutex_init(&m.lock, NULL);
	m.self = getpid();
	m.last_reload_ok = true;
	/* The options in force: the command line over the file. */
	{
		struct nt_monconf c;
		struct nt_monitor_opts o;
		char err[NT_MONCONF_ERR_LEN];

		if (m.cli.config_path && nt_monconf_load(m.cli.config_path, &c, err, sizeof(err))) {
			nt_monconf_free(&c);
			rc = nt_usage_error("monitor", "--config %s", err);
			goto out;
		}
		if (m.cli.config_path)
			say_overridden(&m, &c, "");
		nt_monconf_merge(&m.cli, m.cli.config_path ? &c : NULL, &o);
		rc = opts_adopt(&m, &o);
		if (m.cli.config_path)
			nt_monconf_free(&c);
		if (rc) {
			fprintf(stderr, "nodetap monitor: out of memory\n");
			rc = NT_EXIT_RUNTIME;
			goto out;
		}
		if (stat_binaries(&m.o, m.extra_bins, err, sizeof(err))) {
			/* "--binary X: ..." from the command line, "--config
			 * FILE: binary X: ..." from the file. */
			if (m.cli.nbinaries)
				fprintf(stderr, "nodetap monitor: --%s\n", err);
			else
				fprintf(stderr, "nodetap monitor: --config %s: %s\n", m.cli.config_path, err);
			rc = NT_EXIT_RUNTIME;
			goto out;
		}
		m.nextra = m.o.nbinaries;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "nodetap monitor: must run as root (it loads BPF programs and places "
			"uprobes: CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN); try sudo\n");
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	/* No SA_RESTART: a signal cuts the poll short. The server's thread
	 * is started with these signals blocked, so they reach this one. */
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGHUP, &hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	http = nt_http_start((const struct sockaddr *)&m.o.addr, nt_monitor_render, &m, why, sizeof(why));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!http) {
		fprintf(stderr, "nodetap monitor: cannot serve on %s: %s (another exporter there? "
			"choose one with --listen)\n", m.o.listen, why);
		rc = NT_EXIT_RUNTIME;
		goto out;
	}
	/* The address first: a port in use fails before anything is loaded.
	 * Until the probes are in, /metrics answers 503. */
	if ((rc = load(&m)))
		goto out;
	log_open(&m);
	/* The exec tracepoint is attached: a node process starting from here
	 * on is seen through it; those running now through the scan. */
	pthread_mutex_lock(&m.lock);
	full_scan(&m);
	try_pending_loops(&m);
	nt_monitor_sync(&m);
	m.ready = true;
	pthread_mutex_unlock(&m.lock);

	fprintf(stderr, "nodetap monitor: serving http://%s/metrics; %d node process%s, %d binar%s "
		"traced; SIGTERM to stop\n", m.o.listen, m.nprocs, m.nprocs == 1 ? "" : "es",
		m.nbins, m.nbins == 1 ? "y" : "ies");
	if (m.o.duration_s)
		end_ns = nt_now_ns() + m.o.duration_s * 1000000000ULL;
	m.last_tick_ns = nt_now_ns();
	while (!stop_signal) {
		int n = ring_buffer__poll(m.rb, 200);

		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "nodetap monitor: reading the ring buffer: %s\n", strerror(-n));
			rc = NT_EXIT_RUNTIME;
			break;
		}
		/* Every exec on the host is an event: on a busy host (a build, a
		 * test suite) hundreds a second. Take them in batches, at most
		 * 50 wakeups a second; a node process needs longer than that
		 * to start running JavaScript. */
		if (n > 0)
			nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000L }, NULL);
		if (hup_signal) {
			hup_signal = 0;
			pthread_mutex_lock(&m.lock);
			fprintf(stderr, "nodetap monitor: SIGHUP: %srescanning processes, reopening "
				"the log\n", m.cli.config_path ? "reloading the configuration, " : "");
			if (m.log)
				fclose(m.log);
			m.log = NULL;
			log_open(&m);
			if (m.cli.config_path)
				reload(&m);
			full_scan(&m);
			pthread_mutex_unlock(&m.lock);
		}
		pthread_mutex_lock(&m.lock);
		try_pending_loops(&m);
		if (nt_now_ns() - m.last_tick_ns >= TICK_NS)
			tick(&m);
		pthread_mutex_unlock(&m.lock);
		if (end_ns && nt_now_ns() >= end_ns)
			break;
	}
	if (stop_signal)
		fprintf(stderr, "nodetap monitor: %s: detaching and exiting\n",
			stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
out:
	/* The server first: no scrape may render while the rest goes away. */
	nt_http_stop(http);
	cleanup(&m);
	return rc;
}
