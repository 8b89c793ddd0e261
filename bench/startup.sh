#!/usr/bin/env bash
# bench/startup.sh: how long nodetap and bpftrace take from their start until
# their probes are live, and how much memory they take at their peak, with
# the same probes on the same node binary.
#
#   bench/startup.sh [ROUNDS]                  default 5
#
# A node process (bench/workload.js paced) does one dns.lookup every 10 ms.
# Each round starts, in turn (the order swapped every round):
#   nodetap dns --events --json -p PID
#   bpftrace: the same three probes as nodetap dns (bt_dns_script in
#             bench/lib.sh) with a line printed at every completion
# and takes, from the moment the tool is started:
#   attached      until it says its probes are placed (nodetap: its third
#                 "probe" record; bpftrace: BEGIN, which runs once every probe
#                 is attached)
#   first event   until it prints the first lookup it saw (this includes
#                 the wait for the next lookup, 10 ms at most, and nodetap's
#                 reading of its ring buffer)
#   peak RSS      VmHWM of the tool's process after 2 s of events
# shellcheck disable=SC2046,SC2086  # lists of numbers are split into arguments on purpose
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-5}
NODE=${NODE:-node}
NODE=$(command -v "$NODE")
need_bench_deps
bench_init startup
make -s nodetap >/dev/null

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# until_line FILE REGEX [N]: waits (30 s at most) for N lines (default 1)
# matching REGEX.
until_line() {
	local i n
	for ((i = 0; i < 6000; i++)); do
		n=$(grep -c -E "$2" "$1" 2>/dev/null || true)
		[ "${n:-0}" -ge "${3:-1}" ] && return 0
		sleep 0.005
	done
	echo "startup.sh: no line '$2' in $1: $(tail -3 "$1")" >&2
	exit 1
}

# The workload runs from its own copy of node: bpftrace's uprobes trap in
# every process of the file they are on (bench/lib.sh node_copies).
node_copies 1
WL_NODE=${NODE_COPY[0]}
BT=$(bt_dns_script "$WL_NODE" | sed 's|delete(@start|printf("event\\n"); delete(@start|')
# one TOOL: a line "attach_ms event_ms hwm_kb" for TOOL.
one() {
	local tool=$1 out=$SCRATCH/tool.out t0 att ev pid ids=
	start_workload 1 "$SCRATCH/wl" paced 60 100
	kill -USR2 "$WL_PID"
	sleep 0.2
	rm -f "$out"
	t0=$(now_ms)
	if [ "$tool" = nodetap ]; then
		./nodetap dns --events --json -p "$WL_PID" >"$out" 2>&1 &
		pid=$!
		bench_track "$pid"
		# its three probe records (entry, completion, return)
		until_line "$out" '"type":"probe"' 3
		att=$(($(now_ms) - t0))
		until_line "$out" '"type":"dns_lookup"'
	else
		bt_start "$out" -p "$WL_PID" -e "$BT"
		pid=$BT_PID
		until_line "$out" '^ready'
		att=$(($(now_ms) - t0))
		until_line "$out" '^event'
	fi
	ev=$(($(now_ms) - t0))
	[ "$tool" = bpftrace ] && ids=$(prog_ids_of "$pid")
	sleep 2
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
	kill -INT "$pid"
	wait "$pid" || { echo "startup.sh: $tool failed: $(tail -3 "$out")" >&2; exit 1; }
	kill "$WL_PID"
	wait "$WL_PID" || true
	[ "$tool" = bpftrace ] && bt_leftovers "$ids" >>"$SCRATCH/left"
	echo "$att $ev $hwm" >>"$SCRATCH/$tool"
}

touch "$SCRATCH/left"
for ((r = 0; r < ROUNDS; r++)); do
	if [ $((r % 2)) = 0 ]; then one nodetap; one bpftrace; else one bpftrace; one nodetap; fi
done

col() { stats $(awk -v c="$2" '{print $c}' "$SCRATCH/$1"); }
med() { median $(awk -v c="$2" '{print $c}' "$SCRATCH/$1"); }
times() { awk -v a="$(med bpftrace "$1")" -v b="$(med nodetap "$1")" 'BEGIN { printf "%.1fx", a / b }'; }
echo "node $("$NODE" --version) ($NODE), a lookup every 10 ms, $ROUNDS rounds; min / median / max."
echo
echo "| figure | nodetap dns --events | bpftrace, same probes | bpftrace / nodetap (medians) |"
echo "|---|---|---|---:|"
echo "| start to probes attached, ms | $(col nodetap 1) | $(col bpftrace 1) | $(times 1) |"
echo "| start to first event printed, ms | $(col nodetap 2) | $(col bpftrace 2) | $(times 2) |"
echo "| peak RSS (VmHWM), MB | $(stats $(awk '{print $3 / 1024}' "$SCRATCH/nodetap")) | $(stats $(awk '{print $3 / 1024}' "$SCRATCH/bpftrace")) | $(times 3) |"
echo
echo "Goals: 10x faster start, 10x less memory."
if [ -s "$SCRATCH/left" ]; then
	echo "bpftrace left behind: $(cat "$SCRATCH/left")"
else
	echo "bpftrace left nothing behind (no tracefs mount on the host, no uprobe_events, none of its programs loaded)."
fi
