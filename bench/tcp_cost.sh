#!/usr/bin/env bash
# bench/tcp_cost.sh: what `nodetap tcp` costs a process that does nothing but
# open and close loopback connections (both ends in the process: every
# connection is two sockets, about 20 state changes, two destroys), with a
# line per connection (the default) and with --no-events. Rounds alternate
# untraced and traced runs of the same workload, so that the machine's drift
# hits both; reports traced/untraced time ratios as min/median/max over
# rounds, an untraced/untraced control pair for the noise floor, and the time
# from start to the tracepoints attached. Then the time spent in nodetap's BPF
# programs per connection, from the kernel's own accounting
# (kernel.bpf_stats_enabled, switched on for that one run and restored): a
# figure the machine's drift does not blur, though it includes the two clock
# reads the accounting itself adds to every run of a program.
#
#   bench/tcp_cost.sh [ROUNDS] [CONNECTIONS]   default 5 rounds of 2000
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh # make_var, stats, ratio
ROUNDS=${1:-5}
N=${2:-2000}
NODE=${NODE:-node}

ms() { "$@" 2>/dev/null | grep '^{"connections"' | jq -r .ms; }
untraced=() events=() quiet=() control=() attach=()
for r in $(seq "$ROUNDS"); do
	untraced+=("$(ms "$NODE" bench/tcp_storm.js "$N")")
	events+=("$(ms ./nodetap tcp -- "$NODE" bench/tcp_storm.js "$N")")
	quiet+=("$(ms ./nodetap tcp --no-events -- "$NODE" bench/tcp_storm.js "$N")")
	control+=("$(ms "$NODE" bench/tcp_storm.js "$N")")
	# Start to attached: until the last probe record.
	f=$(mktemp)
	t0=$(date +%s%N)
	./nodetap tcp --json -d 1 >"$f" 2>/dev/null &
	until grep -q '"function":"tcp_receive_reset"' "$f"; do sleep 0.002; done
	attach+=($((($(date +%s%N) - t0) / 1000000)))
	wait
	rm -f "$f"
done
ratios() { # NAME_OF_ARRAY: its values over untraced, per round
	local -n arr=$1
	for i in "${!untraced[@]}"; do
		awk -v t="${arr[$i]}" -v u="${untraced[$i]}" 'BEGIN{printf "%.4f\n", t/u}'
	done
}
per_conn_us() { # NAME_OF_ARRAY: median added time per connection, us
	local -n arr=$1
	for i in "${!untraced[@]}"; do
		awk -v t="${arr[$i]}" -v u="${untraced[$i]}" -v n="$N" 'BEGIN{printf "%.2f\n", (t-u)*1000/n}'
	done | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
echo "| figure | min / median / max over $ROUNDS rounds |"
echo "|---|---|"
echo "| tcp storm ($N connections): nodetap tcp / untraced time | $(stats $(ratios events)) |"
echo "| same, nodetap tcp --no-events / untraced | $(stats $(ratios quiet)) |"
echo "| control: untraced / untraced time | $(stats $(ratios control)) |"
echo "| added time per connection, us (median): events / --no-events | $(per_conn_us events) / $(per_conn_us quiet) |"
echo "| nodetap tcp start to tracepoints attached, ms | $(stats "${attach[@]}") |"

# BPF time per connection, from run_time_ns / run_cnt of each program.
old=$(sysctl -n kernel.bpf_stats_enabled)
restore() { sysctl -qw kernel.bpf_stats_enabled="$old"; }
trap restore EXIT
sysctl -qw kernel.bpf_stats_enabled=1
snap=$(mktemp)
./nodetap tcp -- "$NODE" bench/tcp_storm.js "$N" >/dev/null 2>&1 &
nt=$!
# Programs vanish with nodetap: keep the last view of its counters.
while kill -0 $nt 2>/dev/null; do
	bpftool -j prog show >"$snap.tmp" 2>/dev/null && mv "$snap.tmp" "$snap"
	sleep 0.05
done
wait $nt || true
restore
jq -r --argjson n "$N" '
	def prog($x): map(select(.name == $x)) | .[0];
	def r2: . * 100 | round / 100;
	(prog("tcp_set_state")) as $s | (prog("tcp_destroy")) as $d |
	"| BPF time per connection (its two sockets), us: state changes \($s.run_time_ns / $n / 1000 | r2) (\($s.run_cnt / $n | r2) hits of \($s.run_time_ns / $s.run_cnt | round) ns), destroy \($d.run_time_ns / $n / 1000 | r2) (\($d.run_cnt / $n | r2) hits) |"' "$snap"
rm -f "$snap"
