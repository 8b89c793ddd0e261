#!/usr/bin/env bash
# bench/loop_cost.sh: what `nodetap loop` or `nodetap monitor` costs an HTTP
# keep-alive server.
#
#   bench/loop_cost.sh [loop|monitor] [ROUNDS] [SECONDS]   default loop, 6 rounds of 8 s
#
# This machine's speed drifts by +-10% between runs, so a sequential
# comparison cannot resolve 1%. A/B in the same time window instead: two
# identical node servers (bench/loop_server.js) share CPU 1, each loaded at
# the same time by its own wrk (1 thread, 16 keep-alive connections) on CPU 0;
# nodetap (also on CPU 0) traces one of them, the roles swapped every round.
# Figure: traced / untraced requests per second within a round. Every round
# also has a control pair with nothing traced, the same server over the same
# other one: the noise floor of the method.
#
# loop: `nodetap loop -p PID`. The sampler runs on every CPU, so its
# interrupts (99 a second per CPU, a hash lookup each) cost both servers
# alike; the A/B shows what being traced costs a server on top of that.
#
# monitor: `nodetap monitor` is host-wide (every process whose executable
# looks like node). So each server runs from its own byte-identical copy of
# node named so that it does not (srv-a, srv-b), and the monitor is started
# with `--binary` of the traced one's copy only: it finds that server's loop
# and places its dns uprobes on that file alone. Its kernel tracepoints
# (exec, TCP state changes) and its CPU-clock sampler cost both sides alike
# (and every other node process on the host is monitored as always). Every
# round checks on /metrics that the traced server has a loop-lag series and
# the other none, and after SIGTERM that the monitor's own BPF programs and
# links (ids from its fdinfo) are gone.
#
# A sequential series (one server alone on CPU 1, untraced and traced in
# turn) includes the host-wide part, and the machine's drift. Also shown:
# nodetap's own CPU time once it has started (its loader; the sampler's BPF
# time is charged to the processes it interrupts).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh # stats, ratio, free_port, bpf_ids_of, bpf_ids_gone
MODE=loop
case ${1:-} in
loop | monitor) MODE=$1; shift ;;
'' | [0-9]*) ;;
*) echo "usage: bench/loop_cost.sh [loop|monitor] [ROUNDS] [SECONDS]" >&2; exit 2 ;;
esac
ROUNDS=${1:-6}
SECS=${2:-8}
NODE=${NODE:-node}
NODE=$(command -v "$NODE")
CONNS=16
PORT_A=18481
PORT_B=18482

if ! command -v wrk >/dev/null; then
	echo "bench/loop_cost.sh: installing wrk (Debian package)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >&2 ||
		{ apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >&2; }
fi
[ "$(nproc)" -ge 2 ] || { echo "bench/loop_cost.sh: needs 2 CPUs" >&2; exit 1; }

SCRATCH=$(mktemp -d /tmp/nodetap-bench-loop.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

# The servers' executables: node itself for loop (-p picks the process);
# for monitor, copies that do not look like node (see the top).
SRV_BIN=("$NODE" "$NODE")
if [ "$MODE" = monitor ]; then
	cp "$NODE" "$SCRATCH/srv-a"
	cp "$NODE" "$SCRATCH/srv-b"
	SRV_BIN=("$SCRATCH/srv-a" "$SCRATCH/srv-b")
fi

SERVER=
start_server() { # PORT BINARY: sets SERVER to its pid
	taskset -c 1 "$2" bench/loop_server.js "$1" >"$SCRATCH/server.$1" 2>&1 &
	local p=$!
	disown "$p" # killed at exit without a job notice
	pids+=("$p")
	SERVER=$p
	for _ in $(seq 200); do
		grep -q listening "$SCRATCH/server.$1" 2>/dev/null && break
		sleep 0.05
	done
	grep -q listening "$SCRATCH/server.$1" || { echo "server on $1 did not start" >&2; exit 1; }
}

rps() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$1"; }

# wrk on CPU 0 against each PORT at once, SECS seconds; leaves
# $SCRATCH/wrk.PORT.
load() {
	local port w=()
	for port in "$@"; do
		taskset -c 0 wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$port/" >"$SCRATCH/wrk.$port" 2>&1 &
		w+=($!)
	done
	wait "${w[@]}"
}

# trace PID BINARY: nodetap on CPU 0 in the background, tracing server PID
# (run from BINARY); waits until it traces that server's loop and notes
# nodetap's CPU time then (its start-up is not the steady cost).
NT= NT_TICKS0=
trace() {
	if [ "$MODE" = monitor ]; then
		trace_monitor "$@"
		return
	fi
	taskset -c 0 ./nodetap loop --json -p "$1" >"$SCRATCH/nt.json" 2>"$SCRATCH/nt.err" &
	NT=$!
	pids+=("$NT")
	for _ in $(seq 200); do
		if grep -q '"type":"loop"' "$SCRATCH/nt.json" 2>/dev/null; then
			NT_TICKS0=$(cpu_ticks "$NT")
			return 0
		fi
		sleep 0.05
	done
	echo "nodetap loop did not find the loop of $1: $(cat "$SCRATCH/nt.err")" >&2
	exit 1
}

# The monitor, told that BINARY is node; ready once /metrics has a loop-lag
# series for PID. Its BPF program and link ids are noted for untrace.
NT_PORT='' NT_PROGS='' NT_LINKS=''
trace_monitor() { # PID BINARY
	NT_PORT=$(free_port)
	taskset -c 0 ./nodetap monitor -v --listen "127.0.0.1:$NT_PORT" --binary "$2" \
		>"$SCRATCH/nt.out" 2>"$SCRATCH/nt.err" &
	NT=$!
	pids+=("$NT")
	for _ in $(seq 600); do
		if curl -sf "127.0.0.1:$NT_PORT/metrics" >"$SCRATCH/metrics" 2>/dev/null &&
			grep -q "^nodetap_event_loop_lag_seconds_count{pid=\"$1\"" "$SCRATCH/metrics"; then
			NT_TICKS0=$(cpu_ticks "$NT")
			NT_PROGS=$(bpf_ids_of "$NT" prog)
			NT_LINKS=$(bpf_ids_of "$NT" link)
			return 0
		fi
		kill -0 "$NT" 2>/dev/null || break
		sleep 0.1
	done
	echo "nodetap monitor did not find the loop of $1 ($2): $(tail -n 5 "$SCRATCH/nt.err")" >&2
	exit 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Stop nodetap; NTCPU: its CPU time in percent of one CPU over SECS.
NTCPU=
untrace() {
	local ticks
	ticks=$(($(cpu_ticks "$NT") - NT_TICKS0))
	if [ "$MODE" = monitor ]; then
		untrace_monitor
	else
		kill -INT "$NT"
		wait "$NT" || true
	fi
	NTCPU=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v s="$SECS" 'BEGIN { printf "%.3f", 100 * t / hz / s }')
}

# Before stopping the monitor: did it trace the intended server only (a
# loop-lag series for it, none for the other)? After SIGTERM: exit 0, and
# none of its own BPF programs or links left.
UNTRACED='' CHECKS=()
untrace_monitor() {
	local m=$SCRATCH/metrics rc=0 i
	curl -sf "127.0.0.1:$NT_PORT/metrics" >"$m"
	if grep -q "^nodetap_event_loop_lag_seconds_count{pid=\"$UNTRACED\"" "$m"; then
		echo "nodetap monitor traced the untraced server $UNTRACED too" >&2
		exit 1
	fi
	kill -TERM "$NT"
	wait "$NT" || rc=$?
	[ "$rc" = 0 ] || { echo "nodetap monitor exited $rc: $(tail -n 5 "$SCRATCH/nt.err")" >&2; exit 1; }
	for ((i = 0; i < 50; i++)); do
		bpf_ids_gone "$NT_PROGS" "$NT_LINKS" && break
		sleep 0.1
	done
	bpf_ids_gone "$NT_PROGS" "$NT_LINKS" ||
		{ echo "nodetap monitor left BPF programs or links behind: $NT_PROGS / $NT_LINKS" >&2; exit 1; }
	CHECKS+=("$(echo "$NT_PROGS" | grep -c .) programs, $(echo "$NT_LINKS" | grep -c .) links")
}

start_server $PORT_A "${SRV_BIN[0]}"
a=$SERVER
start_server $PORT_B "${SRV_BIN[1]}"
b=$SERVER
load $PORT_A $PORT_B # warm-up: JIT, connection set-up
ab=() ctl=() ntcpu=() base=() lag=()
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		tp=$a tbin=${SRV_BIN[0]} tport=$PORT_A UNTRACED=$b uport=$PORT_B
	else
		tp=$b tbin=${SRV_BIN[1]} tport=$PORT_B UNTRACED=$a uport=$PORT_A
	fi
	trace "$tp" "$tbin"
	load $PORT_A $PORT_B
	untrace
	ntcpu+=("$NTCPU")
	ab+=("$(ratio "$(rps "$SCRATCH/wrk.$tport")" "$(rps "$SCRATCH/wrk.$uport")")")
	[ "$MODE" = monitor ] || lag+=("$(jq -r 'select(.type=="loop_summary") | (.iterations_per_s | tostring) + " it/s, on CPU " + (.on_cpu * 100 | floor | tostring) + "%"' "$SCRATCH/nt.json" | head -n 1)")
	load $PORT_A $PORT_B
	ctl+=("$(ratio "$(rps "$SCRATCH/wrk.$tport")" "$(rps "$SCRATCH/wrk.$uport")")")
	base+=("$(rps "$SCRATCH/wrk.$PORT_A")" "$(rps "$SCRATCH/wrk.$PORT_B")")
done

# Sequential: server A alone, untraced and traced in turn.
kill "$b"
UNTRACED=$b
seq_r=()
for r in $(seq "$ROUNDS"); do
	load $PORT_A
	u=$(rps "$SCRATCH/wrk.$PORT_A")
	trace "$a" "${SRV_BIN[0]}"
	load $PORT_A
	untrace
	seq_r+=("$(ratio "$(rps "$SCRATCH/wrk.$PORT_A")" "$u")")
done

echo "| figure | min / median / max over $ROUNDS rounds of ${SECS} s |"
echo "|---|---|"
echo "| A/B, two servers on one CPU at once: traced / untraced requests per second | $(stats "${ab[@]}") |"
echo "| control, nothing traced: the same two servers, the same way round | $(stats "${ctl[@]}") |"
echo "| sequential, one server: traced / untraced requests per second | $(stats "${seq_r[@]}") |"
echo "| requests per second of one untraced server (sharing its CPU) | $(stats "${base[@]}") |"
echo "| nodetap's own CPU time after start-up, % of one CPU (clock ticks of 10 ms) | $(stats "${ntcpu[@]}") |"
echo
if [ "$MODE" = monitor ]; then
	echo "Every run of the monitor: a loop-lag series for the traced server only; after SIGTERM exit 0 and none of its own BPF programs and links left (first run: ${CHECKS[0]})."
else
	echo "The traced server as nodetap saw it, first round: ${lag[0]}."
fi
