#!/usr/bin/env bash
# per-node: yes
# Loops that do not block are not reported: one that runs a timer every 20 ms
# (about 50 iterations a second, counted from libuv's own counter on node >=
# 20), one asleep in epoll_wait for 3 s, whose cached clock is then 3 s old,
# and one that sleeps 150 ms (past the threshold) between timers, sampled at
# 997 Hz so that samples often catch it waking up, before libuv refreshes its
# clock: asleep is idle, not blocked. No blockage, no lag near the threshold.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"

out=$TEST_TMP/out.jsonl
loop_app "$TEST_TMP/idle.json" idle --seconds 3
idle=$APP_PID
loop_app "$TEST_TMP/epoll.json" epoll --seconds 3
sleeper=$APP_PID
loop_app "$TEST_TMP/waker.json" idle --seconds 3 --interval-ms 150
waker=$APP_PID
loop_trace "$out" -F 997 -p "$idle,$sleeper,$waker"
for pid in $idle $sleeper $waker; do
	wait_for 10 "the loop of pid $pid found" loop_found "$out" "$pid" main
done
loop_go
for pid in $idle $sleeper $waker; do
	wait "$pid" || fail "app $pid exited $?"
done
loop_stop

assert_eq 0 "$(jq -s '[.[] | select(.type=="loop_blockage")] | length' "$out")" "blockages reported"
assert_jq "$out" 'select(.type=="report") | .blockages' 0 "blockages in the report record"
for pid in $idle $sleeper $waker; do
	s=$(jq -c --argjson p "$pid" 'select(.type=="loop_summary" and .pid==$p)' "$out")
	assert_ne "" "$s" "loop summary of pid $pid"
	assert_eq 0 "$(jq -r .blockages <<<"$s")" "blockages of pid $pid"
	assert_le "$(jq -r '.max_lag_ns / 1e6' <<<"$s")" 50 "largest lag of pid $pid (ms)"
	assert_eq 0 "$(jq -r .clock_read_errors <<<"$s")" "clock read errors of pid $pid"
done
if [ "$NODE_MAJOR" -ge 20 ]; then
	rate=$(jq -r --argjson p "$idle" 'select(.type=="loop_summary" and .pid==$p) | .iterations_per_s' "$out")
	assert_ge "$rate" 20 "iterations per second of a loop with a 20 ms timer"
	assert_le "$rate" 60 "iterations per second of a loop with a 20 ms timer"
fi
