#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "common.h"
#include "escape.h"
#include "json.h"
#include "nodetap.h"

static bool libbpf_verbose, libbpf_debug;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !libbpf_debug)
		return 0;
	/* libbpf warns about probes it could not place; we say it better,
	 * with the reason, in probes.c. */
	if (level == LIBBPF_WARN && !libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

int nt_bpf_setup(const struct nt_opts *o)
{
	libbpf_verbose = o->verbose;
	/* libbpf's own debug output (the verifier log among it) is long:
	 * only on request. */
	libbpf_debug = getenv("NODETAP_LIBBPF_DEBUG") != NULL;
	libbpf_set_print(libbpf_print);
	if (geteuid() != 0) {
		fprintf(stderr, "nodetap %s: must run as root (it loads BPF programs and places "
			"uprobes: CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN); try sudo\n", o->cmd);
		return NT_EXIT_RUNTIME;
	}
	return 0;
}

int nt_test_map_sizes(const struct nt_opts *o, struct bpf_object *obj)
{
	const char *env = getenv("NODETAP_TEST_MAP_ENTRIES");
	char buf[512], *save = NULL;

	if (!env || !*env)
		return 0;
	if (strlen(env) >= sizeof(buf)) {
		fprintf(stderr, "nodetap %s: NODETAP_TEST_MAP_ENTRIES is longer than %zu bytes\n",
			o->cmd, sizeof(buf) - 1);
		return NT_EXIT_USAGE;
	}
	strcpy(buf, env);
	for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *end;
		struct bpf_map *map;
		unsigned long n;
		int err;

		errno = 0;
		n = eq ? strtoul(eq + 1, &end, 10) : 0;
		if (!eq || eq == item || end == eq + 1 || *end || errno || !n || n > UINT32_MAX) {
			fprintf(stderr, "nodetap %s: NODETAP_TEST_MAP_ENTRIES: '%s' is not MAP=N "
				"(N from 1 to %u)\n", o->cmd, item, UINT32_MAX);
			return NT_EXIT_USAGE;
		}
		*eq = 0;
		map = bpf_object__find_map_by_name(obj, item);
		if (!map)
			continue;
		if ((err = bpf_map__set_max_entries(map, (uint32_t)n))) {
			fprintf(stderr, "nodetap %s: NODETAP_TEST_MAP_ENTRIES: map %s cannot have %lu "
				"entries: %s\n", o->cmd, item, n, strerror(-err));
			return NT_EXIT_USAGE;
		}
		if (o->verbose)
			fprintf(stderr, "nodetap %s: test setting: map %s has %lu entries\n",
				o->cmd, item, n);
	}
	return 0;
}

int nt_setup_filter(struct nt_session *s, const struct nt_opts *o,
		    struct bpf_map *traced_pids, struct bpf_program *fork_prog,
		    struct bpf_link **link)
{
	int fd = bpf_map__fd(traced_pids);
	__u8 one = 1;

	*link = NULL;
	for (int i = 0; i < o->npids; i++) {
		__u32 pid = (__u32)o->pids[i];

		if (bpf_map_update_elem(fd, &pid, &one, BPF_ANY)) {
			fprintf(stderr, "nodetap %s: adding pid %u to the filter: %s\n", o->cmd, pid,
				strerror(errno));
			return NT_EXIT_RUNTIME;
		}
	}
	if (!o->command)
		return 0;
	*link = bpf_program__attach(fork_prog);
	if (!*link) {
		fprintf(stderr, "nodetap %s: cannot follow the children of COMMAND: attaching "
			"raw tracepoint sched_process_fork: %s\n", o->cmd, strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	pid_t child = nt_session_fork_command(s);
	if (child < 0)
		return NT_EXIT_RUNTIME;
	__u32 pid = (__u32)child;
	if (bpf_map_update_elem(fd, &pid, &one, BPF_ANY)) {
		fprintf(stderr, "nodetap %s: adding COMMAND's pid to the filter: %s\n", o->cmd,
			strerror(errno));
		return NT_EXIT_RUNTIME;
	}
	return 0;
}

static void warn_stderr(void *ctx, const char *msg)
{
	const struct nt_opts *o = ctx;

	fprintf(stderr, "nodetap %s: warning: ", o->cmd);
	nt_fputs_escaped(stderr, msg, 4096);
	fputc('\n', stderr);
}

struct nt_symbolizer *nt_symbolizer_for(const struct nt_opts *o)
{
	struct nt_symbolizer *sym = nt_symbolizer_new();

	if (sym)
		nt_symbolizer_set_warn(sym, warn_stderr, (void *)o);
	return sym;
}

bool nt_note_new_stack(struct nt_symbolizer *sym, const void *data, size_t len)
{
	const struct nt_new_stack_event *ev = data;

	if (len < sizeof(*ev) || ev->type != NT_EV_NEW_STACK)
		return false;
	nt_symbolizer_note_pid(sym, (int)ev->pid);
	return true;
}

int nt_read_counters(const struct nt_opts *o, struct bpf_map *map, size_t ksz, size_t vsz,
		     struct nt_snap *snap, struct nt_snap *prev,
		     void (*sub)(void *val, const void *prev_val))
{
	int rc = nt_snap_read(bpf_map__fd(map), ksz, vsz, snap);

	if (!rc && o->interval)
		rc = nt_snap_delta(snap, prev, sub);
	if (rc) {
		fprintf(stderr, "nodetap %s: reading the map %s: %s\n", o->cmd, bpf_map__name(map),
			strerror(-rc));
		nt_snap_free(snap);
		return NT_EXIT_RUNTIME;
	}
	return 0;
}

void nt_json_report_end(uint64_t last_report_ns, bool final, const char *count_key,
			unsigned long long count)
{
	struct nt_json j;
	uint64_t now = nt_now_ns();

	nt_json_begin(&j, stdout, "report");
	nt_json_u64(&j, "time_ns", now);
	nt_json_u64(&j, "interval_ns", now - last_report_ns);
	nt_json_bool(&j, "final", final);
	nt_json_u64(&j, count_key, count);
	nt_json_end(&j);
}

static const char *const loss_names[NT_LOSS_MAX] = {
	[NT_LOSS_RINGBUF] = "ring_buffer_drops",
	[NT_LOSS_AGG_FULL] = "map_full",
	[NT_LOSS_INFLIGHT_FULL] = "inflight_full",
	[NT_LOSS_STACK] = "stacks_not_taken",
	[NT_LOSS_UNMATCHED] = "unmatched_completions",
	[NT_LOSS_TRUNCATED] = "truncated_strings",
};

const char *nt_loss_name(int i)
{
	return i >= 0 && i < NT_LOSS_MAX ? loss_names[i] : "unknown";
}

void nt_report_losses(const struct nt_opts *o, const unsigned long long *losses,
		      struct nt_symbolizer *sym)
{
	nt_report_losses_to(stdout, o, losses, sym);
}

void nt_report_losses_to(FILE *out, const struct nt_opts *o, const unsigned long long *losses,
			 struct nt_symbolizer *sym)
{
	struct nt_symbolizer_stats st = { 0 };
	bool any = false;

	if (sym)
		nt_symbolizer_stats(sym, &st);
	if (o->json) {
		struct nt_json j;

		nt_json_begin(&j, out, "losses");
		for (int i = 0; i < NT_LOSS_MAX; i++)
			nt_json_u64(&j, loss_names[i], losses[i]);
		nt_json_u64(&j, "frames_unnamed", st.unnamed);
		nt_json_u64(&j, "frames_unknown", st.unknown);
		nt_json_u64(&j, "perfmap_lines_rejected", st.perfmap_lines_rejected);
		nt_json_end(&j);
		return;
	}
	fprintf(out, "lost since start:");
	for (int i = 0; i < NT_LOSS_MAX; i++) {
		if (!losses[i])
			continue;
		fprintf(out, "%s %llu %s", any ? "," : "", (unsigned long long)losses[i], loss_names[i]);
		any = true;
	}
	if (st.unnamed || st.unknown) {
		fprintf(out, "%s %llu frames unnamed, %llu unknown", any ? "," : "",
		       (unsigned long long)st.unnamed, (unsigned long long)st.unknown);
		any = true;
	}
	fprintf(out, "%s\n", any ? "" : " nothing");
}
