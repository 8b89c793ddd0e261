#!/usr/bin/env bash
# per-node: yes
# A timer callback busy-waits 200 ms in busyWaitForNodetap (node with
# --perf-basic-prof): `nodetap loop -p` reports exactly one blockage, of
# 180-260 ms and within 20 ms of what the app measured itself, with that
# function named in its stacks as the hottest JavaScript function and marked
# as the application's code. The same in the text report.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"

out=$TEST_TMP/out.jsonl
loop_app "$TEST_TMP/app.json" block --count 1 --block-ms 200
loop_trace "$out" -p "$APP_PID"
wait_for 10 "the main loop found" loop_found "$out" "$APP_PID" main
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
loop_stop

assert_jq "$out" "select(.type==\"loop\") | .how" "symbol default_loop_struct" "how the loop was found"
assert_jq "$out" "select(.type==\"loop\") | .clock_offset" 544 "offset of uv_loop_t.time (node's DWARF: 544)"
blocks=$(jq -c 'select(.type=="loop_blockage")' "$out")
assert_eq 1 "$(grep -c . <<<"$blocks")" "blockages reported"
ms=$(jq -r '.duration_ns / 1e6' <<<"$blocks")
assert_ge "$ms" 180 "blockage duration (ms)"
assert_le "$ms" 260 "blockage duration (ms)"
truth=$(jq -r '.blocks_ms[0]' "$TEST_TMP/app.json")
diff=$(awk -v a="$ms" -v b="$truth" 'BEGIN { d = a - b; print d < 0 ? -d : d }')
assert_le "$diff" 20 "difference from the app's own measurement ($truth ms), ms"
assert_eq "$APP_PID" "$(jq -r '.tid' <<<"$blocks")" "blocked thread (the main thread)"
assert_eq main "$(jq -r '.kind' <<<"$blocks")" "blocked loop"
assert_eq false "$(jq -r '.ongoing' <<<"$blocks")" "ongoing"
# 20 at 99 Hz on an idle CPU; tests share this machine with others.
assert_ge "$(jq -r '.samples' <<<"$blocks")" 3 "samples during 200 ms at 99 Hz"
hot=$(jq -r '.js_functions[0].name' <<<"$blocks")
assert_match '^busyWaitForNodetap .*loop-app\.js:[0-9]+' "$hot" "hottest JavaScript function"
assert_eq true "$(jq -r '.js_functions[0].app' <<<"$blocks")" "hottest function is the app's"
assert_contains busyWaitForNodetap "$(jq -r '.stacks[0].folded' <<<"$blocks")" "first folded stack"
assert_eq "$(jq -r '.samples' <<<"$blocks")" \
	"$(jq -r "([.stacks[].count] | add) + .samples_without_stack" <<<"$blocks")" "samples summed over stacks"
# The folded line runs from the root to the leaf: the event loop first, the
# busy function above it.
assert_match '^[^;]*__libc_start.*;uv_run;.*;busyWaitForNodetap ' "$(jq -r '.stacks[0].folded' <<<"$blocks")" \
	"folded stack order (root first)"
summary=$(jq -c "select(.type==\"loop_summary\" and .pid==$APP_PID)" "$out")
assert_eq 1 "$(jq -r '.blockages' <<<"$summary")" "blockages in the loop summary"
# The largest lag a sample saw lies inside the blockage: a sample there
# found the loop late by at least the 10 ms from which samples are kept, and
# by no more than the blockage lasted. (How close it comes to the end depends
# on where the last sample landed: on a busy machine, maybe 100 ms before.)
assert_ge "$(jq -r '.max_lag_ns / 1e6' <<<"$summary")" 10 "largest lag sampled (ms)"
assert_le "$(jq -r '.max_lag_ns / 1e6' <<<"$summary")" "$(awk -v m="$ms" 'BEGIN { print m + 2 }')" \
	"largest lag sampled (ms), at most the blockage"
if [ "$NODE_MAJOR" -ge 20 ]; then
	assert_ge "$(jq -r '.iterations' <<<"$summary")" 1 "loop iterations (libuv >= 1.45)"
else
	assert_eq null "$(jq -r '.iterations' <<<"$summary")" "loop iterations on node 18 (libuv 1.44: no counter)"
fi
assert_jq "$out" 'select(.type=="losses") | .ring_buffer_drops' 0 "ring buffer drops"
assert_jq "$out" 'select(.type=="report") | .blockages' 1 "blockages in the report record"

# Text: the blockage, its duration and the function, marked =>.
loop_app "$TEST_TMP/app2.json" block --count 1 --block-ms 200
"$REPO/nodetap" loop -v -p "$APP_PID" >"$TEST_TMP/text" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt
wait_for 10 "the main loop found (text)" grep -q "main loop at 0x" "$TEST_TMP/stderr"
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
kill -INT $nt
wait $nt || fail "nodetap (text) exited $?: $(cat "$TEST_TMP/stderr")"
text=$(cat "$TEST_TMP/text")
assert_match "1 blockage of 100 ms or more" "$text" "text summary line"
assert_match "main loop, thread $APP_PID: blocked (1[89][0-9]|2[0-5][0-9])\.[0-9] ms" "$text" "text blockage line"
assert_match "=> busyWaitForNodetap .*loop-app\.js:[0-9]+(:[0-9]+)? \[js\*?\]" "$text" "JS frame marked as the app's"
assert_match "lost since start: nothing" "$text" "loss line"
