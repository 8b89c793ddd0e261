#!/usr/bin/env bash
# bench/offcpu_cost.sh [ROUNDS] [PINGS]: what `nodetap profile --off-cpu`
# costs. sched_switch runs at every context switch of the host, so the
# worst case is a process that does nothing but block and wake: a node main
# thread and a worker handing a token back and forth PINGS times (default
# 20000) through a futex (bench/offcpu_pingpong.js), each hand-over two
# context switches of traced threads. Each round runs it three ways, order
# rotated: untraced; traced (`profile --off-cpu -p` of it: every switch-out
# takes a stack, every switch-in an update); and with nodetap tracing only
# an idle process (the cost every other context switch on the host pays:
# the filter's lookup). Prints the median milliseconds of each, the ratios,
# and the cost per context switch.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
PINGS=${2:-20000}
NT=./nodetap
NODE=${NODE:-node}
tmp=$(mktemp -d)
idle=
cleanup() { [ -n "$idle" ] && kill "$idle" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
sleep 1000 &
idle=$!

# run_one MODE (none, traced, other): prints the ping-pong's milliseconds.
run_one() {
	local mode=$1 nt=0
	timeout 120 "$NODE" bench/offcpu_pingpong.js "$PINGS" 1500 >"$tmp/out" &
	local app=$!
	case $mode in
	traced) "$NT" profile --off-cpu -p $app >/dev/null 2>"$tmp/nt.err" & nt=$! ;;
	other) "$NT" profile --off-cpu -p $idle >/dev/null 2>"$tmp/nt.err" & nt=$! ;;
	esac
	wait $app || echo "ping-pong ($mode) failed or timed out" >&2
	if [ "$nt" != 0 ]; then
		kill -INT $nt
		wait $nt || true
	fi
	cat "$tmp/out"
}

declare -a none traced other
for r in $(seq 1 "$ROUNDS"); do
	case $((r % 3)) in
	0) order="none traced other" ;; 1) order="traced other none" ;; *) order="other none traced" ;;
	esac
	for m in $order; do
		ms=$(run_one "$m")
		case $m in
		none) none+=("$ms") ;; traced) traced+=("$ms") ;; other) other+=("$ms") ;;
		esac
	done
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
n=$(median "${none[@]}") t=$(median "${traced[@]}") o=$(median "${other[@]}")
echo "node futex ping-pong, $PINGS rounds (2 context switches each), median ms of $ROUNDS: untraced $n, traced by --off-cpu $t ($(awk -v x="$t" -v y="$n" 'BEGIN { printf "%.3f", x / y }')x), nodetap --off-cpu on another process $o ($(awk -v x="$o" -v y="$n" 'BEGIN { printf "%.3f", x / y }')x)"
echo "per context switch: traced +$(awk -v x="$t" -v y="$n" -v p="$PINGS" 'BEGIN { printf "%.2f", (x - y) * 1000 / (2 * p) }') us, untraced +$(awk -v x="$o" -v y="$n" -v p="$PINGS" 'BEGIN { printf "%.2f", (x - y) * 1000 / (2 * p) }') us"
echo "runs: untraced ${none[*]}; traced ${traced[*]}; other ${other[*]}"
