#!/usr/bin/env bash
# per-node: yes
# nodetap trace --loop on a node process that blocks its event loop a known
# number of times in a function with a known name (tests/lib/loop-app.js:
# 3 x 200 ms in busyWaitForNodetap, each measured by the app itself with
# process.hrtime, CLOCK_MONOTONIC). The trace holds exactly that many
# "loop blocked" duration events on the app's main thread, each as long as
# the app measured (not shorter, longer by at most 50 ms plus the time the
# thread waited for a CPU, as loop_count allows), starting where the app's
# block started on the same clock, with busyWaitForNodetap as the hottest
# JavaScript function; nothing lost.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"

N=3
trace=$TEST_TMP/trace.json
loop_app "$TEST_TMP/app.json" block --count $N --block-ms 200 --gap-ms 300
"$REPO/nodetap" trace -v --loop -o "$trace" -p "$APP_PID" >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt
wait_for 20 "the main loop found" grep -q "main loop at 0x" "$TEST_TMP/stderr"
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
kill -INT $nt
wait $nt || fail "nodetap trace exited $?: $(cat "$TEST_TMP/stderr")"
assert_eq $N "$(jq '.blocks_ms | length' "$TEST_TMP/app.json")" "the app's own blockages"
assert_contains "$N loop blockages" "$(cat "$TEST_TMP/stderr")" "summary line"
assert_contains "lost since start: nothing" "$(cat "$TEST_TMP/stderr")" "losses"
assert_jq "$trace" '.otherData.loop_threshold_ms' 100 "otherData.loop_threshold_ms"
assert_jq "$trace" '.otherData.lost_events' 0 "lost events"
assert_jq "$trace" '[.traceEvents[] | select((has("ph") and has("ts") and has("pid") and has("tid")) | not)] | length' 0 \
	"events without ph, ts, pid or tid"

jq --argjson pid "$APP_PID" '[.traceEvents[] | select(.ph == "X" and .cat == "loop" and .name == "loop blocked")] | sort_by(.ts)' \
	"$trace" >"$TEST_TMP/blocks.json"
assert_eq $N "$(jq length "$TEST_TMP/blocks.json")" "loop blocked events"
assert_jq "$TEST_TMP/blocks.json" "[.[] | select(.pid != $APP_PID or .tid != $APP_PID or .args.loop != \"main\")] | length" 0 \
	"blockages not on the app's main thread"
for i in $(seq 0 $((N - 1))); do
	truth=$(jq -r ".blocks_ms[$i]" "$TEST_TMP/app.json")
	start=$(jq -r ".block_starts_ns[$i]" "$TEST_TMP/app.json")
	ms=$(jq -r ".[$i].dur / 1000" "$TEST_TMP/blocks.json")
	wait_ms=$(jq -r ".[$i].args.waiting_for_cpu_ns / 1e6" "$TEST_TMP/blocks.json")
	assert_ge "$ms" "$(awk -v t="$truth" 'BEGIN { print t - 2 }')" "blockage $i (the app measured $truth ms)"
	assert_le "$ms" "$(awk -v t="$truth" -v w="$wait_ms" 'BEGIN { print t + 50 + w }')" \
		"blockage $i (the app measured $truth ms; $wait_ms ms waiting for a CPU)"
	# The same clock: the slice starts within its slack of the app's start
	# (the loop's clock is in whole ms and was read before the timer ran).
	off=$(jq -r --arg s "$start" ".[$i].ts * 1000 - (\$s | tonumber) | . / 1e6" "$TEST_TMP/blocks.json")
	assert_ge "$off" "$(awk -v w="$wait_ms" 'BEGIN { print -(50 + w) }')" "blockage $i starts $off ms from the app's start"
	assert_le "$off" 2 "blockage $i starts $off ms from the app's start"
	assert_match "^busyWaitForNodetap " "$(jq -r ".[$i].args.hottest_js_function" "$TEST_TMP/blocks.json")" \
		"hottest JavaScript function of blockage $i"
done
