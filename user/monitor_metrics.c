/* monitor_metrics: the monitor's state as Prometheus text (docs/monitor.md
 * lists every metric): per process, series of its admitted hosts and
 * destinations, "other", histograms from the kernel's log2 slots; then what
 * the agent lost and costs. */
#include <arpa/inet.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "common.h"
#include "monitor_int.h"

static const char *const eai_names[NT_DNS_EAI_SLOTS] = {
	"EAI_ADDRFAMILY", "EAI_AGAIN", "EAI_BADFLAGS", "EAI_CANCELED", "EAI_FAIL",
	"EAI_FAMILY", "EAI_MEMORY", "EAI_NODATA", "EAI_NONAME", "EAI_OVERFLOW",
	"EAI_SERVICE", "EAI_SOCKTYPE", "EAI_3012", "EAI_BADHINTS", "EAI_PROTOCOL",
	"EAI_3015",
};

static const char *const outcome_names[CONN_OUTCOMES] = {
	[CONN_ESTABLISHED] = "established",
	[CONN_REFUSED] = "refused",
	[CONN_TIMED_OUT] = "timed_out",
	[CONN_CLOSED] = "closed",
	[CONN_OTHER] = "other",
};

/* The first row of PID in a snapshot sorted by pid, or s->n. */
static size_t first_row(const struct nt_snap *s, pid_t pid)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		unsigned int kp;

		memcpy(&kp, nt_snap_key(s, mid), sizeof(kp));
		if (kp < (unsigned int)pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool row_is(const struct nt_snap *s, size_t i, pid_t pid)
{
	unsigned int kp;

	if (i >= s->n)
		return false;
	memcpy(&kp, nt_snap_key(s, i), sizeof(kp));
	return kp == (unsigned int)pid;
}

#define PID_LABELS(p, pidbuf)                                             \
	{ "pid", pidbuf, sizeof(pidbuf) }, { "comm", (p)->comm, NT_COMM_LEN }

static void dns_lookups_series(struct nt_prom *out, const struct mproc *p, const char *pidbuf,
			       const char *host, const struct dns_val *v)
{
	struct nt_prom_label l[] = { PID_LABELS(p, pidbuf), { "host", host, NT_HOST_LEN },
				     { "result", "ok", 3 } };

	if (v->count > v->errors)
		nt_prom_u64(out, "nodetap_dns_lookups_total", l, 4, v->count - v->errors);
	for (int i = 0; i < NT_DNS_EAI_SLOTS; i++) {
		if (!v->eai[i])
			continue;
		l[3].value = eai_names[i];
		l[3].maxlen = strlen(eai_names[i]);
		nt_prom_u64(out, "nodetap_dns_lookups_total", l, 4, v->eai[i]);
	}
	if (v->other_errors) {
		l[3].value = "error";
		l[3].maxlen = 5;
		nt_prom_u64(out, "nodetap_dns_lookups_total", l, 4, v->other_errors);
	}
}

static void render_dns(struct monitor *m, struct nt_prom *out)
{
	const struct nt_snap *s = &m->dns_snap;

	nt_prom_family(out, "nodetap_dns_lookups_total", "counter",
		       "dns.lookup() calls (uv_getaddrinfo) completed, by process, hostname and "
		       "result (ok or libuv's EAI_* code); hosts past --top are under host=\"other\".");
	for (int i = 0; i < m->nprocs; i++) {
		const struct mproc *p = m->procs[i];
		char pidbuf[16];

		snprintf(pidbuf, sizeof(pidbuf), "%d", p->pid);
		for (size_t r = first_row(s, p->pid); row_is(s, r, p->pid); r++) {
			const struct dns_key *k = nt_snap_key(s, r);
			struct dns_val v;

			memcpy(&v, nt_snap_val(s, r), sizeof(v));
			dns_lookups_series(out, p, pidbuf, k->host, &v);
		}
		if (p->dns_other.count)
			dns_lookups_series(out, p, pidbuf, OTHER, &p->dns_other);
	}
	nt_prom_family(out, "nodetap_dns_lookup_duration_seconds", "histogram",
		       "Time from uv_getaddrinfo to its result on the event loop, all hosts of a "
		       "process (log2 buckets).");
	for (int i = 0; i < m->nprocs; i++) {
		const struct mproc *p = m->procs[i];
		struct dns_val sum = p->dns_other;
		char pidbuf[16];
		struct nt_prom_label l[] = { PID_LABELS(p, pidbuf) };

		snprintf(pidbuf, sizeof(pidbuf), "%d", p->pid);
		for (size_t r = first_row(s, p->pid); row_is(s, r, p->pid); r++) {
			struct dns_val v;

			memcpy(&v, nt_snap_val(s, r), sizeof(v));
			dns_add(&sum, &v);
		}
		if (sum.count)
			nt_prom_hist_log2(out, "nodetap_dns_lookup_duration_seconds", l, 2, sum.hist,
					  NT_HIST_SLOTS, (double)sum.total_ns / 1e9);
	}
}

static void conn_connects_series(struct nt_prom *out, const struct mproc *p, const char *pidbuf,
				 const char *daddr, const char *dport, const struct connect_val *v)
{
	struct nt_prom_label l[] = { PID_LABELS(p, pidbuf), { "daddr", daddr, 64 },
				     { "dport", dport, 16 }, { "result", "", 0 } };

	for (int i = 0; i < CONN_OUTCOMES; i++) {
		if (!v->outcomes[i])
			continue;
		l[4].value = outcome_names[i];
		l[4].maxlen = strlen(outcome_names[i]);
		nt_prom_u64(out, "nodetap_tcp_connects_total", l, 5, v->outcomes[i]);
	}
}

static void render_connect(struct monitor *m, struct nt_prom *out)
{
	const struct nt_snap *s = &m->conn_snap;

	nt_prom_family(out, "nodetap_tcp_connects_total", "counter",
		       "Outbound TCP connects of node processes by destination and result "
		       "(established, refused, timed_out, closed, other); destinations past --top "
		       "are under daddr=\"other\".");
	for (int i = 0; i < m->nprocs; i++) {
		const struct mproc *p = m->procs[i];
		char pidbuf[16];

		snprintf(pidbuf, sizeof(pidbuf), "%d", p->pid);
		for (size_t r = first_row(s, p->pid); row_is(s, r, p->pid); r++) {
			const struct connect_key *k = nt_snap_key(s, r);
			struct connect_val v;
			char daddr[64], dport[16];

			memcpy(&v, nt_snap_val(s, r), sizeof(v));
			if (!inet_ntop(k->dst.family == NT_AF_INET6 ? AF_INET6 : AF_INET, k->dst.addr,
				       daddr, sizeof(daddr)))
				snprintf(daddr, sizeof(daddr), "?");
			snprintf(dport, sizeof(dport), "%u", k->dst.port);
			conn_connects_series(out, p, pidbuf, daddr, dport, &v);
		}
		conn_connects_series(out, p, pidbuf, OTHER, OTHER, &p->conn_other);
	}
	nt_prom_family(out, "nodetap_tcp_connect_duration_seconds", "histogram",
		       "Time from connect() to established, by process and destination port "
		       "(log2 buckets; established connects only).");
	for (int i = 0; i < m->nprocs; i++) {
		const struct mproc *p = m->procs[i];
		char pidbuf[16];
		/* Per port: the admitted destinations' rows summed by port. */
		struct { unsigned short port; struct connect_val v; } *ports = NULL;
		int nports = 0;

		snprintf(pidbuf, sizeof(pidbuf), "%d", p->pid);
		for (size_t r = first_row(s, p->pid); row_is(s, r, p->pid); r++) {
			const struct connect_key *k = nt_snap_key(s, r);
			struct connect_val v;
			int j;

			memcpy(&v, nt_snap_val(s, r), sizeof(v));
			for (j = 0; j < nports && ports[j].port != k->dst.port; j++)
				;
			if (j == nports) {
				__typeof__(ports) np = realloc(ports, (size_t)(nports + 1) * sizeof(*np));

				if (!np)
					continue;
				ports = np;
				memset(&ports[nports], 0, sizeof(ports[nports]));
				ports[nports++].port = k->dst.port;
			}
			conn_add(&ports[j].v, &v);
		}
		for (int j = 0; j <= nports; j++) {
			const struct connect_val *v = j < nports ? &ports[j].v : &p->conn_other;
			char dport[16];
			struct nt_prom_label l[] = { PID_LABELS(p, pidbuf), { "dport", dport, 16 } };

			if (!v->outcomes[CONN_ESTABLISHED])
				continue;
			if (j < nports)
				snprintf(dport, sizeof(dport), "%u", ports[j].port);
			else
				snprintf(dport, sizeof(dport), OTHER);
			nt_prom_hist_log2(out, "nodetap_tcp_connect_duration_seconds", l, 3, v->hist,
					  NT_HIST_SLOTS, (double)v->total_ns / 1e9);
		}
		free(ports);
	}
}

static void render_tcp(struct monitor *m, struct nt_prom *out)
{
	static const struct {
		const char *name, *type, *help;
		size_t off;
	} fams[] = {
		{ "nodetap_tcp_connections_closed_total", "counter",
		  "TCP connections of the process (made or accepted) that closed.",
		  offsetof(struct tcp_remote_val, conns) },
		{ "nodetap_tcp_sent_bytes_total", "counter",
		  "Payload bytes the peers acknowledged, of connections that closed.",
		  offsetof(struct tcp_remote_val, tx_bytes) },
		{ "nodetap_tcp_received_bytes_total", "counter",
		  "Payload bytes received in order, of connections that closed.",
		  offsetof(struct tcp_remote_val, rx_bytes) },
		{ "nodetap_tcp_retransmits_total", "counter",
		  "Segments retransmitted (tcp:tcp_retransmit_skb), as they happen.",
		  offsetof(struct tcp_remote_val, retrans) },
	};

	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		nt_prom_family(out, fams[f].name, fams[f].type, fams[f].help);
		for (int i = 0; i < m->nprocs; i++) {
			const struct mproc *p = m->procs[i];
			unsigned long long v;
			char pidbuf[16];
			struct nt_prom_label l[] = { PID_LABELS(p, pidbuf) };

			memcpy(&v, (const char *)&p->tcp + fams[f].off, sizeof(v));
			snprintf(pidbuf, sizeof(pidbuf), "%d", p->pid);
			nt_prom_u64(out, fams[f].name, l, 2, v);
		}
	}
	nt_prom_family(out, "nodetap_tcp_resets_total", "counter",
		       "RST segments sent and received on the process's connections.");
	for (int i = 0; i < m->nprocs; i++) {
		const struct mproc *p = m->procs[i];
		char pidbuf[16];
		struct nt_prom_label l[] = { PID_LABELS(p, pidbuf), { "direction", "sent", 4 } };

		snprintf(pidbuf, sizeof(pidbuf), "%d", p->pid);
		nt_prom_u64(out, "nodetap_tcp_resets_total", l, 3, p->tcp.rst_sent);
		l[2].value = "received";
		l[2].maxlen = 8;
		nt_prom_u64(out, "nodetap_tcp_resets_total", l, 3, p->tcp.rst_received);
	}
	nt_prom_family(out, "nodetap_tcp_connection_lifetime_seconds", "summary",
		       "How long the process's closed connections lived (those whose start was "
		       "seen): _sum over _count is the average lifetime.");
	for (int i = 0; i < m->nprocs; i++) {
		const struct mproc *p = m->procs[i];
		char pidbuf[16];
		struct nt_prom_label l[] = { PID_LABELS(p, pidbuf) };

		snprintf(pidbuf, sizeof(pidbuf), "%d", p->pid);
		nt_prom_double(out, "nodetap_tcp_connection_lifetime_seconds_sum", l, 2,
			       (double)p->tcp.duration_ns / 1e9);
		nt_prom_u64(out, "nodetap_tcp_connection_lifetime_seconds_count", l, 2, p->tcp.timed);
	}
}

/* Adds the sampler's histogram of the loop of thread TID (a loop of P) to
 * HIST; returns whether there was one. */
static bool add_loop_hist(int fd, const struct mproc *p, pid_t tid, unsigned long long *hist,
			  unsigned long long *read_errors)
{
	__u32 key = (__u32)tid;
	struct loop_val v;

	if (bpf_map_lookup_elem(fd, &key, &v) || v.pid != (__u32)p->pid)
		return false;
	for (int j = 0; j < NT_HIST_SLOTS; j++)
		hist[j] += v.hist[j];
	*read_errors += v.read_errors;
	return true;
}

static bool any_in(const unsigned long long *hist)
{
	for (int j = 0; j < NT_HIST_SLOTS; j++)
		if (hist[j])
			return true;
	return false;
}

static void render_loop(struct monitor *m, struct nt_prom *out, unsigned long long *read_errors)
{
	int fd = bpf_map__fd(m->loop->maps.loops);

	nt_prom_family(out, "nodetap_event_loop_lag_seconds", "histogram",
		       "How long an event loop's current iteration had run, at each CPU-clock sample "
		       "that found its thread running (not waiting for events): thread=\"main\" the "
		       "main loop, thread=\"worker\" the loops of worker_threads Workers summed; no "
		       "_sum: the sampler keeps none.");
	for (int i = 0; i < m->nprocs; i++) {
		const struct mproc *p = m->procs[i];
		unsigned long long hist[NT_HIST_SLOTS], whist[NT_HIST_SLOTS];
		char pidbuf[16];
		struct nt_prom_label l[] = { PID_LABELS(p, pidbuf), { "thread", "main", 4 } };
		bool any = false, wany = false;

		memcpy(hist, p->lag_prev, sizeof(hist));
		memcpy(whist, p->worker_lag_prev, sizeof(whist));
		if (p->loop == L_ACTIVE)
			any = add_loop_hist(fd, p, p->pid, hist, read_errors);
		for (int w = 0; w < p->nworkers; w++)
			wany |= add_loop_hist(fd, p, p->workers[w], whist, read_errors);
		any = any || any_in(hist);
		wany = wany || any_in(whist);
		snprintf(pidbuf, sizeof(pidbuf), "%d", p->pid);
		/* Histograms without _sum (see the HELP text). */
		if (any)
			nt_prom_hist_log2(out, "nodetap_event_loop_lag_seconds", l, 3, hist, NT_HIST_SLOTS, NAN);
		l[2].value = "worker";
		l[2].maxlen = 6;
		if (wany)
			nt_prom_hist_log2(out, "nodetap_event_loop_lag_seconds", l, 3, whist, NT_HIST_SLOTS, NAN);
	}
	nt_prom_family(out, "nodetap_event_loop_workers", "gauge",
		       "Loops of worker_threads Workers being sampled now, per process whose main "
		       "loop is (found while they wait for events, within 5 s).");
	for (int i = 0; i < m->nprocs; i++) {
		const struct mproc *p = m->procs[i];
		char pidbuf[16];
		struct nt_prom_label l[] = { PID_LABELS(p, pidbuf) };

		if (p->exited_ns || p->loop != L_ACTIVE)
			continue;
		snprintf(pidbuf, sizeof(pidbuf), "%d", p->pid);
		nt_prom_u64(out, "nodetap_event_loop_workers", l, 2, (unsigned long long)p->nworkers);
	}
}

static void render_self(struct monitor *m, struct nt_prom *out, unsigned long long read_errors)
{
	static const struct { const char *name; unsigned bit; } features[] = {
		{ "dns", NT_MON_F_DNS }, { "connect", NT_MON_F_CONNECT },
		{ "tcp", NT_MON_F_TCP }, { "loop", NT_MON_F_LOOP },
	};
	unsigned long long losses[NT_LOSS_MAX] = { 0 };
	struct rusage ru;
	long pages = 0;
	int placed = 0, failed = 0, live = 0;
	FILE *f;

	for (int i = 0; i < NT_LOSS_MAX; i++)
		losses[i] = m->dns->bss->nt_losses[i] + m->conn->bss->nt_losses[i] +
			    m->loop->bss->nt_losses[i] + m->tcp->bss->nt_losses[i];
	nt_prom_family(out, "nodetap_lost_events_total", "counter",
		       "What the probes could not count, by reason (docs/monitor.md).");
	for (int i = 0; i < NT_LOSS_MAX; i++) {
		const char *r = nt_loss_name(i);
		struct nt_prom_label l[] = { { "reason", r, strlen(r) } };

		nt_prom_u64(out, "nodetap_lost_events_total", l, 1, losses[i]);
	}
	{
		struct nt_prom_label l[] = { { "reason", "loop_clock_unreadable", 21 } };

		nt_prom_u64(out, "nodetap_lost_events_total", l, 1, read_errors);
	}
	for (int i = 0; i < m->nbins; i++) {
		placed += m->bins[i].probes.placed;
		failed += m->bins[i].probes.failed;
	}
	for (int i = 0; i < m->nprocs; i++)
		live += !m->procs[i]->exited_ns;
	nt_prom_family(out, "nodetap_node_processes", "gauge",
		       "Node processes traced now (exited ones in their grace period excluded).");
	nt_prom_u64(out, "nodetap_node_processes", NULL, 0, (unsigned long long)live);
	nt_prom_family(out, "nodetap_node_binaries", "gauge",
		       "Distinct node executables with uprobes (each traps in every process running it).");
	nt_prom_u64(out, "nodetap_node_binaries", NULL, 0, (unsigned long long)m->nbins);
	nt_prom_family(out, "nodetap_uprobes", "gauge", "Uprobes placed, and those that could not be.");
	{
		struct nt_prom_label l[] = { { "state", "placed", 6 } };

		nt_prom_u64(out, "nodetap_uprobes", l, 1, (unsigned long long)placed);
		l[0].value = "failed";
		nt_prom_u64(out, "nodetap_uprobes", l, 1, (unsigned long long)failed);
	}
	nt_prom_family(out, "nodetap_feature_enabled", "gauge",
		       "Probes of each feature attached now (1) or not (0): --dns, --connect, --tcp, "
		       "--loop, or the --config file.");
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		struct nt_prom_label l[] = { { "feature", features[i].name, strlen(features[i].name) } };

		nt_prom_u64(out, "nodetap_feature_enabled", l, 1, !!(m->o.features & features[i].bit));
	}
	if (m->cli.config_path) {
		struct nt_prom_label l[] = { { "result", "applied", 7 } };

		nt_prom_family(out, "nodetap_config_reloads_total", "counter",
			       "Reloads of the --config file (SIGHUP): applied, or rejected for an "
			       "error (the configuration in force stays).");
		nt_prom_u64(out, "nodetap_config_reloads_total", l, 1, m->reloads_applied);
		l[0].value = "rejected";
		l[0].maxlen = 8;
		nt_prom_u64(out, "nodetap_config_reloads_total", l, 1, m->reloads_failed);
		nt_prom_family(out, "nodetap_config_last_reload_successful", "gauge",
			       "Whether the last reload of the --config file was applied (1) or "
			       "rejected (0); 1 before any.");
		nt_prom_u64(out, "nodetap_config_last_reload_successful", NULL, 0, m->last_reload_ok);
	}
	if (!getrusage(RUSAGE_SELF, &ru)) {
		nt_prom_family(out, "process_cpu_seconds_total", "counter",
			       "CPU time of the nodetap monitor itself (user and system).");
		nt_prom_double(out, "process_cpu_seconds_total", NULL, 0,
			       (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
			       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%*d %ld", &pages) == 1) {
			nt_prom_family(out, "process_resident_memory_bytes", "gauge",
				       "Resident memory of the nodetap monitor itself.");
			nt_prom_u64(out, "process_resident_memory_bytes", NULL, 0,
				    (unsigned long long)pages * (unsigned long long)sysconf(_SC_PAGESIZE));
		}
		fclose(f);
	}
}

int nt_monitor_render(void *ctx, struct nt_prom *out)
{
	struct monitor *m = ctx;
	unsigned long long read_errors = 0;

	pthread_mutex_lock(&m->lock);
	if (!m->ready || !out) {
		bool ready = m->ready;

		pthread_mutex_unlock(&m->lock);
		return ready ? 0 : -EAGAIN;
	}
	nt_monitor_sync(m);
	render_dns(m, out);
	render_connect(m, out);
	render_tcp(m, out);
	render_loop(m, out, &read_errors);
	render_self(m, out, read_errors);
	pthread_mutex_unlock(&m->lock);
	return 0;
}
