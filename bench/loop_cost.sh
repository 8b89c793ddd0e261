#!/usr/bin/env bash
# bench/loop_cost.sh: what `nodetap loop` costs an HTTP keep-alive server.
#
#   bench/loop_cost.sh [ROUNDS] [SECONDS]      default 6 rounds of 8 s
#
# This machine's speed drifts by +-10% between runs, so a sequential
# comparison cannot resolve 1%. A/B in the same time window instead: two
# identical node servers (bench/loop_server.js) share CPU 1, each loaded at
# the same time by its own wrk (1 thread, 16 keep-alive connections) on CPU 0;
# `nodetap loop -p PID` (also on CPU 0) traces one of them, the roles swapped
# every round. Figure: traced / untraced requests per second within a round.
# Every round also has a control pair with nothing traced, the same server
# over the same other one: the noise floor of the method.
#
# The sampler runs on every CPU, so its interrupts (99 a second per CPU, a
# hash lookup each) cost both servers alike; the A/B shows what being traced
# costs a server on top of that. A sequential series (one server alone on
# CPU 1, untraced and traced in turn) includes the host-wide part, and the
# machine's drift. Also shown: nodetap's own CPU time once it has started
# (its loader; the sampler's BPF time is charged to the processes it
# interrupts).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh # make_var, stats, ratio
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

SERVER=
start_server() { # PORT: sets SERVER to its pid
	taskset -c 1 "$NODE" bench/loop_server.js "$1" >"$SCRATCH/server.$1" 2>&1 &
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

# nodetap loop -p PID on CPU 0 in the background; waits for its loop record
# and notes nodetap's CPU time then (its start-up is not the steady cost).
NT= NT_TICKS0=
trace() {
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

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Stop nodetap; NTCPU: its CPU time in percent of one CPU over SECS.
NTCPU=
untrace() {
	local ticks
	ticks=$(($(cpu_ticks "$NT") - NT_TICKS0))
	kill -INT "$NT"
	wait "$NT" || true
	NTCPU=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v s="$SECS" 'BEGIN { printf "%.3f", 100 * t / hz / s }')
}


start_server $PORT_A
a=$SERVER
start_server $PORT_B
b=$SERVER
load $PORT_A $PORT_B # warm-up: JIT, connection set-up
ab=() ctl=() ntcpu=() base=() lag=()
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then tp=$a tport=$PORT_A uport=$PORT_B; else tp=$b tport=$PORT_B uport=$PORT_A; fi
	trace "$tp"
	load $PORT_A $PORT_B
	untrace
	ntcpu+=("$NTCPU")
	ab+=("$(ratio "$(rps "$SCRATCH/wrk.$tport")" "$(rps "$SCRATCH/wrk.$uport")")")
	lag+=("$(jq -r 'select(.type=="loop_summary") | (.iterations_per_s | tostring) + " it/s, on CPU " + (.on_cpu * 100 | floor | tostring) + "%"' "$SCRATCH/nt.json" | head -n 1)")
	load $PORT_A $PORT_B
	ctl+=("$(ratio "$(rps "$SCRATCH/wrk.$tport")" "$(rps "$SCRATCH/wrk.$uport")")")
	base+=("$(rps "$SCRATCH/wrk.$PORT_A")" "$(rps "$SCRATCH/wrk.$PORT_B")")
done

# Sequential: server A alone, untraced and traced in turn.
kill "$b"
seq_r=()
for r in $(seq "$ROUNDS"); do
	load $PORT_A
	u=$(rps "$SCRATCH/wrk.$PORT_A")
	trace "$a"
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
echo "The traced server as nodetap saw it, first round: ${lag[0]}."
