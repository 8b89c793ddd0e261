#!/usr/bin/env bash
# bench/hit_cost.sh: what one probe hit costs, nodetap's probes next to a bare
# counting uprobe and to bpftrace, on a program that does nothing but call
# the probed functions (bench/hitloop.c: uv_getaddrinfo and
# uv__getaddrinfo_done stand-ins, both starting with `push %rbp` as node's).
#
#   bench/hit_cost.sh [ROUNDS] [CALLS]         default 5 rounds of 200000 calls
#
# Modes, each tracer attached to the hitloop's pid before it starts calling:
#   untraced, control   nothing attached (the second: the noise floor)
#   bpftrace count      bpftrace `uprobe:...:uv_getaddrinfo { @ = count(); }`
#   bare entry          bench/bare_uprobe: the cheapest uprobe (a per-CPU
#                       counter) on uv_getaddrinfo
#   bare dns shape      bare counting probes where nodetap dns has its three:
#                       entry and return of uv_getaddrinfo, entry of
#                       uv__getaddrinfo_done
#   nodetap dns         its three probes: entry (pid filter, hostname copy,
#                       in-flight insert), return, completion (latency into a
#                       log2 histogram per host)
#   nodetap dns --stacks   the same, the entry taking the user stack
#   bpftrace dns        the same three sites in bpftrace, measuring the same:
#                       count, latency histogram and errors per host
# The order of the modes rotates from round to round, so that the machine's
# drift spreads over all of them. Figure: the hitloop's own CPU time (a
# uprobe's trap is charged to the process it interrupts) per call above the
# untraced run of the same round, divided by the probe hits per call.
# shellcheck disable=SC2046,SC2086  # lists of numbers are split into arguments on purpose
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROUNDS=${1:-5}
CALLS=${2:-200000}
need_bench_deps
bench_init hits

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
# clang: gcc drops the frame pointer of leaf functions whatever the flags.
HL=$SCRATCH/hitloop
$CLANG -O2 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -no-pie -rdynamic \
	-Wall -Wextra -Werror -Iinclude -o "$HL" bench/hitloop.c

BT_COUNT='uprobe:'$HL':uv_getaddrinfo { @ = count(); } BEGIN { printf("ready\n"); }'
BT_DNS=$(bt_dns_script "$HL")

declare -A HITS=([untraced]=0 [control]=0 [bt_count]=1 [bare]=1 [bare_dns]=3 [nodetap]=3
	[nodetap_stacks]=3 [bt_dns]=3)
declare -A LABEL=([untraced]="untraced" [control]="control (untraced again)"
	[bt_count]="bpftrace @ = count() on uv_getaddrinfo" [bare]="bare counting uprobe, entry"
	[bare_dns]="bare counting uprobes, dns shape (entry, return, completion)"
	[nodetap]="nodetap dns" [nodetap_stacks]="nodetap dns --stacks"
	[bt_dns]="bpftrace, nodetap dns's measurements")
LEFT=

# run MODE OUT: one hitloop run under MODE; OUT gets its CPU ns per call.
run() {
	local mode=$1 out=$2 hl=$SCRATCH/hl.out tr=$SCRATCH/tracer.out pid tpid='' ids=''
	rm -f "$hl" "$tr"
	"$HL" "$CALLS" >"$hl" &
	pid=$!
	bench_track "$pid"
	wait_for_line "$hl" '^waiting' 10 || { echo "hit_cost.sh: hitloop did not start" >&2; exit 1; }
	case $mode in
	untraced|control) ;;
	bare) "$SCRATCH/bare_uprobe" -p "$pid" "$HL" uv_getaddrinfo >"$tr" 2>&1 & ;;
	bare_dns) "$SCRATCH/bare_uprobe" -r -p "$pid" "$HL" uv_getaddrinfo uv__getaddrinfo_done >"$tr" 2>&1 & ;;
	nodetap) ./nodetap dns --json -p "$pid" >"$tr" 2>&1 & ;;
	nodetap_stacks) ./nodetap dns --stacks --json -p "$pid" >"$tr" 2>&1 & ;;
	bt_count) bt_start "$tr" -p "$pid" -e "$BT_COUNT" ;;
	bt_dns) bt_start "$tr" -p "$pid" -e "$BT_DNS" ;;
	esac
	if [ "${HITS[$mode]}" != 0 ]; then
		tpid=$!
		bench_track "$tpid"
		# nodetap: its three probe records; the others print "ready".
		for _ in $(seq 1500); do
			grep -q '^ready' "$tr" 2>/dev/null && break
			[ "$(grep -c '"type":"probe".*"placed":true' "$tr" 2>/dev/null)" = 3 ] && break
			sleep 0.02
		done
		grep -q -e '^ready' -e '"type":"probe"' "$tr" ||
			{ echo "hit_cost.sh: $mode did not attach: $(cat "$tr")" >&2; exit 1; }
		ids=$(prog_ids_of "$tpid")
	fi
	[ -z "${BPF_RUNS_OUT:-}" ] || bpf_runs "$ids" >"$BPF_RUNS_OUT"
	kill -USR1 "$pid"
	wait "$pid"
	[ -z "${BPF_RUNS_OUT:-}" ] || bpf_runs "$ids" >>"$BPF_RUNS_OUT"
	if [ -n "$tpid" ]; then
		kill -INT "$tpid"
		wait "$tpid" || { echo "hit_cost.sh: $mode failed: $(tail -3 "$tr")" >&2; exit 1; }
		case $mode in bt_*) LEFT+=$(bt_leftovers "$ids") ;; esac
	fi
	grep '^{' "$hl" | jq -r '.cpu_ns / .calls' >"$out"
}

modes=(untraced bt_count bare bare_dns nodetap nodetap_stacks bt_dns control)
for ((r = 0; r < ROUNDS; r++)); do
	for ((k = 0; k < ${#modes[@]}; k++)); do
		m=${modes[$(((k + r) % ${#modes[@]}))]}
		run "$m" "$SCRATCH/r$r.$m"
	done
done

# One more run of each traced mode with the kernel's accounting of BPF
# programs on: how long the tool's own programs ran per hit, apart from the
# trap that every uprobe costs alike.
bpf_stats_on
for m in "${modes[@]}"; do
	[ "${HITS[$m]}" = 0 ] && continue
	BPF_RUNS_OUT=$SCRATCH/runs.$m run "$m" "$SCRATCH/stats.$m"
done
bpf_stats_restore
# bpf_ns MODE: "program runs per call, ns per run" from the accounting.
bpf_ns() {
	awk -v c="$CALLS" 'NR == 1 { n0 = $1; t0 = $2 } NR == 2 { printf "%.2f runs, %.0f ns a run", ($1 - n0) / c, ($1 > n0) ? ($2 - t0) / ($1 - n0) : 0 }' "$SCRATCH/runs.$1"
}

# per_hit MODE: ns per hit above untraced, one value per round.
per_hit() {
	local r
	for ((r = 0; r < ROUNDS; r++)); do
		awk -v m="$(cat "$SCRATCH/r$r.$1")" -v u="$(cat "$SCRATCH/r$r.untraced")" -v h="${HITS[$1]}" \
			'BEGIN { printf "%.1f\n", h ? (m - u) / h : m - u }'
	done
}
# rel A B: per round, A's added ns per hit over B's; median.
rel() {
	local r
	for ((r = 0; r < ROUNDS; r++)); do
		paste <(per_hit "$1" | sed -n "$((r + 1))p") <(per_hit "$2" | sed -n "$((r + 1))p") |
			awk '{ printf "%.3f\n", $1 / $2 }'
	done
}
echo "$ROUNDS rounds of $CALLS calls (each: uv_getaddrinfo + uv__getaddrinfo_done) by bench/hitloop;"
echo "CPU time of the traced process; added ns per probe hit = (ns per call - untraced's) / hits per call."
echo
echo "| mode | hits per call | ns per call, median | added ns per hit, min / median / max | vs bpftrace count (median of per-round ratios) | its BPF programs per call (kernel accounting, one more run) |"
echo "|---|---:|---:|---|---:|---|"
for m in untraced control bt_count bare bare_dns nodetap nodetap_stacks bt_dns; do
	per_call=$(median $(for ((r = 0; r < ROUNDS; r++)); do cat "$SCRATCH/r$r.$m"; done))
	if [ "${HITS[$m]}" = 0 ]; then
		echo "| ${LABEL[$m]} | 0 | $per_call | $(stats $(per_hit "$m")) (per call) | | |"
	else
		echo "| ${LABEL[$m]} | ${HITS[$m]} | $per_call | $(stats $(per_hit "$m")) | $(median $(rel "$m" bt_count)) | $(bpf_ns "$m") |"
	fi
done
echo
echo "nodetap dns / bare uprobes of the same shape, added ns per hit (median of per-round ratios): $(median $(rel nodetap bare_dns)); with --stacks: $(median $(rel nodetap_stacks bare_dns)) (goal: <= 1.1)."
echo "nodetap dns / bpftrace doing the same, added ns per hit: $(median $(rel nodetap bt_dns))."
if [ -n "$LEFT" ]; then
	echo "bpftrace left behind: $LEFT"
else
	echo "bpftrace left nothing behind (no tracefs mount on the host, no uprobe_events, none of its programs loaded)."
fi
