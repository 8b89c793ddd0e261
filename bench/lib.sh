# bench/lib.sh: what the bench scripts share. Source it after `cd` to the
# repository: scratch space and cleanup, the Makefile's flags, statistics
# over rounds, node workloads that wait for a signal to start, and bpftrace
# run so that it leaves nothing behind on the host.
# shellcheck shell=bash

# A scratch directory removed at exit, and every process the script started
# (registered with bench_track PID) killed then.
bench_init() { # NAME
	SCRATCH=$(mktemp -d "/tmp/nodetap-bench-$1.XXXXXX")
	BENCH_PIDS=()
	trap bench_cleanup EXIT
}
bench_track() { BENCH_PIDS+=("$@"); }
bench_cleanup() {
	local p
	for p in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$SCRATCH"
}

# The Makefile's own flags: a one-rule makefile read after it prints them.
make_var() {
	printf 'nt-print-var:\n\t@echo $(%s)\n' "$1" |
		make -s --no-print-directory -f Makefile -f - nt-print-var
}

# "min / median / max" of the arguments, 3 decimals.
stats() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.3f / %.3f / %.3f", a[1], a[int((NR+1)/2)], a[NR]}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }

# wait_for_line FILE REGEX SECONDS: until FILE has a line matching REGEX;
# fails (1) when the time is up.
wait_for_line() {
	local i n=$(($3 * 50))
	for ((i = 0; i < n; i++)); do
		grep -q -E "$2" "$1" 2>/dev/null && return 0
		sleep 0.02
	done
	return 1
}

# start_workload CPU OUT KIND SECONDS [RATE]: bench/workload.js on CPU, its
# output in OUT; sets WL_PID once it waits for SIGUSR2.
start_workload() {
	local cpu=$1 out=$2
	shift 2
	taskset -c "$cpu" "$NODE" bench/workload.js "$@" >"$out" 2>&1 &
	WL_PID=$!
	bench_track "$WL_PID"
	wait_for_line "$out" '^ready' 30 || { echo "bench: workload $* did not start: $(cat "$out")" >&2; exit 1; }
}
# What a finished workload did: FIELD of its JSON line.
workload_field() { grep '^{' "$1" | jq -r ".$2"; }

# bpftrace 0.17 places uprobes through perf_event without tracefs, but wants
# tracefs for tracepoints and some detaches; tracefs is not mounted here. So
# bpftrace runs in a private mount namespace with tracefs mounted there: the
# mount vanishes with the namespace, the host sees none.
#   bt_start OUT ARGS...   bpftrace ARGS in the background; sets BT_PID
bt_start() {
	local out=$1
	shift
	unshare -m --propagation private sh -c \
		'mount -t tracefs nodev /sys/kernel/tracing && exec bpftrace "$@"' sh "$@" >"$out" 2>&1 &
	BT_PID=$!
	bench_track "$BT_PID"
}
# The BPF program ids a process holds (from its fds), one a line.
prog_ids_of() { # PID
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u
}
# bt_leftovers IDS: what a finished bpftrace left behind: tracefs mounts on the
# host, uprobe or kprobe events in tracefs (looked at in a private mount
# namespace), and any of its BPF programs (IDS, from prog_ids_of while it
# ran) still loaded. Prints nothing when it left nothing.
bt_leftovers() {
	local id
	grep -q ' tracefs ' /proc/self/mountinfo && echo "a tracefs mount on the host"
	unshare -m --propagation private sh -c 'mount -t tracefs nodev /sys/kernel/tracing &&
		cat /sys/kernel/tracing/uprobe_events /sys/kernel/tracing/kprobe_events 2>/dev/null' |
		sed 's/^/probe event left: /'
	for id in $1; do
		bpftool prog show id "$id" >/dev/null 2>&1 && echo "bpf program $id still loaded"
	done
	return 0
}

# bpftrace, wherever the machine lacks it: scripts/deps.sh bench installs it.
need_bench_deps() {
	command -v bpftrace >/dev/null && command -v wrk >/dev/null && return 0
	scripts/deps.sh bench >&2
}
