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
	bpf_stats_restore
	for p in "${BENCH_PIDS[@]+"${BENCH_PIDS[@]}"}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$SCRATCH"
}

# The Makefile's own flags: a one-rule makefile read after it prints them.
make_var() {
	# shellcheck disable=SC2016  # $(NAME) is make's, not the shell's
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

# start_workload CPU OUT KIND SECONDS [RATE]: bench/workload.js on CPU, run
# by $WL_NODE (default $NODE), its output in OUT; sets WL_PID once it waits
# for SIGUSR2.
start_workload() {
	local cpu=$1 out=$2
	shift 2
	# A previous run's "ready" must not be taken for this one's.
	rm -f "$out"
	taskset -c "$cpu" "${WL_NODE:-$NODE}" bench/workload.js "$@" >"$out" 2>&1 &
	WL_PID=$!
	bench_track "$WL_PID"
	wait_for_line "$out" '^ready' 30 || { echo "bench: workload $* did not start: $(cat "$out")" >&2; exit 1; }
}
# What a finished workload did: FIELD of its JSON line.
workload_field() { grep '^{' "$1" | jq -r ".$2"; }

# node_copies N: N byte-identical copies of $NODE in $SCRATCH, NODE_COPY[i].
# bpftrace 0.17 places its uprobes on the binary's file for every process
# (-p only filters what some of its actions see): a probe on /usr/bin/node
# traps in every node process on the host, the untraced side of an A/B and
# other people's processes included. Uprobes are per file, so a workload run
# from its own copy is probed alone.
node_copies() {
	local i
	NODE_COPY=()
	for ((i = 0; i < $1; i++)); do
		cp "$NODE" "$SCRATCH/node$i"
		NODE_COPY+=("$SCRATCH/node$i")
	done
}

# bpftrace 0.17 places uprobes through perf_event without tracefs, but wants
# tracefs for tracepoints and some detaches; tracefs is not mounted here. So
# bpftrace runs in a private mount namespace with tracefs mounted there: the
# mount vanishes with the namespace, the host sees none.
#   bt_start OUT ARGS...   bpftrace ARGS in the background (on CPU $BT_CPU
#                          when set); sets BT_PID
bt_start() {
	local out=$1
	shift
	taskset -c "${BT_CPU:-0-$(($(nproc) - 1))}" unshare -m --propagation private sh -c \
		'mount -t tracefs nodev /sys/kernel/tracing && exec bpftrace "$@"' sh "$@" >"$out" 2>&1 &
	BT_PID=$!
	bench_track "$BT_PID"
}
# bpftrace's version of nodetap dns on BINARY: in-flight state keyed by
# (pid, request), the hostname copied at entry, a count and a latency
# histogram per hostname at completion (uv__getaddrinfo_done gets the
# request's work_req, 72 bytes in: include/uv_layout.h), refusals counted
# at return. Prints "ready" once attached (BEGIN runs after every probe is).
bt_dns_script() { # BINARY
	cat <<-EOF
	uprobe:$1:uv_getaddrinfo { @start[pid, arg1] = nsecs; @host[pid, arg1] = str(arg3); }
	uretprobe:$1:uv_getaddrinfo /retval != 0/ { @refused[comm] = count(); }
	uprobe:$1:uv__getaddrinfo_done /@start[pid, arg0 - 72]/ {
		\$req = arg0 - 72;
		@count[pid, @host[pid, \$req]] = count();
		@lat_us[pid, @host[pid, \$req]] = hist((nsecs - @start[pid, \$req]) / 1000);
		delete(@start[pid, \$req]); delete(@host[pid, \$req]);
	}
	BEGIN { printf("ready\n"); }
	EOF
}
# bpftrace's version of nodetap connect --stacks for process PID of BINARY, on
# the same probe sites: the stack of every lookup (uv_getaddrinfo); at its
# completion (uv__getaddrinfo_done, entry and return) the hostname and the
# first address it resolved to, and the lookup's stack kept by hostname;
# node's TCPWrap::Connect (v18-v22's symbol); the stack of every connect and
# connect latency per destination into a histogram (tracepoint
# sock:inet_sock_set_state: SYN_SENT, in the connecting process, to the next
# state, keyed by socket). Offsets: include/uv_layout.h.
bt_connect_script() { # BINARY PID
	cat <<-EOF
	uprobe:$1:uv_getaddrinfo { @origin[pid, arg1] = ustack; }
	uprobe:$1:uv__getaddrinfo_done {
		\$req = arg0 - 72;
		\$host = str(*(uint64 *)(\$req + 128));
		\$ai = *(uint64 *)(\$req + 144);
		if (\$ai != 0) {
			\$sa = *(uint64 *)(\$ai + 24);
			@resolved[pid, *(uint32 *)(\$sa + 4)] = \$host;
		}
		@origin_of[pid, \$host] = @origin[pid, \$req];
		delete(@origin[pid, \$req]);
		@in_callback[tid] = 1;
	}
	uretprobe:$1:uv__getaddrinfo_done { delete(@in_callback[tid]); }
	uprobe:$1:_ZN4node7TCPWrap7ConnectERKN2v820FunctionCallbackInfoINS1_5ValueEEE {
		@in_connect[tid] = nsecs;
	}
	tracepoint:sock:inet_sock_set_state /args->newstate == 2 && pid == $2/ {
		@syn[args->skaddr] = nsecs; @connect_stack[ustack] = count(); delete(@in_connect[tid]);
	}
	tracepoint:sock:inet_sock_set_state /args->oldstate == 2 && @syn[args->skaddr]/ {
		@connect_us[ntop(args->daddr), args->dport, args->newstate] =
			hist((nsecs - @syn[args->skaddr]) / 1000);
		delete(@syn[args->skaddr]);
	}
	BEGIN { printf("ready\n"); }
	EOF
}

# The BPF program ids a process holds (from its fds), one a line.
prog_ids_of() { # PID
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u
}
# bpf_ids_of PID prog|link: the BPF program or link ids process PID holds
# (from its fdinfo): its own, whatever else runs on the machine. One a line.
bpf_ids_of() {
	{ cat /proc/"$1"/fdinfo/* 2>/dev/null || true; } | sed -n "s/^$2_id:[[:space:]]*//p" | sort -un
}
# bpf_ids_gone PROGS LINKS: true once none of these ids (one a line) is
# loaded any more.
bpf_ids_gone() {
	! bpftool -j prog show | jq -r '.[].id' | grep -qxF "$1" &&
		! bpftool -j link show | jq -r '.[].id' | grep -qxF "$2"
}
# A TCP port free on 127.0.0.1 now (the kernel's pick).
free_port() {
	"${NODE:-node}" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# bt_leftovers IDS: what a finished bpftrace left behind: tracefs mounts on the
# host, uprobe or kprobe events in tracefs (looked at in a private mount
# namespace), and any of its BPF programs (IDS, from prog_ids_of while it
# ran) still loaded. Prints nothing when it left nothing.
bt_leftovers() {
	local id
	# (no kprobe_events on a kernel without kprobes)
	unshare -m --propagation private sh -c 'mount -t tracefs nodev /sys/kernel/tracing &&
		cat /sys/kernel/tracing/uprobe_events &&
		{ [ ! -e /sys/kernel/tracing/kprobe_events ] || cat /sys/kernel/tracing/kprobe_events; }' |
		sed 's/^/probe event left: /' ||
		echo "cannot look at tracefs (mount or read failed)"
	grep -q ' tracefs ' /proc/self/mountinfo && echo "a tracefs mount on the host"
	for id in $1; do
		bpftool prog show id "$id" >/dev/null 2>&1 && echo "bpf program $id still loaded"
	done
	return 0
}

# The kernel's accounting of BPF programs (run_cnt, run_time_ns), switched
# on by bpf_stats_on until bpf_stats_restore (or exit). It adds two clock
# reads to every run of every program on the host, so only for the runs that
# read it.
BPF_STATS_OLD=
bpf_stats_on() {
	BPF_STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
}
bpf_stats_restore() {
	[ -z "$BPF_STATS_OLD" ] || sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS_OLD"
	BPF_STATS_OLD=
}
# bpf_runs IDS: "runs run_time_ns" summed over the programs IDS.
bpf_runs() {
	local id
	for id in $1; do bpftool -j prog show id "$id" 2>/dev/null || true; done |
		jq -s '[(map(.run_cnt // 0) | add // 0), (map(.run_time_ns // 0) | add // 0)] | "\(.[0]) \(.[1])"' -r
}

# bpftrace, wherever the machine lacks it: scripts/deps.sh bench installs it.
need_bench_deps() {
	command -v bpftrace >/dev/null && command -v wrk >/dev/null && return 0
	scripts/deps.sh bench >&2
}
