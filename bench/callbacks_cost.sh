#!/usr/bin/env bash
# bench/callbacks_cost.sh: what a probe hit of `nodetap callbacks` costs a
# node process, next to a bare counting uprobe on the same function, all
# measured side by side in one run.
#
#   bench/callbacks_cost.sh [ROUNDS] [SECONDS] [IMMEDIATES]
#                               default 5 rounds, 3 s of ping-pong, 200000 immediates
#
# Two workloads (tests/lib/callbacks-workload.js), each one node process:
#   pingpong    --hot: TCP ping-pong over loopback; every round trip makes
#               two callbacks through node::AsyncWrap::MakeCallback (TCPWRAP
#               reads) among syscalls and epoll: a real process's cache
#               pressure. The probes' function: AsyncWrap::MakeCallback.
#   immediates  --immediates: a setImmediate chain; every loop iteration makes
#               one callback through node::MakeCallback, and little else:
#               the tight case, everything in cache. The probes' function:
#               node::MakeCallback(..., async_context).
# Each round runs each workload once per mode, the order rotating from round
# to round so that the machine's drift spreads over all modes:
#   untraced, control   nothing attached (twice: the second is the noise floor)
#   bare entry          bench/bare_uprobe: a uprobe that only counts, on the
#                       workload's function
#   bare entry+return   the same with a uretprobe that only counts
#   nodetap             nodetap callbacks -p PID (entry + return on every
#                       callback function; kind; log2 histogram per kind)
#   nodetap filtered    nodetap callbacks -p PID --kind TIMERWRAP: every
#                       callback filtered out in the kernel, still trapped
# Each tracer attaches to the workload's pid (as `nodetap -p` does) while the
# workload waits 1.5 s before its first phase. Per mode: the CPU time (user +
# system, from the workload's own process.cpuUsage(); a uprobe's trap is
# charged to the process it interrupts) of one unit (round trip, immediate),
# the probe hits per unit (counted by the tracer) and the added CPU time per
# hit against the untraced run of the same round. Medians over rounds. CPU
# time rather than wall time, because other work on a shared machine
# stretches wall time far more than CPU time; wall time is shown too.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh # make_var, stats, ratio
ROUNDS=${1:-5}
SECS=${2:-3}
NIMM=${3:-200000}
NODE=${NODE:-node}
NODE=$(command -v "$NODE")
W=tests/lib/callbacks-workload.js
SCRATCH=$(mktemp -d /tmp/nodetap-bench-callbacks.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

CC=$(make_var CC)
CFLAGS=$(make_var CFLAGS)
LDLIBS=$(make_var LDLIBS)
CLANG=$(make_var CLANG)
BPF_CFLAGS=$(make_var BPF_CFLAGS)
make -s build/user/elfsym.o nodetap >/dev/null
# shellcheck disable=SC2086  # the flags are word lists
$CLANG $BPF_CFLAGS -c bench/bare_uprobe.bpf.c -o "$SCRATCH/bare_uprobe.bpf.o"
bpftool gen skeleton "$SCRATCH/bare_uprobe.bpf.o" >"$SCRATCH/bare_uprobe.skel.h"
# shellcheck disable=SC2086
$CC $CFLAGS -I"$SCRATCH" -o "$SCRATCH/bare_uprobe" bench/bare_uprobe.c build/user/elfsym.o $LDLIBS

declare -A WARGS FUNC UNITS NS CPU
WARGS[pingpong]="--hot $SECS"
FUNC[pingpong]='node::AsyncWrap::MakeCallback(v8::Local<v8::Function>'
UNITS[pingpong]=hot_round_trips NS[pingpong]=hot_ns CPU[pingpong]=hot_cpu_ns
WARGS[immediates]="--immediates $NIMM"
FUNC[immediates]='node::MakeCallback(v8::Isolate*, v8::Local<v8::Object>, v8::Local<v8::Function>, int, v8::Local<v8::Value>*, node::async_context'
UNITS[immediates]=immediates NS[immediates]=immediates_ns CPU[immediates]=immediates_cpu_ns

# run WORKLOAD MODE OUT: one run; OUT gets "cpu_ns_per_unit hits units wall_ns_per_unit".
run() {
	local w=$1 mode=$2 out=$3 wl=$SCRATCH/wl.json tr=$SCRATCH/tracer.out pid tpid hits=0 i
	rm -f "$wl" "$tr"
	# shellcheck disable=SC2086  # WARGS is a word list
	"$NODE" "$W" --start-after-ms 1500 ${WARGS[$w]} --out "$wl" &
	pid=$!
	pids+=("$pid")
	# Until it has exec'ed, the child is still a copy of this shell.
	for ((i = 0; i < 500; i++)); do
		[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$NODE" ] && break
		sleep 0.002
	done
	case $mode in
	untraced|control) ;;
	bare) "$SCRATCH/bare_uprobe" -p "$pid" "$NODE" "${FUNC[$w]}" >"$tr" 2>&1 & ;;
	bare_ret) "$SCRATCH/bare_uprobe" -r -p "$pid" "$NODE" "${FUNC[$w]}" >"$tr" 2>&1 & ;;
	nodetap) ./nodetap callbacks --json -p "$pid" >"$tr" 2>&1 & ;;
	nodetap_filtered) ./nodetap callbacks --json --kind TIMERWRAP -p "$pid" >"$tr" 2>&1 & ;;
	esac
	tpid=$!
	if [ "$mode" != untraced ] && [ "$mode" != control ]; then
		pids+=("$tpid")
		for ((i = 0; i < 300; i++)); do
			grep -q -e '^ready' -e '"type":"probe"' "$tr" 2>/dev/null && break
			sleep 0.01
		done
		grep -q -e '^ready' -e '"type":"probe"' "$tr" ||
			{ echo "callbacks_cost.sh: $mode did not attach in time: $(cat "$tr")" >&2; exit 1; }
	fi
	wait "$pid"
	if [ "$mode" != untraced ] && [ "$mode" != control ]; then
		kill -INT "$tpid" 2>/dev/null || true
		wait "$tpid" || { echo "callbacks_cost.sh: $mode failed: $(tail -3 "$tr")" >&2; exit 1; }
		case $mode in
		bare*) hits=$(awk '/^hits/ {print $2}' "$tr") ;;
		*) hits=$(grep '^{' "$tr" | jq -rs '[.[] | select(.type=="callbacks_cost" and .when=="report")] | last | .hits') ;;
		esac
	fi
	jq -r --arg h "$hits" --arg u "${UNITS[$w]}" --arg n "${NS[$w]}" --arg c "${CPU[$w]}" \
		'"\(.[$c] / .[$u]) \($h) \(.[$u]) \(.[$n] / .[$u])"' "$wl" >"$out"
}

modes=(untraced bare bare_ret nodetap nodetap_filtered control)
for ((r = 0; r < ROUNDS; r++)); do
	for w in pingpong immediates; do
		for ((k = 0; k < ${#modes[@]}; k++)); do
			m=${modes[$(((k + r) % ${#modes[@]}))]}
			run "$w" "$m" "$SCRATCH/$w.r$r.$m"
		done
	done
done

median() { sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.3f", a[int((NR+1)/2)]; else print "-"}'; }
col() { # col WORKLOAD MODE AWK: AWK over "mode-line untraced-line" of each round
	local r
	for ((r = 0; r < ROUNDS; r++)); do
		paste -d' ' "$SCRATCH/$1.r$r.$2" "$SCRATCH/$1.r$r.untraced" | awk "$3"
	done | median
}
echo "node $("$NODE" --version), $ROUNDS rounds; medians over rounds. pingpong: $SECS s of TCP round"
echo "trips (unit: a round trip, 2 callbacks); immediates: $NIMM setImmediate (unit: one, 1 callback)."
for w in pingpong immediates; do
	echo
	echo "| $w: mode | CPU us per unit | (wall us) | probe hits per unit | added CPU us per unit | added CPU us per probe hit |"
	echo "|---|---:|---:|---:|---:|---:|"
	for m in untraced control bare bare_ret nodetap nodetap_filtered; do
		echo "| $m | $(col $w $m '{print $1 / 1000}') | $(col $w $m '{print $4 / 1000}') |" \
			"$(col $w $m '{print $2 / $3}') | $(col $w $m '{print ($1 - $5) / 1000}') |" \
			"$(col $w $m '$2 > 0 {print ($1 - $5) / 1000 / ($2 / $3)}') |"
	done
done
