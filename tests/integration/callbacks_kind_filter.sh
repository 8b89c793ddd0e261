#!/usr/bin/env bash
# per-node: yes
# --kind filters in the kernel: with --kind fsreqcallback,TCPSERVERWRAP (any
# case), a workload making callbacks of seven kinds is counted for those two
# only, exactly; nodetap's own kernel map of counters holds those two rows and
# nothing of the other kinds (not copied to user space, not even counted);
# and the probes still fire for every callback (the filter saves the copying,
# not the trap), which the cost record shows.
. "$(dirname "$0")/../lib/common.sh"

N=6 M=3 I=2 K=2
out=$TEST_TMP/nodetap.jsonl
wl=$TEST_TMP/workload.json
"$REPO/nodetap" callbacks --json --kind fsreqcallback,TCPSERVERWRAP -- "$NODE" \
	"$TESTS_LIB/callbacks-workload.js" --stat $N --timers $M --immediates $I --accept $K \
	--port-file "$TEST_TMP/port" --out "$wl" --linger-ms 4000 >"$out" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt
port_or_exit() { test -s "$TEST_TMP/port" || ! kill -0 $nt 2>/dev/null; }
wait_for 60 "the workload's listening port" port_or_exit
test -s "$TEST_TMP/port" || fail "nodetap ended before the workload listened: $(cat "$TEST_TMP/stderr")"
port=$(cat "$TEST_TMP/port")
for ((i = 0; i < K; i++)); do
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	exec 3<&-
done
# Every phase is over once the summary is written; the workload then lingers.
wait_for 30 "the workload's summary" test -s "$wl"

# The counters in the kernel: find nodetap's cb_stats map through its fds.
map_id=
for fdinfo in /proc/$nt/fdinfo/*; do
	id=$(awk '$1 == "map_id:" {print $2}' "$fdinfo" 2>/dev/null) || continue
	[ -n "$id" ] || continue
	if [ "$(bpftool -j map show id "$id" | jq -r .name)" = cb_stats ]; then
		map_id=$id
		break
	fi
done
assert_ne "" "$map_id" "nodetap's cb_stats map"
rows=$(bpftool -j map dump id "$map_id")
assert_eq 2 "$(jq length <<<"$rows")" "rows in the kernel's counters (two kinds let through)"
pid=$(jq -r .pid "$wl")
assert_eq "$pid" "$(jq -r '[.[].formatted.key.pid] | unique | join(",")' <<<"$rows")" "pid of the kernel's rows"
assert_eq "$((N + K))" "$(jq '[.[].formatted.value.count] | add' <<<"$rows")" "callbacks counted in the kernel"

rc=0
wait $nt || rc=$?
assert_eq 0 "$rc" "nodetap's exit status: $(cat "$TEST_TMP/stderr")"

count() { jq -s --arg k "$1" '[.[] | select(.type=="callbacks_summary" and .kind==$k) | .count] | add // 0' "$out"; }
assert_eq "FSREQCALLBACK TCPSERVERWRAP" \
	"$(jq -rs '[.[] | select(.type=="callbacks_summary") | .kind] | unique | join(" ")' "$out")" "kinds reported"
assert_eq $N "$(count FSREQCALLBACK)" "FSREQCALLBACK callbacks"
assert_eq $K "$(count TCPSERVERWRAP)" "TCPSERVERWRAP callbacks"
assert_eq $((N + K)) "$(jq -s '[.[] | select(.type=="report")] | last | .callbacks' "$out")" "callbacks in the report"

# The filtered-out kinds still trapped: every AsyncWrap callback (N stats, K
# accepts, 2K TCPWRAP and K SHUTDOWNWRAP) is two hits, and so is each run of
# the timers list (M timers and the lingering one).
cost=$(jq -sc '[.[] | select(.type=="callbacks_cost" and .when=="report")] | last' "$out")
assert_eq $((2 * (N + 4 * K))) "$(jq '.hits_by_function["node::AsyncWrap::MakeCallback"]' <<<"$cost")" \
	"hits on AsyncWrap::MakeCallback"
assert_eq $((2 * (M + 1))) "$(jq '.hits_by_function["node::Environment::RunTimers"]' <<<"$cost")" "hits on RunTimers"
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' 0 "losses"
