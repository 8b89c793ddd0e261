#!/usr/bin/env bash
# bench/vs_bpftrace.sh: what nodetap costs a node process that does nothing
# but lookups or short-lived connections, next to bpftrace measuring the same
# things, side by side in one time window.
#
#   bench/vs_bpftrace.sh churn|dns [ROUNDS] [SECONDS]    default 5 rounds of 4 s
#
#   churn  bench/workload.js churn: loopback connections to 'localhost' by
#          name, one after the other (a dns.lookup, a connect, 100 bytes
#          each way, close). nodetap connect --stacks -p PID, against
#          bpftrace: lookup stacks (uprobe uv_getaddrinfo), connect stacks
#          and connect latency per destination (tracepoint
#          sock:inet_sock_set_state).
#   dns    bench/workload.js dns: dns.lookup('localhost') one after the
#          other. nodetap dns -p PID, against bpftrace: uv_getaddrinfo entry
#          and return, completion latency histogram per hostname.
#
# This machine's speed drifts by +-10% between runs, and others use it, so
# a sequential comparison cannot resolve a few percent. Instead, two
# identical workloads run at the same time on CPU 1 for SECONDS, each
# started by the same signal; one of them is traced (the tracer on CPU 0,
# attached to that pid only, before the start), the roles swap every round.
# Figure: operations of the traced / of the untraced workload in that window.
# Each round has a pair for nodetap, one for bpftrace and a control pair with
# nothing traced (the noise floor of the method), in an order that rotates.
# Each workload runs from its own byte-identical copy of node, the tracer's
# uprobes placed on the traced one's copy only: bpftrace places uprobes on a
# file for every process that runs it, whatever -p says (bench/lib.sh
# node_copies). The two copies swap roles every round too.
# Kernel tracepoints fire for both processes (the filter by pid runs inside
# the program), so their cost to the untraced one is left out of the ratio;
# on loopback that is the same for both tools.
# shellcheck disable=SC2046,SC2086  # lists of numbers are split into arguments on purpose
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
KIND=${1:-}
ROUNDS=${2:-5}
SECS=${3:-4}
NODE=${NODE:-node}
NODE=$(command -v "$NODE")
case $KIND in
churn|dns) ;;
*) echo "usage: bench/vs_bpftrace.sh churn|dns [ROUNDS] [SECONDS]" >&2; exit 2 ;;
esac
[ "$(nproc)" -ge 2 ] || { echo "bench/vs_bpftrace.sh: needs 2 CPUs" >&2; exit 1; }
need_bench_deps
bench_init "vs-$KIND"
make -s nodetap >/dev/null
node_copies 2
BT_CPU=0
LEFT=

# tracer MODE PID BINARY OUT: start MODE's tracer on PID (running BINARY) in
# the background, on CPU 0, and wait until its probes are live; sets TPID
# (empty for control).
TPID=
tracer() {
	local mode=$1 pid=$2 bin=$3 out=$4 want
	TPID=
	case $mode/$KIND in
	control/*) return 0 ;;
	nodetap/churn) taskset -c 0 ./nodetap connect --stacks --json -p "$pid" >"$out" 2>&1 & want=4 ;;
	nodetap/dns) taskset -c 0 ./nodetap dns --json -p "$pid" >"$out" 2>&1 & want=3 ;;
	bpftrace/churn) bt_start "$out" -p "$pid" -e "$(bt_connect_script "$bin" "$pid")"; want=ready ;;
	bpftrace/dns) bt_start "$out" -p "$pid" -e "$(bt_dns_script "$bin")"; want=ready ;;
	esac
	TPID=$!
	bench_track "$TPID"
	for _ in $(seq 1500); do
		if [ "$want" = ready ]; then
			grep -q '^ready' "$out" 2>/dev/null && return 0
		else
			[ "$(grep -c '"type":"probe".*"placed":true' "$out" 2>/dev/null)" -ge "$want" ] && return 0
		fi
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.02
	done
	echo "vs_bpftrace.sh: $mode did not attach: $(tail -5 "$out")" >&2
	exit 1
}

# pair MODE ROUND: one side-by-side pair; adds traced/untraced operations to
# $SCRATCH/ratio.MODE.
pair() {
	local mode=$1 r=$2 a b t u ids=''
	WL_NODE=${NODE_COPY[0]} start_workload 1 "$SCRATCH/a" "$KIND" "$SECS"
	a=$WL_PID
	WL_NODE=${NODE_COPY[1]} start_workload 1 "$SCRATCH/b" "$KIND" "$SECS"
	b=$WL_PID
	if [ $((r % 2)) = 0 ]; then
		t=a u=b
		tracer "$mode" "$a" "${NODE_COPY[0]}" "$SCRATCH/tracer"
	else
		t=b u=a
		tracer "$mode" "$b" "${NODE_COPY[1]}" "$SCRATCH/tracer"
	fi
	if [ "$mode" = bpftrace ]; then ids=$(prog_ids_of "$TPID"); fi
	kill -USR2 "$a" "$b"
	wait "$a" "$b"
	if [ -n "$TPID" ]; then
		kill -INT "$TPID"
		wait "$TPID" || { echo "vs_bpftrace.sh: $mode failed: $(tail -3 "$SCRATCH/tracer")" >&2; exit 1; }
	fi
	if [ "$mode" = bpftrace ]; then LEFT+=$(bt_leftovers "$ids"); fi
	ratio "$(workload_field "$SCRATCH/$t" ops)" "$(workload_field "$SCRATCH/$u" ops)" >>"$SCRATCH/ratio.$mode"
	echo >>"$SCRATCH/ratio.$mode"
	workload_field "$SCRATCH/$u" ops >>"$SCRATCH/untraced_ops"
}

modes=(nodetap bpftrace control)
for ((r = 0; r < ROUNDS; r++)); do
	for ((k = 0; k < 3; k++)); do
		pair "${modes[$(((k + r) % 3))]}" "$r"
	done
done
# One more run per tool, the workload alone and traced, with the kernel's
# accounting of BPF programs on: how often the tool's programs ran and for
# how long, per operation of the workload. Tracepoint programs run for every
# process on the host (other processes' events included; on this workload
# the traced process makes nearly all of them).
declare -A RUNS
bpf_stats_on
for m in nodetap bpftrace; do
	WL_NODE=${NODE_COPY[0]} start_workload 1 "$SCRATCH/a" "$KIND" "$SECS"
	a=$WL_PID
	tracer "$m" "$a" "${NODE_COPY[0]}" "$SCRATCH/tracer"
	ids=$(prog_ids_of "$TPID")
	before=$(bpf_runs "$ids")
	kill -USR2 "$a"
	wait "$a"
	after=$(bpf_runs "$ids")
	kill -INT "$TPID"
	wait "$TPID" || { echo "vs_bpftrace.sh: $m failed: $(tail -3 "$SCRATCH/tracer")" >&2; exit 1; }
	if [ "$m" = bpftrace ]; then LEFT+=$(bt_leftovers "$ids"); fi
	RUNS[$m]=$(awk -v b="$before" -v a="$after" -v n="$(workload_field "$SCRATCH/a" ops)" -v k="$(echo "$ids" | wc -w)" \
		'BEGIN { split(b, x, " "); split(a, y, " "); printf "%d programs; %.1f runs, %.0f ns of BPF time per operation", k, (y[1] - x[1]) / n, (y[2] - x[2]) / n }')
done
bpf_stats_restore

declare -A R
for m in "${modes[@]}"; do R[$m]=$(cat "$SCRATCH/ratio.$m"); done

# Cost: 1 - the median ratio; nodetap's over bpftrace's.
cost() { awk -v m="$(median ${R[$1]})" 'BEGIN { printf "%.3f", 1 - m }'; }
case $KIND in
churn) what="connections (dns.lookup + connect + close)"; nt="nodetap connect --stacks" ;;
dns) what="dns.lookup calls"; nt="nodetap dns" ;;
esac
echo "$KIND: $ROUNDS rounds, two node workloads on CPU 1 for $SECS s at once, one traced;"
echo "figure: $what of the traced / of the untraced one in the same window."
echo
echo "| tracer | traced / untraced, min / median / max | cost (1 - median) |"
echo "|---|---|---:|"
echo "| $nt | $(stats ${R[nodetap]}) | $(cost nodetap) |"
echo "| bpftrace, the same measurements | $(stats ${R[bpftrace]}) | $(cost bpftrace) |"
echo "| control: nothing traced | $(stats ${R[control]}) | $(cost control) |"
echo
echo "Untraced workload, operations in $SECS s sharing its CPU: $(stats $(cat "$SCRATCH/untraced_ops"))."
echo "nodetap's cost / bpftrace's: $(awk -v n="$(cost nodetap)" -v b="$(cost bpftrace)" 'BEGIN { if (b > 0) printf "%.2f", n / b; else print "- (bpftrace cost not above zero)" }') (goal: <= 0.5)."
echo "BPF programs, the workload alone: nodetap ${RUNS[nodetap]}; bpftrace ${RUNS[bpftrace]}."
if [ -n "$LEFT" ]; then
	echo "bpftrace left behind: $LEFT"
else
	echo "bpftrace left nothing behind (no tracefs mount on the host, no uprobe_events, none of its programs loaded)."
fi
